"""RandomAffine: the gather warp against Keras's own affine transform, the draws' ranges and seeds, and XLA."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import RandomAffine
from mpkeras.layers.augmentation import inverse_warp_matrices, warp
from mpkeras.models import LeNet


def _keras_matrices(angles, shifts, height, width):
    """The 8 projective parameters of ``keras.ops.image.affine_transform`` (output (x, y) -> input point) of
    q = R(θ)(p − c − t) + c, in (column, row) coordinates."""
    cy, cx = (height - 1) / 2, (width - 1) / 2
    rows = []
    for a, (ty, tx) in zip(angles, shifts):
        cos, sin = math.cos(a), math.sin(a)
        rows.append([cos, -sin, cx - cos * (cx + tx) + sin * (cy + ty),
                     sin, cos, cy - sin * (cx + tx) - cos * (cy + ty), 0.0, 0.0])
    return np.asarray(rows, np.float32)


def test_warp_equals_keras_affine_transform_bilinear_with_zero_fill():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(6, 13, 17, 3)).astype(np.float32)  # odd and unequal sides
    angles = rng.uniform(-0.6, 0.6, 6).astype(np.float32)
    shifts = rng.uniform(-4, 4, (6, 2)).astype(np.float32)
    ours = warp(tf.constant(images), tf.constant(angles), tf.constant(shifts))
    reference = keras.ops.image.affine_transform(images, _keras_matrices(angles, shifts, 13, 17),
                                                 interpolation="bilinear", fill_mode="constant")
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    np.testing.assert_allclose(inverse_warp_matrices(angles, shifts, 13, 17), _keras_matrices(angles, shifts, 13, 17),
                               atol=1e-5)  # the matrices the layer gives Keras's op without XLA


def test_both_forms_of_the_layer_give_the_same_images():
    images = np.random.default_rng(4).uniform(size=(8, 20, 16, 2)).astype(np.float32)
    fused, gathered = (RandomAffine(0.15, 0.05, seed=7, xla=xla)(images, training=True) for xla in (False, True))
    assert not np.allclose(fused, images)
    np.testing.assert_allclose(fused, gathered, atol=1e-5)


def test_quarter_turns_and_whole_pixel_shifts_are_exact():
    images = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5, 1)
    turned = warp(tf.constant(images), tf.constant([math.pi / 2, 0.0]), tf.zeros((2, 2)))
    # Counter-clockwise on screen for θ > 0: the right column becomes the top row.
    np.testing.assert_allclose(turned[0, ..., 0], np.rot90(images[0, ..., 0]), atol=1e-4)
    np.testing.assert_array_equal(turned[1], images[1])
    moved = warp(tf.constant(images), tf.zeros(2), tf.constant([[2.0, -1.0], [0.0, 0.0]]))
    expected = np.zeros_like(images[0, ..., 0])
    expected[2:, :-1] = images[0, :-2, 1:, 0]  # down 2 rows, left 1 column, zeros where nothing moved in
    np.testing.assert_array_equal(moved[0, ..., 0], expected)


def test_a_half_pixel_shift_averages_neighbours():
    images = tf.constant(np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1))
    moved = warp(images, tf.zeros(1), tf.constant([[0.0, 0.5]]))
    np.testing.assert_allclose(moved[0, 0, :, 0], [0.0, 0.5, 1.5, 2.5])  # left edge: half of 0 and the zero fill


def test_draws_stay_in_range_move_only_training_images_and_repeat_with_the_seed():
    images = np.zeros((64, 21, 21, 1), np.float32)
    images[:, 10, 10] = 1.0  # one bright pixel at the centre: its new place measures the shift
    layer = RandomAffine(shift=0.1, seed=3)
    moved = np.asarray(layer(images, training=True))[..., 0]
    rows, cols = np.unravel_index(moved.reshape(64, -1).argmax(1), (21, 21))
    assert np.abs(rows - 10).max() <= 3 and np.abs(cols - 10).max() <= 3  # |t| ≤ 0.1 · 21 = 2.1 pixels (+ rounding)
    assert len({(r, c) for r, c in zip(rows, cols)}) > 4, "every image got the same shift"
    np.testing.assert_allclose(moved.sum((1, 2)), 1.0, atol=1e-5)  # bilinear weights sum to 1 inside the image
    again = RandomAffine(shift=0.1, seed=3)(images, training=True)
    np.testing.assert_array_equal(moved, np.asarray(again)[..., 0])
    np.testing.assert_array_equal(layer(images, training=False), images)
    with pytest.raises(ValueError, match="rotation must be in"):
        RandomAffine(rotation=1.5)


def test_compiles_under_xla_and_keeps_a_float16_policy():
    images = np.random.default_rng(1).uniform(size=(4, 12, 12, 3)).astype(np.float32)
    layer = RandomAffine(shift=0.1, rotation=0.05, seed=0, xla=True)
    compiled = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    out = compiled(tf.constant(images))
    assert out.shape == images.shape and not np.allclose(out, images)
    half = RandomAffine(shift=0.1, rotation=0.05, seed=0, dtype="mixed_float16")
    out = half(tf.constant(images), training=True)
    assert out.dtype == tf.float16 and np.isfinite(out.numpy()).all()
    assert RandomAffine.from_config(half.get_config()).get_config() == half.get_config()


def test_a_classifier_picks_the_form_from_jit_compile():
    model = LeNet(input_shape=(12, 12, 1), filters=(2, 2), units=(4, 4), num_classes=2, augment_shift=0.1)
    model.compile(jit_compile=True)
    assert model.jit_compile and model.augmentation[0].xla
    model.compile(jit_compile=False)
    assert not model.augmentation[0].xla
