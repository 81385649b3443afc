"""Train a small GoogLeNet (with its two auxiliary classifiers) on mnist5k and export it.

    python recipes/googlenet.py [--width 0.25] [--aux-weight 0.3] [--no-aux] [--epochs 30] [--smoke]

The auxiliary heads add aux_weight * their cross-entropy to the training loss;
evaluation and the export use the main head only.
"""

import argparse

from mpkeras import flags
from mpkeras.models import GoogLeNet
from mpkeras.train.classification import image_classifier_recipe


def add_arguments(p):
    p.add_argument("--stem", choices=("small", "imagenet"), default="small")
    p.add_argument("--width", type=flags.positive_float, default=0.25, help="channel multiplier of the paper's Table 1")
    p.add_argument("--aux", action=argparse.BooleanOptionalAction, default=True, help="auxiliary classifiers")
    p.add_argument("--aux-weight", type=flags.nonnegative_float, default=0.3)
    p.add_argument("--dropout", type=flags.rate, default=0.4)
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True)


def build(args, common):
    return GoogLeNet(stem=args.stem, width=args.width, aux_classifiers=args.aux, aux_weight=args.aux_weight,
                     dropout=args.dropout, batch_norm=args.batch_norm, **common)


RECIPE = image_classifier_recipe("googlenet", build, add_arguments, epochs=30, batch_size=64, learning_rate=1e-3,
                                 patience=0, schedule="cosine", monitor="val_accuracy")

if __name__ == "__main__":
    RECIPE.main()
