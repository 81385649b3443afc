"""PixelRNN (Row LSTM): the recurrence against numpy and Keras's LSTM, causality, normalization, row-wise sampling."""

import functools
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import RowLSTM
from mpkeras.models import AutoregressiveImageModel, PixelRNN


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _row_lstm_numpy(x, kernel_is, kernel_ss, bias, units):
    """The Row LSTM equations written out: x (B, H, W, C), K^is (1, k, C, 4h), K^ss (k, h, 4h), b (4h,)."""
    b, height, width, _ = x.shape
    k = kernel_ss.shape[0]
    h = np.zeros((b, width, units))
    c = np.zeros((b, width, units))
    out = []
    for i in range(height):
        z = np.tile(bias, (b, width, 1))
        for j in range(width):
            for t in range(k):
                offset = t - k // 2
                if 0 <= j + offset < width:
                    if offset <= 0:  # mask B along the row: the pixel itself and those left of it
                        z[:, j] += x[:, i, j + offset] @ kernel_is[0, t]
                    z[:, j] += h[:, j + offset] @ kernel_ss[t]  # the previous row, unmasked
        z = z.reshape(b, width, units, 4)  # unit-major: o, f, i, g
        o, f, g_in, g = _sigmoid(z[..., 0]), _sigmoid(z[..., 1]), _sigmoid(z[..., 2]), np.tanh(z[..., 3])
        c = f * c + g_in * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)  # (B, H, W, h)


def test_row_lstm_equals_the_equations_in_numpy():
    rng = np.random.default_rng(0)
    layer = RowLSTM(2, kernel_size=3)
    x = rng.normal(size=(2, 3, 5, 3)).astype(np.float32)
    layer.build(x.shape)
    kernel_is = rng.normal(size=(1, 3, 3, 8)).astype(np.float32)
    kernel_ss = rng.normal(size=(3, 2, 8)).astype(np.float32)
    bias = rng.normal(size=(8,)).astype(np.float32)
    layer.input_to_state.kernel.assign(kernel_is)  # the masked-out tap stays in the kernel, unused
    layer.state_kernel.assign(kernel_ss)
    layer.bias.assign(bias)
    np.testing.assert_allclose(layer(x).numpy(), _row_lstm_numpy(x, kernel_is, kernel_ss, bias, 2), atol=1e-5)


def test_row_lstm_of_one_column_is_keras_lstm_over_rows():
    """Width 1 and k = 1: each row is one time step of an ordinary LSTM; gate blocks map o,f,i,g -> i,f,g,o."""
    rng = np.random.default_rng(1)
    units, features = 3, 4
    x = rng.normal(size=(2, 6, 1, features)).astype(np.float32)
    layer = RowLSTM(units, kernel_size=1)
    layer.build(x.shape)
    for w in (layer.input_to_state.kernel, layer.state_kernel, layer.bias):
        w.assign(rng.normal(size=w.shape).astype(np.float32))
    ours = layer(x).numpy()[:, :, 0]  # (B, H, h)

    def keras_layout(w):  # (..., 4h) unit-major o, f, i, g -> (..., 4h) gate-major i, f, g, o
        w = w.reshape(*w.shape[:-1], units, 4)
        return np.concatenate([w[..., n] for n in (2, 1, 3, 0)], axis=-1)

    lstm = keras.layers.LSTM(units, return_sequences=True)
    lstm.build(x[:, :, 0].shape)
    lstm.set_weights([keras_layout(layer.input_to_state.kernel.numpy()[0, 0]),
                      keras_layout(layer.state_kernel.numpy()[0]), keras_layout(layer.bias.numpy())])
    np.testing.assert_allclose(ours, lstm(x[:, :, 0]).numpy(), atol=1e-5)


@pytest.mark.parametrize("shape,levels", [((4, 4, 1), 2), ((3, 3, 2), 3)])
def test_output_i_has_zero_gradient_from_inputs_at_or_after_i(shape, levels):
    keras.utils.set_random_seed(0)
    model = PixelRNN(input_shape=shape, hidden_units=4, num_layers=2, input_kernel_size=3, output_units=4,
                     num_levels=levels)
    d = int(np.prod(shape))
    x = tf.constant(np.random.default_rng(0).uniform(size=(1, d)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model.logits(x)  # (1, D) or (1, D, K)
    jacobian = tape.jacobian(logits, x).numpy()[0]  # (D[, K], 1, D)
    jacobian = np.abs(jacobian.reshape(d, -1, d)).sum(axis=1)  # (out i, in j)
    later = np.arange(d)[None, :] >= np.arange(d)[:, None]
    assert np.all(jacobian[later] == 0)
    assert np.mean(jacobian[~later] != 0) > 0.8  # it does use (most of) the earlier pixels
    if levels == 2:
        # The gradient flows back through the recurrence: with a 3 x 3 first convolution, pixel (3, 1) sees
        # row 0 only through the states of rows 1 and 2.
        assert jacobian[3 * 4 + 1, 0 * 4 + 1] != 0


SHAPE = (2, 4, 1)  # 8 binary pixels: all 2^8 images can be enumerated
LEVELS_SHAPE = (1, 2, 2)  # 4 three-level values: 3^4 images


def _fit(model, x, labels=None):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(5e-2))
    model.fit({"images": x, "labels": labels} if labels is not None else x, epochs=6, batch_size=64, verbose=0)
    return model


@functools.cache
def _binary_model():
    """A model fitted briefly to skewed data, so its conditionals are far from 1/2."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(size=(64, *SHAPE)) < np.linspace(0.1, 0.9, 8).reshape(SHAPE)
    return _fit(PixelRNN(input_shape=SHAPE, hidden_units=4, input_kernel_size=3, output_units=8), x.astype(np.float32))


@functools.cache
def _levels_model():
    """Three-level pixels, two channels per pixel, conditioned on one of two classes."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=64).astype(np.int32)
    values = np.minimum(rng.integers(0, 3, size=(64, *LEVELS_SHAPE)), labels[:, None, None, None] + 1)
    model = PixelRNN(input_shape=LEVELS_SHAPE, hidden_units=4, input_kernel_size=3, output_units=4, num_levels=3,
                     num_classes=2)
    return _fit(model, (values / 2).astype(np.float32), labels)


def test_probabilities_of_all_images_sum_to_one():
    model = _binary_model()
    images = np.array(list(itertools.product([0, 1], repeat=8)), np.float32).reshape(-1, *SHAPE)
    np.testing.assert_allclose(np.exp(model.log_prob(images)["log_prob"].numpy().astype(np.float64)).sum(), 1.0,
                               rtol=1e-5)
    model = _levels_model()
    images = np.array(list(itertools.product([0, 0.5, 1], repeat=4)), np.float32).reshape(-1, *LEVELS_SHAPE)
    per_label = [model.log_prob(images, np.full(len(images), label, np.int32))["log_prob"].numpy() for label in (0, 1)]
    for log_p in per_label:
        np.testing.assert_allclose(np.exp(log_p.astype(np.float64)).sum(), 1.0, rtol=1e-5)
    assert np.abs(per_label[0] - per_label[1]).max() > 1.0  # the label matters


def test_row_wise_sampling_draws_what_the_generic_sampler_draws():
    """Carrying the finished rows' LSTM states equals recomputing the whole image for every pixel."""
    model = _binary_model()
    seed = tf.constant([3, 4])
    fast = model.sample(64, seed)["samples"].numpy()
    np.testing.assert_array_equal(fast, AutoregressiveImageModel._sample(model, tf.zeros((64, 8)), 0, seed)["samples"])
    assert 0 < fast.mean() < 1
    known = np.asarray(fast[:16])
    known[:, 1] = 1 - known[:, 1]  # change the bottom row: complete() keeps its first pixel and redraws the rest
    completed = model.complete(known, 5, seed)["samples"].numpy()  # starts inside row 1
    np.testing.assert_array_equal(completed.reshape(16, -1)[:, :5], known.reshape(16, -1)[:, :5])
    np.testing.assert_array_equal(
        completed, AutoregressiveImageModel._sample(model, tf.reshape(known, (16, 8)), 5, seed)["samples"])

    model = _levels_model()
    labels = tf.constant([0, 1] * 16, tf.int32)
    fast = model.sample_conditional(labels, seed)["samples"].numpy()
    slow = AutoregressiveImageModel._sample(model, tf.zeros((32, 4)), 0, seed, labels)["samples"].numpy()
    np.testing.assert_array_equal(fast, slow)
    assert set(np.unique(fast)) <= {0.0, 0.5, 1.0}


def test_bad_arguments_get_clear_errors():
    """Bad images: tests/test_autoregressive.py checks the base's errors for every image model, PixelRNN included."""
    with pytest.raises(ValueError, match="num_layers"):
        PixelRNN(input_shape=SHAPE, num_layers=0)
    with pytest.raises(ValueError, match="multiple of the image channels"):
        PixelRNN(input_shape=(4, 4, 3), hidden_units=4)
    with pytest.raises(ValueError, match="odd"):
        RowLSTM(4, kernel_size=2)
    with pytest.raises(ValueError, match="odd"):
        PixelRNN(input_shape=SHAPE, input_kernel_size=4)


def test_recipe_smoke_end_to_end(mnist5k_dir, tmp_path_factory):
    import json

    from mpkeras import cli

    data_dir = mnist5k_dir
    out = tmp_path_factory.mktemp("pixelrnn")
    report = cli.load_recipe("pixelrnn").main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0",
                                               "--hidden-units", "4", "--num-layers", "1", "--output-units", "4"])
    assert np.isfinite(report["test"]["test_nll_nats"]) and report["test"]["test_nll_nats"] > 0  # nats per image
    assert (out / "runs" / "pixelrnn" / "figures" / "samples.png").exists()
    card = json.loads((out / "exported" / "pixelrnn" / "1" / "assets.extra" / "model_card.json").read_text())
    assert set(card["signatures"]) >= {"serving_default", "sample", "complete"}
