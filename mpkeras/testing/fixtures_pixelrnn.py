"""Fixture of PixelRNN (Row LSTM)."""

from mpkeras.testing.fixtures import Fixture, _binary_images, fixture


@fixture("pixelrnn")
def _pixelrnn():
    return Fixture(kwargs=dict(input_shape=(4, 4, 1), hidden_units=4, num_layers=2, input_kernel_size=3,
                               output_units=8),
                   x=_binary_images(shape=(4, 4, 1)), output_shapes=(16, 4, 4, 1), learning_rate=5e-2)
