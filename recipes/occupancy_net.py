"""Train an occupancy network on shapes3d point clouds; report test IoU and the Chamfer distance of its meshes.

    python recipes/occupancy_net.py [--epochs N] [--units 64] [--cloud-points 300] [--smoke] [--out DIR]

Data: the embedded ``shapes3d`` (1,000 train / 200 test generated shapes in [-0.5, 0.5]^3; ``--dataset
shapes3d/small`` takes the first 48 / 16 of them). Each step sees
--cloud-points surface points of every shape (plus N(0, 0.005^2) noise) and --query-points labelled query points.
Test IoU is the volumetric IoU of the occupancy thresholded at 0.5 against trimesh's inside/outside labels at the
1,024 stored uniform points in [-0.55, 0.55]^3 of each test shape (from a noise-free test cloud), averaged over
shapes. The first --num-meshes test shapes are meshed by marching cubes of the 0.5 level set; the recipe reports
their Chamfer distance to the ground-truth meshes and writes them as PLY and OBJ into the run directory.
Needs the 3-D extra: pip install "mpkeras[3d]".
"""

import os

import numpy as np

from mpkeras import flags
from mpkeras.errors import UsageError
from mpkeras.train.recipe import Data, Recipe


def add_arguments(p):
    p.add_argument("--units", type=flags.positive_int, default=64, help="width of encoder, decoder and code")
    p.add_argument("--blocks", type=flags.positive_int, default=5,
                   help="residual blocks of the encoder and of the decoder")
    p.add_argument("--cloud-points", type=flags.positive_int, default=300,
                   help="cloud points per shape given to the encoder")
    p.add_argument("--query-points", type=flags.positive_int, default=512,
                   help="labelled query points per shape and step")
    p.add_argument("--cloud-noise", type=flags.nonnegative_float, default=0.005,
                   help="std of the noise on training clouds")
    p.add_argument("--num-meshes", type=flags.nonnegative_int, default=8,
                   help="test shapes to mesh (Chamfer distance, PLY/OBJ)")
    p.add_argument("--mesh-resolution", type=flags.int_range(2), default=64)


def make_data(args):
    import tensorflow_datasets as tfds

    from mpkeras import data
    from mpkeras.data import shapes3d
    from mpkeras.train.occupancy import occupancy_dataset

    if args.dataset.split("/")[0] != "shapes3d":
        raise UsageError(f"The occupancy_net recipe trains on the embedded shapes3d (point clouds with inside/outside "
                         f"labels); --dataset {args.dataset!r} is not offered. Use shapes3d or shapes3d/small.")
    train = occupancy_dataset(args.batch_size, args.cloud_points, args.query_points, args.cloud_noise,
                              seed=args.seed, data_dir=args.data_dir, name=args.dataset)
    examples = list(tfds.as_numpy(data.load(args.dataset, "test", data_dir=args.data_dir, as_supervised=False)))
    if args.smoke:
        examples = examples[:16]
    half = shapes3d.NUM_QUERY // 2
    extras = {
        "cloud": np.stack([e["points"][:args.cloud_points] for e in examples]),  # (T, M, 3) noise-free
        "uniform": np.stack([e["query"][:half] for e in examples]),  # (T, 1024, 3)
        "labels": np.stack([e["occupancy"][:half] for e in examples]),  # (T, 1024)
        "category": np.array([shapes3d.CATEGORIES[e["category"]] for e in examples]),
    }
    card = {"dataset": args.dataset, "train_shapes": data.info(args.dataset, data_dir=args.data_dir)
            .splits["train"].num_examples, "test_shapes": len(examples),
            "cloud_points": args.cloud_points, "query_points_per_step": args.query_points,
            "cloud_noise": args.cloud_noise,
            "iou": f"volumetric, threshold 0.5, {half} uniform points per shape in [-0.55, 0.55]^3, trimesh labels"}
    return Data(train=train, val=None, test=None, card=card, extras=extras)


def make_model(args, data):
    from mpkeras.models.implicit import OccupancyNetwork

    return OccupancyNetwork(code_dim=args.units, encoder_units=args.units, decoder_units=args.units,
                            encoder_blocks=args.blocks, decoder_blocks=args.blocks)


def _mesh(model, code, args):
    """Marching cubes of the 0.5 level set of one shape's occupancy (None when it has no crossing)."""
    from mpkeras.data import shapes3d
    from mpkeras.models.implicit import extract_mesh

    def field(points):
        return model.occupancy(points[None], code[None])["occupancy"][0]

    try:
        return extract_mesh(field, resolution=16 if args.smoke else args.mesh_resolution,
                            bounds=shapes3d.QUERY_BOUND, level=0.5)
    except ValueError:
        return None


def evaluate(model, data, args):
    from mpkeras.data import shapes3d
    from mpkeras.train.implicit import chamfer_distance
    from mpkeras.metrics import binary_iou

    ex = data.extras
    starts = range(0, len(ex["cloud"]), 50)
    codes = np.concatenate([model.encode(ex["cloud"][i:i + 50])["code"].numpy() for i in starts])
    occupancy = np.concatenate([model.occupancy(ex["uniform"][i:i + 50], codes[i:i + 50])["occupancy"].numpy()
                                for i in starts])
    iou = binary_iou(occupancy >= 0.5, ex["labels"], axis=1)  # volumetric IoU per shape
    ex["iou"], ex["codes"] = iou, codes
    metrics = {"iou": float(iou.mean()), "iou_median": float(np.median(iou))}
    for category in shapes3d.CATEGORIES:
        if np.any(ex["category"] == category):
            metrics[f"iou_{category}"] = float(iou[ex["category"] == category].mean())
    meshes, chamfer = [], []
    for i in range(min(args.num_meshes, len(codes))):
        truth, mesh = shapes3d.example("test", i)[2], _mesh(model, codes[i], args)
        meshes.append((truth, mesh))
        if mesh is not None:
            chamfer.append(chamfer_distance(mesh, truth))
    ex["meshes"] = meshes
    metrics["chamfer"] = float(np.mean(chamfer)) if chamfer else float("nan")
    metrics["meshed_shapes"] = len(chamfer)
    metrics["empty_meshes"] = len(meshes) - len(chamfer)
    return metrics


def figures(model, data, args, fig_dir):
    from mpkeras.train.implicit import render_meshes

    run_dir, ex = os.path.dirname(fig_dir), data.extras
    panels = {}
    for i, (truth, mesh) in enumerate(ex["meshes"]):
        if mesh is None:
            continue
        for ext in ("ply", "obj"):
            mesh.export(os.path.join(run_dir, f"occupancy_net_test{i}.{ext}"))
        if len(panels) < 8:
            panels[f"test {i} ({ex['category'][i]}): truth"] = truth
            panels[f"test {i}: extracted, IoU {ex['iou'][i]:.2f}"] = mesh
    if not panels:
        return {}
    return {"occupancy_net": render_meshes(panels, os.path.join(fig_dir, "occupancy_net.png"), bound=0.55)}


RECIPE = Recipe(model="occupancy_net", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=100, batch_size=32, learning_rate=2e-3, patience=0,
                schedule="cosine", jit=False)

if __name__ == "__main__":
    RECIPE.main()
