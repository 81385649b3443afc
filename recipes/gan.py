"""Train a GAN (non-saturating or minimax generator loss) on the 8-Gaussian ring; report modes covered and export.

    python recipes/gan.py [--generator-loss non_saturating|minimax] [--latent-dim 8] [--epochs N] [--seed 0]
                          [--smoke] [--out DIR]
"""

from mpkeras.models import GAN
from mpkeras.models.gan import GENERATOR_LOSSES
from mpkeras.train import Recipe
from mpkeras.train import gan


def add_arguments(p):
    gan.add_arguments(p, beta_1=0.5, beta_2=0.999, discriminator_steps=1)
    p.add_argument("--generator-loss", choices=GENERATOR_LOSSES, default="non_saturating")


def make_model(args, data):
    return GAN(generator_loss=args.generator_loss, **gan.model_kwargs(args, data))


# patience 0: the discriminator loss is no stopping criterion for a two-player game.
# lr 1e-3 (not DCGAN's 2e-4): the ~4,000 generator steps that fit a ~3-minute CPU run need the larger steps.
RECIPE = Recipe(model="gan", make_data=gan.points_data, make_model=make_model, evaluate=gan.evaluate,
                figures=gan.figures, add_arguments=add_arguments, compile_kwargs=gan.compile_kwargs, epochs=120,
                batch_size=256, learning_rate=1e-3, patience=0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
