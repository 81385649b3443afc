"""Fixtures of the autoregressive density models."""

from mpkeras.testing.fixtures import Fixture, _binary_images, fixture


@fixture("fvsbn")
def _fvsbn():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1)), x=_binary_images(shape=(4, 4, 1)), output_shapes=(16, 4, 4, 1),
                   learning_rate=5e-2)


@fixture("made")
def _made():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), hidden_units=(16, 16), ordering="random", num_masks=2, seed=1),
                   x=_binary_images(shape=(4, 4, 1)), output_shapes=(16, 4, 4, 1), learning_rate=3e-2)


@fixture("nade")
def _nade():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), hidden_units=8), x=_binary_images(shape=(4, 4, 1)),
                   output_shapes=(16, 4, 4, 1), learning_rate=5e-2)
