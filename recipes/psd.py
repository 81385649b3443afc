"""Predictive sparse decomposition on 8x8 mnist5k patches: ISTA codes and a fast encoder that predicts them.

    python recipes/psd.py [--prediction-weight 1.0] [--num-atoms 128] [--sparsity 0.5] [--smoke] [--out DIR]

Reports the test patch MSE of D z* (ISTA) and of D F(x) (one feed-forward pass), and ||F(x) - z*||^2 / ||z*||^2.
"""

from mpkeras import flags
from mpkeras.models import PSD
from mpkeras.train import autoencoders as ae


def add_arguments(p):
    p.add_argument("--prediction-weight", type=flags.nonnegative_float, default=1.0,
                   help="alpha, the weight of ||z - F(x)||^2")


def make_model(args, data):
    size = args.patch_size
    return PSD(input_shape=(size, size, 1), num_atoms=args.num_atoms, sparsity=args.sparsity,
               ista_steps=args.ista_steps, prediction_weight=args.prediction_weight)


RECIPE = ae.patch_recipe("psd", make_model, add_arguments, epochs=15, batch_size=250, learning_rate=2e-3, patience=5)

if __name__ == "__main__":
    RECIPE.main()
