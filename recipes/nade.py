"""Train NADE on binarized mnist5k; report the exact test NLL and export.

    python recipes/nade.py [--hidden-units 500] [--binarization dynamic|static] [--epochs 50] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import NADE
from mpkeras.train.autoregressive import binary_autoregressive_recipe


def add_arguments(p):
    p.add_argument("--hidden-units", type=flags.positive_int, default=500)


def make_model(args, data):
    return NADE(input_shape=data.extras["test_images"].shape[1:], hidden_units=args.hidden_units, seed=args.seed)


RECIPE = binary_autoregressive_recipe("nade", make_model, add_arguments, epochs=50, batch_size=100,
                                      learning_rate=2e-3, patience=0, schedule="cosine",
                                      jit=True)  # XLA fuses the (B, D, H) cumsum: 0.52 vs 2.06 s per step on 2 cores

if __name__ == "__main__":
    RECIPE.main()
