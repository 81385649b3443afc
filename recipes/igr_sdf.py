"""Fit a signed distance function to a raw point cloud with the eikonal loss (IGR), then mesh it.

    python recipes/igr_sdf.py [--shape torus|capsule|rounded_box|two_spheres] [--smoke] [--out DIR]

Data: points sampled uniformly on a ground-truth mesh (mpkeras.data.shapes), without normals unless
--normals. Reports the Chamfer distance of the marching-cubes surface to the ground-truth mesh, the same for
a least-squares sphere fit to the points (the baseline to beat), and the eikonal residual near the surface.
Writes the mesh as PLY and OBJ into the run directory. Needs the 3-D extra: pip install "mpkeras[3d]".
"""

import os

import numpy as np
import tensorflow as tf

from mpkeras import flags
from mpkeras.data.batching import index_batches
from mpkeras.errors import UsageError
from mpkeras.train.recipe import Data, Recipe


def add_arguments(p):
    from mpkeras.data.shapes import SHAPES

    p.add_argument("--shape", default="torus", choices=SHAPES)
    p.add_argument("--num-points", type=flags.positive_int, default=16384, help="size of the point cloud")
    p.add_argument("--noise", type=flags.nonnegative_float, default=0.0, help="std of Gaussian noise on the points")
    p.add_argument("--normals", action="store_true", help="also fit the normals (IGR's normal term)")
    p.add_argument("--steps-per-epoch", type=flags.positive_int, default=50)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(128, 128, 128, 128))
    p.add_argument("--eikonal-weight", type=flags.nonnegative_float, default=0.1)
    p.add_argument("--local-sigma", type=flags.positive_float, default=0.05)
    p.add_argument("--mesh-resolution", type=flags.int_range(2), default=96)


def make_data(args):
    from mpkeras.data import shapes

    if args.dataset != "shapes":
        raise UsageError(f"The igr_sdf recipe fits point clouds of mpkeras.data.shapes; --dataset {args.dataset!r} "
                         "is not offered. Use --dataset shapes and pick the shape with --shape.")
    n = 2048 if args.smoke else args.num_points
    points, normals = shapes.point_cloud(args.shape, n, seed=args.seed, noise=args.noise)
    elements = (points, normals) if args.normals else points
    steps = int(args.steps_per_epoch)
    train = index_batches(elements, args.batch_size, steps, args.seed).prefetch(tf.data.AUTOTUNE)
    # Fresh surface points (another seed) for the eikonal residual near the surface.
    test_points, _ = shapes.point_cloud(args.shape, 4096, seed=args.seed + 1000)
    card = {"dataset": f"shapes/{args.shape}", "points": n, "noise": args.noise, "normals": bool(args.normals),
            "sampling": "uniform by area on the ground-truth mesh (trimesh.sample.sample_surface)"}
    return Data(train=train, val=None, test=None, card=card,
                extras={"points": points, "truth": shapes.mesh(args.shape), "test_points": test_points})


def make_model(args, data):
    from mpkeras.models.implicit import IGRSDF

    return IGRSDF(hidden_units=args.hidden_units, eikonal_weight=args.eikonal_weight, local_sigma=args.local_sigma,
                  seed=args.seed)


def evaluate(model, data, args):
    from mpkeras.models.implicit import extract_mesh
    from mpkeras.train.implicit import chamfer_distance, fit_sphere, sphere_mesh

    truth = data.extras["truth"]
    mesh = extract_mesh(model, resolution=16 if args.smoke else args.mesh_resolution, bounds=model.bound)
    data.extras["mesh"] = mesh
    centre, radius = fit_sphere(data.extras["points"])
    data.extras["sphere"] = sphere_mesh(centre, radius)
    near = data.extras["test_points"] + np.random.default_rng(args.seed).normal(0, 0.02, (4096, 3)).astype(np.float32)
    grad = model.gradient(near)["gradient"].numpy()
    return {
        "chamfer": chamfer_distance(mesh, truth),
        "sphere_fit_chamfer": chamfer_distance(data.extras["sphere"], truth),
        "mean_abs_sdf_on_surface": float(np.mean(np.abs(model.sdf(data.extras["test_points"])["sdf"].numpy()))),
        "eikonal_residual_near_surface": float(np.mean(np.abs(np.linalg.norm(grad, axis=-1) - 1))),
        "mesh_vertices": int(len(mesh.vertices)),
    }


def figures(model, data, args, fig_dir):
    from mpkeras.train.implicit import render_meshes

    run_dir = os.path.dirname(fig_dir)
    for ext in ("ply", "obj"):
        data.extras["mesh"].export(os.path.join(run_dir, f"igr_sdf_{args.shape}.{ext}"))
    path = render_meshes({"ground truth": data.extras["truth"], "IGR marching cubes": data.extras["mesh"],
                          "sphere fit": data.extras["sphere"]}, os.path.join(fig_dir, "igr_sdf.png"))
    return {"igr_sdf": path}


RECIPE = Recipe(model="igr_sdf", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=80, batch_size=1024, learning_rate=2e-3, patience=0,
                schedule="cosine", jit=False)

if __name__ == "__main__":
    RECIPE.main()
