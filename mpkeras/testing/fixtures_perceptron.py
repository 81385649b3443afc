"""Fixtures of the perceptron models."""

import numpy as np

from mpkeras.models.perceptron import SEQUENTIAL_RULE
from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401


def bar_images(n=18, shape=(6, 6, 1), num_classes=3, seed=0):
    """Images whose class k is a bright bar on row 2k over faint noise.

    Every class is linearly separable from the rest (the sum of row 2k is >= 6,
    elsewhere <= 1.8), so one-vs-rest perceptrons reach zero errors.

    Returns:
        x (n, *shape) float32 in [0, 1] and labels (n,) int64 cycling 0..num_classes-1.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.3, size=(n, *shape)).astype(np.float32)
    y = np.arange(n, dtype=np.int64) % num_classes
    x[np.arange(n), 2 * y] = 1.0
    return x, y


@fixture("perceptron")
def _perceptron():
    x, y = bar_images()
    return Fixture(
        kwargs=dict(input_shape=(6, 6, 1), num_outputs=3, learning_rate=0.5),
        x=x,
        y=y,
        output_shapes=(18, 3),  # the scores theta_k^T x + b_k
        compile_kwargs=dict(metrics=["accuracy"]),
        learn_steps=10,  # epochs of the rule (one full-batch step each); the optimizer is unused
        unsupported={"replicas": SEQUENTIAL_RULE},
    )
