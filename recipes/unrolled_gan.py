"""Train an unrolled GAN (Metz et al. 2017) on the 8-Gaussian ring; report modes covered and export.

    python recipes/unrolled_gan.py [--unroll-steps 5] [--unroll-optimizer sgd|adam] [--epochs N] [--seed 0]
                                   [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import UnrolledGAN
from mpkeras.models.gan import GENERATOR_LOSSES
from mpkeras.train import Recipe
from mpkeras.train import gan


def add_arguments(p):
    gan.add_arguments(p, beta_1=0.5, beta_2=0.999, discriminator_steps=1)
    p.add_argument("--generator-loss", choices=GENERATOR_LOSSES, default="minimax",
                   help="the paper unrolls the minimax value function V")
    p.add_argument("--unroll-steps", type=flags.nonnegative_int, default=5,
                   help="k, discriminator steps the generator looks ahead")
    p.add_argument("--unroll-optimizer", choices=("sgd", "adam"), default="sgd",
                   help="inner steps: plain gradient steps, or the discriminator optimizer's Adam state continued")
    p.add_argument("--unroll-learning-rate", type=flags.positive_float, default=1e-3,
                   help="eta of the inner steps with sgd")


def make_model(args, data):
    return UnrolledGAN(unroll_steps=args.unroll_steps, unroll_optimizer=args.unroll_optimizer,
                       unroll_learning_rate=args.unroll_learning_rate,
                       generator_loss=args.generator_loss, **gan.model_kwargs(args, data))


# patience 0: the discriminator loss is no stopping criterion for a two-player game.
RECIPE = Recipe(model="unrolled_gan", make_data=gan.points_data, make_model=make_model, evaluate=gan.evaluate,
                figures=gan.figures, add_arguments=add_arguments, compile_kwargs=gan.compile_kwargs, epochs=120,
                batch_size=256, learning_rate=1e-3, patience=0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
