"""Train MADE on binarized mnist5k; report the exact test NLL (one ordering and the mask ensemble) and export.

    python recipes/made.py [--hidden-units 500] [--ordering natural|random] [--num-masks 1]
                           [--conditional] [--binarization dynamic|static] [--epochs 200] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import MADE
from mpkeras.train.autoregressive import binary_autoregressive_recipe


def add_arguments(p):
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(500,))
    p.add_argument("--ordering", choices=("natural", "random"), default="natural")
    p.add_argument("--num-masks", type=flags.positive_int, default=1,
                   help="K mask sets drawn per step (connectivity resampling)")
    p.add_argument("--conditional", action="store_true", help="condition on the digit class (10 classes)")


def make_model(args, data):
    return MADE(input_shape=data.extras["test_images"].shape[1:], hidden_units=args.hidden_units,
                ordering=args.ordering, num_masks=args.num_masks, seed=args.seed,
                num_classes=10 if args.conditional else 0)


RECIPE = binary_autoregressive_recipe("made", make_model, add_arguments, epochs=200, batch_size=100,
                                      learning_rate=1e-3, patience=15, jit=False)

if __name__ == "__main__":
    RECIPE.main()
