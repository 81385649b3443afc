"""Train Gated PixelCNN on binarized (or 8-bit) mnist5k, optionally class-conditional; report the test NLL and export.

    python recipes/gated_pixelcnn.py [--filters 32] [--num-layers 8] [--conditional] [--levels 2|256]
                                     [--binarization dynamic|static] [--epochs 20] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import GatedPixelCNN
from mpkeras.train.autoregressive import add_level_arguments, binary_autoregressive_recipe


def add_arguments(p):
    p.add_argument("--filters", type=flags.positive_int, default=32, help="p: features of each stack")
    p.add_argument("--num-layers", type=flags.positive_int, default=8, help="gated layers, the mask-A layer included")
    p.add_argument("--first-kernel", type=flags.positive_int, default=7)
    add_level_arguments(p, conditional=True)


def make_model(args, data):
    return GatedPixelCNN(input_shape=data.extras["test_images"].shape[1:], filters=args.filters,
                         num_layers=args.num_layers, first_kernel=args.first_kernel, num_levels=args.levels,
                         num_classes=10 if args.conditional else 0, seed=args.seed)


RECIPE = binary_autoregressive_recipe("gated_pixelcnn", make_model, add_arguments, epochs=20, batch_size=64,
                                      learning_rate=2e-3, patience=0, schedule="cosine", jit=False)

if __name__ == "__main__":
    RECIPE.main()
