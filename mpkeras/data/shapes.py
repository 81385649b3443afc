"""Ground-truth meshes of analytic shapes and point clouds sampled on them (3-D extra).

Every shape is deterministic and fits in the cube [-0.8, 0.8]^3:

- ``torus``: major radius 0.5, minor radius 0.2, in the xy-plane (``trimesh.creation.torus``);
- ``capsule``: a cylinder of radius 0.3 and height 0.8 along z with hemispherical caps (``trimesh.creation.capsule``);
- ``rounded_box``: the box |x| <= (0.5, 0.35, 0.25) rounded by 0.12, SDF
  ||max(|x| - b, 0)|| + min(max_k(|x_k| - b_k), 0) - r, meshed by marching cubes at 128^3;
- ``two_spheres``: the union of spheres of radius 0.35 at (+-0.25, 0, 0), SDF min(d_1, d_2), meshed likewise.

Needs the 3-D extra: ``pip install "mpkeras[3d]"`` (trimesh, scikit-image).
"""

import importlib

import numpy as np

SHAPES = ("torus", "capsule", "rounded_box", "two_spheres")


def require(module):
    """Imports ``module`` (``trimesh`` or ``skimage``) or raises an error that names the 3-D extra."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"The 3-D models and data need {module!r}, which is not installed. Install the 3-D extra: "
                          'pip install "mpkeras[3d]" (trimesh and scikit-image).') from err


def _rounded_box_sdf(p, half=(0.5, 0.35, 0.25), radius=0.12):
    q = np.abs(p) - (np.asarray(half) - radius)
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0) - radius


def _two_spheres_sdf(p, centre=0.25, radius=0.35):
    d1 = np.linalg.norm(p - [centre, 0, 0], axis=-1) - radius
    d2 = np.linalg.norm(p + [centre, 0, 0], axis=-1) - radius
    return np.minimum(d1, d2)


def mesh_from_sdf(sdf, resolution=128, bound=0.8):
    """Zero level set of a numpy SDF ``(N, 3) -> (N,)`` on a grid over [-bound, bound]^3, by marching cubes."""
    trimesh, measure = require("trimesh"), require("skimage.measure")
    axis = np.linspace(-bound, bound, resolution)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)  # (R, R, R, 3)
    volume = sdf(grid.reshape(-1, 3)).reshape(grid.shape[:3])
    step = axis[1] - axis[0]
    verts, faces, _, _ = measure.marching_cubes(volume, level=0.0, spacing=(step,) * 3)
    return trimesh.Trimesh(verts - bound, faces, process=True)


def mesh(name):
    """The ground-truth ``trimesh.Trimesh`` of shape ``name`` (one of :data:`SHAPES`)."""
    if name not in SHAPES:
        raise ValueError(f"Unknown shape {name!r}; the shapes are {list(SHAPES)}.")
    trimesh = require("trimesh")
    if name == "torus":
        return trimesh.creation.torus(major_radius=0.5, minor_radius=0.2, major_sections=64, minor_sections=32)
    if name == "capsule":
        return trimesh.creation.capsule(height=0.8, radius=0.3, count=[32, 32])
    return mesh_from_sdf(_rounded_box_sdf if name == "rounded_box" else _two_spheres_sdf)


def point_cloud(name, n, seed=0, noise=0.0):
    """``n`` points sampled uniformly (by area) on the surface of shape ``name``, with their normals.

    Args:
        name: one of :data:`SHAPES`.
        n: number of points.
        seed: sampling seed (deterministic).
        noise: std of Gaussian noise added to the points (0: exact surface points).

    Returns:
        (points, normals): float32 arrays, each (n, 3); normals are the outward unit face normals.
    """
    trimesh = require("trimesh")
    m = mesh(name)
    points, face_index = trimesh.sample.sample_surface(m, int(n), seed=seed)
    if noise:
        points = points + noise * np.random.default_rng(seed + 1).normal(size=points.shape)
    return points.astype(np.float32), m.face_normals[face_index].astype(np.float32)
