"""Fixtures of the autoencoder family (autoencoders, sparse coding, PSD)."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, _binary_images, fixture

SHAPE = (8, 8, 1)


def _ae_outputs(n, code_dim, shape=SHAPE):
    return {"code": (n, code_dim), "outputs": (n, *shape), "reconstruction": (n, *shape)}


def sparse_patches(n=32, shape=(4, 4, 1), num_atoms=24, active=3, seed=0):
    """Patches x = D_true z with ``active`` non-zero Gaussian coefficients over a fixed random unit-norm dictionary."""
    rng = np.random.default_rng(seed)
    dim = int(np.prod(shape))
    atoms = rng.normal(size=(dim, num_atoms))
    atoms /= np.linalg.norm(atoms, axis=0)
    z = np.zeros((n, num_atoms))
    for i in range(n):
        z[i, rng.choice(num_atoms, active, replace=False)] = rng.normal(size=active) * 2.0
    return (z @ atoms.T).reshape(n, *shape).astype(np.float32)


@fixture("autoencoder")
def _autoencoder():
    return Fixture(kwargs=dict(input_shape=SHAPE, code_dim=4, hidden_units=(16,), seed=1), x=_binary_images(),
                   output_shapes=_ae_outputs(16, 4))


@fixture("linear_ae")
def _linear_ae():
    return Fixture(kwargs=dict(input_shape=SHAPE, code_dim=3, seed=1), x=_binary_images(),
                   output_shapes=_ae_outputs(16, 3))


@fixture("denoising_ae")
def _denoising_ae():
    return Fixture(kwargs=dict(input_shape=SHAPE, corruption="salt_and_pepper", noise_level=0.1, code_dim=80,
                               seed=1), x=_binary_images(), output_shapes=_ae_outputs(16, 80))


@fixture("sparse_ae")
def _sparse_ae():
    return Fixture(kwargs=dict(input_shape=SHAPE, penalty="kl", sparsity_weight=1.0, sparsity_target=0.1, code_dim=12,
                               seed=1), x=_binary_images(), output_shapes=_ae_outputs(16, 12))


@fixture("sparse_coding")
def _sparse_coding():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), num_atoms=24, sparsity=0.1, ista_steps=30), x=sparse_patches(),
                   output_shapes={"code": (32, 24), "reconstruction": (32, 4, 4, 1)}, learning_rate=0.05)


@fixture("psd")
def _psd():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), num_atoms=24, sparsity=0.1, ista_steps=30,
                               prediction_weight=0.5), x=sparse_patches(),
                   output_shapes={"code": (32, 24), "fast_code": (32, 24), "reconstruction": (32, 4, 4, 1)},
                   learning_rate=0.05)
