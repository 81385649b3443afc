"""Fixtures of the variational RNN family (VRNN, CVRNN) and its LSTM density baseline."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, _binary_images, fixture

SHAPE = (5, 6)  # T = 5 steps of D = 6 binary numbers


def _sequences():
    return _binary_images(shape=SHAPE)  # (16, 5, 6): a step of ones at a random time, sparse noise elsewhere


def _vrnn_outputs(n=16, latent=2):
    step = (n, SHAPE[0], latent)
    return {"prior_mean": step, "prior_stddev": step, "mean": step, "stddev": step, "z": step,
            "logits": (n, *SHAPE)}


@fixture("vrnn")
def _vrnn():
    return Fixture(kwargs=dict(input_shape=SHAPE, latent_dim=2, units=8, feature_units=8, seed=1),
                   x=_sequences(), output_shapes=_vrnn_outputs(), learning_rate=3e-2)


@fixture("cvrnn")
def _cvrnn():
    """GRU recurrence and dict inputs, so the kit also exercises the other cell and the labels."""
    labels = np.random.default_rng(0).integers(0, 3, size=16).astype(np.int32)
    return Fixture(kwargs=dict(input_shape=SHAPE, latent_dim=2, units=8, feature_units=8, cell="gru", num_classes=3,
                               seed=1),
                   x={"sequences": _sequences(), "labels": labels}, output_shapes=_vrnn_outputs(),
                   learning_rate=3e-2)


@fixture("lstm_density")
def _lstm_density():
    return Fixture(kwargs=dict(input_shape=SHAPE, units=8, num_layers=2), x=_sequences(), output_shapes=(16, *SHAPE),
                   learning_rate=5e-2)
