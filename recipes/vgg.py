"""Train a small VGG on mnist5k and export it.

    python recipes/vgg.py [--depth 11|13|16|19] [--width 0.25] [--epochs 30] [--smoke]
"""

import argparse

from mpkeras import flags
from mpkeras.models import VGG
from mpkeras.models.cnn.vgg import STAGE_CONVS
from mpkeras.train.classification import image_classifier_recipe


def add_arguments(p):
    p.add_argument("--depth", type=int, choices=sorted(STAGE_CONVS), default=11)
    p.add_argument("--width", type=flags.positive_float, default=0.25, help="channel multiplier (1.0: 64 ... 512)")
    p.add_argument("--fc-units", type=flags.positive_int, default=256)
    p.add_argument("--dropout", type=flags.rate, default=0.5)
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True)


def build(args, common):
    return VGG(depth=args.depth, width=args.width, fc_units=args.fc_units, dropout=args.dropout,
               batch_norm=args.batch_norm, **common)


RECIPE = image_classifier_recipe("vgg", build, add_arguments, epochs=30, batch_size=64, learning_rate=1e-3,
                                 patience=0, schedule="cosine", monitor="val_accuracy")

if __name__ == "__main__":
    RECIPE.main()
