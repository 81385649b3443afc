"""Train DCGAN on mnist5k (or the embedded colour photos32, or mnist, fashion_mnist, cifar10, celeb_a at 64x64); report the Fréchet distance in a
feature space that fits the data (FD-mnist5k, FD-<dataset> or FD-random-conv; trained vs untrained generator vs the
train-set floor) and export.

    python recipes/dcgan.py [--dataset mnist5k] [--latent-dim 64] [--filters 32,64] [--epochs N] [--seed 0]
                            [--classifier LENET.keras] [--smoke] [--out DIR]

Images are in [0, 1] in and out (the networks use tanh's [-1, 1] inside; see mpkeras/models/dcgan.py).
"""

from mpkeras.data import catalogue
from mpkeras.models import DCGAN
from mpkeras.train import Recipe
from mpkeras.train import gan_images


def add_arguments(p):
    gan_images.add_arguments(p, latent_dim=64, filters=(32, 64))


def make_model(args, data):
    return DCGAN(**gan_images.model_kwargs(args, data))


def evaluate(model, data, args):
    return gan_images.evaluate(model, data, args, make_model)


# patience 0: the discriminator loss is no stopping criterion for a two-player game.
# Adam(2e-4, beta_1 0.5) and batch 64 as in Radford et al.; 60 epochs = 3,720 steps, ~17 steps/s on 2 CPU cores
# without XLA (XLA: ~4 steps/s).
RECIPE = Recipe(model="dcgan", make_data=gan_images.image_data, make_model=make_model, evaluate=evaluate,
                datasets=catalogue.GAN_IMAGES,
                figures=gan_images.figures, add_arguments=add_arguments, compile_kwargs=gan_images.compile_kwargs,
                callbacks=gan_images.sample_grid_callback, epochs=60, batch_size=64, learning_rate=2e-4, patience=0,
                jit=False)

if __name__ == "__main__":
    RECIPE.main()
