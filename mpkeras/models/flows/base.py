"""The :class:`FlowModel` base: a ``tfd.TransformedDistribution`` of a base Gaussian through a chain of flow layers."""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from mpkeras.models.common import average_loss, check_images, split_dtype_policy, with_regularization

tfb = tfp.bijectors
tfd = tfp.distributions

PREPROCESSING = ("logit", "shift")
"""The image flows' maps of dequantized pixels x in [0, 1] to model space (:func:`pixel_preprocessing`)."""


def pixel_preprocessing(kind, alpha, dtype):
    """The ``tfb.Bijector`` x in [0, 1] -> model space, log-det counted by the flow.

    ``logit``: y = logit(alpha + (1 - 2 alpha) x) (RealNVP's, alpha = 0.05 there), log|dy/dx| =
    log(1 - 2 alpha) - log(p) - log(1 - p) per pixel, p = alpha + (1 - 2 alpha) x; ``shift``: y = x - 0.5 (Glow's).
    """
    if kind not in PREPROCESSING:
        raise ValueError(f"Unknown preprocessing {kind!r}; use one of {PREPROCESSING}.")
    if kind == "shift":
        return tfb.Shift(tf.constant(-0.5, dtype))
    return tfb.Chain([tfb.Invert(tfb.Sigmoid()), tfb.Shift(tf.constant(alpha, dtype)),
                      tfb.Scale(tf.constant(1.0 - 2.0 * alpha, dtype))])


class FlowModel(keras.Model):
    """Base of flow models over a fixed event shape; subclasses supply the bijectors.

    Hooks (override these):
      * :meth:`flow_bijectors` ``(conditions, training) -> [tfb.Bijector]``: the
        learnable bijectors in the data -> latent direction, applied first to last;
      * :meth:`preprocessing_bijector` ``() -> tfb.Bijector``: data -> model space, applied
        first, log-det counted (default identity);
      * :meth:`latent_shape` ``() -> tuple``: the event shape of z (default: the input shape);
      * :meth:`base_distribution` ``(conditions) -> tfd.Distribution``: p_Z (default N(0, I)).

    Inputs: a batch (B, *input_shape), or with ``condition_keys`` a dict
    ``{data_key: x, key: conditioning input, ...}`` (shapes from
    :meth:`condition_shapes`). ``call`` returns ``{"log_prob"}`` (B,) in nats
    (and ``"bits_per_dim"`` when ``num_bins`` is set); ``fit`` minimizes the mean
    negative log-likelihood, tracked as ``nll`` (and ``bits_per_dim``).

    With ``num_bins`` = K, x are dequantized K-level values (k + u) / K in [0, 1],
    and bits/dim are those of the discrete data: (-log p(x) + D log K) / (D ln 2),
    since the density of x in [0, 1]^D is K^D times that of k + u.

    Args:
        input_shape: shape of one example.
        num_bins: K levels of the dequantized data (None: continuous data, no bits/dim).
    """

    condition_keys = ()
    """Names of the conditioning inputs (dict keys next to ``data_key``)."""
    @property
    def flow_dtype(self):
        """The dtype of x, z, the log-densities and log-determinants: the variables' (float32 under mixed
        precision, see :func:`mpkeras.models.common.split_dtype_policy`); the couplings cast their networks'
        outputs to it."""
        return self.compute_dtype
    data_key = "images"

    def __init__(self, input_shape, num_bins=None, **kwargs):
        # The flow (x, z, log-dets and densities, the actnorm and 1x1-conv weights) computes in float32; the
        # networks inside the couplings in the policy asked for, mixed_float16 included.
        self.network_dtype_policy = split_dtype_policy(kwargs)
        super().__init__(**kwargs)
        # === Config ===
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_bins = None if num_bins is None else int(num_bins)
        self.num_dims = int(np.prod(self.input_shape))
        # === Layers ===
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self.bpd_tracker = keras.metrics.Mean(name="bits_per_dim") if self.num_bins else None

    # --- Hooks -------------------------------------------------------------------
    def flow_bijectors(self, conditions, training=False):
        raise NotImplementedError

    def preprocessing_bijector(self):
        return tfb.Identity()

    def latent_shape(self):
        return self.input_shape

    def condition_shapes(self):
        """{key: shape of one example} of the conditioning inputs."""
        return {}

    def base_distribution(self, conditions=None):
        zeros = tf.zeros(self.latent_shape(), self.flow_dtype)
        return tfd.Independent(tfd.Normal(zeros, tf.ones_like(zeros)), reinterpreted_batch_ndims=len(zeros.shape))

    # --- The flow, built on every call -------------------------------------------
    def flow(self, conditions=None, training=False):
        """The ``tfb.Chain`` data -> latent: preprocessing, then :meth:`flow_bijectors`."""
        bijectors = [self.preprocessing_bijector(), *self.flow_bijectors(conditions or {}, training)]
        return tfb.Chain(bijectors[::-1])  # a Chain applies its last bijector first

    def distribution(self, conditions=None, training=False):
        """p(x) as a ``tfd.TransformedDistribution`` of the base through the inverse flow."""
        inverse_flow = tfb.Invert(self.flow(conditions, training))  # latent -> data
        return tfd.TransformedDistribution(self.base_distribution(conditions), inverse_flow)

    def _split(self, inputs):
        """(x, {key: condition}) from the model's inputs, with a clear error for a wrong structure."""
        name = type(self).__name__
        if not self.condition_keys:
            if isinstance(inputs, dict):
                raise ValueError(f"{name} is unconditional; pass the {self.data_key} alone, not a dict with keys "
                                 f"{sorted(inputs)}.")
            return inputs, {}
        expected = {self.data_key, *self.condition_keys}
        if not isinstance(inputs, dict) or set(inputs) != expected:
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ValueError(f"{name} takes a dict with keys {sorted(expected)}, got {got}.")
        for key, shape in self.condition_shapes().items():
            if len(shape) == 3:
                check_images(inputs[key], shape, key)
        return inputs[self.data_key], {k: inputs[k] for k in self.condition_keys}

    def _cast(self, t):
        return tf.cast(t, self.flow_dtype)

    def _check(self, x):
        if len(self.input_shape) == 3:
            check_images(x, self.input_shape, self.data_key)
        return self._cast(x)

    def build(self, input_shape=None):
        # Create every weight by running the flow once on zeros (eagerly).
        with tf.init_scope():
            x = tf.zeros((1, *self.input_shape), self.flow_dtype)
            conditions = {k: tf.zeros((1, *s), self.flow_dtype) for k, s in self.condition_shapes().items()}
            self.flow(conditions).forward(x)
        super().build(input_shape)

    def _outputs(self, log_prob):
        out = {"log_prob": log_prob}
        if self.num_bins:
            out["bits_per_dim"] = self.bits_per_dim(log_prob)
        return out

    def bits_per_dim(self, log_prob):
        """Bits per dimension of the discrete data from the density log p(x) of x in [0, 1]^D."""
        return (-log_prob + self.num_dims * math.log(self.num_bins)) / (self.num_dims * math.log(2.0))

    def call(self, inputs, training=False):
        x, conditions = self._split(inputs)
        x = self._check(x)
        conditions = {k: self._cast(v) for k, v in conditions.items()}
        return self._outputs(self.distribution(conditions, training).log_prob(x))

    def compute_output_spec(self, inputs, training=False):
        x, _ = self._split(inputs)
        if len(self.input_shape) == 3:
            check_images(x, self.input_shape, self.data_key)
        spec = keras.KerasTensor((x.shape[0],), self.flow_dtype)
        return {"log_prob": spec, **({"bits_per_dim": spec} if self.num_bins else {})}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        nll = -y_pred["log_prob"]  # (B,) nats
        self.nll_tracker.update_state(nll)
        if self.bpd_tracker is not None:
            self.bpd_tracker.update_state(y_pred["bits_per_dim"])
        return with_regularization(average_loss(nll), self.losses)

    # --- Tensor-valued methods (exported) ------------------------------------------
    def _checked(self, x):
        """``x`` behind a graph assertion that its values are valid pixels (served graphs check too)."""
        x = self._check(x)
        if self.num_bins is None:
            return x
        valid = tf.reduce_all((x >= 0.0) & (x <= 1.0))  # False for NaN
        message = (f"{self.data_key} must hold pixel values in [0, 1] (dequantized levels (k + u) / {self.num_bins}); "
                   "scale 8-bit images with mpkeras.data.dequantize or divide by 256")
        with tf.control_dependencies([tf.debugging.assert_equal(valid, True, message=message)]):
            return tf.identity(x)

    def _conditions(self, *args):
        return {k: self._cast(v) for k, v in zip(self.condition_keys, args)}

    def log_prob(self, x, *conditions):
        """``log_prob`` (B,) in nats (and ``bits_per_dim``) of x (B, *input_shape) [given the conditions]."""
        return self._outputs(self.distribution(self._conditions(*conditions)).log_prob(self._checked(x)))

    def forward(self, x, *conditions):
        """Data -> latent: ``z`` (B, *latent_shape) and ``log_det`` = log|det dz/dx| (B,)."""
        x = self._checked(x)
        flow = self.flow(self._conditions(*conditions))
        return {"z": flow.forward(x), "log_det": flow.forward_log_det_jacobian(x, event_ndims=len(self.input_shape))}

    def inverse(self, z, *conditions):
        """Latent -> data: ``{data_key: x}`` (B, *input_shape)."""
        return {self.data_key: self.flow(self._conditions(*conditions)).inverse(self._cast(z))}

    def _sample(self, n, seed, temperature, conditions):
        eps = tf.random.stateless_normal((n, *self.latent_shape()), tf.cast(seed, tf.int32), alg="philox",
                                         dtype=self.flow_dtype)
        return self.inverse(eps * tf.cast(temperature, self.flow_dtype), *conditions)

    def sample(self, num_samples, seed, temperature=1.0):
        """``num_samples`` draws x = f^-1(T eps), eps ~ N(0, I) (philox, ``seed`` int32 (2,)); T = temperature."""
        if self.condition_keys:
            raise ValueError(f"{type(self).__name__} is conditional; draw with "
                             f"sample_conditional({', '.join(self.condition_keys)}, seed, temperature).")
        return self._sample(num_samples, seed, temperature, ())

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name=self.data_key)
        z = tf.TensorSpec((None, *self.latent_shape()), tf.float32, name="z")
        conditions = [tf.TensorSpec((None, *s), tf.float32, name=k) for k, s in self.condition_shapes().items()]
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        temperature = tf.TensorSpec((), tf.float32, name="temperature")
        log_prob = (self.log_prob, [x, *conditions])
        if conditions:
            sample = (self.sample_conditional, [*conditions, seed, temperature])
        else:
            sample = (self.sample, [tf.TensorSpec((), tf.int32, name="num_samples"), seed, temperature])
        return {"serving_default": log_prob, "log_prob": log_prob, "sample": sample,
                "forward": (self.forward, [x, *conditions]), "inverse": (self.inverse, [z, *conditions])}

    def serving_examples(self):
        """Valid inputs for every endpoint (pixels strictly inside (0, 1), a moderate temperature)."""
        rng = np.random.default_rng(0)
        x = rng.uniform(0.01, 0.99, size=(2, *self.input_shape)).astype(np.float32)
        z = rng.normal(size=(2, *self.latent_shape())).astype(np.float32)
        conditions = [rng.uniform(size=(2, *s)).astype(np.float32) for s in self.condition_shapes().values()]
        seed, temperature = np.array([1, 2], np.int32), np.float32(0.7)
        sample = [*conditions, seed, temperature] if conditions else [np.int32(2), seed, temperature]
        return {"serving_default": [x, *conditions], "log_prob": [x, *conditions], "sample": sample,
                "forward": [x, *conditions], "inverse": [z, *conditions]}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "num_bins": self.num_bins}
