"""Train a small AlexNet on mnist5k and export it.

    python recipes/alexnet.py [--stem small --width 0.5 --fc-units 512] [--epochs 30] [--smoke]
"""

import argparse

from mpkeras import flags
from mpkeras.models import AlexNet
from mpkeras.train.classification import image_classifier_recipe


def add_arguments(p):
    p.add_argument("--stem", choices=("small", "imagenet"), default="small")
    p.add_argument("--width", type=flags.positive_float, default=0.5,
                   help="channel multiplier (1.0: 96, 256, 384, 384, 256)")
    p.add_argument("--fc-units", type=flags.positive_int, default=512)
    p.add_argument("--dropout", type=flags.rate, default=0.5)
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True,
                   help="batch norm instead of the paper's local response normalization")


def build(args, common):
    return AlexNet(stem=args.stem, width=args.width, fc_units=args.fc_units, dropout=args.dropout,
                   batch_norm=args.batch_norm, **common)


RECIPE = image_classifier_recipe("alexnet", build, add_arguments, epochs=30, batch_size=64, learning_rate=1e-3,
                                 patience=0, schedule="cosine", monitor="val_accuracy")

if __name__ == "__main__":
    RECIPE.main()
