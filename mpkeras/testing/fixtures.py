"""Tiny constructor kwargs and input batches for every registered model.

A model without a fixture fails the coverage check, so adding a model means
adding a fixture here.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Fixture:
    """What the conformance kit needs to exercise one model.

    Attributes:
        kwargs: tiny constructor arguments.
        x: an input batch (numpy).
        y: targets for ``fit`` (None for unsupervised models).
        output_shapes: expected eager output shapes of ``model(x)``: a tuple, or
            a dict of tuples for dict outputs.
        compile_kwargs: extra ``compile`` arguments besides the optimizer.
        learn_steps: full-batch steps of the "learns" check.
        learning_rate: Adam learning rate of the "learns" check.
        max_loss_ratio: the final loss must be below this fraction of the first.
        unsupported: flag -> reason, for the flags of the matrix (``replicas``, ``mixed_precision``, ``jit``)
            the model refuses; the same as the model's ``unsupported_flags()``.
    """

    kwargs: dict
    x: np.ndarray
    y: np.ndarray | None = None
    output_shapes: object = None
    compile_kwargs: dict = dataclasses.field(default_factory=dict)
    learn_steps: int = 40
    learning_rate: float = 1e-2
    max_loss_ratio: float = 0.7
    unsupported: dict = dataclasses.field(default_factory=dict)


FIXTURES = {}


def fixture(name):
    def decorate(fn):
        FIXTURES[name] = fn
        return fn

    return decorate


def _binary_images(n=16, shape=(8, 8, 1), seed=0):
    """Binary images with structure (a bar at a random row), so there is something to learn."""
    rng = np.random.default_rng(seed)
    x = (rng.uniform(size=(n, *shape)) < 0.1).astype(np.float32)
    rows = rng.integers(0, shape[0], size=n)
    x[np.arange(n), rows] = 1.0
    return x


@fixture("mlp")
def _mlp():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    return Fixture(
        kwargs=dict(input_shape=(8, 8, 1), hidden_units=(16,), activation="rrelu", num_outputs=3, augment_shift=0.1,
                    augment_rotation=0.02, seed=1),
        x=x,
        y=y,
        output_shapes=(16, 3),
    )


def _vae_outputs(n, shape, latent):
    return {"logits": (n, *shape), "mean": (n, latent), "stddev": (n, latent), "z": (n, latent)}


@fixture("vae")
def _vae():
    x = _binary_images()
    return Fixture(
        kwargs=dict(input_shape=(8, 8, 1), latent_dim=2, hidden_units=(16,), prior="mixture", num_components=3, seed=1),
        x=x,
        output_shapes=_vae_outputs(16, (8, 8, 1), 2),
    )


@fixture("beta_vae")
def _beta_vae():
    # The Gaussian likelihood of colour images (the vae fixture keeps the Bernoulli one): dequantized
    # y = (k + u) / 256 of binary 8x8 images put on three channels, so there is structure to learn.
    rng = np.random.default_rng(0)
    levels = np.repeat(_binary_images(), 3, axis=-1) * np.array([200, 120, 40])
    x = ((levels + rng.uniform(size=levels.shape)) / 256).astype(np.float32)
    return Fixture(
        kwargs=dict(beta=2.0, constraint="kl", kl_threshold=1.0, input_shape=(8, 8, 3), latent_dim=2,
                    hidden_units=(16,), likelihood="gaussian", seed=1),
        x=x,
        output_shapes={"loc": (16, 8, 8, 3), "log_scale": (16, 8, 8, 3), "mean": (16, 2), "stddev": (16, 2),
                       "z": (16, 2)},
    )


# Family fixtures live in their own modules; importing them registers them.
from mpkeras.testing import (  # noqa: E402,F401
    fixtures_autoregressive, fixtures_perceptron, fixtures_pixelrnn, fixtures_segmentation, fixtures_sequence,
    fixtures_vision, fixtures_wavenet)
from mpkeras.testing import fixtures_vrnn  # noqa: E402,F401
from mpkeras.testing import fixtures_autoencoders  # noqa: E402,F401
from mpkeras.testing import fixtures_flows  # noqa: E402,F401
from mpkeras.testing import fixtures_gan  # noqa: E402,F401
from mpkeras.testing import fixtures_pix2pix  # noqa: E402,F401
from mpkeras.testing import fixtures_body  # noqa: E402,F401
from mpkeras.testing import fixtures_implicit  # noqa: E402,F401
from mpkeras.testing import fixtures_rl  # noqa: E402,F401
