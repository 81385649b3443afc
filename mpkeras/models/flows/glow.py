"""Glow and the conditional Glow: multi-scale flows of (actnorm, invertible 1x1 conv, affine coupling) steps."""

import keras
import tensorflow as tf

from mpkeras.bijectors import ActNorm, AffineCoupling, FactorOut, InvertibleConv1x1, Squeeze
from mpkeras.models.flows.base import PREPROCESSING, FlowModel, pixel_preprocessing
from mpkeras.registry import register_model


@register_model("glow", dataset="mnist5k", metric="test_bits_per_dim")
@keras.saving.register_keras_serializable(package="mpkeras")
class Glow(FlowModel):
    """Glow: a multi-scale flow of steps (actnorm, invertible 1x1 conv, affine coupling).

    x -> preprocessing -> [squeeze -> K x (actnorm, 1x1 conv, coupling) -> split] x (L - 1)
      -> squeeze -> K x (actnorm, 1x1 conv, coupling) -> z_L

    * actnorm: y = (x + b) exp(log s) per channel, data-dependently initialized;
    * 1x1 conv: y = W x per pixel, W = P L (U + diag(sign(s) exp(log|s|))), log-det H W sum log|s|;
    * affine coupling: [x_a, x_b] -> [x_a exp(s(x_b)) + t(x_b), x_b], channel mask;
    * split: half the channels leave the flow, with a learned prior
      p(z_l | h_l) = N(mu(h_l), sigma(h_l)^2) written as an affine bijector to N(0, I).
    The latent z (H / 2^L, W / 2^L, C 4^L) holds the factored-out parts of all levels.

    Preprocessing (log-det counted): ``logit``: x -> logit(alpha + (1 - 2 alpha) x),
    or ``shift``: x -> x - 0.5 (Glow's own).

    Inputs: dequantized images (B, H, W, C) in [0, 1], x = (k + u) / num_bins.

    Args:
        input_shape: (H, W, C); H and W divisible by 2^levels.
        levels: L, the number of scales.
        steps: K, flow steps per level.
        hidden_units: width of the coupling networks.
        preprocessing: ``logit`` or ``shift``.
        logit_alpha: alpha of the logit preprocessing.
        num_bins: levels of the dequantized data (256 for 8-bit).
        seed: seed of the 1x1 convolutions' initial rotations.

    Example:
        >>> glow = Glow(input_shape=(28, 28, 1), levels=2, steps=8, hidden_units=64)
        >>> glow.compile(optimizer="adam")
        >>> glow.fit(dequantized_images, epochs=40)   # minimizes -log p(x)
        >>> glow.log_prob(x)["bits_per_dim"]; glow.sample(16, [0, 1], 0.7)["images"]

    Reference:
        Kingma and Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018;
        Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    def __init__(self, input_shape=(28, 28, 1), levels=2, steps=8, hidden_units=64, preprocessing="logit",
                 logit_alpha=0.05, num_bins=256, seed=0, **kwargs):
        super().__init__(input_shape=input_shape, num_bins=num_bins, **kwargs)
        h, w, _ = self.input_shape
        if h % 2**levels or w % 2**levels:
            raise ValueError(f"Glow with levels={levels} needs height and width divisible by {2**levels}, got "
                             f"input_shape={self.input_shape}; use fewer levels or pad the images.")
        if preprocessing not in PREPROCESSING:
            raise ValueError(f"Unknown preprocessing {preprocessing!r}; use one of {PREPROCESSING}.")
        # === Config ===
        self.levels = int(levels)
        self.steps = int(steps)
        self.hidden_units = int(hidden_units)
        self.preprocessing = preprocessing
        self.logit_alpha = float(logit_alpha)
        self.seed = seed
        # === Layers ===
        kw = dict(dtype=self.dtype_policy)
        self.squeezes = [Squeeze(name=f"squeeze_{l}", **kw) for l in range(self.levels)]
        grid = [(l, k) for l in range(self.levels) for k in range(self.steps)]  # step k of level l: l * K + k
        self.actnorms = [ActNorm(name=f"actnorm_{l}_{k}", **kw) for l, k in grid]
        self.invconvs = [InvertibleConv1x1(seed=1000 * (seed or 0) + 100 * l + k, name=f"invconv_{l}_{k}", **kw)
                         for l, k in grid]
        self.couplings = [self.build_coupling(l, k) for l, k in grid]
        self.splits = [FactorOut(name=f"split_{l}", dtype=self.network_dtype_policy) for l in range(self.levels - 1)]

    def build_coupling(self, level, step):
        """The coupling layer of step ``step`` at ``level`` (override to change the network)."""
        return AffineCoupling(mask="channel", reverse=bool(step % 2), hidden_units=self.hidden_units,
                              name=f"coupling_{level}_{step}", dtype=self.network_dtype_policy)

    def level_conditions(self, conditions, level):
        """Conditioning input of ``level`` (None for the unconditional Glow)."""
        return None

    def preprocessing_bijector(self):
        return pixel_preprocessing(self.preprocessing, self.logit_alpha, self.flow_dtype)

    def latent_shape(self):
        h, w, c = self.input_shape
        f = 2**self.levels
        return (h // f, w // f, c * f * f)

    def flow_bijectors(self, conditions, training=False):
        bijectors = []
        active, passthrough = self.input_shape[-1], 0  # channels still in the flow / factored out
        for level in range(self.levels):
            cond = self.level_conditions(conditions, level)
            bijectors.append(self.squeezes[level].bijector(passthrough=passthrough))
            active, passthrough = 4 * active, 4 * passthrough
            for i in range(level * self.steps, (level + 1) * self.steps):
                bijectors += [layer.bijector(passthrough=passthrough, training=training, conditions=cond)
                              for layer in (self.actnorms[i], self.invconvs[i], self.couplings[i])]
            if level < self.levels - 1:
                bijectors.append(self.splits[level].bijector(passthrough=passthrough, conditions=cond))
                out = self.splits[level].split_sizes(active)[1]
                active, passthrough = active - out, passthrough + out
            else:
                bijectors += self.top_bijectors(cond, passthrough)
        return bijectors

    def top_bijectors(self, conditions, passthrough):
        """Bijectors after the last level (none here; the conditional Glow adds a conditional prior)."""
        return []

    def get_config(self):
        return {**super().get_config(), "levels": self.levels, "steps": self.steps, "hidden_units": self.hidden_units,
                "preprocessing": self.preprocessing, "logit_alpha": self.logit_alpha, "seed": self.seed}


@register_model("conditional_glow", dataset="mnist5k", metric="test_bits_per_dim")
@keras.saving.register_keras_serializable(package="mpkeras")
class ConditionalGlow(Glow):
    """Glow conditioned on a low-resolution image: p(x | x_low), e.g. 14x14 -> 28x28 super-resolution.

    Inputs are ``{"images": (B, H, W, C), "low_res": (B, H/2, W/2, C)}``. At
    level l (resolution H / 2^(l+1)) the low-resolution image, squeezed l times
    (space-to-depth, lossless), is concatenated into the input of every coupling
    network and of the split prior, p(z_l | h_l, x_low); the top latent gets a
    conditional prior N(mu(x_low), sigma(x_low)^2) (an affine bijector, as the splits).
    ``sample`` draws super-resolved images for a batch of low-resolution inputs.

    Args:
        **kwargs: the :class:`Glow` arguments.

    Example:
        >>> sr = ConditionalGlow(input_shape=(28, 28, 1), levels=2, steps=8)
        >>> sr.fit(dataset_of_dicts)                              # {"images", "low_res"}
        >>> sr.sample_conditional(low_res, [0, 1], 0.7)["images"]  # (B, 28, 28, 1)

    Reference:
        Kingma and Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018;
        Winkler, Worrall, Hoogeboom and Welling, "Learning Likelihoods with Conditional Normalizing Flows", 2019.
    """

    condition_keys = ("low_res",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.top_prior = FactorOut(use_half=False, name="top_prior", dtype=self.network_dtype_policy)

    def condition_shapes(self):
        h, w, c = self.input_shape
        return {"low_res": (h // 2, w // 2, c)}

    def level_conditions(self, conditions, level):
        low_res = conditions["low_res"]
        for _ in range(level):
            low_res = tf.nn.space_to_depth(low_res, 2)
        return low_res

    def top_bijectors(self, conditions, passthrough):
        return [self.top_prior.bijector(passthrough=passthrough, conditions=conditions)]

    def sample_conditional(self, low_res, seed, temperature=1.0):
        """One draw x ~ p(x | x_low) per low-resolution image (B, H/2, W/2, C): ``images`` (B, H, W, C)."""
        low_res = self._cast(low_res)
        return self._sample(tf.shape(low_res)[0], seed, temperature, (low_res,))
