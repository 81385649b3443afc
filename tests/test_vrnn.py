"""The variational RNN family (VRNN, CVRNN) and its LSTM baseline: the per-step KL, the bound ordering,
causality, in-graph generation, label conditioning, input errors and the recipes' smoke runs."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import CVRNN, VRNN, LSTMDensity

SHAPE = (5, 6)  # T = 5 steps of D = 6 binary numbers
TINY = dict(input_shape=SHAPE, latent_dim=3, units=8, feature_units=8)


def _sequences(n=4, seed=0):
    return (np.random.default_rng(seed).uniform(size=(n, *SHAPE)) < 0.3).astype(np.float32)


def _model(cls=VRNN, **kwargs):
    keras.utils.set_random_seed(0)
    model = cls(**{**TINY, **kwargs}) if cls is not LSTMDensity else cls(input_shape=SHAPE, units=8, **kwargs)
    x = _sequences(2)
    model({"sequences": x, "labels": np.zeros(2, np.int32)} if model.num_classes else x)
    return model


def _log_normal(z, mean, stddev):
    return np.sum(-0.5 * ((z - mean) / stddev) ** 2 - np.log(stddev) - 0.5 * np.log(2 * np.pi), axis=-1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_closed_form_kl_matches_a_monte_carlo_estimate(cell):
    model = _model(cell=cell)
    x = _sequences()
    noise = tf.random.stateless_normal((4, *SHAPE[:1], 3), [5, 6], alg="philox")
    out = {k: v.numpy() for k, v in model.forward(x, noise).items()}
    kl = model.elbo_terms(x, out)["kl"].numpy()  # (B,), summed over the steps
    # Monte Carlo, in numpy: E_q[log q(z_t) - log p(z_t)] per step at the same trajectory, summed over t.
    eps = np.random.default_rng(1).normal(size=(20000, *out["mean"].shape))
    z = out["mean"] + out["stddev"] * eps
    mc = np.mean(_log_normal(z, out["mean"], out["stddev"]) - _log_normal(z, out["prior_mean"], out["prior_stddev"]),
                 axis=0).sum(axis=-1)
    assert np.all(kl > 0.05)  # the two Gaussians differ, so the check has something to check
    np.testing.assert_allclose(kl, mc, rtol=0.03, atol=0.02)
    # The elbo endpoint runs the same trajectory for the same philox seed.
    np.testing.assert_allclose(model.elbo(x, [5, 6])["kl"].numpy(), kl, rtol=1e-5)


def test_elbo_is_below_the_importance_sampled_bound_which_grows_with_k():
    model = _model()
    x = _sequences()
    n = 300  # independent estimates per sequence, as copies of the batch (one graph call each)
    copies = np.tile(x, (n, 1, 1))
    elbo = tf.function(model.elbo, autograph=False)
    bound = tf.function(model.log_prob_bound, autograph=False)
    elbos = elbo(copies, [1, 2])["elbo"].numpy().reshape(n, 4)
    b1 = bound(copies, 1, [3, 4])["log_prob_bound"].numpy().reshape(n, 4)
    b5 = bound(copies[:100 * 4], 5, [5, 6])["log_prob_bound"].numpy().reshape(100, 4).mean(axis=0)
    b50 = bound(copies[:20 * 4], 50, [7, 8])["log_prob_bound"].numpy().reshape(20, 4).mean(axis=0)
    # k = 1 is an unbiased ELBO estimate: the two means agree within their standard errors.
    stderr = np.sqrt((elbos.var(axis=0) + b1.var(axis=0)) / n)
    assert np.all(np.abs(b1.mean(axis=0) - elbos.mean(axis=0)) < 4 * stderr + 1e-3)
    # ELBO <= the bounds for every sequence; the bound grows with k (on the batch mean: from k = 5 to 50
    # the gain, about 0.7 nats here, is small next to the noise of a single sequence).
    assert np.all(elbos.mean(axis=0) < b5) and np.all(elbos.mean(axis=0) < b50) and np.all(b50 < 0)
    assert b5.mean() < b50.mean()


def test_the_importance_weights_normalize_over_every_binary_sequence():
    """exp(bound) = (1/k) sum_j p(x, z_j) / q(z_j | x) is an unbiased estimate of p(x), so summed over all 2^(TD)
    sequences it estimates 1: a check of the whole generative model (any leak from x_t into its own
    likelihood, or a missing term, pushes the sum away from 1). The LSTM's exact probabilities sum to 1."""
    import itertools

    shape = (2, 2)  # 16 sequences
    everything = np.array(list(itertools.product([0.0, 1.0], repeat=4)), np.float32).reshape(-1, *shape)
    keras.utils.set_random_seed(0)
    vrnn = VRNN(input_shape=shape, latent_dim=2, units=8, feature_units=8)
    # Fitted briefly to skewed data (sequence i drawn with probability proportional to (i + 1)^2), so the model is
    # far from uniform: its log-probabilities then span about -5.1 to -1.5 nats.
    p = np.arange(1, 17) ** 2 / np.sum(np.arange(1, 17) ** 2)
    data = everything[np.random.default_rng(0).choice(16, size=256, p=p)]
    vrnn.compile(optimizer=keras.optimizers.Adam(3e-2))
    vrnn.fit(data, epochs=30, batch_size=256, verbose=0)
    bound = tf.function(vrnn.log_prob_bound, autograph=False)(everything, 4000, [1, 2])["log_prob_bound"].numpy()
    assert bound.max() - bound.min() > 2.0
    assert abs(np.exp(bound).sum() - 1.0) < 0.01
    lstm = LSTMDensity(input_shape=shape, units=8)
    np.testing.assert_allclose(np.exp(lstm.log_prob(everything)["log_prob"].numpy()).sum(), 1.0, rtol=1e-5)


def test_prior_and_lstm_outputs_at_step_t_do_not_depend_on_inputs_at_steps_ge_t():
    x = tf.constant(_sequences(1))
    vrnn, lstm = _model(), _model(LSTMDensity, num_layers=2)
    noise = tf.zeros((1, SHAPE[0], 3))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits = lstm(x)[0]  # (T, D): p(x_t | x_<t)
        prior = vrnn.forward(x, noise)["prior_mean"][0]  # (T, Z): p(z_t | h_{t-1})
    for name, out in (("lstm logits", logits), ("vrnn prior", prior)):
        jac = np.abs(tape.jacobian(out, x).numpy()[:, :, 0])  # (T, ., T, D)
        for t in range(SHAPE[0]):
            assert np.all(jac[t, :, t:] == 0), f"{name} at step {t} depends on steps >= {t}"
            if t:
                assert np.all(jac[t, :, :t].sum(axis=(0, 2)) > 0), f"{name} at step {t} ignores an earlier step"


def test_lstm_generation_draws_from_its_own_conditionals():
    model = _model(LSTMDensity)
    out = tf.function(model.generate, autograph=False)(6, tf.constant([3, 4]))
    # Teacher-forced conditionals of the drawn sequences are the probabilities the sampler used.
    np.testing.assert_allclose(tf.sigmoid(model(out["sequences"])).numpy(), out["probabilities"].numpy(), atol=1e-5)
    log_prob = model.log_prob(out["sequences"])["log_prob"].numpy()
    assert log_prob.shape == (6,) and np.all(log_prob < 0)


@pytest.mark.parametrize("cls", [VRNN, LSTMDensity])
def test_generate_is_reproducible_for_a_seed_and_differs_for_another(cls):
    model = _model(cls)
    generate = tf.function(model.generate, autograph=False)
    a, b = generate(8, tf.constant([1, 2])), generate(8, tf.constant([1, 2]))
    c = model.generate(8, tf.constant([1, 3]))  # eager
    np.testing.assert_array_equal(a["sequences"].numpy(), b["sequences"].numpy())
    assert np.any(a["sequences"].numpy() != c["sequences"].numpy())
    assert set(np.unique(a["sequences"].numpy())) <= {0.0, 1.0}
    assert a["sequences"].shape == (8, *SHAPE)
    assert np.all((a["probabilities"].numpy() > 0) & (a["probabilities"].numpy() < 1))


def test_cvrnn_generation_and_elbo_depend_on_the_label():
    model = _model(CVRNN, num_classes=3)
    seed = tf.constant([1, 2])
    zeros, ones = (model.generate_conditional(tf.fill([4], c), seed)["probabilities"].numpy() for c in (0, 1))
    np.testing.assert_array_equal(zeros, model.generate_conditional(tf.fill([4], 0), seed)["probabilities"].numpy())
    assert np.abs(zeros - ones).max() > 1e-3
    x = _sequences()
    elbo0, elbo2 = (model.elbo(x, seed, tf.fill([4], c))["elbo"].numpy() for c in (0, 2))
    assert np.all(elbo0 != elbo2)


def test_bad_inputs_get_clear_errors():
    vrnn, cvrnn = _model(), _model(CVRNN, num_classes=3)
    x = _sequences()
    with pytest.raises(ValueError, match=r"expected \(batch, 5 steps, 6 numbers per step\)"):
        vrnn(x[..., None])  # images (B, H, W, 1) instead of row sequences
    with pytest.raises(ValueError, match="numbers per step"):
        vrnn.elbo(np.zeros((2, 5, 7), np.float32), [1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        vrnn(x.astype(np.uint8))
    with pytest.raises(ValueError, match="unconditional"):
        vrnn({"sequences": x, "labels": np.zeros(4, np.int32)})
    with pytest.raises(ValueError, match="unconditional"):
        _model(LSTMDensity)({"sequences": x, "labels": np.zeros(4, np.int32)})
    with pytest.raises(ValueError, match="class-conditional"):
        cvrnn(x)
    with pytest.raises(ValueError, match="takes"):
        cvrnn({"images": x, "labels": np.zeros(4, np.int32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be class ids in \[0, 3\)"):
        cvrnn({"sequences": x, "labels": np.array([0, 1, 2, 3], np.int32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be class ids"):
        cvrnn.generate_conditional(tf.constant([-1]), [1, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be binary"):
        vrnn.log_prob_bound(np.full((2, *SHAPE), 0.5, np.float32), 3, [1, 2])
    with pytest.raises(ValueError, match="generate_conditional"):
        cvrnn.generate(3, [1, 2])
    with pytest.raises(ValueError, match="Unknown cell"):
        VRNN(cell="elman")
    with pytest.raises(ValueError, match="num_classes >= 1"):
        CVRNN(num_classes=0)


@pytest.mark.parametrize("name,flags", [
    ("vrnn", ["--units", "16", "--feature-units", "8", "--latent-dim", "4"]),
    ("cvrnn", ["--units", "16", "--feature-units", "8", "--latent-dim", "4", "--cell", "gru"]),
    ("lstm_density", ["--units", "16"]),
])
def test_recipe_smoke_end_to_end(name, flags, mnist5k_dir, tmp_path):
    from mpkeras import cli

    report = cli.load_recipe(name).main(["--smoke", "--out", str(tmp_path), "--data-dir", mnist5k_dir, "--verbose", "0",
                                         *flags])
    test = report["test"]
    assert test["test_nll_nats"] > 0 and np.isfinite(test["test_nll_nats"])  # nats per digit
    if name != "lstm_density":
        assert -test["test_elbo_nats"] >= test["test_nll_nats"] - 5  # the bound is no looser than the ELBO (noise)
        assert (tmp_path / "runs" / name / "figures" / "reconstructions.png").exists()
    assert (tmp_path / "runs" / name / "figures" / "samples.png").exists()
    card = json.loads((tmp_path / "exported" / name / "1" / "assets.extra" / "model_card.json").read_text())
    assert set(card["signatures"]) >= ({"generate", "log_prob"} if name == "lstm_density"
                                       else {"generate", "elbo", "log_prob_bound", "reconstruct"})
