"""Train PixelCNN on binarized (or 8-bit) mnist5k; report the exact test NLL and export.

    python recipes/pixelcnn.py [--filters 32] [--num-blocks 8] [--levels 2|256]
                               [--binarization dynamic|static] [--epochs 30] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import PixelCNN
from mpkeras.train.autoregressive import add_level_arguments, binary_autoregressive_recipe


def add_arguments(p):
    p.add_argument("--filters", type=flags.positive_int, default=32, help="h: residual blocks carry 2h channels")
    p.add_argument("--num-blocks", type=flags.positive_int, default=8)
    p.add_argument("--first-kernel", type=flags.positive_int, default=7, help="the mask-A kernel size")
    add_level_arguments(p, conditional=False)


def make_model(args, data):
    return PixelCNN(input_shape=data.extras["test_images"].shape[1:], filters=args.filters,
                    num_blocks=args.num_blocks, first_kernel=args.first_kernel, num_levels=args.levels,
                    seed=args.seed)


RECIPE = binary_autoregressive_recipe("pixelcnn", make_model, add_arguments, epochs=30, batch_size=64,
                                      learning_rate=2e-3, patience=0, schedule="cosine",
                                      jit=False)  # XLA does not speed these convolutions up on CPU

if __name__ == "__main__":
    RECIPE.main()
