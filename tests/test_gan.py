"""GANs: each update moves only its own network, the WGAN-GP penalty in closed form, the optimal discriminator,
the generator losses on given logits, input errors and the recipes' smoke runs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import GAN, WGAN, WGANGP, UnrolledGAN


def _snapshot(variables):
    return [np.array(v) for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, np.array(v)) for b, v in zip(before, variables)]


@pytest.mark.parametrize("cls", [GAN, WGANGP, WGAN, UnrolledGAN])
def test_each_update_changes_only_its_own_network(cls):
    keras.utils.set_random_seed(0)
    model = cls(input_shape=(2,), latent_dim=3, hidden_units=(8,), seed=1)
    model(tf.zeros([1, 3]))
    model.compile(generator_optimizer=keras.optimizers.Adam(1e-2), discriminator_optimizer=keras.optimizers.Adam(1e-2))
    real = tf.random.normal([16, 2]) + 2.0
    g_vars, d_vars = model.generator.trainable_variables, model.discriminator.trainable_variables
    assert g_vars and d_vars

    g_before, d_before = _snapshot(g_vars), _snapshot(d_vars)
    model.discriminator_step(real)
    # (all but the critic's output bias for the WGANs: E[C(G(z))] - E[C(x)] and the penalty do not depend on it)
    assert sum(_changed(d_before, d_vars)) >= len(d_vars) - (cls is not GAN), "the discriminator update missed weights"
    assert not any(_changed(g_before, g_vars)), "the discriminator update changed generator weights"

    g_before, d_before = _snapshot(g_vars), _snapshot(d_vars)
    model.generator_step(16, real)
    assert all(_changed(g_before, g_vars)), "the generator update missed weights"
    assert not any(_changed(d_before, d_vars)), "the generator update changed discriminator weights"


class _LinearCritic(WGANGP):
    """C(x) = w . x + b: its gradient is w everywhere, so the penalty is lambda (||w|| - 1)^2 exactly."""

    def build_discriminator(self):
        return keras.Sequential([keras.layers.Dense(1)], name="discriminator")


@pytest.mark.parametrize("norm", [1.0, 0.3, 2.5])
def test_gradient_penalty_of_a_linear_critic_has_the_closed_form(norm):
    model = _LinearCritic(input_shape=(3,), latent_dim=2, hidden_units=(4,), gradient_penalty_weight=10.0)
    model(tf.zeros([1, 2]))
    w = np.array([[1.0], [-2.0], [2.0]], np.float32)
    model.discriminator.layers[0].kernel.assign(norm * w / np.linalg.norm(w))
    model.discriminator.layers[0].bias.assign([0.7])
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(32, 3)).astype(np.float32), rng.normal(size=(32, 3)).astype(np.float32)
    penalty = float(model.gradient_penalty(real, fake, rng.uniform(size=32)))
    np.testing.assert_allclose(penalty, 10.0 * (norm - 1.0) ** 2, rtol=1e-4, atol=1e-5)
    if norm == 1.0:
        assert abs(penalty) < 1e-5
    else:
        assert penalty > 0.1


def test_wgan_clips_every_critic_weight_after_each_critic_step():
    keras.utils.set_random_seed(0)
    model = WGAN(input_shape=(2,), latent_dim=2, hidden_units=(8,), clip_value=0.05, discriminator_steps=2)
    model(tf.zeros([1, 2]))
    model.compile(discriminator_optimizer=keras.optimizers.Adam(0.1))  # big steps, so clipping must bind
    assert max(float(np.abs(v).max()) for v in model.discriminator.trainable_variables) <= 0.05 + 1e-6  # init
    model.fit(np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32), batch_size=32, epochs=1, verbose=0)
    weights = [np.array(v) for v in model.discriminator.trainable_variables]
    assert all(np.abs(w).max() <= 0.05 + 1e-6 for w in weights)
    assert any(np.isclose(np.abs(w), 0.05).any() for w in weights)  # the bound is reached, not just respected


class _ShiftedGenerator(GAN):
    """A frozen generator G(z) = z + 1, so p_g = N(1, 1) for z ~ N(0, 1)."""

    def build_generator(self):
        return keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="ones",
                                                    trainable=False)], name="generator")


def test_discriminator_approaches_the_optimal_density_ratio():
    # p_data = N(0, 1), p_g = N(1, 1): D*(x) = p_d / (p_d + p_g) = sigmoid(0.5 - x) (Goodfellow et al., Prop. 1).
    keras.utils.set_random_seed(0)
    model = _ShiftedGenerator(input_shape=(1,), latent_dim=1, hidden_units=(32, 32), seed=1)
    model(tf.zeros([1, 1]))
    assert not model.generator.trainable_variables
    model.compile(discriminator_optimizer=keras.optimizers.Adam(3e-3))
    data = np.random.default_rng(0).normal(size=(8192, 1)).astype(np.float32)
    history = model.fit(data, batch_size=512, epochs=25, verbose=0).history
    assert history["d_loss"][-1] < history["d_loss"][0]
    grid = np.linspace(-1.5, 2.5, 41, dtype=np.float32)[:, None]
    d = tf.sigmoid(model.discriminate(grid)["logits"]).numpy()
    optimal = 1.0 / (1.0 + np.exp(grid[:, 0] - 0.5))
    np.testing.assert_allclose(d, optimal, atol=0.07)


@pytest.mark.parametrize("generator_loss", ["non_saturating", "minimax"])
def test_generator_losses_match_their_formulas_on_given_logits(generator_loss):
    model = GAN(input_shape=(2,), latent_dim=2, hidden_units=(4,), generator_loss=generator_loss)
    logits = tf.constant([-6.0, -1.0, 0.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = model.generator_objective(logits)
    grad = tape.gradient(loss, logits).numpy()
    d = 1.0 / (1.0 + np.exp(-logits.numpy().astype(np.float64)))  # D(G(z))
    if generator_loss == "minimax":  # log(1 - D), d/dl = -D: vanishes where D rejects the samples (l << 0)
        np.testing.assert_allclose(loss, np.log(1.0 - d), rtol=1e-5)
        np.testing.assert_allclose(grad, -d, rtol=1e-5)
        assert abs(grad[0]) < 0.01
    else:  # -log D, d/dl = -(1 - D): strongest where D rejects the samples
        np.testing.assert_allclose(loss, -np.log(d), rtol=1e-5)
        np.testing.assert_allclose(grad, -(1.0 - d), rtol=1e-5)
        assert abs(grad[0]) > 0.99
    assert np.all(grad < 0)  # both push D(G(z)) up


def test_discriminator_loss_is_minus_the_value_function():
    model = GAN(input_shape=(2,), latent_dim=2, hidden_units=(4,))
    real, fake = np.ones((5, 2), np.float32), -np.ones((5, 2), np.float32)
    model(tf.zeros([1, 2]))
    d_real = tf.sigmoid(model.discriminate(real)["logits"]).numpy().astype(np.float64)
    d_fake = tf.sigmoid(model.discriminate(fake)["logits"]).numpy().astype(np.float64)
    value = np.mean(np.log(d_real)) + np.mean(np.log(1.0 - d_fake))
    np.testing.assert_allclose(float(model.discriminator_loss(real, fake)), -value, rtol=1e-5)


def test_bad_inputs_get_clear_errors():
    model = GAN(input_shape=(2,), latent_dim=3, hidden_units=(4,))
    with pytest.raises(ValueError, match=r"z has shape \(4, 2\), expected \(batch, 3\)"):
        model.generate(np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="use discriminate"):
        model(np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"x has shape \(4, 3\), expected \(batch, 2\)"):
        model.discriminate(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="Unknown generator_loss"):
        GAN(generator_loss="wasserstein")
    with pytest.raises(ValueError, match="discriminator_steps must be >= 1"):
        WGANGP(discriminator_steps=0)


def test_sample_is_reproducible_from_its_seed():
    model = WGANGP(input_shape=(2,), latent_dim=3, hidden_units=(4,))
    a, b = model.sample(7, np.array([3, 4], np.int32)), model.sample(7, np.array([3, 4], np.int32))
    assert a["samples"].shape == (7, 2) and a["z"].shape == (7, 3)
    np.testing.assert_array_equal(a["samples"], b["samples"])


@pytest.fixture(scope="module")
def ring8_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))  # one ring8 build for both recipes


@pytest.mark.parametrize("name,flags", [
    ("gan", ["--generator-loss", "minimax"]),
    ("wgan_gp", ["--discriminator-steps", "2"]),
    ("wgan", ["--discriminator-steps", "2"]),
    ("unrolled_gan", ["--unroll-steps", "2"]),
])
def test_recipe_smoke_end_to_end(name, flags, ring8_dir, tmp_path_factory):
    from mpkeras import cli

    out = tmp_path_factory.mktemp(name)
    report = cli.load_recipe(name).main(["--smoke", "--out", str(out), "--data-dir", ring8_dir, "--verbose", "0",
                                         "--hidden-units", "16,16", *flags])
    test = report["test"]
    assert 0 <= test["modes_covered"] <= 8 and 0.0 <= test["high_quality_fraction"] <= 1.0
    assert test["num_samples"] == 2500 and np.isfinite(test["test_d_loss"])
    assert report["history"]["g_loss"][0] != 0.0  # the trackers report through fit
    assert (out / "runs" / name / "figures" / "samples.png").exists()
    assert (out / "exported" / name / "1" / "saved_model.pb").exists()


def _ring_experiment():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "gan_ring8.py"
    spec = importlib.util.spec_from_file_location("gan_ring8", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ring_experiment_table_reports_every_seed_and_the_means(tmp_path):
    import json
    import os

    experiment = _ring_experiment()
    for seed, (modes, hq) in enumerate([(8, 0.9), (5, 0.2), (2, 0.1)]):
        path = experiment.metrics_path(str(tmp_path), "unrolled_gan", seed)
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            json.dump({"test": {"modes_covered": modes, "high_quality_fraction": hq}, "seconds": 60 + seed}, f)
    row = experiment.table(str(tmp_path), ["unrolled_gan"], [0, 1, 2]).splitlines()[2]
    assert row == "| `unrolled_gan` | 8 (0.900) | 5 (0.200) | 2 (0.100) | 5.00 | 0.400 | 60–62 s |"
    with pytest.raises(SystemExit):
        experiment.main(["--out", str(tmp_path), "--methods", "gan,vae"])
