"""Train a small ResNet-18 on mnist5k and export it.

    python recipes/resnet18.py [--width 16] [--stem small|imagenet] [--epochs 30] [--smoke]
"""

from mpkeras import flags
from mpkeras.models import ResNet18
from mpkeras.train.classification import image_classifier_recipe


def add_arguments(p):
    p.add_argument("--stem", choices=("small", "imagenet"), default="small")
    p.add_argument("--width", type=flags.positive_int, default=16, help="channels of stage 1 (paper: 64)")


def build(args, common):
    return ResNet18(stem=args.stem, width=args.width, **common)


RECIPE = image_classifier_recipe("resnet18", build, add_arguments, epochs=30, batch_size=64, learning_rate=2e-3,
                                 patience=0, schedule="cosine", monitor="val_accuracy")

if __name__ == "__main__":
    RECIPE.main()
