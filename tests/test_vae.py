"""VAE family invariants (DESIGN.md section 5) and the subclassing contract."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from mpkeras.models import VAE, BetaVAE
from mpkeras.testing.fixtures import _binary_images

tfd = tfp.distributions


def _trained_vae(steps=60, **kwargs):
    keras.utils.set_random_seed(0)
    x = _binary_images(n=64)
    vae = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_units=(32,), seed=0, **kwargs)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    vae.fit(x, batch_size=64, epochs=steps, verbose=0)
    return vae, x


def test_closed_form_kl_matches_monte_carlo():
    vae, x = _trained_vae()
    q = vae.posterior(x)
    p = vae.prior_distribution()
    closed = tfd.kl_divergence(q, p).numpy()
    z = q.sample(20000, seed=tf.constant([3, 4]))
    monte_carlo = tf.reduce_mean(q.log_prob(z) - p.log_prob(z), axis=0).numpy()
    # MC standard error with 20k samples is far below 0.05 nats for these KLs.
    np.testing.assert_allclose(monte_carlo, closed, atol=0.05, rtol=0.02)
    assert np.all(closed > 0.0)


def test_training_uses_closed_form_kl_for_the_normal_prior():
    vae, x = _trained_vae(steps=1)
    mean, stddev = vae.posterior_params(x)
    z = mean + 100.0  # far from q's mean: a one-sample MC estimate would be huge
    terms = vae.elbo_terms(x, mean, stddev, z, vae.decoder_params(z))
    closed = tfd.kl_divergence(vae.posterior(x), vae.prior_distribution())
    np.testing.assert_allclose(terms["kl"], closed, rtol=1e-5)


@pytest.mark.parametrize("prior", ["normal", "mixture"])
def test_elbo_is_below_importance_sampled_log_likelihood(prior):
    vae, x = _trained_vae(prior=prior, num_components=3)
    elbo = np.mean([vae.elbo(x, tf.constant([s, 0]))["elbo"].numpy() for s in range(50)], axis=0)
    iwae = vae.iwae_bound(x, 2000, tf.constant([7, 7])).numpy()
    # E[IWAE_k] >= E[IWAE_1] = ELBO; averaged over the batch the gap is clear.
    assert np.mean(iwae) > np.mean(elbo)
    assert np.mean(iwae > elbo - 0.05) > 0.9, (iwae, elbo)
    # IWAE_1 is the ELBO itself.
    iwae1 = np.mean([vae.iwae_bound(x, 1, tf.constant([s, 1])).numpy() for s in range(200)])
    assert abs(iwae1 - np.mean(elbo)) < 0.5


def test_mixture_prior_weights_are_trained():
    vae, _ = _trained_vae(prior="mixture", num_components=3)
    names = [v.path for v in vae.trainable_variables]
    for weight in ("logits", "locs", "raw_scales"):
        assert any(n.endswith(f"prior/{weight}") for n in names), (weight, names)
    fresh = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_units=(32,), prior="mixture", num_components=3)
    fresh(np.zeros((1, 8, 8, 1), np.float32))
    assert len(vae.trainable_variables) == len(fresh.trainable_variables) == 8 + 3  # encoder and decoder kernels and biases, then the prior's three
    assert not np.allclose(vae.mixture_prior.locs.numpy(), 0.0)


def test_sample_is_reproducible_from_the_seed():
    vae, _ = _trained_vae(steps=1)
    a = vae.sample(5, tf.constant([1, 2]))
    b = vae.sample(5, tf.constant([1, 2]))
    c = vae.sample(5, tf.constant([1, 3]))
    np.testing.assert_array_equal(a["images"], b["images"])
    assert not np.array_equal(a["z"], c["z"])
    assert set(np.unique(a["images"])) <= {0.0, 1.0}


def test_beta_vae_penalty_weights_the_kl():
    x = _binary_images(n=8)
    model = BetaVAE(beta=3.0, input_shape=(8, 8, 1), latent_dim=2, hidden_units=(8,))
    terms = {"reconstruction": tf.constant([-5.0]), "kl": tf.constant([2.0])}
    assert float(model.objective(terms)[0]) == pytest.approx(5.0 + 3.0 * 2.0)
    model(x)


def test_constrained_beta_vae_multiplier_rises_while_kl_exceeds_threshold():
    keras.utils.set_random_seed(0)
    x = _binary_images(n=32)
    model = BetaVAE(constraint="kl", kl_threshold=0.0, initial_multiplier=0.5, input_shape=(8, 8, 1), latent_dim=2,
                    hidden_units=(16,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = float(model.lagrange_multiplier())
    model.fit(x, batch_size=32, epochs=10, verbose=0)  # KL > 0 = delta at every step
    assert float(model.lagrange_multiplier()) > before


def test_constrained_beta_vae_pushes_kl_under_threshold():
    keras.utils.set_random_seed(0)
    x = _binary_images(n=64)
    free = VAE(input_shape=(8, 8, 1), latent_dim=4, hidden_units=(32,), seed=0)
    capped = BetaVAE(constraint="kl", kl_threshold=1.0, initial_multiplier=1.0, input_shape=(8, 8, 1), latent_dim=4,
                     hidden_units=(32,), seed=0)
    kls = []
    for model in (free, capped):
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model.fit(tf.data.Dataset.from_tensors(x).repeat(300), epochs=1, verbose=0, shuffle=False)  # 300 steps
        kls.append(np.mean([model.elbo(x, tf.constant([s, 0]))["kl"].numpy().mean() for s in range(5)]))
    assert kls[0] > 2.0, kls  # the unconstrained VAE uses more than delta
    assert kls[1] < 1.5, kls  # the constraint holds it near delta = 1 nat


class ConvEncoderVAE(VAE):
    """A user subclass: a convolutional encoder, everything else inherited."""

    def build_encoder(self):
        return keras.Sequential(
            [
                keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(2 * self.latent_dim),
            ]
        )


def test_user_subclass_trains_and_exports(tmp_path):
    from mpkeras.export import export_model, verify_savedmodel

    keras.utils.set_random_seed(0)
    x = _binary_images(n=32)
    model = ConvEncoderVAE(input_shape=(8, 8, 1), latent_dim=2, hidden_units=(16,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, batch_size=32, epochs=30, verbose=0).history
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert any("conv2d" in v.path for v in model.trainable_variables)
    path = export_model(model, "conv_vae", base_dir=str(tmp_path))
    report = verify_savedmodel(path)
    assert report["ok"] and {"encode", "decode", "sample", "reconstruct", "elbo"} <= set(report["signatures"])


# --- The Gaussian likelihood (dequantized 8-bit images) ----------------------------------------------------------
def _dequantized_images(n=16, shape=(4, 4, 3), seed=0):
    """y = (k + u) / 256 of random 8-bit images: values in [0, 1), as the colour recipes feed the Gaussian VAE."""
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, size=(n, *shape)) + rng.uniform(size=(n, *shape))) / 256).astype(np.float32)


def _gaussian_vae(**kwargs):
    keras.utils.set_random_seed(0)
    model = VAE(input_shape=(4, 4, 3), latent_dim=3, hidden_units=(16,), likelihood="gaussian", seed=0, **kwargs)
    model(_dequantized_images(n=2))
    return model


def test_gaussian_likelihood_is_the_normal_density_summed_over_sub_pixels():
    model = _gaussian_vae()
    y = _dequantized_images(n=5)
    z = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    params = model.decoder_params(z)
    loc, log_scale = params["loc"].numpy().astype(np.float64), params["log_scale"].numpy().astype(np.float64)
    assert loc.shape == log_scale.shape == (5, 4, 4, 3)
    # By hand: log N(y; m, s^2) = -(y - m)^2 / (2 s^2) - log s - log(2 pi) / 2, summed over the 48 sub-pixels.
    by_hand = np.sum(-((y - loc) ** 2) / (2 * np.exp(2 * log_scale)) - log_scale - 0.5 * np.log(2 * np.pi),
                     axis=(1, 2, 3))
    np.testing.assert_allclose(model.likelihood_distribution(z).log_prob(y).numpy(), by_hand, rtol=1e-5)
    # The scale stays between the dequantization noise's standard deviation and 1, whatever the decoder says.
    assert np.all(log_scale >= np.log(1 / (256 * np.sqrt(12))) - 1e-6) and np.all(log_scale <= 1e-6)
    big = model.decoder_params(1e3 * z)["log_scale"].numpy()
    assert np.isfinite(big).all() and big.min() >= np.log(1 / (256 * np.sqrt(12))) - 1e-6 and big.max() <= 1e-6


def test_gaussian_elbo_is_reconstruction_minus_closed_form_kl():
    model = _gaussian_vae()
    y = _dequantized_images(n=6)
    terms = model.elbo(y, tf.constant([3, 4]))
    # The same posterior sample, drawn as elbo() draws it.
    mean, stddev = model.posterior_params(y)
    z = mean + stddev * tf.random.stateless_normal(tf.shape(mean), seed=tf.constant([3, 4]), alg="philox")
    params = model.decoder_params(z)
    reconstruction = tfd.Independent(tfd.Normal(params["loc"], tf.exp(params["log_scale"])), 3).log_prob(y)
    kl = tfd.kl_divergence(tfd.MultivariateNormalDiag(mean, stddev), tfd.MultivariateNormalDiag(tf.zeros(3), tf.ones(3)))
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-5)
    np.testing.assert_allclose(terms["elbo"], reconstruction - kl, rtol=1e-5)


def test_gaussian_decode_reconstruct_and_sample_give_means():
    model = _gaussian_vae()
    y = _dequantized_images(n=4)
    z = model.encode(y)["mean"]
    decoded = model.decode(z)
    assert set(decoded) == {"mean", "scale"}
    np.testing.assert_allclose(model.reconstruct(y)["mean"], decoded["mean"], rtol=1e-6)
    np.testing.assert_allclose(decoded["scale"], tf.exp(model.decoder_params(z)["log_scale"]), rtol=1e-6)
    out = model.sample(5, tf.constant([1, 2]))
    assert set(out) == {"z", "mean"} and out["mean"].shape == (5, 4, 4, 3)
    np.testing.assert_allclose(out["mean"], model.decode(out["z"])["mean"], rtol=1e-6)
    assert model.iwae_bound(y, 7, tf.constant([0, 1])).shape == (4,)


def test_dequantized_bits_per_dim_is_the_discrete_upper_bound():
    from mpkeras.metrics import dequantized_bits_per_dim

    # A uniform density on [0, 1)^D (NLL_y = 0) is the uniform distribution over 256 levels: exactly 8 bits/dim.
    assert dequantized_bits_per_dim(0.0, 3072) == pytest.approx(8.0)
    d, nll_y = 48, -100.0
    assert dequantized_bits_per_dim(nll_y, d) == pytest.approx((nll_y / d + np.log(256)) / np.log(2))
    # The bound: a Gaussian density of y gives at least the exact discrete NLL of its 256 bins (Jensen).
    m, s = 0.4, 0.05
    k = np.arange(256)
    edges = tfd.Normal(np.float64(m), np.float64(s)).cdf(np.stack([k / 256, (k + 1) / 256])).numpy()
    p_k = edges[1] - edges[0]
    u = (np.arange(1000) + 0.5) / 1000
    for level in (90, 102, 130):
        y = (level + u) / 256
        nll_y = -np.mean(tfd.Normal(np.float64(m), np.float64(s)).log_prob(y).numpy())
        assert dequantized_bits_per_dim(nll_y, 1) >= -np.log2(p_k[level]) - 1e-9


@pytest.mark.parametrize("conv_filters", [(), (4,)])
def test_gaussian_vae_config_and_keras_round_trip(tmp_path, conv_filters):
    model = BetaVAE(beta=2.0, input_shape=(4, 4, 3), latent_dim=3, hidden_units=(16,), likelihood="gaussian",
                    conv_filters=conv_filters, seed=0)
    y = _dequantized_images(n=4)
    model(y)
    config = model.get_config()
    assert config["likelihood"] == "gaussian" and tuple(config["conv_filters"]) == conv_filters
    assert any("conv2d" in v.path for v in model.trainable_variables) == bool(conv_filters)
    assert BetaVAE.from_config(config).get_config() == config
    path = str(tmp_path / "gaussian.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.likelihood == "gaussian" and isinstance(loaded, BetaVAE)
    np.testing.assert_allclose(loaded.reconstruct(y)["mean"], model.reconstruct(y)["mean"], rtol=1e-6)
    np.testing.assert_allclose(loaded.elbo(y, tf.constant([1, 1]))["elbo"], model.elbo(y, tf.constant([1, 1]))["elbo"],
                               rtol=1e-5)
    with pytest.raises(ValueError, match="bernoulli for binarized images"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="H and W divisible by 8"):
        VAE(input_shape=(4, 4, 3), conv_filters=(4, 4, 4))


@pytest.fixture(scope="module")
def photos32_dir(tmp_path_factory):
    from mpkeras import data

    path = str(tmp_path_factory.mktemp("tfds_photos32"))
    data.info("photos32", data_dir=path)  # built offline, ~20 s
    return path


def test_recipe_smoke_on_photos32_reports_bits_per_dim_and_the_baselines(tmp_path, photos32_dir):
    from mpkeras import cli

    # `mpkeras train vae` runs this same object.
    report = cli.load_recipe("vae").main(["--dataset", "photos32", "--smoke", "--out", str(tmp_path), "--data-dir",
                                          photos32_dir, "--verbose", "0", "--hidden-units", "16", "--latent-dim", "4",
                                          "--conv-filters", "4,8"])
    test = report["test"]
    assert report["args"]["likelihood"] == "gaussian"  # chosen by the dataset
    assert "dequantized" in report["data"]["pixels"]
    for key in ("test_bits_per_dim", "test_elbo_bits_per_dim", "baseline_independent_categorical_bits_per_dim",
                "baseline_independent_gaussian_bits_per_dim"):
        assert np.isfinite(test[key]) and test[key] > 0, (key, test)
    d = 32 * 32 * 3
    assert test["test_bits_per_dim"] == pytest.approx((test["test_nll_nats"] / d + np.log(256)) / np.log(2))
    figures = tmp_path / "runs" / "vae" / "figures"
    assert (figures / "reconstructions.png").exists() and (figures / "samples.png").exists()
    assert report["export"]


def test_recipes_refuse_a_likelihood_that_does_not_fit_the_data(tmp_path, photos32_dir):
    from mpkeras import cli
    from mpkeras.errors import UsageError
    from mpkeras.train.vae import vae_data

    args = cli.load_recipe("beta_vae").parse_args(["--dataset", "photos32", "--likelihood", "bernoulli",
                                                   "--data-dir", photos32_dir])
    with pytest.raises(UsageError, match="binarizing them throws away"):
        vae_data(args)
    args = cli.load_recipe("vae").parse_args(["--dataset", "binarized_mnist", "--likelihood", "gaussian"])
    with pytest.raises(UsageError, match="binary pixels only"):
        vae_data(args)
