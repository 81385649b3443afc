"""Fixture of WaveNet (the conformance kit passes one input array, so the fixture is unconditional;
tests/test_wavenet.py exercises the class-conditional form, its export included)."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture


def tone_batch(n=4, length=64, seed=0):
    """Waveforms (n, length) float32 in [-1, 1]: sines of random pitch and phase plus a little noise,
    so the next sample is predictable from the previous ones and there is something to learn."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    period = rng.integers(6, 16, size=(n, 1))
    x = 0.6 * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi, size=(n, 1)))
    return np.clip(x + 0.01 * rng.standard_normal((n, length)), -1, 1).astype(np.float32)


@fixture("wavenet")
def _wavenet():
    return Fixture(kwargs=dict(residual_channels=8, dilation_channels=8, skip_channels=16, num_stacks=2,
                               layers_per_stack=3),
                   x=tone_batch(), output_shapes=(4, 64, 256), learning_rate=1e-2, learn_steps=40)
