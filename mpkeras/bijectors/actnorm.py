"""Activation normalization (Glow): a per-channel affine map with data-dependent initialization."""

import keras
import tensorflow as tf

from mpkeras.bijectors.base import FlowLayer


@keras.saving.register_keras_serializable(package="mpkeras")
class ActNorm(FlowLayer):
    """y = (x + b) * exp(log_s), per channel (the last axis); log|det| = H * W * sum_c log_s_c.

    Data-dependent initialization: on the first call with ``training=True``, b
    and log_s are set so that that batch's outputs have zero mean and unit
    variance per channel (b = -mean, log_s = -log std). A non-trainable
    ``initialized`` weight records that this happened, so it happens once, and
    a saved and reloaded model does not initialize again. In a graph the check
    is a ``tf.cond`` on that weight.

    Args:
        event_ndims: 1 for vectors (B, D), 3 for images (B, H, W, C).
        epsilon: added to the std at initialization.

    Example:
        >>> norm = ActNorm()
        >>> y, log_det = norm.forward(images, training=True)  # first batch: initializes

    Reference:
        Kingma and Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    def __init__(self, event_ndims=3, epsilon=1e-6, **kwargs):
        super().__init__(event_ndims=event_ndims, **kwargs)
        # === Config ===
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros", name="log_scale")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized")
        self.built = True

    def initialize(self, x):
        """Sets b and log_s from the batch ``x`` unless already initialized; returns an op to depend on."""
        axes = list(range(x.shape.rank - 1))

        def moments():
            x_ = tf.stop_gradient(x)
            return tf.reduce_mean(x_, axes), tf.reduce_mean(tf.square(x_), axes)

        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            # The global batch's statistics, so that every replica (and worker) starts from the same values.
            # A cross-replica reduction cannot run inside tf.cond, so under a strategy it runs on every
            # training step (2 C numbers); the assignment below still happens once.
            global_moments = context.all_reduce(tf.distribute.ReduceOp.MEAN, list(moments()))
            moments = lambda: global_moments  # noqa: E731

        def init():
            mean, mean_square = moments()
            variance = tf.maximum(mean_square - tf.square(mean), 0.0)
            self.bias.assign(-mean)
            self.log_scale.assign(-tf.math.log(tf.sqrt(variance) + self.epsilon))
            self.initialized.assign(tf.ones_like(self.initialized))
            return tf.constant(True)

        return tf.cond(self.initialized > 0.5, lambda: tf.constant(False), init)

    def forward(self, x, training=False, **kwargs):
        if not self.built:
            self.build(x.shape)
        if training:
            with tf.control_dependencies([self.initialize(x)]):
                x = tf.identity(x)
        log_scale = tf.convert_to_tensor(self.log_scale)
        y = (x + self.bias) * tf.exp(log_scale)
        return y, self.spatial_size(x) * tf.reduce_sum(log_scale) * tf.ones_like(y[:, 0] if self.event_ndims == 1
                                                                                  else y[:, 0, 0, 0])

    def inverse(self, y, **kwargs):
        if not self.built:
            self.build(y.shape)
        log_scale = tf.convert_to_tensor(self.log_scale)
        x = y * tf.exp(-log_scale) - self.bias
        return x, -self.spatial_size(y) * tf.reduce_sum(log_scale) * tf.ones_like(x[:, 0] if self.event_ndims == 1
                                                                                   else x[:, 0, 0, 0])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
