"""RealNVP on images: the multi-scale flow of checkerboard and channel-wise affine couplings."""

import keras

from mpkeras.bijectors import ActNorm, ResNetCoupling, Squeeze
from mpkeras.models.flows.base import PREPROCESSING, FlowModel, pixel_preprocessing
from mpkeras.registry import register_model

CHECKERBOARD_COUPLINGS = 3
"""Checkerboard couplings at the start of every scale but the last."""
CHANNEL_COUPLINGS = 3
"""Channel-wise couplings after each squeeze."""
LAST_SCALE_COUPLINGS = 4
"""Checkerboard couplings of the last scale."""


def max_scales(height, width):
    """The most scales an (H, W) image allows: 1 + the number of times both H and W halve evenly."""
    scales = 1
    while height % 2 == 0 and width % 2 == 0:
        height, width, scales = height // 2, width // 2, scales + 1
    return scales


@register_model("realnvp_images", dataset="photos32", metric="test_bits_per_dim")
@keras.saving.register_keras_serializable(package="mpkeras")
class MultiScaleRealNVP(FlowModel):
    """The multi-scale RealNVP of Dinh et al. for images, in bits/dim of 8-bit data.

    x -> preprocessing -> [3 x checkerboard coupling -> squeeze -> 3 x channel coupling -> factor out half]
      x (scales - 1) -> 4 x checkerboard coupling -> z

    * affine coupling (:class:`~mpkeras.bijectors.ResNetCoupling`):
      y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x)), log|det dy/dx| = sum (1 - b) * s(b * x),
      where the mask b keeps the pixels with (i + j) even (checkerboard) or half the channels (channel-wise),
      and alternates between the two halves from one coupling to the next; s = scale * tanh(raw) and t come
      from a residual conv network that is never inverted;
    * squeeze: (H, W, C) -> (H/2, W/2, 4C), space to depth in 2x2 blocks, log-det 0;
    * factor out: half the channels leave the flow after each squeeze-and-couple stage and go straight to
      the latent under the N(0, I) prior; the later scales transform the other half only.

    The latent z (H / 2^(scales-1), W / 2^(scales-1), C 4^(scales-1)) holds every factored-out part, and

        log p(x) = log N(z; 0, I) + log|det dz/dx|.

    Preprocessing (log-det counted, so bits/dim are of the 8-bit data): ``logit``:
    y = logit(alpha + (1 - 2 alpha) x), the paper's, alpha = 0.05; or ``shift``: y = x - 0.5.

    Differences from the paper: an :class:`~mpkeras.bijectors.ActNorm` (per-channel affine map, initialized
    from the first batch) precedes every coupling in the place of the paper's batch-normalization bijector, as
    in :class:`RealNVP` and :class:`Glow`; the coupling networks have no batch norm or weight norm inside and
    the weights no L2 penalty.

    Inputs: dequantized images (B, H, W, C) in [0, 1], x = (k + u) / num_bins.

    Args:
        input_shape: (H, W, C); H and W divisible by 2^(scales - 1).
        scales: number of scales (scales - 1 squeezes).
        hidden_units: channels of the coupling networks.
        res_blocks: residual blocks per coupling network.
        preprocessing: ``logit`` or ``shift``.
        logit_alpha: alpha of the logit preprocessing.
        num_bins: levels of the dequantized data (256 for 8-bit).

    Example:
        >>> flow = MultiScaleRealNVP(input_shape=(32, 32, 3), scales=2, hidden_units=32, res_blocks=2)
        >>> flow.compile(optimizer="adam")
        >>> flow.fit(dequantized_images, epochs=20)      # minimizes -log p(x)
        >>> flow.log_prob(x)["bits_per_dim"]; flow.sample(16, [0, 1], 0.7)["images"]

    Reference:
        Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    def __init__(self, input_shape=(32, 32, 3), scales=2, hidden_units=32, res_blocks=2, preprocessing="logit",
                 logit_alpha=0.05, num_bins=256, **kwargs):
        super().__init__(input_shape=input_shape, num_bins=num_bins, **kwargs)
        if len(self.input_shape) != 3:
            raise ValueError(f"MultiScaleRealNVP models images (H, W, C), got input_shape={self.input_shape}; "
                             "use RealNVP for vectors.")
        h, w, _ = self.input_shape
        most = max_scales(h, w)
        if not 1 <= scales <= most:
            raise ValueError(f"MultiScaleRealNVP with scales={scales} squeezes {scales - 1} times and needs height and "
                             f"width divisible by {2 ** max(scales - 1, 0)}; input_shape={self.input_shape} allows "
                             f"1 to {most} scales. Use fewer scales or crop the images.")
        if preprocessing not in PREPROCESSING:
            raise ValueError(f"Unknown preprocessing {preprocessing!r}; use one of {PREPROCESSING}.")
        # === Config ===
        self.scales = int(scales)
        self.hidden_units = int(hidden_units)
        self.res_blocks = int(res_blocks)
        self.preprocessing = preprocessing
        self.logit_alpha = float(logit_alpha)
        # === Layers ===
        self.squeezes = [Squeeze(name=f"squeeze_{s}", dtype=self.dtype_policy) for s in range(self.scales - 1)]
        self.actnorms, self.couplings = [], []
        for scale in range(self.scales):
            for mask, count in self.scale_masks(scale):
                for i in range(count):
                    self.actnorms.append(ActNorm(name=f"actnorm_{scale}_{mask}_{i}", dtype=self.dtype_policy))
                    self.couplings.append(self.build_coupling(scale, mask, i))

    def scale_masks(self, scale):
        """[(mask, number of couplings)] of ``scale``, in order (a squeeze sits between the two kinds)."""
        if scale == self.scales - 1:
            return [("checkerboard", LAST_SCALE_COUPLINGS)]
        return [("checkerboard", CHECKERBOARD_COUPLINGS), ("channel", CHANNEL_COUPLINGS)]

    def build_coupling(self, scale, mask, index):
        """Coupling ``index`` of the ``mask`` kind at ``scale``: its mask alternates with ``index``
        (override to change the network)."""
        return ResNetCoupling(mask=mask, reverse=bool(index % 2), hidden_units=self.hidden_units,
                              num_blocks=self.res_blocks, name=f"coupling_{scale}_{mask}_{index}",
                              dtype=self.network_dtype_policy)

    def preprocessing_bijector(self):
        return pixel_preprocessing(self.preprocessing, self.logit_alpha, self.flow_dtype)

    def latent_shape(self):
        h, w, c = self.input_shape
        f = 2 ** (self.scales - 1)
        return (h // f, w // f, c * f * f)

    def flow_bijectors(self, conditions, training=False):
        bijectors = []
        steps = iter(zip(self.actnorms, self.couplings))
        active, passthrough = self.input_shape[-1], 0  # channels still in the flow / factored out
        for scale in range(self.scales):
            for i, (mask, count) in enumerate(self.scale_masks(scale)):
                if i == 1:  # between the checkerboard and the channel-wise couplings
                    bijectors.append(self.squeezes[scale].bijector(passthrough=passthrough))
                    active, passthrough = 4 * active, 4 * passthrough
                for _ in range(count):
                    norm, coupling = next(steps)
                    bijectors += [norm.bijector(passthrough=passthrough, training=training),
                                  coupling.bijector(passthrough=passthrough)]
            if scale < self.scales - 1:  # factor out: the last half of the active channels leave the flow
                active, passthrough = active - active // 2, passthrough + active // 2
        return bijectors

    def get_config(self):
        return {**super().get_config(), "scales": self.scales, "hidden_units": self.hidden_units,
                "res_blocks": self.res_blocks, "preprocessing": self.preprocessing, "logit_alpha": self.logit_alpha}
