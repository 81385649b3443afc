"""Tests for the independent-sub-pixel baselines of 8-bit images (mpkeras.metrics.pixel_baselines)."""

import argparse

import numpy as np
import pytest

from mpkeras.metrics.pixel_baselines import (
    gaussian_moments,
    independent_categorical_bits_per_dim,
    independent_gaussian_bits_per_dim,
    pixel_counts,
)
from mpkeras.train.pixel_baselines import pixel_baselines


def _images(n, seed, shape=(3, 2, 3)):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype(np.uint8)


def test_counts_are_per_sub_pixel_histograms():
    images = _images(50, 0)
    counts = pixel_counts([images[:20], images[20:]])  # batches accumulate
    assert counts.shape == (3, 2, 3, 256) and counts.sum() == 50 * 18
    for (i, j, c) in [(0, 0, 0), (2, 1, 2), (1, 0, 1)]:
        np.testing.assert_array_equal(counts[i, j, c], np.bincount(images[:, i, j, c], minlength=256))


def test_categorical_matches_a_hand_computed_histogram_likelihood():
    train, test = _images(40, 1), _images(7, 2)
    counts, alpha = pixel_counts([train]), 0.5
    expected = []
    for x in test:
        bits = [np.log2((np.sum(train[:, i, j, c] == x[i, j, c]) + alpha) / (40 + 256 * alpha))
                for i in range(3) for j in range(2) for c in range(3)]
        expected.append(-np.mean(bits))
    assert independent_categorical_bits_per_dim(counts, test, alpha) == pytest.approx(np.mean(expected), rel=1e-12)
    # No data: add-alpha smoothing alone is the uniform distribution, 8 bits/dim.
    assert independent_categorical_bits_per_dim(np.zeros_like(counts), test) == pytest.approx(8.0)


def test_gaussian_is_the_expected_density_of_the_dequantized_levels():
    train, test = _images(200, 3), _images(5, 4)
    counts = pixel_counts([train])
    mean, variance = gaussian_moments(counts)
    # The moments are those of y = (x + u) / 256 over the train images, with U[0, 1) noise.
    np.testing.assert_allclose(mean, ((train + 0.5) / 256).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(variance, (train / 256.0).var(axis=0) + 1 / (12 * 256**2), rtol=1e-9)
    # Monte Carlo over the dequantization noise agrees with the closed form.
    u = np.random.default_rng(5).uniform(size=(4000, *test.shape))
    y = (test + u) / 256
    log_density = -0.5 * np.log(2 * np.pi * variance) - (y - mean) ** 2 / (2 * variance)  # of y, nats
    monte_carlo = np.mean(-(log_density - np.log(256)) / np.log(2))  # of the levels x + u, bits/dim
    assert independent_gaussian_bits_per_dim(counts, test) == pytest.approx(monte_carlo, abs=2e-3)


def test_bad_inputs_name_the_problem():
    counts = pixel_counts([_images(3, 0)])
    with pytest.raises(ValueError, match="uint8 image batches"):
        pixel_counts([np.zeros((2, 3, 2, 3), np.float32)])
    with pytest.raises(ValueError, match="no images"):
        pixel_counts([])
    with pytest.raises(ValueError, match="like the counted ones"):
        independent_gaussian_bits_per_dim(counts, _images(2, 0, shape=(2, 2, 3)))


def test_run_baselines_on_an_embedded_dataset(mnist5k_dir):
    args = argparse.Namespace(dataset="mnist5k", data_dir=mnist5k_dir, smoke=True)
    out = pixel_baselines(args)
    assert set(out) == {"baseline_independent_categorical_bits_per_dim", "baseline_independent_gaussian_bits_per_dim"}
    # Digits: mostly-black borders make the per-position histograms far better than uniform (8 bits/dim).
    assert 0 < out["baseline_independent_categorical_bits_per_dim"] < 4
