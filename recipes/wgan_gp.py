"""Train WGAN-GP on the 8-Gaussian ring (default) or on images (--dataset mnist5k or a catalogue set); report, export.

    python recipes/wgan_gp.py [--dataset ring8|mnist5k|photos32|mnist|fashion_mnist|cifar10|celeb_a]
                              [--gradient-penalty-weight 10] [--discriminator-steps 5]
                              [--epochs N] [--seed 0] [--smoke] [--out DIR]

The data choose the networks: vectors (ring8) -> the GAN's MLPs, scored by modes covered; images -> the DCGAN
networks with a critic without batch norm (the penalty is per example), scored by a Fréchet distance in a feature
space that fits the data (FD-mnist5k, FD-<dataset> or FD-random-conv) against an untrained generator and the
train-set floor (mpkeras/train/gan_images.py). On images, flags not given take the image
defaults below (IMAGE_DEFAULTS) instead of the ring's.
"""

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.models import WGANGP
from mpkeras.train import Recipe
from mpkeras.train import gan, gan_images

# 15 epochs of 62 batches: ~930 generator steps (4,650 critic steps), ~2 steps/s on 2 CPU cores without XLA.
# lr 5e-4 rather than the paper's 1e-4: few generator steps fit a ~10-minute CPU run.
IMAGE_DEFAULTS = dict(epochs=15, batch_size=64, learning_rate=5e-4, latent_dim=64)


def add_arguments(p):
    gan.add_arguments(p, beta_1=0.5, beta_2=0.9, discriminator_steps=5)  # Gulrajani et al. 2017, Algorithm 1
    p.add_argument("--gradient-penalty-weight", type=flags.nonnegative_float, default=10.0, help="lambda")
    gan_images.add_arguments(p, shared=False)


def dataset_defaults(dataset):
    """Image datasets (anything but the 2-D point sets) start from IMAGE_DEFAULTS."""
    return {} if dataset in ("ring8", "two_moons") else IMAGE_DEFAULTS


def images(data):
    return "test_images" in data.extras


def make_data(args):
    if gan_images.is_image_dataset(args):
        return gan_images.image_data(args)
    return gan.points_data(args)


def make_model(args, data):
    if images(data):
        return WGANGP(gradient_penalty_weight=args.gradient_penalty_weight, architecture="dcgan",
                      **gan_images.model_kwargs(args, data))
    return WGANGP(gradient_penalty_weight=args.gradient_penalty_weight, **gan.model_kwargs(args, data))


def evaluate(model, data, args):
    return gan_images.evaluate(model, data, args, make_model) if images(data) else gan.evaluate(model, data, args)


def figures(model, data, args, fig_dir):
    return (gan_images.figures if images(data) else gan.figures)(model, data, args, fig_dir)


def callbacks(args, data, run_dir):
    return gan_images.sample_grid_callback(args, data, run_dir) if images(data) else []


# patience 0: the critic loss is no stopping criterion for a two-player game.
# ring8: lr 1e-3, not the paper's 1e-4 (the model's default_optimizers): with 1e-4, 150 epochs (~5,000 generator
# steps, ~4 CPU minutes) left the samples in a blob at the origin (0 of 8 modes).
RECIPE = Recipe(model="wgan_gp", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, compile_kwargs=gan.compile_kwargs, callbacks=callbacks,
                dataset_defaults=dataset_defaults, datasets=catalogue.GAN_IMAGES, epochs=80,
                batch_size=256, learning_rate=1e-3, patience=0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
