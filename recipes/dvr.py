"""Train differentiable volumetric rendering (DVR) on the posed views and masks of the embedded ``scenes``.

    python recipes/dvr.py [--epochs N] [--steps-per-epoch S] [--batch-size RAYS] [--smoke] [--out DIR]

Data: every pixel's ray of the 100 train views with its colour and object mask (shuffled ray batches; no
depth is used). Evaluation renders the 10 held-out test views and reports the mean per-view PSNR (and,
for reference, that of an empty white image), the mask IoU of the rays that find a surface, the depth
error where both agree on a surface, and the Chamfer distance of the marching-cubes surface (occupancy
0.5) to that of the true scene SDF. Writes a figure of the test views and of the meshes, and the mesh as
PLY and OBJ. Needs the 3-D extra: pip install "mpkeras[3d]".
"""

import os

import numpy as np

from mpkeras import flags
from mpkeras.train.recipe import Recipe


def add_arguments(p):
    p.add_argument("--steps-per-epoch", type=flags.positive_int, default=100)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(128, 128, 128, 128))
    p.add_argument("--num-frequencies", type=flags.nonnegative_int, default=4)
    p.add_argument("--num-steps", type=flags.int_range(2), default=64, help="evaluations per ray of the march")
    p.add_argument("--secant-steps", type=flags.nonnegative_int, default=8)
    p.add_argument("--mesh-resolution", type=flags.int_range(2), default=96)


def make_data(args):
    from mpkeras.train.views import ray_data

    return ray_data(args, "dvr", targets=("rgb", "mask"))


def make_model(args, data):
    from mpkeras.data import scenes
    from mpkeras.models.implicit import DVR

    hidden = (16, 16) if args.smoke else args.hidden_units
    return DVR(hidden_units=hidden, num_frequencies=args.num_frequencies, num_steps=args.num_steps,
               secant_steps=args.secant_steps, near=scenes.NEAR, far=scenes.FAR, background=scenes.BACKGROUND,
               seed=args.seed)


def evaluate(model, data, args):
    from mpkeras.data import scenes
    from mpkeras.metrics import binary_iou, mean_psnr
    from mpkeras.models.implicit import extract_mesh
    from mpkeras.train.implicit import chamfer_distance
    from mpkeras.train.views import render_views

    rendered = data.extras["rendered"] = render_views(model, data.extras["test"])
    truth = data.extras["truth"]
    both = truth["mask"] & (rendered["mask"] > 0.5)
    resolution = 24 if args.smoke else args.mesh_resolution
    data.extras["true_mesh"] = extract_mesh(scenes.sdf, resolution, bounds=1.0)
    metrics = {"psnr": mean_psnr(rendered["rgb"], truth["rgb"]),
               "psnr_background_only": mean_psnr(np.full_like(truth["rgb"], scenes.BACKGROUND), truth["rgb"]),
               "mask_iou": binary_iou(rendered["mask"] > 0.5, truth["mask"]),
               "depth_mae_where_both_hit": float(np.mean(np.abs(rendered["depth"] - truth["depth"])[both]))
               if both.any() else float("nan")}
    try:  # the level 0.5 of the occupancy; an untrained smoke model may have none
        mesh = extract_mesh(lambda p: model.occupancy(p)["occupancy"], resolution, bounds=1.0, level=0.5)
        metrics["chamfer_to_true_surface"] = chamfer_distance(mesh, data.extras["true_mesh"])
        metrics["mesh_vertices"] = int(len(mesh.vertices))
    except ValueError as error:
        print(f"no mesh: {error}")
        mesh = None
    data.extras["mesh"] = mesh
    return metrics


def figures(model, data, args, fig_dir):
    from mpkeras.train.implicit import render_meshes
    from mpkeras.train.views import view_figure

    rendered, truth = data.extras["rendered"], data.extras["truth"]
    rows = [("truth", truth["rgb"], "rgb"), ("DVR", rendered["rgb"], "rgb"), ("true mask", truth["mask"], "mask"),
            ("DVR mask", rendered["mask"], "mask"), ("true depth", truth["depth"], "depth"),
            ("DVR depth", rendered["depth"], "depth")]
    paths = {"dvr": view_figure(rows, os.path.join(fig_dir, "dvr.png"), model.near, model.far)}
    meshes = {"true scene (SDF)": data.extras["true_mesh"]}
    if data.extras["mesh"] is not None:
        run_dir = os.path.dirname(fig_dir)
        for ext in ("ply", "obj"):
            data.extras["mesh"].export(os.path.join(run_dir, f"dvr.{ext}"))
        meshes["DVR occupancy 0.5"] = data.extras["mesh"]
    paths["dvr_mesh"] = render_meshes(meshes, os.path.join(fig_dir, "dvr_mesh.png"), bound=0.8)
    return paths


RECIPE = Recipe(model="dvr", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=15, batch_size=1024, learning_rate=1e-3, patience=0,
                schedule="cosine", clip_norm=1.0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
