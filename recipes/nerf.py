"""Train a neural radiance field on the posed views of the embedded ``scenes`` dataset.

    python recipes/nerf.py [--epochs N] [--steps-per-epoch S] [--batch-size RAYS] [--smoke] [--out DIR]

Data: every pixel's ray of the 100 train views (shuffled ray batches); evaluation renders the 10 held-out
test views deterministically (bin midpoints, fine samples at fixed quantiles) and reports the mean per-view
PSNR of the fine and of the coarse render, the depth error on the scene and the opacity error. Writes a
figure of the test views (truth, render, true and rendered depth).
"""

import os

import numpy as np

from mpkeras import flags
from mpkeras.train.recipe import Recipe


def add_arguments(p):
    p.add_argument("--steps-per-epoch", type=flags.positive_int, default=100)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(128, 128, 128))
    p.add_argument("--colour-units", type=flags.positive_int, default=64)
    p.add_argument("--position-frequencies", type=flags.nonnegative_int, default=8)
    p.add_argument("--direction-frequencies", type=flags.nonnegative_int, default=4)
    p.add_argument("--num-coarse", type=flags.positive_int, default=32)
    p.add_argument("--num-fine", type=flags.nonnegative_int, default=32)


def make_data(args):
    from mpkeras.train.views import ray_data

    return ray_data(args, "nerf")


def make_model(args, data):
    from mpkeras.data import scenes
    from mpkeras.models.implicit import NeRF

    return NeRF(hidden_units=args.hidden_units, colour_units=args.colour_units,
                position_frequencies=args.position_frequencies, direction_frequencies=args.direction_frequencies,
                num_coarse=args.num_coarse, num_fine=args.num_fine, near=scenes.NEAR, far=scenes.FAR,
                background=scenes.BACKGROUND, seed=args.seed)


def evaluate(model, data, args):
    from mpkeras.metrics import mean_psnr, psnr
    from mpkeras.train.views import render_views

    rendered = data.extras["rendered"] = render_views(model, data.extras["test"])
    truth = data.extras["truth"]
    return {
        "test_psnr": mean_psnr(rendered["rgb"], truth["rgb"]),
        "test_psnr_coarse": mean_psnr(rendered["rgb_coarse"], truth["rgb"]),
        "test_psnr_all_pixels": psnr(rendered["rgb"], truth["rgb"]),
        "depth_mae_on_scene": float(np.mean(np.abs(rendered["depth"] - truth["depth"])[truth["mask"]])),
        "opacity_mae": float(np.mean(np.abs(rendered["opacity"] - truth["mask"]))),
    }


def figures(model, data, args, fig_dir):
    from mpkeras.metrics import psnr
    from mpkeras.train.views import view_figure

    rendered, truth = data.extras["rendered"], data.extras["truth"]
    rows = [("truth", truth["rgb"], "rgb"), ("NeRF", rendered["rgb"], "rgb"), ("true depth", truth["depth"], "depth"),
            ("NeRF depth", rendered["depth"], "depth")]
    titles = [f"{psnr(a, b):.1f} dB" for a, b in zip(rendered["rgb"], truth["rgb"])]
    path = view_figure(rows, os.path.join(fig_dir, "nerf.png"), model.near, model.far, titles=titles,
                       suptitle="NeRF on held-out scenes views")
    return {"nerf": path}


RECIPE = Recipe(model="nerf", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=12, batch_size=1024, learning_rate=2e-3, patience=0,
                schedule="cosine", jit=False)

if __name__ == "__main__":
    RECIPE.main()
