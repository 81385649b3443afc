"""MLP: activations, likelihood losses, MAP weight decay, serving outputs, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import ACTIVATIONS, RandomizedLeakyReLU
from mpkeras.models import MLP


def test_rrelu_random_slopes_in_training_mean_slope_at_test():
    layer = RandomizedLeakyReLU(0.1, 0.3, seed=0)
    x = -tf.ones((1000,))
    train = layer(x, training=True).numpy()
    test = layer(x, training=False).numpy()
    assert np.all((train <= -0.1 + 1e-6) & (train >= -0.3 - 1e-6))
    assert np.std(train) > 0.03  # slopes differ per element
    np.testing.assert_allclose(test, -0.2, rtol=1e-6)
    np.testing.assert_array_equal(layer(tf.ones(3), training=True), tf.ones(3))  # identity for x >= 0


def test_rrelu_rejects_bad_bounds():
    with pytest.raises(ValueError, match="lower <= upper"):
        RandomizedLeakyReLU(0.5, 0.1)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_learns_a_separable_task(activation):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)  # XOR-like quadrants: needs the hidden layer
    model = MLP(input_shape=(2,), hidden_units=(32,), activation=activation, num_outputs=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(5e-2), metrics=["accuracy"])
    model.fit(x, y, epochs=100, batch_size=256, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9


@pytest.mark.parametrize(
    "likelihood,loss_cls",
    [
        ("categorical", keras.losses.SparseCategoricalCrossentropy),
        ("bernoulli", keras.losses.BinaryCrossentropy),
        ("gaussian", keras.losses.MeanSquaredError),
        ("laplace", keras.losses.MeanAbsoluteError),
    ],
)
def test_loss_follows_from_the_likelihood(likelihood, loss_cls):
    model = MLP(input_shape=(4,), hidden_units=(8,), num_outputs=3, likelihood=likelihood)
    model.compile()
    assert isinstance(model.loss, loss_cls)


def test_weight_decay_is_an_l2_penalty_in_the_loss():
    x = np.ones((4, 3), np.float32)
    y = np.zeros(4, np.int32)
    model = MLP(input_shape=(3,), hidden_units=(5,), num_outputs=2, weight_decay=0.1)
    model.compile()
    model(x)
    expected = 0.1 * sum(float(tf.reduce_sum(tf.square(v))) for v in model.trainable_variables if "kernel" in v.path)
    np.testing.assert_allclose(float(tf.add_n(model.losses)), expected, rtol=1e-5)
    plain = model.compute_loss(x=x, y=y, y_pred=model(x), training=False)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))
    np.testing.assert_allclose(float(plain), float(ce) + expected, rtol=1e-5)


def test_serving_outputs_probabilities_and_class_id():
    model = MLP(input_shape=(8, 8, 1), hidden_units=(8,), num_outputs=4, input_mean=0.5, input_std=0.25)
    out = model.predict_outputs(np.random.default_rng(0).uniform(size=(5, 8, 8, 1)).astype(np.float32))
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out["class_id"], np.argmax(out["probabilities"], -1))
    assert out["class_id"].dtype == tf.int32


def test_model_standardizes_with_the_given_statistics():
    x = np.full((2, 3), 3.0, np.float32)
    a = MLP(input_shape=(3,), hidden_units=(4,), num_outputs=2, input_mean=1.0, input_std=2.0, seed=0)
    a(x)
    b = MLP.from_config({**a.get_config(), "input_mean": 0.0, "input_std": 1.0})
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(a(x), b((x - 1.0) / 2.0), rtol=1e-6)


def test_bad_input_gets_a_clear_error():
    model = MLP(input_shape=(8, 8, 1), hidden_units=(4,), num_outputs=2)
    with pytest.raises(ValueError, match=r"expected \(batch, 8, 8, 1\)"):
        model.predict_outputs(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(TypeError, match="float32"):
        model.predict_outputs(tf.zeros((2, 8, 8, 1), tf.int32))
    with pytest.raises(ValueError, match="Unknown activation"):
        MLP(activation="swishy")
    with pytest.raises(ValueError, match="Unknown likelihood"):
        MLP(likelihood="poisson")


def test_augmentation_is_active_in_training_only_and_reproducible():
    x = np.zeros((4, 12, 12, 1), np.float32)
    x[:, 4:8, 4:8] = 1.0

    def model():
        keras.utils.set_random_seed(0)
        m = MLP(input_shape=(12, 12, 1), hidden_units=(4,), num_outputs=2, augment_shift=0.2, augment_rotation=0.05, seed=3)
        m(x)
        return m

    a, b = model(), model()
    seen = []
    for m in (a, b):
        h = x
        for layer in m.augmentation:
            h = layer(h, training=True)
        seen.append(np.asarray(h))
    assert not np.allclose(seen[0], x)  # the squares moved
    np.testing.assert_array_equal(seen[0], seen[1])  # same seed, same draws
    np.testing.assert_array_equal(a(x, training=False), a(x, training=False))  # inert at inference
    with pytest.raises(ValueError, match="Augmentation needs image inputs"):
        MLP(input_shape=(10,), augment_shift=0.1)
