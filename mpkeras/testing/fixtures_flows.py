"""Fixtures of the normalizing flows (Glow, the conditional Glow, RealNVP on vectors and on images)."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture


def _dequantized(n=16, shape=(4, 4, 1), seed=0):
    """Dequantized 8-bit images with structure (a bright row), values (k + u) / 256."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 60, size=(n, *shape))
    k[np.arange(n), rng.integers(0, shape[0], size=n)] += 190
    return ((k + rng.uniform(size=k.shape)) / 256).astype(np.float32)


@fixture("glow")
def _glow():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), levels=2, steps=2, hidden_units=8),
                   x=_dequantized(), output_shapes={"log_prob": (16,), "bits_per_dim": (16,)}, learning_rate=1e-2,
                   max_loss_ratio=0.9)


@fixture("conditional_glow")
def _conditional_glow():
    images = _dequantized(seed=1)
    low_res = images.reshape(16, 2, 2, 2, 2, 1).mean(axis=(2, 4))
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), levels=2, steps=1, hidden_units=8),
                   x={"images": images, "low_res": low_res}, output_shapes={"log_prob": (16,), "bits_per_dim": (16,)},
                   learning_rate=1e-2, max_loss_ratio=0.9)


@fixture("realnvp")
def _realnvp():
    from sklearn.datasets import make_moons

    points = make_moons(16, noise=0.05, random_state=0)[0].astype(np.float32)
    return Fixture(kwargs=dict(input_shape=(2,), num_couplings=2, hidden_units=8), x=points,
                   output_shapes={"log_prob": (16,)}, learning_rate=3e-2, max_loss_ratio=0.8)


@fixture("realnvp_images")
def _realnvp_images():
    return Fixture(kwargs=dict(input_shape=(4, 4, 3), scales=2, hidden_units=8, res_blocks=1),
                   x=_dequantized(shape=(4, 4, 3), seed=2), output_shapes={"log_prob": (16,), "bits_per_dim": (16,)},
                   learning_rate=1e-2, max_loss_ratio=0.9)
