"""Fixtures of the neural implicit models: point clouds of mpkeras.data.shapes, spheres with occupancy labels,
and rays of small views of the ``scenes`` scene (rendered directly, no TFDS build)."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture


@fixture("igr_sdf")
def _igr_sdf():
    from mpkeras.data.shapes import point_cloud

    points, _ = point_cloud("capsule", 64, seed=0)  # (64, 3) surface points; fit without normals
    return Fixture(kwargs=dict(hidden_units=(16, 16)), x=points, output_shapes=(64,), learn_steps=40,
                   learning_rate=1e-2)


def sphere_batch(n=8, cloud_points=32, query_points=64, seed=0):
    """Spheres of random centres and radii: ({"cloud": (n, M, 3), "points": (n, N, 3)}, labels (n, N) float32)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.2, 0.2, (n, 1, 3))
    radii = rng.uniform(0.15, 0.35, (n, 1, 1))
    directions = rng.normal(size=(n, cloud_points, 3))
    cloud = centres + radii * directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    points = rng.uniform(-0.55, 0.55, (n, query_points, 3))
    labels = (np.linalg.norm(points - centres, axis=-1) < radii[..., 0]).astype(np.float32)
    return {"cloud": cloud.astype(np.float32), "points": points.astype(np.float32)}, labels


@fixture("occupancy_net")
def _occupancy_net():
    x, y = sphere_batch()
    return Fixture(kwargs=dict(code_dim=8, encoder_units=16, decoder_units=16, encoder_blocks=2, decoder_blocks=2),
                   x=x, y=y, output_shapes=(8, 64), learn_steps=40, learning_rate=1e-2)


def scene_rays(size=8, position=(1.5, -1.5, 1.2)):
    """Rays, true colours and the object mask of one size x size view of the ``scenes`` scene.

    Returns ({"origins", "directions"} (size^2, 3), rgb (size^2, 3) float32, mask (size^2,) bool).
    """
    from mpkeras.data import scenes

    camera = scenes.look_at(np.asarray(position))
    focal = scenes.FOCAL * size / scenes.SIZE
    origins, directions = scenes.camera_rays(camera, size, size, focal)
    image, mask, _ = scenes.render(camera, size, size, focal)
    x = {"origins": origins.reshape(-1, 3), "directions": directions.reshape(-1, 3)}
    return x, image.reshape(-1, 3).astype(np.float32), mask.reshape(-1)


@fixture("nerf")
def _nerf():
    from mpkeras.data import scenes

    x, y, _ = scene_rays()  # 64 rays
    shapes = {"rgb": (64, 3), "rgb_coarse": (64, 3), "depth": (64,), "opacity": (64,)}
    return Fixture(kwargs=dict(hidden_units=(16, 16), colour_units=8, position_frequencies=2,
                               direction_frequencies=1, num_coarse=8, num_fine=8, near=scenes.NEAR, far=scenes.FAR),
                   x=x, y=y, output_shapes=shapes, learn_steps=40, learning_rate=1e-2)


@fixture("dvr")
def _dvr():
    from mpkeras.data import scenes

    x, rgb, mask = scene_rays(16, scenes.camera_positions("train")[0])
    rng = np.random.default_rng(0)  # 32 rays: half on the scene, half off it
    rows = np.concatenate([rng.choice(np.flatnonzero(mask), 16, replace=False),
                           rng.choice(np.flatnonzero(~mask), 16, replace=False)])
    return Fixture(kwargs=dict(hidden_units=(16, 16), num_frequencies=2, num_steps=16, secant_steps=4,
                               near=scenes.NEAR, far=scenes.FAR),
                   x={k: v[rows] for k, v in x.items()}, y={"rgb": rgb[rows], "mask": mask[rows]},
                   output_shapes={"rgb": (32, 3), "depth": (32,), "mask": (32,)}, learn_steps=40, learning_rate=1e-2)
