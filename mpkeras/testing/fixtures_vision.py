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


def _classifier(kwargs, shape=(28, 28, 1), n=8, classes=3, **extra):
    x, y = _images(n, shape, classes)
    base = dict(input_shape=shape, num_classes=classes, input_mean=0.3, input_std=0.4, seed=1)
    return Fixture(kwargs={**base, **kwargs}, x=x, y=y, output_shapes=(n, classes), **extra)


@fixture("lenet")
def _lenet():
    return _classifier(dict(filters=(4, 8), units=(16, 12), activation="relu", dropout=0.1, batch_norm=True,
                            augment_shift=0.05, weight_decay=1e-4))


@fixture("alexnet")
def _alexnet():
    return _classifier(dict(stem="small", width=0.05, fc_units=16, dropout=0.1, augment_rotation=0.02),
                       learning_rate=3e-3)


@fixture("vgg")
def _vgg():
    return _classifier(dict(depth=11, width=0.0625, fc_units=16, dropout=0.1), shape=(16, 16, 1), learning_rate=3e-3)


@fixture("googlenet")
def _googlenet():
    return _classifier(dict(stem="small", width=0.03, aux_weight=0.3), shape=(16, 16, 1),
                       learning_rate=3e-3)


@fixture("resnet18")
def _resnet18():
    # Batch norm evaluates with moving statistics that lag a fast-moving net: a moderate rate.
    return _classifier(dict(stem="small", width=4, augment_flip=True), shape=(16, 16, 3), learning_rate=5e-3)


@fixture("resnet34")
def _resnet34():
    return _classifier(dict(stem="small", width=4), shape=(16, 16, 3), learning_rate=5e-3, learn_steps=60)


@fixture("rnn_classifier")
def _rnn_classifier():
    return _classifier(dict(units=8, num_layers=2, dropout=0.1), shape=(8, 8, 1), learning_rate=3e-2)


@fixture("lstm_classifier")
def _lstm_classifier():
    return _classifier(dict(units=8), shape=(8, 8, 1), learning_rate=3e-2)
