"""Invertible 1x1 convolution (Glow) with an LU-decomposed weight."""

import keras
import numpy as np
import scipy.linalg
import tensorflow as tf

from mpkeras.bijectors.base import FlowLayer


@keras.saving.register_keras_serializable(package="mpkeras")
class InvertibleConv1x1(FlowLayer):
    """y = W x at every pixel, with W = P L (U + diag(sign(s) * exp(log|s|))).

    P is a fixed permutation (non-trainable), L unit lower-triangular, U strictly
    upper-triangular, and log|det W| = sum log|s|, so the log-det of the layer,
    H * W * sum log|s|, costs O(c) instead of O(c^3). W starts as a random
    rotation (the Q of a QR decomposition, seeded by ``seed``), LU-factorized.
    On vectors (``event_ndims=1``) it is a learnable invertible linear map.

    Args:
        event_ndims: 1 for vectors, 3 for images.
        seed: seed of the initial rotation.

    Example:
        >>> conv = InvertibleConv1x1(seed=3)
        >>> y, log_det = conv.forward(images)

    Reference:
        Kingma and Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    def __init__(self, event_ndims=3, seed=0, **kwargs):
        super().__init__(event_ndims=event_ndims, **kwargs)
        # === Config ===
        self.seed = seed

    def build(self, input_shape):
        c = int(input_shape[-1])
        rng = np.random.default_rng(self.seed)
        rotation = np.linalg.qr(rng.normal(size=(c, c)))[0]
        p, lower, upper = scipy.linalg.lu(rotation)
        s = np.diag(upper)
        const = keras.initializers.Constant
        self.permutation = self.add_weight(shape=(c, c), initializer=const(p), trainable=False, name="permutation")
        self.sign_s = self.add_weight(shape=(c,), initializer=const(np.sign(s)), trainable=False, name="sign_s")
        self.lower = self.add_weight(shape=(c, c), initializer=const(np.tril(lower, -1)), name="lower")
        self.upper = self.add_weight(shape=(c, c), initializer=const(np.triu(upper, 1)), name="upper")
        self.log_s = self.add_weight(shape=(c,), initializer=const(np.log(np.abs(s))), name="log_s")
        self.built = True

    def weight(self):
        """W (c, c) from its LU factors."""
        c = self.permutation.shape[0]
        eye = tf.eye(c, dtype=self.lower.dtype)
        lower = tf.linalg.band_part(self.lower, -1, 0) - tf.linalg.band_part(self.lower, 0, 0) + eye
        upper = tf.linalg.band_part(self.upper, 0, -1) - tf.linalg.band_part(self.upper, 0, 0)
        upper = upper + tf.linalg.diag(self.sign_s * tf.exp(self.log_s))
        return tf.matmul(self.permutation, tf.matmul(lower, upper))

    def _log_det(self, x):
        ones = tf.ones_like(x[(slice(None),) + (0,) * self.event_ndims])  # (B,)
        return self.spatial_size(x) * tf.reduce_sum(self.log_s) * ones

    def forward(self, x, **kwargs):
        if not self.built:
            self.build(x.shape)
        return tf.matmul(x, self.weight(), transpose_b=True), self._log_det(x)  # (..., c) @ W^T

    def inverse(self, y, **kwargs):
        if not self.built:
            self.build(y.shape)
        return tf.matmul(y, tf.linalg.inv(self.weight()), transpose_b=True), -self._log_det(y)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
