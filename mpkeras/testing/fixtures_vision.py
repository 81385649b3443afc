"""Fixtures of the supervised-vision family: perceptron, CNN zoo, segmenters."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401


def _images(n=8, shape=(28, 28, 1), classes=3, seed=0):
    """Images whose class is the quadrant of a bright blob, so there is something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.2, size=(n, *shape)).astype(np.float32)
    y = rng.integers(0, classes, size=n)
    h, w = shape[0] // 2, shape[1] // 2
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, r * h:(r + 1) * h, q * w:(q + 1) * w] += 0.8
    return x, y
