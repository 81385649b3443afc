"""Image patches for sparse coding: random crops of an image array, contrast-normalized."""

import numpy as np


def extract_patches(images, size=8, num_patches=10_000, seed=0, min_std=0.1):
    """Random ``size`` x ``size`` patches of images, skipping near-blank ones.

    Args:
        images: (N, H, W, C) float array (pixels in [0, 1]).
        size: patch side.
        num_patches: how many patches to return.
        seed: seed of the numpy generator that picks images and positions.
        min_std: keep a patch only if its pixel standard deviation is at least
            this (on mnist most patches are flat black background).

    Returns:
        (num_patches, size, size, C) float32 patches, in the order drawn.
    """
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    if size > min(h, w):
        raise ValueError(f"patch size {size} exceeds the image size {h}x{w}.")
    rng = np.random.default_rng(seed)
    kept, total = [], 0
    for _ in range(1000):
        i = rng.integers(0, n, 4 * num_patches)
        r = rng.integers(0, h - size + 1, 4 * num_patches)
        q = rng.integers(0, w - size + 1, 4 * num_patches)
        windows = np.arange(size)
        batch = images[i[:, None, None], r[:, None, None] + windows[None, :, None], q[:, None, None] + windows]
        batch = batch[batch.reshape(len(batch), -1).std(axis=1) >= min_std]
        kept.append(batch)
        total += len(batch)
        if total >= num_patches:
            return np.concatenate(kept)[:num_patches]
    raise ValueError(f"only {total} patches with std >= {min_std} found; lower min_std.")


def normalize_patches(patches, eps=1e-2):
    """Contrast normalization: subtract each patch's mean and divide by its standard deviation (+ eps)."""
    flat = patches.reshape(len(patches), -1)
    flat = (flat - flat.mean(axis=1, keepdims=True)) / (flat.std(axis=1, keepdims=True) + eps)
    return flat.reshape(patches.shape).astype(np.float32)
