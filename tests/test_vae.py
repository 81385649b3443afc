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
    terms = vae.elbo_terms(x, mean, stddev, z, vae.decoder_logits(z))
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
