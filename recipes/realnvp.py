"""Train RealNVP on the two-moons points; report the test NLL (nats) against a Gaussian's, and export.

    python recipes/realnvp.py [--num-couplings 8] [--hidden-units 128] [--no-actnorm] [--epochs 300]
                              [--smoke] [--out DIR]
"""

import argparse
import os

from mpkeras import flags
from mpkeras.models import RealNVP
from mpkeras.train import Recipe
from mpkeras.train import density2d


def add_arguments(p):
    p.add_argument("--num-couplings", type=flags.positive_int, default=8)
    p.add_argument("--hidden-units", type=flags.positive_int, default=128)
    p.add_argument("--num-hidden", type=flags.nonnegative_int, default=2)
    p.add_argument("--actnorm", action=argparse.BooleanOptionalAction, default=True)


def make_model(args, data):
    return RealNVP(input_shape=(2,), num_couplings=args.num_couplings, hidden_units=args.hidden_units,
                   num_hidden=args.num_hidden, actnorm=args.actnorm)


def figures(model, data, args, fig_dir):
    return {"density": density2d.density_figure(model, data, os.path.join(fig_dir, "density.png"))}


RECIPE = Recipe(model="realnvp", make_data=density2d.points_data, make_model=make_model, evaluate=density2d.evaluate,
                figures=figures, add_arguments=add_arguments, epochs=300, batch_size=256, learning_rate=1e-3,
                patience=30, schedule="cosine", jit=False)

if __name__ == "__main__":
    RECIPE.main()
