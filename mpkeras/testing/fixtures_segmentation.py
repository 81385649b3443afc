"""Fixtures of the segmentation models."""

import numpy as np

from mpkeras.models.segmentation import NO_XLA_MAX_UNPOOL
from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401


def _blobs(n=8, size=16, classes=3, seed=0):
    """Images with one bright and one dim square on a dark ground; masks 0 (ground), 1 (bright), 2 (dim).

    The class of a pixel shows in its intensity and its neighbourhood, so there is something to learn.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.1, size=(n, size, size, 1)).astype(np.float32)
    y = np.zeros((n, size, size), np.int32)
    for i in range(n):
        for label, value in ((1, 0.9), (2, 0.5))[: classes - 1]:
            top, left = rng.integers(0, size - 6, size=2)
            h, w = rng.integers(3, 7, size=2)
            x[i, top:top + h, left:left + w, 0] = value
            y[i, top:top + h, left:left + w] = label
    return x, y


@fixture("fcn")
def _fcn():
    x, y = _blobs()
    return Fixture(
        kwargs=dict(input_shape=(16, 16, 1), num_classes=3, filters=(4, 8), convs_per_block=1,
                    upsampling="max_unpool", input_mean=0.2, input_std=0.3, seed=1),
        x=x,
        y=y,
        output_shapes=(8, 16, 16, 3),
        unsupported={"jit": NO_XLA_MAX_UNPOOL},
    )


@fixture("unet")
def _unet():
    x, y = _blobs()
    return Fixture(
        kwargs=dict(input_shape=(16, 16, 1), num_classes=3, filters=(4, 8, 8), convs_per_block=1,
                    upsampling="transposed", batch_norm=True, dropout=0.1, input_mean=0.2, input_std=0.3, seed=1),
        x=x,
        y=y,
        output_shapes=(8, 16, 16, 3),
    )
