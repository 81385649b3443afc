"""Squeeze (space-to-depth) and the factor-out split of multi-scale flows."""

import keras
import tensorflow as tf

from mpkeras.bijectors.base import FlowLayer, LayerBijector


@keras.saving.register_keras_serializable(package="mpkeras")
class Squeeze(FlowLayer):
    """(B, H, W, C) -> (B, H/2, W/2, 4C) by ``tf.nn.space_to_depth`` (2x2 blocks); log-det 0.

    With ``factored=p`` (a keyword of ``forward``/``inverse``; ``passthrough``
    of :meth:`bijector`), the first C - p channels and the last p channels are
    squeezed separately and concatenated, so the factored-out latents of a
    multi-scale flow stay at the end.

    Reference:
        Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    def __init__(self, factor=2, **kwargs):
        kwargs.pop("event_ndims", None)
        super().__init__(event_ndims=3, **kwargs)
        # === Config ===
        self.factor = factor

    def _zero_log_det(self, x):
        return tf.zeros_like(x[:, 0, 0, 0])

    def _parts(self, x, factored, fn):
        if not factored:
            return fn(x)
        active, rest = tf.split(x, [tf.shape(x)[-1] - factored, factored], axis=-1)
        return tf.concat([fn(active), fn(rest)], axis=-1)

    def forward(self, x, factored=0, **kwargs):
        shape = x.shape
        if shape[1] is not None and (shape[1] % self.factor or shape[2] % self.factor):
            raise ValueError(f"Squeeze needs height and width divisible by {self.factor}, got shape {tuple(shape)}.")
        return self._parts(x, factored, lambda t: tf.nn.space_to_depth(t, self.factor)), self._zero_log_det(x)

    def inverse(self, y, factored=0, **kwargs):
        k = self.factor**2
        return (self._parts(y, factored * k, lambda t: tf.nn.depth_to_space(t, self.factor)),
                self._zero_log_det(y))

    def forward_shape(self, shape):
        h, w, c = shape
        f = self.factor
        return (None if h is None else h // f, None if w is None else w // f, None if c is None else c * f * f)

    def inverse_shape(self, shape):
        h, w, c = shape
        f = self.factor
        return (None if h is None else h * f, None if w is None else w * f, None if c is None else c // (f * f))

    def bijector(self, passthrough=0, **kwargs):
        return LayerBijector(self, factored=passthrough, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("event_ndims")
        return {**config, "factor": self.factor}


@keras.saving.register_keras_serializable(package="mpkeras")
class FactorOut(FlowLayer):
    """The split of a multi-scale flow: half the channels leave the flow here, Gaussianized by a learned prior.

    x = [h, z] -> [h, eps], eps = (z - mu) * exp(-log_sigma), log|det| = -sum log_sigma,

    where (mu, log_sigma) come from a zero-initialized 3x3 conv of h (Glow's
    learned prior p(z | h) = N(mu(h), sigma(h)^2)), of the conditioning feature
    map, or of both. Writing the prior as this affine map keeps the base
    distribution N(0, I): p(z | h) = N(eps; 0, I) |d eps / d z|. The next
    levels transform h only (they get ``passthrough`` = the channels of eps).
    log_sigma is soft-clamped to (-3, 3) by 3 tanh(raw / 3).

    Args:
        use_half: condition the prior on h (False: on the conditioning input only,
            e.g. the top level of a conditional flow, where nothing is split off).
        kernel_size: of the prior's conv.

    Reference:
        Kingma and Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    def __init__(self, use_half=True, kernel_size=3, **kwargs):
        kwargs.pop("event_ndims", None)
        super().__init__(event_ndims=3, **kwargs)
        # === Config ===
        self.use_half = bool(use_half)
        self.kernel_size = int(kernel_size)

    def split_sizes(self, channels):
        """(kept h, factored-out z) channel counts; with ``use_half=False`` nothing is kept."""
        if not self.use_half:
            return 0, channels
        return channels - channels // 2, channels // 2

    def build(self, input_shape):
        _, z_channels = self.split_sizes(int(input_shape[-1]))
        self.prior = keras.layers.Conv2D(2 * z_channels, self.kernel_size, padding="same", kernel_initializer="zeros",
                                         dtype=self.dtype_policy, name="prior")
        self.built = True

    def _params(self, h, conditions, like):
        parts = ([h] if self.use_half else []) + ([tf.cast(conditions, like.dtype)] if conditions is not None else [])
        if not parts:
            raise ValueError("FactorOut(use_half=False) needs a conditioning input (conditions=...).")
        mu, raw = tf.split(tf.cast(self.prior(tf.concat(parts, axis=-1)), like.dtype), 2, axis=-1)
        return mu, 3.0 * tf.tanh(raw / 3.0)

    def _apply(self, x, sign, conditions):
        if not self.built:
            self.build(x.shape)
        h_size, z_size = self.split_sizes(int(x.shape[-1]))
        h, z = tf.split(x, [h_size, z_size], axis=-1)
        mu, log_sigma = self._params(h, conditions, x)
        z = (z - mu) * tf.exp(-log_sigma) if sign > 0 else z * tf.exp(log_sigma) + mu
        return tf.concat([h, z], axis=-1), -sign * tf.reduce_sum(log_sigma, axis=[1, 2, 3])

    def forward(self, x, conditions=None, **kwargs):
        return self._apply(x, 1.0, conditions)

    def inverse(self, y, conditions=None, **kwargs):
        return self._apply(y, -1.0, conditions)

    def get_config(self):
        config = super().get_config()
        config.pop("event_ndims")
        return {**config, "use_half": self.use_half, "kernel_size": self.kernel_size}
