"""Evaluation helpers of the implicit-surface recipes: Chamfer distance, a sphere-fit baseline, mesh figures."""

import numpy as np

from mpkeras.data.shapes import require


def chamfer_distance(mesh_a, mesh_b, num_samples=10000, seed=0):
    """Symmetric Chamfer distance between two meshes' surfaces.

    CD = 1/2 (mean_{a in A} min_{b in B} ||a - b|| + mean_{b in B} min_{a in A} ||a - b||)

    over ``num_samples`` points sampled uniformly by area on each surface (same seed for both),
    nearest neighbours by ``scipy.spatial.cKDTree``. In the mesh's length units.
    """
    from scipy.spatial import cKDTree

    trimesh = require("trimesh")
    a = trimesh.sample.sample_surface(mesh_a, num_samples, seed=seed)[0]
    b = trimesh.sample.sample_surface(mesh_b, num_samples, seed=seed)[0]
    return 0.5 * float(cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean())


def fit_sphere(points):
    """Least-squares sphere through ``points`` (N, 3): (centre (3,), radius).

    Solves the linear problem ||p||^2 = 2 c . p + (r^2 - ||c||^2) for c and d = r^2 - ||c||^2.
    """
    points = np.asarray(points, np.float64)
    design = np.concatenate([2 * points, np.ones((len(points), 1))], axis=1)  # (N, 4)
    solution = np.linalg.lstsq(design, np.sum(points**2, axis=1), rcond=None)[0]
    centre = solution[:3]
    return centre, float(np.sqrt(solution[3] + centre @ centre))


def sphere_mesh(centre, radius):
    trimesh = require("trimesh")
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    sphere.apply_translation(centre)
    return sphere


def render_meshes(meshes, path, bound=0.8):
    """Renders {title: trimesh} side by side with matplotlib's plot_trisurf and saves a PNG."""
    from mpkeras.train import figures as figs

    fig = figs.plt.figure(figsize=(4 * len(meshes), 4.2))
    for i, (title, m) in enumerate(meshes.items()):
        ax = fig.add_subplot(1, len(meshes), i + 1, projection="3d")
        v = m.vertices
        ax.plot_trisurf(v[:, 0], v[:, 1], v[:, 2], triangles=m.faces, color="lightsteelblue", edgecolor="none",
                        shade=True, antialiased=False)
        ax.set(xlim=(-bound, bound), ylim=(-bound, bound), zlim=(-bound, bound), title=title)
        ax.view_init(elev=30, azim=-60)
        ax.set_box_aspect((1, 1, 1))
    figs.save(fig, path)
    return path
