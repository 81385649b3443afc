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


@fixture("pixelcnn")
def _pixelcnn():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), filters=4, num_blocks=1, first_kernel=3),
                   x=_binary_images(shape=(4, 4, 1)), output_shapes=(16, 4, 4, 1), learning_rate=5e-2)


@fixture("gated_pixelcnn")
def _gated_pixelcnn():
    """Class-conditional and 8-bit, so the kit also exercises dict inputs and the 256-way softmax."""
    import numpy as np

    rng = np.random.default_rng(0)
    images = (rng.integers(0, 4, size=(16, 4, 4, 1)) * 85 / 255).astype(np.float32)  # 4 of the 256 levels
    labels = rng.integers(0, 3, size=16).astype(np.int32)
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), filters=4, num_layers=2, first_kernel=3, output_filters=8,
                               num_levels=256, num_classes=3),
                   x={"images": images, "labels": labels}, output_shapes=(16, 4, 4, 1, 256), learning_rate=5e-2)
