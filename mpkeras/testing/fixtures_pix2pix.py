"""Fixture of pix2pix: 8x8 pairs (a bar image with a gray 4x4 hole -> the whole image), a tiny U-Net and PatchGAN.

The kit's "learns" check compares the ``evaluate`` loss, which for pix2pix is
the generator's objective L_G = gan_weight * E[softplus(-D(x, G(x)))] +
lambda * E|y - G(x)|. Unlike a GAN's discriminator loss, it has a target that
does not move with the game: with lambda = 100 (the paper's) the L1 term (about
50 at the start, G's outputs near 0.5) dominates the adversarial term (about
0.7 at the start and a few units once D separates the pairs), so L_G
falls only if G actually learns to map inputs to their targets. Both networks
train (Adam 1e-2 each), and the gradient check sees every D weight through
D(x, G(x)) in the adversarial term. tests/test_pix2pix.py checks that each
update moves only its own network.
"""

import keras

from mpkeras.testing.fixtures import Fixture, _binary_images, fixture


def pairs(n=16, seed=0):
    """(inputs, targets) (n, 8, 8, 1) float32: bar images, and the same with a 4x4 square at (2, 2) set to 0.5."""
    targets = _binary_images(n=n, seed=seed)
    inputs = targets.copy()
    inputs[:, 2:6, 2:6] = 0.5
    return inputs, targets


@fixture("pix2pix")
def _pix2pix():
    x, y = pairs()
    return Fixture(kwargs=dict(input_shape=(8, 8, 1), output_channels=1, filters=(4, 8), convs_per_block=1,
                               dropout=0.1, discriminator_filters=(8,), l1_weight=100.0, gan_weight=1.0, seed=1),
                   x=x, y=y, output_shapes=(16, 8, 8, 1),
                   compile_kwargs={"generator_optimizer": keras.optimizers.Adam(1e-2),
                                   "discriminator_optimizer": keras.optimizers.Adam(1e-2)})
