"""Baseline likelihoods of 8-bit images that treat every sub-pixel as independent, in bits/dim.

A likelihood model's bits/dim means little alone. These two baselines, fitted on the train split by counting,
show what a model gains by modelling the dependencies between sub-pixels:

* **independent categorical**: one 256-way distribution per sub-pixel (row, column, channel), the train
  histogram of its values with add-``alpha`` smoothing,

      p_d(k) = (n_d(k) + alpha) / (N + 256 alpha),   bits/dim = -1/D sum_d log2 p_d(x_d);

  the discrete NLL of the images, as PixelCNN's 256-way softmax reports it.
* **independent Gaussian** of the dequantized sub-pixels y_d = (x_d + u_d) / 256, u_d ~ U[0, 1) (as the flows
  see them): N(mu_d, sigma_d^2) with the train mean and variance of y_d. Its bits/dim is the expectation over
  u of -log2 of the density of the levels x + u, the same upper bound on the discrete NLL that Glow reports
  (Theis et al., 2016, "A note on the evaluation of generative models"):

      bits/dim = 1/D sum_d [ 1/2 log(2 pi sigma_d^2) + E_u (y_d - mu_d)^2 / (2 sigma_d^2) + log 256 ] / log 2,

  with E_u (y_d - mu_d)^2 = ((x_d + 1/2) / 256 - mu_d)^2 + 1 / (12 * 256^2) exactly, so nothing is sampled.

Example:
    >>> counts = pixel_counts(train_batches)                  # uint8 (B, H, W, C) batches
    >>> independent_categorical_bits_per_dim(counts, test_images)
    >>> independent_gaussian_bits_per_dim(counts, test_images)
"""

import numpy as np

LEVELS = 256


def pixel_counts(batches):
    """Histogram of every sub-pixel's value over an iterable of uint8 batches (B, H, W, C): int64 (H, W, C, 256)."""
    counts = None
    for batch in batches:
        batch = np.asarray(batch)
        if batch.dtype != np.uint8 or batch.ndim != 4:
            raise ValueError(f"pixel_counts takes uint8 image batches (B, H, W, C), got {batch.dtype} "
                             f"{batch.shape}; pass the images before any scaling or dequantization.")
        if counts is None:
            counts = np.zeros(batch.shape[1:] + (LEVELS,), np.int64)
        elif counts.shape[:-1] != batch.shape[1:]:
            raise ValueError(f"pixel_counts: a batch of images {batch.shape[1:]} after images {counts.shape[:-1]}.")
        flat = counts.reshape(-1)  # (D * 256,), a view: bin d * 256 + k counts value k of sub-pixel d
        bins = np.arange(flat.size // LEVELS) * LEVELS + batch.reshape(len(batch), -1)  # (B, D)
        flat += np.bincount(bins.ravel(), minlength=flat.size)
    if counts is None:
        raise ValueError("pixel_counts: no images (the dataset is empty).")
    return counts


def _check(counts, images):
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != counts.shape[:-1]:
        raise ValueError(f"test images must be uint8 {counts.shape[:-1]} like the counted ones, got {images.dtype} "
                         f"{images.shape[1:]}.")
    return images


def independent_categorical_bits_per_dim(counts, images, alpha=1.0):
    """Mean bits/dim of uint8 ``images`` (N, H, W, C) under per-sub-pixel histograms ``counts`` (H, W, C, 256)."""
    images = _check(counts, images)
    flat = counts.reshape(-1, LEVELS).astype(np.float64)  # (D, 256)
    log_p = np.log2(flat + alpha) - np.log2(flat.sum(axis=1, keepdims=True) + LEVELS * alpha)  # (D, 256)
    dims = np.arange(flat.shape[0])
    return float(-np.mean([log_p[dims, x].mean() for x in images.reshape(len(images), -1)]))


def gaussian_moments(counts):
    """Mean and variance of every dequantized sub-pixel (x + u) / 256 under ``counts``: two (H, W, C) arrays."""
    p = counts / counts.sum(axis=-1, keepdims=True)  # (H, W, C, 256)
    centres = (np.arange(LEVELS) + 0.5) / LEVELS
    mean = (p * centres).sum(axis=-1)
    variance = (p * centres**2).sum(axis=-1) - mean**2 + 1.0 / (12 * LEVELS**2)  # + the uniform noise's variance
    return mean, variance


def independent_gaussian_bits_per_dim(counts, images):
    """Mean bits/dim (expected over the dequantization noise) of uint8 ``images`` (N, H, W, C) under one Gaussian
    per dequantized sub-pixel, fitted to ``counts`` (H, W, C, 256)."""
    images = _check(counts, images)
    mean, variance = gaussian_moments(counts)  # (H, W, C) each
    squared = ((images + 0.5) / LEVELS - mean) ** 2 + 1.0 / (12 * LEVELS**2)  # (N, H, W, C): E_u (y - mu)^2
    nats = 0.5 * np.log(2 * np.pi * variance) + squared / (2 * variance) + np.log(LEVELS)
    return float(nats.mean() / np.log(2))
