"""The independent-sub-pixel baselines of a run's 8-bit image data (:mod:`mpkeras.metrics.pixel_baselines`).

The likelihood recipes of 8-bit images (PixelCNN, Gated PixelCNN, Glow, the image RealNVP, the Gaussian VAE)
report these next to their own bits/dim, fitted on the run's train split and scored on its test images, so
that one command gives the model's figure and what it means.
"""

import numpy as np

from mpkeras.data.pipelines import image_pairs
from mpkeras.metrics.pixel_baselines import (
    independent_categorical_bits_per_dim,
    independent_gaussian_bits_per_dim,
    pixel_counts,
)

SMOKE_BATCHES = 2
"""--smoke: count this many batches of 500 train images only (the figures then check the code path)."""


def _images(name, role, data_dir, batches=None):
    ds = image_pairs(name, role, data_dir).map(lambda image, label: image).batch(500)
    return ds.take(batches) if batches else ds


def pixel_baselines(args):
    """``{"baseline_independent_categorical_bits_per_dim", "baseline_independent_gaussian_bits_per_dim"}`` of
    ``args.dataset``: fitted on the train split (the ``train`` role), scored on the test split's images."""
    counts = pixel_counts(_images(args.dataset, "train", args.data_dir,
                                  SMOKE_BATCHES if args.smoke else None).as_numpy_iterator())
    test = np.concatenate(list(_images(args.dataset, "test", args.data_dir,
                                       1 if args.smoke else None).as_numpy_iterator()))
    return {"baseline_independent_categorical_bits_per_dim": independent_categorical_bits_per_dim(counts, test),
            "baseline_independent_gaussian_bits_per_dim": independent_gaussian_bits_per_dim(counts, test)}
