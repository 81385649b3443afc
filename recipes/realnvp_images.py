"""Train the multi-scale RealNVP on dequantized 8-bit colour images; report test bits/dim against the independent
sub-pixel baselines, and export.

    python recipes/realnvp_images.py [--dataset photos32|cifar10|downsampled_imagenet/32x32] [--scales 2]
                                     [--hidden-units 32] [--res-blocks 2] [--epochs 6] [--smoke] [--out DIR]

The model takes its (H, W, C) from the data; H and W must be divisible by 2^(scales - 1).
"""

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.errors import UsageError
from mpkeras.models import MultiScaleRealNVP
from mpkeras.models.flows.realnvp_images import max_scales
from mpkeras.train import Recipe, flows


def add_arguments(p):
    p.add_argument("--scales", type=flags.positive_int, default=2,
                   help="scales of the flow (scales - 1 squeezes; H and W divisible by 2^(scales - 1))")
    p.add_argument("--hidden-units", type=flags.positive_int, default=32, help="channels of the coupling networks")
    p.add_argument("--res-blocks", type=flags.nonnegative_int, default=2, help="residual blocks per coupling network")
    p.add_argument("--preprocessing", choices=("logit", "shift"), default="logit")


def make_model(args, data):
    shape = data.extras["test_images"].shape[1:]
    most = max_scales(*shape[:2])
    if args.scales > most:
        raise UsageError(f"--scales {args.scales}: the {shape[0]}x{shape[1]} images of {args.dataset} allow at most "
                         f"{most} scales (each scale but the last halves H and W); use --scales {most} or fewer.")
    return MultiScaleRealNVP(input_shape=shape, scales=args.scales, hidden_units=args.hidden_units,
                             res_blocks=args.res_blocks, preprocessing=args.preprocessing)


def figures(model, data, args, fig_dir):
    return flows.sample_figures(model, args, fig_dir)


RECIPE = Recipe(model="realnvp_images", make_data=flows.dequantized_data, make_model=make_model, evaluate=flows.test_bits_per_dim,
                figures=figures, add_arguments=add_arguments, datasets=catalogue.COLOUR_IMAGES, epochs=6,
                batch_size=64, learning_rate=1e-3, patience=0, schedule="cosine", clip_norm=50.0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
