"""Recurrent cells from the equations: equal to Keras's cells, the BPTT gradient study, clipping."""

import argparse

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import ElmanCell, LSTMCell, state_jacobian_norms
from mpkeras.models import LSTMClassifier, RNNClassifier
from mpkeras.train.recipe import make_optimizer

X = np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32)  # (B, T, D)


@pytest.mark.parametrize("ours,theirs", [(ElmanCell, keras.layers.SimpleRNNCell), (LSTMCell, keras.layers.LSTMCell)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_cells_equal_keras_cells_with_the_same_weights(ours, theirs, return_sequences):
    keras.utils.set_random_seed(0)
    reference = keras.layers.RNN(theirs(6), return_sequences=return_sequences)
    mine = keras.layers.RNN(ours(6), return_sequences=return_sequences)
    expected = reference(X)
    mine(X)
    reference_weights = reference.get_weights()
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in reference_weights]
    # Perturb the bias too, so that a wrong gate order cannot hide behind zeros.
    reference_weights[-1] = np.random.default_rng(1).normal(size=reference_weights[-1].shape).astype(np.float32)
    reference.set_weights(reference_weights)
    mine.set_weights(reference_weights)
    np.testing.assert_allclose(mine(X), reference(X), rtol=1e-5, atol=1e-6)
    assert expected.shape == mine(X).shape


def test_cells_stack_and_serve_many_to_one_many_to_many_and_one_to_many():
    stacked = keras.layers.RNN([ElmanCell(4), LSTMCell(5)], return_sequences=True)
    assert stacked(X).shape == (3, 7, 5)  # many-to-many, top layer's h_t
    assert keras.layers.RNN(LSTMCell(5))(X).shape == (3, 5)  # many-to-one: h_T
    # One-to-many: one input repeated over 4 steps, a sequence out.
    one = keras.layers.RepeatVector(4)(X[:, 0])
    assert keras.layers.RNN(ElmanCell(2), return_sequences=True)(one).shape == (3, 4, 2)
    # Config round trip of a cell.
    cell = LSTMCell(5, unit_forget_bias=False)
    assert LSTMCell.from_config(cell.get_config()).get_config() == cell.get_config()


def test_lstm_forget_bias_starts_at_one():
    layer = keras.layers.RNN(LSTMCell(3))
    layer(X)
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def _gradient_norm(cell, scale, steps, units=16):
    """||d h_T / d h_0|| (spectral norm) with W_h = scale * Q, Q orthogonal, zero inputs and state."""
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(units, units)))[0].astype(np.float32)
    cell.build((1, 3))
    kernel = cell.recurrent_kernel
    kernel.assign(np.tile(scale * q, (1, kernel.shape[1] // units)))  # every gate block of the LSTM too
    norms = state_jacobian_norms(cell, np.zeros((1, steps, 3), np.float32))  # (1, T + 1)
    assert norms[0, -1] == 1.0 and np.all(np.isfinite(norms))
    return float(norms[0, 0])


def test_bptt_elman_gradients_vanish_below_one_and_explode_above():
    # With h = 0 and zero inputs, tanh' = 1 (gamma = 1): dh_T/dh_0 = W_h^T, norm sigma_max^T exactly.
    steps = 40
    for scale in (0.5, 0.9, 1.1, 1.5):
        norm = _gradient_norm(ElmanCell(16), scale, steps)
        np.testing.assert_allclose(norm, scale**steps, rtol=1e-3)
    assert _gradient_norm(ElmanCell(16), 0.5, steps) < 1e-11  # vanished
    assert _gradient_norm(ElmanCell(16), 1.5, steps) > 1e6  # exploded


def test_bptt_lstm_keeps_the_gradient_within_bounds_on_the_same_task():
    steps = 40
    lstm = [_gradient_norm(LSTMCell(16), s, steps) for s in (0.5, 0.9, 1.1, 1.5)]
    elman = [_gradient_norm(ElmanCell(16), s, steps) for s in (0.5, 0.9, 1.1, 1.5)]
    # Elman spans ~19 orders of magnitude over these W_h; the gated memory path (dc_t/dc_{t-1} = f_t <= 1)
    # keeps the LSTM within ~5, neither vanishing to 1e-12 nor exploding to 1e7.
    assert max(elman) / min(elman) > 1e18
    assert all(1e-5 < g < 1e2 for g in lstm), lstm
    assert max(lstm) / min(lstm) < 1e6


def test_global_norm_clipping_tames_an_exploding_elman_gradient():
    keras.utils.set_random_seed(0)
    units, steps = 8, 30
    model = keras.Sequential([keras.Input((steps, 2)), keras.layers.RNN(ElmanCell(units)), keras.layers.Dense(1)])
    cell = model.layers[0].cell
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(units, units)))[0]
    cell.recurrent_kernel.assign(1.5 * q)
    x = np.zeros((4, steps, 2), np.float32)
    x[:, 0] = 1e-3  # a small input at the first step, blown up by 1.5^29 on the way back
    y = np.ones((4, 1), np.float32)

    def step(optimizer):
        before = [w.numpy().copy() for w in model.trainable_weights]
        with tf.GradientTape() as tape:
            loss = keras.losses.mean_squared_error(y, model(x))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        moved = np.sqrt(sum(np.sum((w.numpy() - b) ** 2) for w, b in zip(model.trainable_weights, before)))
        for w, b in zip(model.trainable_weights, before):
            w.assign(b)
        return float(tf.linalg.global_norm(grads)), moved

    raw_norm, raw_move = step(keras.optimizers.SGD(0.1))
    assert raw_norm > 1e2  # exploding
    np.testing.assert_allclose(raw_move, 0.1 * raw_norm, rtol=1e-3)
    clipped_norm, clipped_move = step(keras.optimizers.SGD(0.1, global_clipnorm=1.0))
    np.testing.assert_allclose(clipped_move, 0.1 * 1.0, rtol=1e-3)  # g <- T g / ||g||, T = 1
    # The training core's --clip-norm reaches the optimizer.
    args = argparse.Namespace(learning_rate=1e-3, schedule="constant", clip_norm=1.0, epochs=1)
    assert make_optimizer(args, steps_per_epoch=10).global_clipnorm == 1.0


@pytest.mark.parametrize("cls", [RNNClassifier, LSTMClassifier])
def test_recurrent_classifiers_read_rows_and_reject_bad_images(cls):
    model = cls(input_shape=(28, 28, 1), units=8)
    assert model(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    assert model.recurrent[0].cell.__class__ is (ElmanCell if cls is RNNClassifier else LSTMCell)
    with pytest.raises(ValueError, match="rank"):
        model(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(TypeError, match="to_float"):
        model(tf.zeros((2, 28, 28, 1), tf.uint8))
    # Row order matters: a sequence model sees the image as rows t = 1..H.
    x = np.random.default_rng(0).uniform(size=(1, 28, 28, 1)).astype(np.float32)
    assert not np.allclose(model(x), model(x[:, ::-1]), atol=1e-6)
