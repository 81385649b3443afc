"""Surface meshes from exported implicit models: ``mpkeras mesh EXPORT --out mesh.ply``.

Works on the SavedModel alone (no model classes), so it meshes what TF Serving would serve. It calls one
signature on a resolution^3 grid over [-bound, bound]^3 and runs marching cubes
(:func:`mpkeras.models.implicit.extract_mesh`) at the field's iso-level:

- ``sdf`` (``igr_sdf``): the level set sdf = 0 (inside is negative);
- ``occupancy`` (``dvr``; ``occupancy_net`` with ``--cloud``, whose points are first encoded by the
  ``encode`` signature): occupancy = 0.5 (inside is high);
- ``density`` (``nerf``): sigma = ``--level`` (no default: a density has no natural surface).

Fields where inside is high are negated first, so every mesh's faces are wound the same way.
"""

import os

import numpy as np

# endpoint: (output key, default level, sign that makes inside negative)
FIELDS = {"sdf": ("sdf", 0.0, 1.0), "occupancy": ("occupancy", 0.5, -1.0), "density": ("sigma", None, -1.0)}


def read_cloud(path):
    """A point cloud (N, 3) float32 from ``.npy``, ``.txt``/``.xyz`` (N rows of x y z) or a mesh file's vertices."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"No point cloud at {path}; pass a .npy array (N, 3), an .xyz text file or a mesh.")
    if path.endswith(".npy"):
        cloud = np.load(path)
    elif path.endswith((".txt", ".xyz")):
        cloud = np.loadtxt(path, ndmin=2)
    else:
        from mpkeras.data.shapes import require

        cloud = require("trimesh").load(path, force="mesh").vertices
    cloud = np.asarray(cloud, np.float32)
    if cloud.ndim != 2 or cloud.shape[1] != 3 or not np.all(np.isfinite(cloud)):
        raise ValueError(f"The point cloud in {path} must be finite (N, 3) coordinates, got shape {cloud.shape}.")
    return cloud


def savedmodel_field(path, endpoint=None, cloud=None):
    """A callable ``points (B, 3) -> (B,)`` over an exported model's field, and the endpoint it uses.

    Args:
        path: a SavedModel directory (``exported/<model>/<version>``).
        endpoint: ``sdf``, ``occupancy`` or ``density``; by default the first of these that the model exports.
        cloud: (N, 3) points of the shape to mesh, for models whose ``occupancy`` takes a shape ``code``.
    """
    import tensorflow as tf

    if not os.path.isdir(path):
        raise FileNotFoundError(f"No SavedModel directory at {path}; export one first (mpkeras train NAME).")
    signatures = tf.saved_model.load(path).signatures
    names = [endpoint] if endpoint else [name for name in FIELDS if name in signatures]
    if not names or names[0] not in signatures or names[0] not in FIELDS:
        raise ValueError(f"{path} has no field endpoint {endpoint or ''} to mesh: its signatures are "
                         f"{sorted(signatures)}; mpkeras mesh reads one of {list(FIELDS)}.")
    name = names[0]
    fn = signatures[name]
    inputs = fn.structured_input_signature[1]
    key = FIELDS[name][0]
    if "code" not in inputs:
        return (lambda points: fn(points=tf.constant(points))[key].numpy()), name
    if cloud is None:
        raise ValueError(f"The {name} endpoint of {path} takes a shape code: pass the shape's point cloud with "
                         "--cloud FILE (.npy, .xyz or a mesh), which the encode endpoint turns into the code.")
    code = signatures["encode"](cloud=tf.constant(cloud[None]))["code"]  # (1, Z)
    return (lambda points: fn(points=tf.constant(points[None]), code=code)[key].numpy()[0]), name


def mesh_savedmodel(path, out, endpoint=None, level=None, resolution=96, bound=1.0, cloud=None):
    """Meshes an exported model's field and writes the mesh to ``out`` (.ply, .obj, .stl, ... by trimesh).

    The file is written atomically, so ``out`` is never half written. Returns the ``trimesh.Trimesh``.
    """
    from mpkeras.atomic import atomic_write
    from mpkeras.models.implicit import extract_mesh

    field, name = savedmodel_field(path, endpoint, cloud)
    _, default, sign = FIELDS[name]
    level = default if level is None else level
    if level is None:
        raise ValueError(f"The {name} endpoint has no natural surface level: pass --level (e.g. 10 for a density).")
    mesh = extract_mesh(lambda points: sign * field(points), resolution, bound, level=sign * level)
    file_type = os.path.splitext(out)[1].lstrip(".").lower()
    atomic_write(out, lambda f: mesh.export(f, file_type=file_type))
    return mesh


def cmd_mesh(args):
    cloud = read_cloud(args.cloud) if args.cloud else None
    mesh = mesh_savedmodel(args.path, args.out, args.endpoint, args.level, args.resolution, args.bound, cloud)
    print(f"{args.out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces")
    return 0


def add_parser(sub):
    p = sub.add_parser("mesh", help="extract a mesh (PLY/OBJ) from an exported implicit model")
    p.add_argument("path", help="SavedModel directory, e.g. exported/igr_sdf/1")
    p.add_argument("--out", required=True, help="mesh file to write; the extension picks the format (.ply, .obj)")
    p.add_argument("--endpoint", choices=sorted(FIELDS), default=None, help="field to mesh (default: the first found)")
    p.add_argument("--level", type=float, default=None, help="iso-level (default 0 for sdf, 0.5 for occupancy)")
    p.add_argument("--resolution", type=int, default=96, help="grid points per axis")
    p.add_argument("--bound", type=float, default=1.0, help="half-width of the meshed cube")
    p.add_argument("--cloud", default=None, help="point cloud of the shape, for occupancy_net (.npy, .xyz, mesh)")
    return p
