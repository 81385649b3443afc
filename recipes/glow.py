"""Train Glow on dequantized 8-bit images; report the test bits/dim of the 8-bit data and export.

    python recipes/glow.py [--dataset mnist5k|photos32|cifar10|downsampled_imagenet/32x32] [--levels 2] [--steps 8]
                           [--hidden-units 64] [--epochs 40] [--smoke] [--out DIR]

The model takes its (H, W, C) from the data; H and W must be divisible by 2^levels.
"""

from mpkeras.data import catalogue
from mpkeras.models import Glow
from mpkeras.train import Recipe, flows


def make_model(args, data):
    return Glow(input_shape=data.extras["test_images"].shape[1:], levels=args.levels, steps=args.steps,
                hidden_units=args.hidden_units, preprocessing=args.preprocessing, seed=args.seed)


def figures(model, data, args, fig_dir):
    return flows.sample_figures(model, args, fig_dir)


RECIPE = Recipe(model="glow", make_data=flows.dequantized_data, make_model=make_model,
                evaluate=flows.test_bits_per_dim, figures=figures, add_arguments=flows.add_glow_arguments,
                datasets=catalogue.COLOUR_IMAGES, epochs=40, batch_size=64, learning_rate=1e-3, patience=0,
                schedule="cosine", clip_norm=50.0,
                jit=False)  # XLA made a Glow step slower on 2 CPU cores: 0.214 s vs 0.185 s (batch 64, idle machine)

if __name__ == "__main__":
    RECIPE.main()
