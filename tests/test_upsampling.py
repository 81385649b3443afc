"""Upsampling and unpooling layers against hand-computed 2x2 -> 4x4 examples."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import (
    UPSAMPLING_KINDS,
    BedOfNails,
    MaxPoolWithArgmax,
    MaxUnpool,
    upsampling_layer,
)

# One 2x2 single-channel map, as a batch (1, 2, 2, 1).
X = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32).reshape(1, 2, 2, 1)

# A 4x4 map and what max pooling 2x2 and unpooling give (maxima 5, 8, 9, 4).
X4 = np.array(
    [
        [1.0, 5.0, 2.0, 0.0],
        [3.0, 4.0, 8.0, 6.0],
        [0.0, 9.0, 1.0, 2.0],
        [7.0, 2.0, 3.0, 4.0],
    ],
    np.float32,
).reshape(1, 4, 4, 1)
POOLED = np.array([[5.0, 8.0], [9.0, 4.0]], np.float32).reshape(1, 2, 2, 1)
# Flat positions ((b * H + y) * W + x) * C + c of 5, 8, 9, 4 in X4.
ARGMAX = np.array([[1, 6], [9, 15]], np.int64).reshape(1, 2, 2, 1)
UNPOOLED = np.array(
    [
        [0.0, 5.0, 0.0, 0.0],
        [0.0, 0.0, 8.0, 0.0],
        [0.0, 9.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 4.0],
    ],
    np.float32,
).reshape(1, 4, 4, 1)


def test_nearest_copies_each_value_into_its_block():
    layer = upsampling_layer("nearest")
    assert isinstance(layer, keras.layers.UpSampling2D)
    expected = np.array(
        [
            [1.0, 1.0, 2.0, 2.0],
            [1.0, 1.0, 2.0, 2.0],
            [3.0, 3.0, 4.0, 4.0],
            [3.0, 3.0, 4.0, 4.0],
        ]
    )
    np.testing.assert_array_equal(layer(X).numpy()[0, ..., 0], expected)


def test_bed_of_nails_puts_each_value_top_left():
    layer = upsampling_layer("bed_of_nails")
    assert isinstance(layer, BedOfNails)
    expected = np.array(
        [
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [3.0, 0.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(np.asarray(layer(X))[0, ..., 0], expected)


def test_bed_of_nails_size_3_and_channels():
    x = np.arange(2 * 1 * 2 * 2, dtype=np.float32).reshape(2, 1, 2, 2)  # (B=2, H=1, W=2, C=2)
    y = np.asarray(BedOfNails(3)(x))
    assert y.shape == (2, 3, 6, 2)
    expected = np.zeros((2, 3, 6, 2), np.float32)
    expected[:, 0, 0, :] = x[:, 0, 0, :]
    expected[:, 0, 3, :] = x[:, 0, 1, :]
    np.testing.assert_array_equal(y, expected)


def test_max_unpool_from_hand_written_indices():
    layer = upsampling_layer("max_unpool")
    assert isinstance(layer, MaxUnpool)
    np.testing.assert_array_equal(np.asarray(layer([POOLED, ARGMAX])), UNPOOLED)


def test_max_pool_with_argmax_on_4x4():
    values, argmax = MaxPoolWithArgmax(2)(X4)
    np.testing.assert_array_equal(np.asarray(values), POOLED)
    np.testing.assert_array_equal(np.asarray(argmax), ARGMAX)
    assert argmax.dtype == tf.int64


def test_max_unpool_after_max_pool_restores_the_maxima_over_batch_and_channels():
    rng = np.random.default_rng(0)
    x = rng.permutation(3 * 4 * 4 * 2).astype(np.float32).reshape(3, 4, 4, 2)  # distinct values: unique argmax
    values, argmax = MaxPoolWithArgmax(2)(x)
    y = np.asarray(MaxUnpool(2)([values, argmax]))
    blocks = x.reshape(3, 2, 2, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(3, 2, 2, 2, 4)  # (B, i, j, C, 4)
    is_max = blocks == blocks.max(axis=-1, keepdims=True)
    expected = np.where(is_max, blocks, 0.0).reshape(3, 2, 2, 2, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)
    np.testing.assert_array_equal(y, expected)
    assert np.count_nonzero(y) == values.shape.num_elements()  # one value per 2x2 block


def test_transposed_conv_with_a_known_kernel():
    layer = upsampling_layer("transposed", filters=1)
    assert isinstance(layer, keras.layers.Conv2DTranspose)
    layer.build((None, 2, 2, 1))
    layer.kernel.assign(np.array([[1.0, 10.0], [100.0, 1000.0]], np.float32).reshape(2, 2, 1, 1))
    layer.bias.assign([0.5])
    # y[2i + p, 2j + q] = x[i, j] * K[p, q] + b: each input value scales a copy of the kernel.
    expected = np.array(
        [
            [1.0, 10.0, 2.0, 20.0],
            [100.0, 1000.0, 200.0, 2000.0],
            [3.0, 30.0, 4.0, 40.0],
            [300.0, 3000.0, 400.0, 4000.0],
        ]
    ) + 0.5
    np.testing.assert_allclose(layer(X).numpy()[0, ..., 0], expected)


def test_gradients_flow_through_max_unpool_to_the_values():
    weights = tf.constant(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) + 1.0)
    values = tf.constant(POOLED)
    with tf.GradientTape() as tape:
        tape.watch(values)
        loss = tf.reduce_sum(weights * MaxUnpool(2)([values, tf.constant(ARGMAX)]))
    grad = tape.gradient(loss, values).numpy()
    # d loss / d values[i, j] = the weight at the remembered position.
    np.testing.assert_array_equal(grad.ravel(), weights.numpy().ravel()[ARGMAX.ravel()])

    x = tf.constant(X4)
    with tf.GradientTape() as tape:
        tape.watch(x)
        pooled, argmax = MaxPoolWithArgmax(2)(x)
        loss = tf.reduce_sum(weights * MaxUnpool(2)([pooled, argmax]))
    # Through pool and unpool, only the block maxima of x get a gradient: the weight there.
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), np.where(UNPOOLED != 0, weights.numpy(), 0.0))


def test_factory_errors():
    with pytest.raises(ValueError, match="nearest, bed_of_nails, max_unpool, transposed"):
        upsampling_layer("bilinear")
    with pytest.raises(ValueError, match="filters"):
        upsampling_layer("transposed")
    assert set(UPSAMPLING_KINDS) == {"nearest", "bed_of_nails", "max_unpool", "transposed"}


def _chain():
    """A functional model using all four kinds, with a None batch dimension."""
    inputs = keras.Input((4, 4, 2))
    pooled, argmax = MaxPoolWithArgmax(2, name="pool")(inputs)  # (B, 2, 2, 2)
    h = MaxUnpool(2, name="unpool")([pooled, argmax])  # (B, 4, 4, 2)
    h = BedOfNails(2, name="nails")(h)  # (B, 8, 8, 2)
    h = upsampling_layer("nearest", name="nearest")(h)  # (B, 16, 16, 2)
    out = upsampling_layer("transposed", filters=3, name="transposed")(h)  # (B, 32, 32, 3)
    return keras.Model(inputs, out)


def test_symbolic_shapes_config_roundtrip_and_saving(tmp_path):
    model = _chain()
    assert model.output.shape == (None, 32, 32, 3)
    for layer in (BedOfNails(3), MaxPoolWithArgmax(2, padding="same"), MaxUnpool(4)):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    x = np.random.default_rng(1).uniform(size=(3, 4, 4, 2)).astype(np.float32)
    expected = model(x).numpy()

    path = str(tmp_path / "chain.keras")
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(x).numpy(), expected, rtol=1e-6)

    fn = tf.function(model, input_signature=[tf.TensorSpec((None, 4, 4, 2), tf.float32)])
    np.testing.assert_allclose(fn(x).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(fn(x[:1]).numpy(), expected[:1], rtol=1e-6)  # another batch size, same trace

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", model.call, [tf.TensorSpec((None, 4, 4, 2), tf.float32, name="x")])
    archive.write_out(str(tmp_path / "saved"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(reloaded.serve(tf.constant(x)).numpy(), expected, rtol=1e-6)
