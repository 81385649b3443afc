"""Autoencoder family invariants: PCA subspace, ISTA = lasso, corruption, sparsity penalties, errors, subclassing."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.linalg import subspace_angles

from mpkeras.models import (
    PSD, Autoencoder, DenoisingAutoencoder, LinearAutoencoder, SparseAutoencoder, SparseCoding)
from mpkeras.models.autoencoders import soft_threshold
from mpkeras.testing.fixtures import _binary_images
from mpkeras.testing.fixtures_autoencoders import sparse_patches

SHAPE = (8, 8, 1)


def _fit(model, x, steps, learning_rate):
    """``steps`` full-batch Adam steps in ONE fit epoch (per-epoch overhead of fit dwarfs these tiny steps)."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model.fit(tf.data.Dataset.from_tensors(x).repeat(steps), epochs=1, verbose=0)


def _low_rank_data(n=256, dim=20, k=3, seed=0):
    """x = mean + U diag(3, 2, 1.5) s + 0.05 noise: a clear top-k principal subspace."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, k)))[0]
    x = rng.uniform(-1, 1, size=dim) + (rng.normal(size=(n, k)) * [3.0, 2.0, 1.5]) @ basis.T
    return (x + 0.05 * rng.normal(size=(n, dim))).astype(np.float32)


def test_linear_autoencoder_recovers_the_principal_subspace():
    keras.utils.set_random_seed(0)
    x = _low_rank_data()
    centred = x - x.mean(0)
    top = np.linalg.svd(centred, full_matrices=False)[2][:3].T  # (dim, k) top right-singular vectors
    model = LinearAutoencoder(input_shape=(20,), code_dim=3)
    model(x[:2])
    before = np.degrees(subspace_angles(np.asarray(model.decoder_basis()), top)).max()
    _fit(model, x, 600, keras.optimizers.schedules.CosineDecay(5e-2, 600))
    angles = np.degrees(subspace_angles(np.asarray(model.decoder_basis()), top))
    assert before > 30, before  # a random start is far from the subspace ...
    assert angles.max() < 0.5, angles  # ... training finds it (not the axes: the decoder rows are no eigenvectors)
    pca_mse = np.mean((centred - centred @ top @ top.T) ** 2)
    model_mse = np.mean((x - np.asarray(model.reconstruct(x)["reconstruction"])) ** 2)
    # PCA's error is the optimum; the gap is a small fraction of the data's variance (0.73 per coordinate).
    assert model_mse - pca_mse < 2e-3 * np.mean(centred ** 2), (model_mse, pca_mse)


def _ista_model(num_atoms=24, sparsity=0.3, seed=0):
    rng = np.random.default_rng(seed)
    atoms = rng.normal(size=(16, num_atoms))
    atoms /= np.linalg.norm(atoms, axis=0)
    model = SparseCoding(input_shape=(4, 4, 1), num_atoms=num_atoms, sparsity=sparsity, ista_steps=3000)
    model.decoder.kernel.assign(atoms.astype(np.float32))
    return model, atoms


def test_ista_codes_match_scikit_learn_lasso():
    from sklearn.linear_model import Lasso

    model, atoms = _ista_model()
    x = sparse_patches(n=5, seed=3).reshape(5, -1)
    codes = model.encode(x.reshape(5, 4, 4, 1))["code"].numpy()
    for xi, zi in zip(x, codes):
        # Lasso minimizes 1/(2 n) ||x - D z||^2 + alpha ||z||_1 with n = len(x): alpha = lambda / n.
        lasso = Lasso(alpha=model.sparsity / len(xi), fit_intercept=False, tol=1e-12, max_iter=100_000).fit(atoms, xi)
        np.testing.assert_allclose(zi, lasso.coef_, atol=2e-3)
        assert 0 < np.sum(zi != 0) < len(zi)  # the solution is sparse and not all-zero


def test_ista_energy_decreases_monotonically():
    model, _ = _ista_model()
    x = sparse_patches(n=8, seed=4).reshape(8, -1)
    energies = np.stack([model.energy(x, model.ista(x, num_steps=t)).numpy() for t in range(0, 60, 3)])  # (T, B)
    assert np.all(np.diff(energies, axis=0) <= 1e-4), np.diff(energies, axis=0).max()
    assert np.all(energies[-1] < 0.9 * energies[0])  # from z = 0, where E = ||x||^2 / 2


def test_soft_threshold():
    np.testing.assert_allclose(soft_threshold(tf.constant([-2.0, -0.5, 0.0, 0.3, 1.5]), 0.5).numpy(),
                               [-1.5, 0.0, 0.0, 0.0, 1.0])


def _mse(model, x):
    return float(np.mean((x - model.reconstruct(x)["reconstruction"].numpy()) ** 2))


@pytest.mark.parametrize("cls", [SparseCoding, PSD])
def test_dictionary_learns_with_unit_norm_atoms_and_fixed_codes(cls):
    keras.utils.set_random_seed(0)
    x = sparse_patches(n=64)
    model = cls(input_shape=(4, 4, 1), num_atoms=24, sparsity=0.1, ista_steps=30)
    before = _mse(model, x)
    _fit(model, x, 40, 0.05)
    assert _mse(model, x) < 0.5 * before
    np.testing.assert_allclose(np.linalg.norm(model.decoder.kernel.numpy(), axis=0), 1.0, atol=1e-5)
    with tf.GradientTape() as tape:  # the codes z* are held fixed (stop_gradient)
        xt = tf.constant(x[:4])
        tape.watch(xt)
        code = model(xt)["code"]
    assert tape.gradient(code, xt) is None


def test_psd_fast_encoder_learns_to_predict_the_codes():
    keras.utils.set_random_seed(0)
    x = sparse_patches(n=64)
    model = PSD(input_shape=(4, 4, 1), num_atoms=24, sparsity=0.1, ista_steps=30, prediction_weight=0.5)

    def prediction_error():
        out = model.encode(x)
        return float(np.sum((out["code"].numpy() - out["fast_code"].numpy()) ** 2) / np.sum(out["code"].numpy() ** 2))

    before = prediction_error()
    _fit(model, x, 60, 0.05)
    assert prediction_error() < 0.3 * before, (before, prediction_error())
    out = model.reconstruct(x)
    assert set(out) == {"reconstruction", "code", "fast_reconstruction", "fast_code"}
    assert _mse(model, x) < np.mean(x ** 2)


def test_denoising_corrupts_in_training_only():
    x = _binary_images(n=8, shape=SHAPE) * 0.8 + 0.1
    for corruption in ("gaussian", "salt_and_pepper"):
        model = DenoisingAutoencoder(input_shape=SHAPE, corruption=corruption, noise_level=0.3, code_dim=20, seed=0)
        clean = model(x, training=False)["reconstruction"].numpy()
        np.testing.assert_allclose(clean, model(x, training=False)["reconstruction"].numpy())
        np.testing.assert_allclose(clean, model.reconstruct(x)["reconstruction"].numpy(), atol=1e-6)
        assert not np.allclose(clean, model(x, training=True)["reconstruction"].numpy())
        a, b = (model.corrupt(x, tf.constant([1, 2]))["corrupted"].numpy() for _ in range(2))
        np.testing.assert_array_equal(a, b)  # stateless: the seed fixes it
        assert a.min() >= 0 and a.max() <= 1
        if corruption == "salt_and_pepper":
            changed = a != x
            assert 0.2 < changed.mean() < 0.4  # every hit pixel changes (x is never exactly 0 or 1)
            assert set(np.unique(a[changed])) <= {0.0, 1.0}


def test_sparsity_penalties():
    code = tf.constant([[0.1, 0.3], [0.3, 0.5]])
    kl = SparseAutoencoder(input_shape=SHAPE, penalty="kl", sparsity_weight=2.0, sparsity_target=0.1, code_dim=2)
    rho, rho_hat = 0.1, np.array([0.2, 0.4])
    expected = 2.0 * np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    assert float(kl.code_penalty(code)) == pytest.approx(expected, rel=1e-5)
    l1 = SparseAutoencoder(input_shape=SHAPE, penalty="l1", sparsity_weight=0.5, code_dim=2)
    np.testing.assert_allclose(l1.code_penalty(-code).numpy(), [0.2, 0.4], rtol=1e-6)
    assert kl.code_activation == "sigmoid" and l1.code_activation == "relu"


def test_kl_sparse_autoencoder_moves_mean_activation_to_target():
    x = _binary_images(n=64, shape=SHAPE)
    means = {}
    for weight in (0.0, 10.0):  # the same model and data without and with the penalty
        keras.utils.set_random_seed(0)
        model = SparseAutoencoder(input_shape=SHAPE, penalty="kl", sparsity_weight=weight, sparsity_target=0.05,
                                  code_dim=32)
        _fit(model, x, 150, 1e-2)
        means[weight] = float(model.encode(x)["code"].numpy().mean())
    assert means[0.0] > 0.2 and abs(means[10.0] - 0.05) < 0.02, means


def test_bad_inputs_and_arguments_get_clear_errors():
    model = Autoencoder(input_shape=SHAPE, code_dim=2, hidden_units=(8,))
    with pytest.raises(ValueError, match=r"expected \(batch, 8, 8, 1\)"):
        model.reconstruct(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or inf"):
        model.reconstruct(np.full((2, *SHAPE), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"expected \(batch, 16\)"):
        SparseCoding(input_shape=(4, 4, 1), num_atoms=16).decode(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="'gaussian', 'salt_and_pepper'"):
        DenoisingAutoencoder(corruption="dropout")
    with pytest.raises(ValueError, match="'l1', 'kl'"):
        SparseAutoencoder(penalty="l2")
    with pytest.raises(ValueError, match="'bernoulli', 'gaussian'"):
        Autoencoder(reconstruction_loss="poisson")
    with pytest.raises(ValueError, match="code_activation='sigmoid'"):
        SparseAutoencoder(penalty="kl", code_activation="relu")


class ConvAutoencoder(Autoencoder):
    """A user subclass: convolutional encoder and decoder, everything else inherited."""

    def build_encoder(self):
        return keras.Sequential([keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
                                 keras.layers.Flatten(), keras.layers.Dense(self.code_dim)])

    def build_decoder(self):
        return keras.Sequential([keras.layers.Dense(4 * 4 * 8, activation="relu"), keras.layers.Reshape((4, 4, 8)),
                                 keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")])


def test_user_subclass_trains_and_exports(tmp_path):
    from mpkeras.export import export_model

    keras.utils.set_random_seed(0)
    x = _binary_images(n=32, shape=SHAPE)
    model = ConvAutoencoder(input_shape=SHAPE, code_dim=4)
    model(x)
    before = _mse(model, x)
    _fit(model, x, 30, 1e-2)
    assert _mse(model, x) < 0.8 * before
    assert any("conv2d" in v.path for v in model.trainable_variables)
    # Reloaded in process (the conformance suite covers the clean-process reload; a TF start costs seconds).
    loaded = tf.saved_model.load(export_model(model, "conv_ae", base_dir=str(tmp_path)))
    assert {"serving_default", "encode", "decode", "reconstruct"} <= set(loaded.signatures)
    served = loaded.signatures["serving_default"](x=tf.constant(x))["reconstruction"].numpy()
    np.testing.assert_allclose(served, model.reconstruct(x)["reconstruction"].numpy(), atol=1e-5)


@pytest.mark.parametrize("name,flags,figures", [
    ("linear_ae", [], ["reconstructions"]),
    ("autoencoder", ["--code-dim", "2", "--hidden-units", "16"], ["reconstructions", "code_scatter"]),
    ("denoising_ae", ["--code-dim", "32", "--corruption", "salt_and_pepper"], ["denoising"]),
    ("sparse_ae", ["--code-dim", "16", "--penalty", "l1", "--sparsity-weight", "0.01"], ["features"]),
    # sparse_coding shares the patch data, evaluation and figures with psd.
    ("psd", ["--ista-steps", "10", "--num-atoms", "32"], ["dictionary", "reconstructions"]),
])
def test_recipe_smoke_end_to_end(name, flags, figures, mnist5k_dir, tmp_path_factory):
    from mpkeras import cli

    data_dir = mnist5k_dir
    out = tmp_path_factory.mktemp(name)
    report = cli.load_recipe(name).main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0",
                                         "--batch-size", "50", *flags])
    test = report["test"]
    key = {"sparse_coding": "test_patch_mse", "psd": "test_fast_patch_mse"}.get(name, "test_mse")
    assert np.isfinite(test[key]) and test[key] > 0
    for figure in figures:
        assert (out / "runs" / name / "figures" / f"{figure}.png").exists(), figure
    assert (out / "exported" / name / "1" / "saved_model.pb").exists()
