"""Train Gated PixelCNN on binarized (or 8-bit) images, optionally class-conditional; report the test NLL and export.

    python recipes/gated_pixelcnn.py [--dataset mnist5k|photos32|binarized_mnist|mnist|cifar10|downsampled_imagenet/32x32]
                                     [--preset paper] [--filters 32] [--num-layers 8] [--kernel-size 3]
                                     [--output-filters 64] [--conditional] [--levels 2|256]
                                     [--binarization dynamic|static] [--epochs 20] [--smoke] [--out DIR]

Colour datasets are 8-bit (``--levels 256`` is their default, ``--levels 2`` is refused), with R -> G -> B masks;
``--filters`` is rounded up to a multiple of the image channels (32 -> 33 on RGB). ``--conditional`` needs labels
(not downsampled_imagenet).
"""

from mpkeras import flags
from mpkeras.data import catalogue, num_classes
from mpkeras.models import GatedPixelCNN
from mpkeras.train.autoregressive import (
    add_level_arguments,
    binary_autoregressive_recipe,
    channel_multiple,
    colour_levels,
)


def add_arguments(p):
    p.add_argument("--filters", type=flags.positive_int, default=32,
                   help="p: features of each stack (rounded up to a multiple of the image channels)")
    p.add_argument("--num-layers", type=flags.positive_int, default=8, help="gated layers, the mask-A layer included")
    p.add_argument("--first-kernel", type=flags.positive_int, default=7)
    p.add_argument("--kernel-size", type=flags.positive_int, default=3,
                   help="the mask-B kernel size of the layers after the first (odd)")
    p.add_argument("--output-filters", type=flags.positive_int, default=64,
                   help="width of the hidden 1x1 output layer (rounded up to a multiple of the image channels)")
    add_level_arguments(p, conditional=True)


def make_model(args, data):
    shape = data.extras["test_images"].shape[1:]  # (H, W, C)
    return GatedPixelCNN(input_shape=shape, filters=channel_multiple(args.filters, shape[-1]),
                         num_layers=args.num_layers, first_kernel=args.first_kernel, kernel_size=args.kernel_size,
                         output_filters=channel_multiple(args.output_filters, shape[-1]), num_levels=args.levels,
                         num_classes=num_classes(args.dataset, data_dir=args.data_dir) if args.conditional else 0,
                         seed=args.seed)


RECIPE = binary_autoregressive_recipe("gated_pixelcnn", make_model, add_arguments, epochs=20, batch_size=64,
                                      learning_rate=2e-3, patience=0, schedule="cosine",
                                      datasets=catalogue.BINARY_IMAGES + catalogue.COLOUR_IMAGES,
                                      dataset_defaults=colour_levels, jit=False)

if __name__ == "__main__":
    RECIPE.main()
