"""Train LeNet-5 on mnist5k and export it.

    python recipes/lenet.py [--activation tanh --pooling average] [--epochs 60] [--retrain-full] [--smoke]
"""

import argparse

from mpkeras import flags
from mpkeras.models import LeNet
from mpkeras.train.classification import image_classifier_recipe


def add_arguments(p):
    p.add_argument("--filters", type=flags.int_tuple, default=(6, 16), help="channels of C1, C3")
    p.add_argument("--units", type=flags.int_tuple, default=(120, 84), help="widths of C5, F6")
    p.add_argument("--activation", choices=("tanh", "relu"), default="relu")
    p.add_argument("--pooling", choices=("average", "max"), default="max")
    p.add_argument("--dropout", type=flags.rate, default=0.1)
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True)


def build(args, common):
    return LeNet(filters=args.filters, units=args.units, activation=args.activation, pooling=args.pooling,
                 dropout=args.dropout, batch_norm=args.batch_norm, **common)


RECIPE = image_classifier_recipe("lenet", build, add_arguments, epochs=60, batch_size=64, learning_rate=2e-3,
                                 patience=0, schedule="cosine", monitor="val_accuracy")

if __name__ == "__main__":
    RECIPE.main()
