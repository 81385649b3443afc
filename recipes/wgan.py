"""Train a WGAN (weight clipping) on the 8-Gaussian ring; report modes covered and export.

    python recipes/wgan.py [--clip-value 0.01] [--discriminator-steps 5] [--epochs N] [--seed 0] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import WGAN
from mpkeras.train import Recipe
from mpkeras.train import gan


def add_arguments(p):
    gan.add_arguments(p, discriminator_steps=5)
    p.add_argument("--clip-value", type=flags.positive_float, default=0.01,
                   help="c: critic weights are clipped to [-c, c]")


def compile_kwargs(args):
    """RMSprop(--learning-rate) for both networks (Arjovsky et al. 2017, Algorithm 1)."""
    import keras

    return {"generator_optimizer": keras.optimizers.RMSprop(args.learning_rate),
            "discriminator_optimizer": keras.optimizers.RMSprop(args.learning_rate)}


def make_model(args, data):
    return WGAN(clip_value=args.clip_value, **gan.model_kwargs(args, data))


# patience 0: the critic loss is no stopping criterion for a two-player game.
# lr 5e-4, not the paper's 5e-5 (the model's default_optimizers): a ~3-minute CPU run has ~2,800 generator steps.
RECIPE = Recipe(model="wgan", make_data=gan.points_data, make_model=make_model, evaluate=gan.evaluate,
                figures=gan.figures, add_arguments=add_arguments, compile_kwargs=compile_kwargs, epochs=80,
                batch_size=256, learning_rate=5e-4, patience=0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
