"""Variational autoencoders: VAE and beta-VAE (penalty and constrained forms)."""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from mpkeras.models.common import average_loss, check_input, with_regularization
from mpkeras.registry import register_model

tfd = tfp.distributions

PRIORS = ("normal", "mixture")
LIKELIHOODS = ("bernoulli", "gaussian")

LEVELS = 256
"""Levels of an 8-bit sub-pixel; the Gaussian likelihood models y = (k + u) / LEVELS, u ~ U[0, 1)."""

MIN_LOG_SCALE = math.log(1.0 / (LEVELS * math.sqrt(12.0)))
"""log of the standard deviation of the dequantization noise u / 256 within one level (about -6.78). A Gaussian
narrower than that cannot fit uniform noise better, so the decoder's scale never goes below it."""

MAX_LOG_SCALE = 0.0
"""log 1: y lies in [0, 1), so no sub-pixel needs a wider Gaussian."""


@keras.saving.register_keras_serializable(package="mpkeras")
class MixturePrior(keras.layers.Layer):
    """A learnable mixture of K diagonal Gaussians, p(z) = sum_k pi_k N(z; mu_k, diag(sigma_k^2)).

    The layer owns the weights (Keras 3 does not track variables held by TFP
    objects); :meth:`distribution` builds a fresh ``tfd.MixtureSameFamily``
    view of them on every call.

    Args:
        latent_dim: dimension D of z.
        num_components: number of mixture components K.
    """

    def __init__(self, latent_dim, num_components=10, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.num_components = num_components
        self.logits = self.add_weight(shape=(num_components,), initializer="zeros", name="logits")
        self.locs = self.add_weight(
            shape=(num_components, latent_dim), initializer=keras.initializers.RandomNormal(stddev=1.0), name="locs"
        )
        # softplus(0.5413) = 1: components start at unit scale.
        self.raw_scales = self.add_weight(
            shape=(num_components, latent_dim), initializer=keras.initializers.Constant(0.5413), name="raw_scales"
        )

    def distribution(self):
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=tf.convert_to_tensor(self.logits)),
            components_distribution=tfd.MultivariateNormalDiag(
                loc=tf.convert_to_tensor(self.locs), scale_diag=tf.nn.softplus(self.raw_scales) + 1e-4
            ),
        )

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "num_components": self.num_components}


@register_model("vae", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class VAE(keras.Model):
    """Variational autoencoder with a Gaussian encoder and a Bernoulli or Gaussian decoder.

    The encoder gives q(z|x) = N(mu(x), diag(sigma(x)^2)) as a TFP
    ``MultivariateNormalDiag``; z = mu + sigma * eps with eps ~ N(0, I) (the
    reparameterization trick). The decoder gives p(x|z), one factor per sub-pixel:

    * ``likelihood="bernoulli"``: p(x|z) = prod_i Bernoulli(x_i; sigmoid(l_i(z))), for binarized images;
    * ``likelihood="gaussian"``: p(y|z) = prod_i N(y_i; m_i(z), s_i(z)^2), for dequantized 8-bit images
      y = (k + u) / 256 in [0, 1), u ~ U[0, 1). The scale is per sub-pixel and depends on z, with
      log s_i = lo + (hi - lo) sigmoid(r_i(z)) between lo = log(1 / (256 sqrt 12)) (the standard deviation
      of the dequantization noise within one level, :data:`MIN_LOG_SCALE`) and hi = log 1 (:data:`MAX_LOG_SCALE`).

    Training maximizes the evidence lower bound

        ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x),

    with the KL in closed form for the standard normal prior and a one-sample
    Monte Carlo estimate, log q(z|x) - log p(z), for the learnable mixture
    prior. :meth:`iwae_bound` gives the importance-weighted estimate
    log (1/k) sum_j p(x, z_j) / q(z_j|x), z_j ~ q(z|x), a tighter bound that
    tends to log p(x) as k grows; test NLL is reported from it.

    For the Gaussian likelihood these are densities of y in [0, 1)^D, in nats. The 8-bit images k have
    P(k) = E_u[p((k + u) / 256)] 256^-D >= exp(E_u log p((k + u) / 256)) 256^-D (the bin has volume 256^-D;
    Jensen), so with NLL_y the negative log density of y (one u per image),

        bits/dim = (NLL_y / D + log 256) / log 2

    is an upper bound on the discrete NLL of the 8-bit images in bits per sub-pixel (Theis et al., 2016);
    :func:`mpkeras.metrics.dequantized_bits_per_dim`.

    Subclassing: override :meth:`build_encoder` / :meth:`build_decoder` to swap
    the networks (the encoder maps x to 2 * latent_dim numbers; the decoder maps
    z to (B, *input_shape[:-1], P * C), P = 1 logit per sub-pixel (Bernoulli) or
    P = 2, the means then the raw log-scales (Gaussian)), :meth:`decoder_distribution`
    to change p(x|z), or :meth:`objective` to change the loss.

    Args:
        input_shape: shape of one example (H, W, C), values in [0, 1]: binarized for
            ``bernoulli``, dequantized 8-bit (k + u) / 256 for ``gaussian``.
        latent_dim: dimension of z.
        hidden_units: widths of the encoder's hidden layers (the decoder mirrors them).
        prior: ``normal`` (fixed N(0, I)) or ``mixture`` (learnable Gaussian mixture).
        num_components: mixture components when ``prior="mixture"``.
        likelihood: ``bernoulli`` (binarized images) or ``gaussian`` (dequantized 8-bit images, a mean and a
            z-dependent scale per sub-pixel). :meth:`decode`, :meth:`reconstruct` and :meth:`sample` return
            Bernoulli probabilities for the first and the Gaussian means for the second.
        conv_filters: empty (dense networks over the flattened image, ``hidden_units`` wide), or the filters of
            convolutional networks for (H, W, C) images: the encoder halves H and W with a 4x4 stride-2 convolution
            per entry and then ``hidden_units`` dense layers, the decoder mirrors it with transposed convolutions
            (H and W divisible by 2 ** len(conv_filters)).
        seed: seed of the training-time posterior sampling.

    Example:
        >>> vae = VAE(input_shape=(28, 28, 1), latent_dim=16)
        >>> vae.compile(optimizer="adam")
        >>> vae.fit(binarized_images, epochs=30)     # maximizes the ELBO
        >>> vae.iwae_bound(x_test, num_samples=1000, seed=[1, 2])  # log p(x) estimate
        >>> colour = VAE(input_shape=(32, 32, 3), likelihood="gaussian")   # y = (k + u) / 256

    Reference:
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
        Burda, Grosse and Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016;
        Theis, van den Oord and Bethge, "A note on the evaluation of generative models", ICLR 2016.
    """

    def __init__(
        self,
        input_shape=(28, 28, 1),
        latent_dim=16,
        hidden_units=(512, 256),
        prior="normal",
        num_components=10,
        likelihood="bernoulli",
        conv_filters=(),
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if prior not in PRIORS:
            raise ValueError(f"Unknown prior {prior!r}; choose one of {', '.join(PRIORS)}.")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)} "
                             "(bernoulli for binarized images, gaussian for dequantized 8-bit ones).")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        self.hidden_units = tuple(hidden_units)
        self.prior = prior
        self.num_components = num_components
        self.likelihood = likelihood
        self.conv_filters = tuple(conv_filters)
        self.seed = seed
        # === Layers ===
        self.encoder = self.build_encoder()
        self.decoder = self.build_decoder()
        self.mixture_prior = MixturePrior(latent_dim, num_components, name="prior") if prior == "mixture" else None
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Metric trackers, reported by fit/evaluate next to "loss".
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")

    # --- Networks (override these to change the architecture) -------------
    @property
    def params_per_subpixel(self):
        """P: decoder outputs per sub-pixel, 1 (a Bernoulli logit) or 2 (a Gaussian mean and raw log-scale)."""
        return 2 if self.likelihood == "gaussian" else 1

    def build_encoder(self):
        """x (B, *input_shape) -> (B, 2 * latent_dim): posterior means and raw scales."""
        layers = [keras.layers.Conv2D(f, 4, strides=2, padding="same", activation="relu") for f in self.conv_filters]
        layers += [keras.layers.Flatten()]
        layers += [keras.layers.Dense(u, activation="relu") for u in self.hidden_units]
        layers += [keras.layers.Dense(2 * self.latent_dim)]
        return keras.Sequential(layers, name="encoder")

    def build_decoder(self):
        """z (B, latent_dim) -> (B, *input_shape[:-1], P * C) decoder outputs (:attr:`params_per_subpixel`)."""
        *spatial, channels = self.input_shape
        out_shape = (*spatial, self.params_per_subpixel * channels)
        layers = [keras.layers.Dense(u, activation="relu") for u in reversed(self.hidden_units)]
        if not self.conv_filters:
            layers += [keras.layers.Dense(math.prod(out_shape)), keras.layers.Reshape(out_shape)]
            return keras.Sequential(layers, name="decoder")
        factor = 2 ** len(self.conv_filters)
        if len(spatial) != 2 or spatial[0] % factor or spatial[1] % factor:
            raise ValueError(f"conv_filters={self.conv_filters} halves H and W {len(self.conv_filters)} times, so "
                             f"input_shape (H, W, C) needs H and W divisible by {factor}; got {self.input_shape}. "
                             "Use fewer conv_filters, or conv_filters=() for dense networks.")
        low = (spatial[0] // factor, spatial[1] // factor, self.conv_filters[-1])  # (H / 2^L, W / 2^L, F_L)
        layers += [keras.layers.Dense(math.prod(low), activation="relu"), keras.layers.Reshape(low)]
        layers += [keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu")
                   for f in reversed(self.conv_filters)]  # back to (H, W, F_1)
        layers += [keras.layers.Conv2D(out_shape[-1], 3, padding="same")]  # (H, W, P * C)
        return keras.Sequential(layers, name="decoder")

    # --- Distributions ------------------------------------------------------
    def posterior_params(self, x):
        """Returns (mean, stddev) of q(z|x), each (B, latent_dim)."""
        h = ops.cast(self.encoder(x), "float32")  # (B, 2D); float32 under mixed precision
        mean, raw_scale = ops.split(h, 2, axis=-1)
        return mean, ops.softplus(raw_scale) + 1e-4

    def posterior(self, x):
        mean, stddev = self.posterior_params(x)
        return tfd.MultivariateNormalDiag(loc=mean, scale_diag=stddev)

    def prior_distribution(self):
        if self.mixture_prior is not None:
            return self.mixture_prior.distribution()
        zeros = tf.zeros([self.latent_dim])
        return tfd.MultivariateNormalDiag(loc=zeros, scale_diag=tf.ones_like(zeros))

    def decoder_params(self, z):
        """z (..., latent_dim) -> the parameters of p(x|z), each (..., *input_shape), any number of leading dims.

        Bernoulli: ``{"logits"}``. Gaussian: ``{"loc", "log_scale"}``, with
        log_scale = lo + (hi - lo) sigmoid(r) bounded to [:data:`MIN_LOG_SCALE`, :data:`MAX_LOG_SCALE`].
        """
        lead = ops.shape(z)[:-1]
        h = ops.cast(self.decoder(ops.reshape(z, (-1, self.latent_dim))), "float32")  # (N, ..., P * C)
        h = ops.reshape(h, (*lead, *self.input_shape[:-1], self.params_per_subpixel * self.input_shape[-1]))
        if self.likelihood == "bernoulli":
            return {"logits": h}
        loc, raw_log_scale = ops.split(h, 2, axis=-1)  # (..., *input_shape) each
        log_scale = MIN_LOG_SCALE + (MAX_LOG_SCALE - MIN_LOG_SCALE) * ops.sigmoid(raw_log_scale)
        return {"loc": loc, "log_scale": log_scale}

    def decoder_distribution(self, params):
        """p(x|z) over all sub-pixels of one example, from :meth:`decoder_params`: a TFP ``Independent``
        Bernoulli or Normal with event shape ``input_shape``."""
        event_ndims = len(self.input_shape)
        if self.likelihood == "bernoulli":
            return tfd.Independent(tfd.Bernoulli(logits=params["logits"]), event_ndims)
        return tfd.Independent(tfd.Normal(params["loc"], ops.exp(params["log_scale"])), event_ndims)

    def decoder_mean(self, params):
        """E[x|z] (..., *input_shape): the Bernoulli probabilities or the Gaussian means."""
        return ops.sigmoid(params["logits"]) if self.likelihood == "bernoulli" else params["loc"]

    def likelihood_distribution(self, z):
        """p(x|z) for codes z (..., latent_dim) (:meth:`decoder_distribution` of :meth:`decoder_params`)."""
        return self.decoder_distribution(self.decoder_params(z))

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build((None, self.latent_dim))
        super().build(input_shape)

    # --- Forward pass and loss ---------------------------------------------
    def call(self, x, training=False):
        """x (B, *input_shape) -> the decoder's parameters (:meth:`decoder_params`) and q(z|x)'s
        ``{"mean", "stddev"}`` and the code ``"z"`` it decoded (a posterior sample when training, else the mean)."""
        mean, stddev = self.posterior_params(x)
        if training:  # reparameterization: z = mu + sigma * eps
            z = mean + stddev * keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        else:  # deterministic: decode the posterior mean
            z = mean
        return {**self.decoder_params(z), "mean": mean, "stddev": stddev, "z": z}

    def elbo_terms(self, x, mean, stddev, z, params):
        """Per-example ELBO terms in nats: reconstruction log p(x|z), KL and ELBO, each (B,).

        ``params`` are p(x|z)'s (:meth:`decoder_params` of ``z``).
        """
        x = ops.cast(x, "float32")
        reconstruction = self.decoder_distribution(params).log_prob(x)  # (B,)
        q = tfd.MultivariateNormalDiag(loc=mean, scale_diag=stddev)
        p = self.prior_distribution()
        if self.mixture_prior is None:
            kl = tfd.kl_divergence(q, p)  # closed form, (B,)
        else:  # no closed form for a mixture: one-sample Monte Carlo estimate
            kl = q.log_prob(z) - p.log_prob(z)
        return {"reconstruction": reconstruction, "kl": kl, "elbo": reconstruction - kl}

    def objective(self, terms):
        """Per-example loss to minimize; the VAE minimizes -ELBO. Override to change it."""
        return -terms["elbo"]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # Keras's own train_step/test_step call this, so strategies, loss scaling
        # for mixed precision, XLA and callbacks work unchanged.
        mean, stddev = y_pred["mean"], y_pred["stddev"]
        if training:
            z = y_pred["z"]
            params = {k: v for k, v in y_pred.items() if k not in ("mean", "stddev", "z")}
        else:  # call() decoded the posterior mean; the ELBO needs a posterior sample.
            z = mean + stddev * keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            params = self.decoder_params(z)
        terms = self.elbo_terms(x, mean, stddev, z, params)
        self.elbo_tracker.update_state(terms["elbo"])
        self.kl_tracker.update_state(terms["kl"])
        self.reconstruction_tracker.update_state(terms["reconstruction"])
        return with_regularization(average_loss(self.objective(terms)), self.losses)

    # --- Tensor-valued methods (exported) -----------------------------------
    def _decoded(self, params):
        """The exported view of p(x|z): ``{"probabilities", "logits"}`` (Bernoulli) or ``{"mean", "scale"}``."""
        if self.likelihood == "bernoulli":
            return {"probabilities": ops.sigmoid(params["logits"]), "logits": params["logits"]}
        return {"mean": params["loc"], "scale": ops.exp(params["log_scale"])}

    def encode(self, x):
        """q(z|x) parameters: {"mean", "stddev"}, each (B, latent_dim)."""
        mean, stddev = self.posterior_params(check_input(x, self.input_shape, "x"))
        return {"mean": mean, "stddev": stddev}

    def decode(self, z):
        """p(x|z), each (B, *input_shape): Bernoulli {"probabilities", "logits"}; Gaussian {"mean", "scale"}."""
        return self._decoded(self.decoder_params(check_input(z, (self.latent_dim,), "z")))

    def reconstruct(self, x):
        """Decodes the posterior mean: {"probabilities"} (Bernoulli) or {"mean"} (Gaussian), (B, *input_shape)."""
        mean, _ = self.posterior_params(check_input(x, self.input_shape, "x"))
        key = "probabilities" if self.likelihood == "bernoulli" else "mean"
        return {key: self.decoder_mean(self.decoder_params(mean))}

    def sample(self, num_samples, seed):
        """Draws z ~ p(z) and decodes it with stateless RNG.

        Bernoulli: x ~ p(x|z) as well. Gaussian: the means E[y|z] only; a draw from p(y|z) adds independent
        per-sub-pixel noise and nothing of the image's structure.

        Args:
            num_samples: int32 scalar.
            seed: int32 (2,) stateless seed; the same seed gives the same samples.

        Returns:
            Bernoulli: {"z": (N, latent_dim), "probabilities": (N, *input_shape),
            "images": (N, *input_shape) in {0, 1}}.
            Gaussian: {"z": (N, latent_dim), "mean": (N, *input_shape)}.
        """
        seed = tf.cast(seed, tf.int32)
        seeds = tf.random.experimental.stateless_split(seed, 2)
        z = self.prior_distribution().sample(num_samples, seed=seeds[0])
        mean = self.decoder_mean(self.decoder_params(z))
        if self.likelihood == "gaussian":
            return {"z": z, "mean": mean}
        # Threshold philox uniforms ourselves so XLA and non-XLA paths agree.
        u = tf.random.stateless_uniform(tf.shape(mean), seed=seeds[1], alg="philox")
        return {"z": z, "probabilities": mean, "images": tf.cast(u < mean, tf.float32)}

    def elbo(self, x, seed):
        """Per-example ELBO and its terms in nats, one posterior sample drawn with ``seed``."""
        x = check_input(x, self.input_shape, "x")
        mean, stddev = self.posterior_params(x)
        z = mean + stddev * tf.random.stateless_normal(tf.shape(mean), seed=tf.cast(seed, tf.int32), alg="philox")
        return self.elbo_terms(x, mean, stddev, z, self.decoder_params(z))

    def iwae_bound(self, x, num_samples, seed):
        """Importance-sampled log-likelihood bound log p(x) >= log mean_j p(x, z_j) / q(z_j|x), (B,) nats."""
        x = check_input(x, self.input_shape, "x")
        q = self.posterior(x)
        z = q.sample(num_samples, seed=tf.cast(seed, tf.int32))  # (k, B, D)
        log_joint = self.likelihood_distribution(z).log_prob(x) + self.prior_distribution().log_prob(z)  # (k, B)
        log_weights = log_joint - q.log_prob(z)
        return tf.reduce_logsumexp(log_weights, axis=0) - tf.math.log(tf.cast(num_samples, tf.float32))

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")
        z = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        num = tf.TensorSpec((), tf.int32, name="num_samples")
        return {
            "encode": (self.encode, [x]),
            "decode": (self.decode, [z]),
            "sample": (self.sample, [num, seed]),
            "reconstruct": (self.reconstruct, [x]),
            "elbo": (self.elbo, [x, seed]),
            "log_prob_bound": (lambda x, n, s: {"log_prob_bound": self.iwae_bound(x, n, s)}, [x, num, seed]),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.input_shape,
            "latent_dim": self.latent_dim,
            "hidden_units": self.hidden_units,
            "prior": self.prior,
            "num_components": self.num_components,
            "likelihood": self.likelihood,
            "conv_filters": self.conv_filters,
            "seed": self.seed,
        }


@register_model("beta_vae", dataset="mnist5k", metric="test_kl_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class BetaVAE(VAE):
    """beta-VAE in its penalty form or its constrained (Lagrangian) form.

    Penalty form: maximize E_q[log p(x|z)] - beta * KL(q(z|x) || p(z)); beta > 1
    presses the posterior towards the factorized prior (disentangling).

    Constrained form: maximize E_q[log p(x|z)] subject to KL <= delta. With the
    Lagrangian L = -E_q[log p(x|z)] + lambda (KL - delta), lambda >= 0, the
    encoder and decoder descend L while lambda ascends it (dual ascent). Both
    happen in the one optimizer step: lambda = exp(nu) (multiplicative updates,
    so lambda can grow by orders of magnitude within one run) and the loss is

        -rec + sg(lambda) (KL - delta) - lambda sg(KL - delta),

    whose gradient in the networks is that of L and whose gradient in nu is
    -(KL - delta) * dlambda/dnu, so descending it raises lambda while KL > delta.

    Args:
        beta: KL weight of the penalty form.
        constraint: ``None`` (penalty form) or ``"kl"`` (constrained form).
        kl_threshold: delta, nats per example, for the constrained form.
        initial_multiplier: lambda's starting value for the constrained form.
        **kwargs: the :class:`VAE` arguments.

    Example:
        >>> BetaVAE(beta=4.0, latent_dim=10)                            # penalty form
        >>> BetaVAE(constraint="kl", kl_threshold=15.0, latent_dim=10)  # KL <= 15 nats

    Reference:
        Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a
        Constrained Variational Framework", ICLR 2017.
    """

    def __init__(self, beta=4.0, constraint=None, kl_threshold=10.0, initial_multiplier=1.0, **kwargs):
        super().__init__(**kwargs)
        if constraint not in (None, "kl"):
            raise ValueError(f"Unknown constraint {constraint!r}; use None (penalty form) or 'kl'.")
        if initial_multiplier <= 0:
            raise ValueError(f"initial_multiplier must be > 0, got {initial_multiplier}.")
        # === Config ===
        self.beta = beta
        self.constraint = constraint
        self.kl_threshold = kl_threshold
        self.initial_multiplier = initial_multiplier
        # === Layers ===
        self.multiplier_tracker = keras.metrics.Mean(name="lagrange_multiplier")
        if constraint == "kl":
            self.log_multiplier = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(math.log(initial_multiplier)), name="log_lagrange_multiplier"
            )

    def lagrange_multiplier(self):
        return ops.exp(self.log_multiplier) if self.constraint == "kl" else ops.convert_to_tensor(self.beta)

    def objective(self, terms):
        reconstruction, kl = terms["reconstruction"], terms["kl"]
        if self.constraint is None:
            self.multiplier_tracker.update_state(self.beta)
            return -reconstruction + self.beta * kl
        lam = self.lagrange_multiplier()
        self.multiplier_tracker.update_state(lam)
        slack = kl - self.kl_threshold
        sg = ops.stop_gradient
        return -reconstruction + sg(lam) * slack - lam * sg(slack)

    def get_config(self):
        return {
            **super().get_config(),
            "beta": self.beta,
            "constraint": self.constraint,
            "kl_threshold": self.kl_threshold,
            "initial_multiplier": self.initial_multiplier,
        }
