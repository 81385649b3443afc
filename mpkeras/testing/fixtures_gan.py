"""Fixtures of the GAN family (GAN, WGAN-GP, WGAN).

``call(z)`` is the generator while ``fit``/``evaluate`` take real data, so the
fixture's batch serves as both: latent_dim equals the data dimension (2).

The kit's "learns" check fits and compares the ``evaluate`` loss, which for
GANs is the discriminator loss. When both players learn, that loss has no
reason to fall (at the equilibrium p_g = p_data it is 2 log 2, as at the start),
so the fixtures make the check honest about what it can see: the generator's
optimizer has learning rate 0 and the check asks that ``fit`` trains the
discriminator to tell the fixed batch from the (frozen) generator's samples.
tests/test_gan.py checks that the generator update moves the generator (and
only it) and the generator losses' values and gradient signs.
"""

import keras
import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture


def _points(n=16, seed=0):
    """Points near four corners, away from the untrained generator's blob at the origin."""
    rng = np.random.default_rng(seed)
    corners = np.array([[2.0, 2.0], [-2.0, 2.0], [2.0, -2.0], [-2.0, -2.0]], np.float32)
    return (corners[np.arange(n) % 4] + 0.05 * rng.normal(size=(n, 2))).astype(np.float32)


def _frozen_generator():
    return {"generator_optimizer": keras.optimizers.SGD(0.0), "discriminator_optimizer": keras.optimizers.Adam(1e-2)}


@fixture("gan")
def _gan():
    return Fixture(kwargs=dict(input_shape=(2,), latent_dim=2, hidden_units=(16, 16), seed=1), x=_points(),
                   output_shapes=(16, 2), compile_kwargs=_frozen_generator())


@fixture("wgan_gp")
def _wgan_gp():
    # The critic loss starts near 0 + the penalty and becomes negative as the critic separates the two sets,
    # so the kit's "last < first" branch applies once it drops below zero.
    return Fixture(kwargs=dict(input_shape=(2,), latent_dim=2, hidden_units=(16, 16), discriminator_steps=2, seed=1),
                   x=_points(), output_shapes=(16, 2), compile_kwargs=_frozen_generator())


@fixture("wgan")
def _wgan():
    # c = 0.1 rather than 0.01: with c = 0.01 the critic values are ~1e-6 and the loss change hides in round-off.
    return Fixture(kwargs=dict(input_shape=(2,), latent_dim=2, hidden_units=(16, 16), discriminator_steps=2,
                               clip_value=0.1, seed=1),
                   x=_points(), output_shapes=(16, 2), compile_kwargs=_frozen_generator())


@fixture("unrolled_gan")
def _unrolled_gan():
    return Fixture(kwargs=dict(input_shape=(2,), latent_dim=2, hidden_units=(16, 16), unroll_steps=2, seed=1),
                   x=_points(), output_shapes=(16, 2), compile_kwargs=_frozen_generator())


# --- Image GANs (mpkeras/models/dcgan.py) ---------------------------------------------
# call() takes generator inputs and fit() real images, so these fixtures use Keras's (inputs, targets) form:
# x holds the generator's inputs (z; for the cGAN {"z", "labels"}), y the real images (8x8 binary bars, far from
# the untrained generator's grey samples). The models read the real images from y (and draw fresh z every step).


def _image_batch(n=16, latent_dim=4, seed=0):
    from mpkeras.testing.fixtures import _binary_images

    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, latent_dim)).astype(np.float32), _binary_images(n, (8, 8, 1), seed=seed)


@fixture("dcgan")
def _dcgan():
    z, images = _image_batch()
    return Fixture(kwargs=dict(input_shape=(8, 8, 1), latent_dim=4, filters=(4, 8), seed=1), x=z, y=images,
                   output_shapes=(16, 8, 8, 1), compile_kwargs=_frozen_generator())


@fixture("cgan")
def _cgan():
    z, images = _image_batch()
    labels = (np.arange(16) % 3).astype(np.int32)
    return Fixture(kwargs=dict(input_shape=(8, 8, 1), latent_dim=4, filters=(4, 8), num_classes=3, seed=1),
                   x={"z": z, "labels": labels}, y=images, output_shapes=(16, 8, 8, 1),
                   compile_kwargs=_frozen_generator())
