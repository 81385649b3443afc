"""Random rotation and translation of images in one bilinear warp, with or without XLA.

Keras's ``RandomRotation`` and ``RandomTranslation`` warp with ``ImageProjectiveTransformV3``, which has no XLA
kernel: Keras then trains the whole model without XLA (and ``--jit`` was refused). This layer draws the same
ranges and warps once (the two Keras layers interpolate twice). Without XLA it calls the same fused op through
``keras.ops.image.affine_transform``; under XLA (``xla=True``, which the classifiers set from their
``jit_compile``) it computes the same warp from gathers and arithmetic, which XLA compiles and fuses. Unfused,
that form is 3 to 8 times slower than the fused op on CPU, which is why both exist.
"""

import math

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mpkeras")
class RandomAffine(keras.layers.Layer):
    """Per-image random rotation about the centre and translation, bilinear, zero outside the image.

    For each image the layer draws an angle θ ~ U(-2π·rotation, 2π·rotation) and a shift
    t = (t_y, t_x) with t_y ~ U(-shift·H, shift·H), t_x ~ U(-shift·W, shift·W) pixels (the ranges of
    Keras's ``RandomRotation(rotation)`` and ``RandomTranslation(shift, shift)``). In (x, y) = (column, row)
    pixel coordinates, with c the image centre and R(θ) = [[cos θ, −sin θ], [sin θ, cos θ]], output pixel p
    reads the input at

        q = R(θ)(p − c − t) + c,                                    (inverse warp)

    so the content moves by p ↦ R(−θ)(p − c) + c + t: counter-clockwise on screen for θ > 0, as rows grow
    downwards (Keras's convention). q is interpolated bilinearly from the four pixels around it; pixels
    outside the image count as 0 (``fill_mode="constant"``). Only in training; at inference the layer is the
    identity.

    Args:
        shift: largest translation, as a fraction of the height and of the width, in [0, 1].
        rotation: largest rotation, as a fraction of 2π, in [0, 1].
        seed: seed of the draws.
        xla: warp with gathers (:func:`warp`), which XLA compiles, instead of Keras's fused op, which it
            cannot. Both give the same images (to float rounding).
    """

    def __init__(self, shift=0.0, rotation=0.0, seed=None, xla=False, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("shift", shift), ("rotation", rotation)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"RandomAffine: {name} must be in [0, 1], got {value}.")
        self.shift, self.rotation, self.seed, self.xla = float(shift), float(rotation), seed, bool(xla)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        batch = tf.shape(images)[0]
        height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
        limit = 2.0 * math.pi * self.rotation
        angles = keras.random.uniform((batch,), -limit, limit, seed=self.seed_generator)  # (B,)
        fractions = keras.random.uniform((batch, 2), -self.shift, self.shift, seed=self.seed_generator)  # (B, 2)
        shifts = fractions * tf.stack([height, width])  # (B, 2) pixels
        if self.xla:
            return warp(images, angles, shifts)
        transforms = inverse_warp_matrices(angles, shifts, tf.shape(images)[1], tf.shape(images)[2])
        return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "rotation": self.rotation, "seed": self.seed,
                "xla": self.xla}


def inverse_warp_matrices(angles, shifts, height, width):
    """(B, 8) projective parameters [a0, a1, a2, b0, b1, b2, 0, 0] of ``keras.ops.image.affine_transform`` for
    the inverse warp q = R(θ)(p − c − t) + c: output (x, y) reads the input at
    (a0·x + a1·y + a2, b0·x + b1·y + b2)."""
    cy, cx = (tf.cast(height, tf.float32) - 1.0) / 2.0, (tf.cast(width, tf.float32) - 1.0) / 2.0
    cos, sin = tf.cos(angles), tf.sin(angles)  # (B,)
    ox, oy = cx + shifts[:, 1], cy + shifts[:, 0]  # c + t, (B,) each
    zeros = tf.zeros_like(cos)
    return tf.stack([cos, -sin, cx - cos * ox + sin * oy, sin, cos, cy - sin * ox - cos * oy, zeros, zeros], 1)


def warp(images, angles, shifts):
    """Images (B, H, W, C) rotated by ``angles`` (B,) radians about their centres, then moved by ``shifts``
    (B, 2) pixels (rows, columns); bilinear, 0 outside (the inverse warp in :class:`RandomAffine`)."""
    shape = tf.shape(images)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    rows, cols = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")  # (H, W)
    cy, cx = (tf.cast(h, tf.float32) - 1.0) / 2.0, (tf.cast(w, tf.float32) - 1.0) / 2.0
    dy = rows[None] - cy - shifts[:, 0, None, None]  # (B, H, W): p − c − t
    dx = cols[None] - cx - shifts[:, 1, None, None]
    cos, sin = tf.cos(angles)[:, None, None], tf.sin(angles)[:, None, None]
    qx = cos * dx - sin * dy + cx  # (B, H, W): q = R(θ)(p − c − t) + c
    qy = sin * dx + cos * dy + cy
    y0, x0 = tf.floor(qy), tf.floor(qx)
    flat = tf.reshape(images, [b, h * w, c])  # (B, H·W, C)
    out = tf.zeros_like(images)
    for oy, ox in ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)):
        y, x = y0 + oy, x0 + ox  # (B, H, W) corner coordinates
        weight = (1.0 - tf.abs(qy - y)) * (1.0 - tf.abs(qx - x))
        inside = (y >= 0) & (y <= tf.cast(h, tf.float32) - 1) & (x >= 0) & (x <= tf.cast(w, tf.float32) - 1)
        index = tf.cast(tf.clip_by_value(y, 0.0, tf.cast(h - 1, tf.float32)), tf.int32) * w + tf.cast(
            tf.clip_by_value(x, 0.0, tf.cast(w - 1, tf.float32)), tf.int32)  # (B, H, W)
        values = tf.gather(flat, tf.reshape(index, [b, h * w]), batch_dims=1)  # (B, H·W, C)
        weight = tf.where(inside, weight, 0.0)[..., None]  # (B, H, W, 1)
        out += tf.reshape(values, shape) * tf.cast(weight, images.dtype)
    return out
