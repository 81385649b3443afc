"""Train a conditional Glow for 14x14 -> 28x28 super-resolution on dequantized mnist5k; report test bits/dim.

    python recipes/conditional_glow.py [--levels 2] [--steps 8] [--hidden-units 64] [--epochs 40] [--smoke]
"""

from mpkeras.models import ConditionalGlow
from mpkeras.train import Recipe
from mpkeras.train import flows


def make_data(args):
    return flows.dequantized_data(args, with_low_res=True)


def make_model(args, data):
    return ConditionalGlow(input_shape=data.extras["test_images"].shape[1:], levels=args.levels, steps=args.steps,
                           hidden_units=args.hidden_units, preprocessing=args.preprocessing, seed=args.seed)


def figures(model, data, args, fig_dir):
    return flows.super_resolution_figure(model, data, args, fig_dir, num_inputs=4 if args.smoke else 10)


RECIPE = Recipe(model="conditional_glow", make_data=make_data, make_model=make_model,
                evaluate=flows.test_bits_per_dim, figures=figures, add_arguments=flows.add_glow_arguments,
                epochs=40, batch_size=64, learning_rate=1e-3, patience=0, schedule="cosine", clip_norm=50.0,
                jit=False)  # as for Glow: XLA is slower for these convolutions on CPU

if __name__ == "__main__":
    RECIPE.main()
