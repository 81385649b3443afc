"""``shapes3d``: generated meshes of primitives and their compositions, with point clouds and occupancy labels.

Every shape is an analytic signed distance function (negative inside), meshed by
marching cubes (:func:`mpkeras.data.shapes.mesh_from_sdf`, ``RESOLUTION``^3 grid over
[-``BOUND``, ``BOUND``]^3), and lies inside the box [-0.5, 0.5]^3.

Generator of example ``n`` of a split: ``numpy.random.default_rng((SEEDS[split], n))``
draws a category uniformly from :data:`CATEGORIES`:

- a primitive (sphere, box, cylinder, capsule, cone, torus, ellipsoid) with random
  proportions, a uniformly random rotation, a bounding radius R ~ U(0.33, 0.5) and an
  offset o with |o_k| <= 0.5 - R on each axis (so it stays in the box);
- ``union``: 2 or 3 such primitives with R ~ U(0.2, 0.32), SDF min_k d_k;
- ``difference``: such a union minus a sphere, box or cylinder cutter near the first
  part, SDF max(min_k d_k, -d_cut).

A shape whose inside covers less than 2% of the uniform query points is redrawn (a
cutter that removed most of it). Train uses seed 0 and test seed 1, so the splits are
disjoint and every build is identical; example keys are ``n``.

Features of each example:

- ``points`` (NUM_POINTS, 3) float32: a point cloud sampled uniformly by area on the mesh
  (``trimesh.sample.sample_surface``);
- ``query`` (NUM_QUERY, 3) float32: the first half uniform in [-QUERY_BOUND, QUERY_BOUND]^3
  (use these for volumetric IoU), the second half surface points plus N(0, NEAR_SIGMA^2) noise;
- ``occupancy`` (NUM_QUERY,) bool: whether each query point is inside the mesh, from
  ``trimesh.Trimesh.contains`` (ray tests; fast with ``embreex``, else ``rtree``);
- ``category``: ``ClassLabel`` over :data:`CATEGORIES`.

Needs the 3-D extra: ``pip install "mpkeras[3d]"`` (trimesh, scikit-image, embreex / rtree).
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.embedded import _EmbeddedBuilder

PRIMITIVES = ("sphere", "box", "cylinder", "capsule", "cone", "torus", "ellipsoid")
CATEGORIES = PRIMITIVES + ("union", "difference")
SIZES = {"train": 1000, "test": 200}
SMALL_SIZES = {"train": 48, "test": 16}  # the config shapes3d/small: the first shapes of each split
SEEDS = {"train": 0, "test": 1}
NUM_POINTS, NUM_QUERY = 1024, 2048
BOUND, RESOLUTION = 0.55, 64  # marching-cubes grid of the ground-truth meshes
QUERY_BOUND, NEAR_SIGMA = 0.55, 0.05
MIN_INSIDE = 0.02


# --- Analytic SDFs of the primitives in their own frame (p: (N, 3)) ------------------------------------------
def _box(p, half):
    q = np.abs(p) - half
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def _cylinder(p, radius, half_height):  # axis z
    d = np.stack([np.linalg.norm(p[:, :2], axis=-1) - radius, np.abs(p[:, 2]) - half_height], -1)
    return np.linalg.norm(np.maximum(d, 0), axis=-1) + np.minimum(d.max(-1), 0)


def _capsule(p, radius, half_height):  # segment from -h to h on z
    nearest = np.stack([np.zeros(len(p)), np.zeros(len(p)), np.clip(p[:, 2], -half_height, half_height)], -1)
    return np.linalg.norm(p - nearest, axis=-1) - radius


def _cone(p, radius, half_height):
    """Base disc of ``radius`` at z = -h, apex at z = +h; the slant distance is exact, the caps are a bound."""
    slant = np.hypot(2 * half_height, radius)
    rho = np.linalg.norm(p[:, :2], axis=-1)
    lateral = (rho - radius * (half_height - p[:, 2]) / (2 * half_height)) * 2 * half_height / slant
    return np.maximum(lateral, -half_height - p[:, 2])


def _torus(p, major, minor):  # in the xy-plane
    return np.hypot(np.linalg.norm(p[:, :2], axis=-1) - major, p[:, 2]) - minor


def _ellipsoid(p, axes):
    """The usual bound k0 (k0 - 1) / k1 (sign exact, distance approximate)."""
    k0 = np.linalg.norm(p / axes, axis=-1)
    k1 = np.maximum(np.linalg.norm(p / axes**2, axis=-1), 1e-9)
    return k0 * (k0 - 1) / k1


def _primitive(kind, rng):
    """(sdf of the unit-scaled primitive, its bounding radius) with random proportions."""
    u = rng.uniform
    if kind == "sphere":
        return (lambda p: np.linalg.norm(p, axis=-1) - 1.0), 1.0
    if kind == "box":
        half = u(0.4, 1.0, 3)
        return (lambda p: _box(p, half)), float(np.linalg.norm(half))
    if kind == "cylinder":
        r, h = u(0.4, 1.0), u(0.4, 1.0)
        return (lambda p: _cylinder(p, r, h)), float(np.hypot(r, h))
    if kind == "capsule":
        r, h = u(0.3, 0.6), u(0.3, 1.0)
        return (lambda p: _capsule(p, r, h)), r + h
    if kind == "cone":
        r, h = u(0.5, 1.0), u(0.5, 1.0)
        return (lambda p: _cone(p, r, h)), float(np.hypot(r, h))
    if kind == "torus":
        minor = u(0.25, 0.5)
        return (lambda p: _torus(p, 1.0, minor)), 1.0 + minor
    if kind == "ellipsoid":
        axes = u(0.4, 1.0, 3)
        return (lambda p: _ellipsoid(p, axes)), float(axes.max())
    raise ValueError(f"Unknown primitive {kind!r}; the primitives are {list(PRIMITIVES)}.")


def _rotation(rng):
    """A uniformly random rotation matrix (normalised Gaussian quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _placed(kind, rng, radius_range, centre=None, spread=None):
    """A primitive of bounding radius R ~ U(radius_range), rotated and moved inside the box (or near ``centre``)."""
    sdf, extent = _primitive(kind, rng)
    radius = rng.uniform(*radius_range)
    scale = radius / extent
    rotation = _rotation(rng)
    if centre is None:
        offset = rng.uniform(-(0.5 - radius), 0.5 - radius, 3)
    else:
        offset = centre + rng.uniform(-spread, spread, 3)

    def placed(p):  # world -> local: R^T (p - o), then undo the scale (distances scale with it)
        return scale * sdf(((p - offset) @ rotation) / scale)

    return placed, offset


def _draw(rng):
    category = CATEGORIES[rng.integers(len(CATEGORIES))]
    if category in PRIMITIVES:
        return _placed(category, rng, (0.33, 0.5))[0], category
    parts = [_placed(PRIMITIVES[rng.integers(len(PRIMITIVES))], rng, (0.2, 0.32))
             for _ in range(rng.integers(2, 4))]
    sdfs = [sdf for sdf, _ in parts]
    if category == "union":
        return (lambda p: np.min([f(p) for f in sdfs], axis=0)), category
    cutter, _ = _placed(("sphere", "box", "cylinder")[rng.integers(3)], rng, (0.12, 0.22), parts[0][1], 0.15)
    return (lambda p: np.maximum(np.min([f(p) for f in sdfs], axis=0), -cutter(p))), category


def _check(split, index):
    if split not in SIZES:
        raise ValueError(f"Unknown split {split!r} of shapes3d; the splits are {list(SIZES)}.")
    if not 0 <= int(index) < SIZES[split]:
        raise ValueError(f"shapes3d {split} has examples 0..{SIZES[split] - 1}; got index {index}.")


def example(split, index):
    """Example ``index`` of ``split`` and its analytic SDF: (features dict as stored, sdf callable, mesh).

    Deterministic: the same (split, index) always gives the same shape, cloud, queries and labels.
    """
    from mpkeras.data.shapes import mesh_from_sdf, require

    _check(split, index)
    trimesh = require("trimesh")
    rng = np.random.default_rng((SEEDS[split], int(index)))
    half = NUM_QUERY // 2
    for _ in range(20):
        sdf, category = _draw(rng)
        mesh = mesh_from_sdf(sdf, resolution=RESOLUTION, bound=BOUND)
        seed = int(rng.integers(2**31))
        points = trimesh.sample.sample_surface(mesh, NUM_POINTS, seed=seed)[0]
        near = trimesh.sample.sample_surface(mesh, NUM_QUERY - half, seed=seed + 1)[0]
        near = near + NEAR_SIGMA * rng.normal(size=near.shape)
        query = np.concatenate([rng.uniform(-QUERY_BOUND, QUERY_BOUND, (half, 3)), near]).astype(np.float32)
        occupancy = mesh.contains(query)
        if occupancy[:half].mean() >= MIN_INSIDE:
            break
    features = {"points": points.astype(np.float32), "query": query, "occupancy": occupancy.astype(bool),
                "category": category}
    return features, sdf, mesh


class Shapes3dConfig(tfds.core.BuilderConfig):
    """A size of shapes3d: ``sizes`` maps each split to its number of shapes (a prefix of the full split)."""

    def __init__(self, *, sizes, **kwargs):
        super().__init__(**kwargs)
        self.sizes = dict(sizes)


class Shapes3d(_EmbeddedBuilder):
    """Generated 3-D shapes (primitives and their unions / differences) in [-0.5, 0.5]^3.

    Per example: a surface point cloud ``points`` (1024, 3), query points ``query``
    (2048, 3) (first half uniform in [-0.55, 0.55]^3, second half near the surface),
    their inside/outside labels ``occupancy`` (2048,) from ``trimesh``'s
    ``mesh.contains``, and the ``category``. Split: 1,000 train / 200 test shapes
    with disjoint seeds (config ``shapes3d/full``, the default); ``shapes3d/small`` holds the
    first 48 / 16 of them. See :mod:`mpkeras.data.shapes3d` for the generator.
    """

    name = "shapes3d"
    HOMEPAGE = "https://arxiv.org/abs/1812.03828"
    CITATION = """\
@inproceedings{mescheder2019occupancy,
  title={Occupancy Networks: Learning 3D Reconstruction in Function Space},
  author={Mescheder, Lars and Oechsle, Michael and Niemeyer, Michael and Nowozin, Sebastian and Geiger, Andreas},
  booktitle={Conference on Computer Vision and Pattern Recognition (CVPR)}, year={2019}
}"""
    SUPERVISED_KEYS = None
    DISABLE_SHUFFLING = True
    BUILDER_CONFIGS = [
        Shapes3dConfig(name="full", sizes=SIZES, description="1,000 train / 200 test shapes (builds in ~75 s)."),
        Shapes3dConfig(name="small", sizes=SMALL_SIZES,
                       description="The first 48 train / 16 test shapes of the full set, for quick runs and tests."),
    ]

    def _features(self) -> dict:
        return {
            "points": tfds.features.Tensor(shape=(NUM_POINTS, 3), dtype=np.float32),
            "query": tfds.features.Tensor(shape=(NUM_QUERY, 3), dtype=np.float32),
            "occupancy": tfds.features.Tensor(shape=(NUM_QUERY,), dtype=np.bool_),
            "category": tfds.features.ClassLabel(names=CATEGORIES),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in SIZES}

    def _generate_examples(self, split):
        for n in range(self.builder_config.sizes[split]):
            yield n, example(split, n)[0]
