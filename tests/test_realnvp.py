"""RealNVP on 2-D points: flow invariants in float64, samples against the density, the two_moons data, the recipe."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import RealNVP


def _random_flow(dtype="float64", seed=0, **kwargs):
    """A small RealNVP whose couplings are far from the identity (their zero-initialized last layers randomized)."""
    keras.utils.set_random_seed(seed)
    model = RealNVP(input_shape=(2,), num_couplings=4, hidden_units=16, dtype=dtype, **kwargs)
    x = np.random.default_rng(seed).normal(size=(64, 2)).astype(dtype)
    model.flow(training=True).forward(tf.constant(x))  # builds the layers and initializes ActNorm on this batch
    rng = np.random.default_rng(seed + 1)
    for coupling in model.couplings:
        last = coupling.conditioner.layers[-1]
        last.kernel.assign(rng.normal(scale=0.5, size=last.kernel.shape))
        last.bias.assign(rng.normal(scale=0.3, size=last.bias.shape))
    return model, tf.constant(x)


def test_inverse_of_forward_is_identity_float64():
    model, x = _random_flow()
    z = model.forward(x)["z"]
    assert np.max(np.abs(z.numpy() - x.numpy())) > 0.1  # the flow is not the identity
    np.testing.assert_allclose(model.inverse(z)["points"].numpy(), x.numpy(), atol=1e-10)


def test_log_det_equals_log_abs_det_of_the_jacobian_float64():
    model, x = _random_flow()
    flow = model.flow()
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = flow.forward(x)
    jacobian = tape.batch_jacobian(z, x)  # (B, 2, 2)
    expected = np.log(np.abs(np.linalg.det(jacobian.numpy())))
    np.testing.assert_allclose(model.forward(x)["log_det"].numpy(), expected, atol=1e-10)


def test_forward_log_det_is_minus_inverse_log_det_of_the_output_float64():
    model, x = _random_flow()
    flow = model.flow()
    fldj = flow.forward_log_det_jacobian(x, event_ndims=1)
    ildj = model.flow().inverse_log_det_jacobian(flow.forward(x), event_ndims=1)
    np.testing.assert_allclose(fldj.numpy(), -ildj.numpy(), atol=1e-10)


def test_trainable_variables_cover_every_weight_the_flow_uses():
    model, x = _random_flow()
    with tf.GradientTape() as tape:  # records every trainable variable the facades read
        nll = -tf.reduce_mean(model.log_prob(x)["log_prob"])
    read = {id(v) for v in tape.watched_variables()}
    assert read and read <= {id(v.value) for v in model.trainable_variables}  # .value: the backing tf.Variable
    grads = tape.gradient(nll, model.trainable_variables)
    assert all(g is not None and np.any(g.numpy() != 0) for g in grads)


def test_density_integrates_to_one_and_agrees_with_the_samples():
    """Grid integral of exp(log_prob) is 1, and the mass it puts in a region matches the fraction of samples there."""
    model, _ = _random_flow(dtype="float32")
    samples = model.sample(20_000, tf.constant([5, 6]))["points"].numpy()
    low, high = np.percentile(samples, 0.01, axis=0) - 1.0, np.percentile(samples, 99.99, axis=0) + 1.0
    n = 400
    xs, ys = np.linspace(low[0], high[0], n), np.linspace(low[1], high[1], n)
    mesh = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    density = np.exp(model.log_prob(mesh)["log_prob"].numpy())
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert abs(density.sum() * cell - 1.0) < 0.02
    median = np.median(samples, axis=0)
    region = (mesh[:, 0] > median[0]) & (mesh[:, 1] > median[1])  # the upper-right quadrant around the median
    mass = density[region].sum() * cell
    fraction = np.mean((samples[:, 0] > median[0]) & (samples[:, 1] > median[1]))
    assert abs(mass - fraction) < 0.02  # binomial std of the fraction is ~0.0035


def test_actnorm_initializes_from_the_first_training_batch():
    keras.utils.set_random_seed(0)
    model = RealNVP(input_shape=(2,), num_couplings=2, hidden_units=8)
    x = np.random.default_rng(0).normal(loc=[3.0, -2.0], scale=[2.0, 0.5], size=(256, 2)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, epochs=1, batch_size=256, verbose=0)
    h = model.norms[0].forward(tf.constant(x))[0].numpy()
    np.testing.assert_allclose(h.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(h.std(axis=0), 1.0, atol=0.05)


def test_bad_points_get_clear_errors():
    model = RealNVP(input_shape=(2,), num_couplings=2, hidden_units=8)
    with pytest.raises(ValueError, match=r"expected \(batch, 2\)"):
        model.log_prob(np.zeros((4, 3), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be finite"):
        model.log_prob(np.array([[0.0, np.nan]], np.float32))
    with pytest.raises(ValueError, match="unconditional"):
        model({"points": np.zeros((1, 2), np.float32)})
    with pytest.raises(ValueError, match="use Glow for images"):
        RealNVP(input_shape=(28, 28, 1))


def test_two_moons_builder_matches_its_generator(tmp_path_factory):
    from mpkeras import data
    from mpkeras.data.embedded import TwoMoons

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    points, labels = (np.stack(a) for a in zip(*data.load("two_moons", "test", data_dir=data_dir).as_numpy_iterator()))
    expected, expected_labels = TwoMoons.points("test")
    order = np.lexsort(points.T), np.lexsort(expected.T)  # TFDS may shuffle the example order
    np.testing.assert_array_equal(points[order[0]], expected[order[1]])
    np.testing.assert_array_equal(labels[order[0]], expected_labels[order[1]])
    assert points.dtype == np.float32 and -1.5 < points[:, 0].min() and points[:, 0].max() < 2.5


def test_recipe_smoke_end_to_end(tmp_path_factory):
    from mpkeras import cli

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    out = tmp_path_factory.mktemp("realnvp")
    report = cli.load_recipe("realnvp").main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0",
                                              "--num-couplings", "2", "--hidden-units", "8"])
    test = report["test"]
    assert np.isfinite(test["test_nll_nats"]) and np.isfinite(test["gaussian_test_nll_nats"])
    assert (out / "runs" / "realnvp" / "figures" / "density.png").exists()
    card = json.loads((out / "exported" / "realnvp" / "1" / "assets.extra" / "model_card.json").read_text())
    assert set(card["signatures"]) >= {"serving_default", "log_prob", "sample", "forward", "inverse"}
