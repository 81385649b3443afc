"""The embedded `scenes` views: camera geometry, the sphere tracer's surface and first hits, the TFDS splits."""

import numpy as np
import pytest

from mpkeras import data
from mpkeras.data import scenes


def test_look_at_is_a_rotation_that_looks_at_the_target():
    camera = scenes.look_at([1.0, -2.0, 1.5])
    rotation = camera[:3, :3]
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    forward = -rotation[:, 2]  # the camera looks along its -z axis
    np.testing.assert_allclose(forward, -camera[:3, 3] / np.linalg.norm(camera[:3, 3]), atol=1e-12)
    assert rotation[2, 1] > 0  # image up points to world up (+z)


def test_camera_rays_are_unit_and_centred_on_the_optical_axis():
    camera = scenes.look_at([0.0, -scenes.CAMERA_DISTANCE, 0.0])
    origins, directions = scenes.camera_rays(camera, 8, 6, focal=4.0)
    assert origins.shape == directions.shape == (8, 6, 3)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(origins, np.broadcast_to(camera[:3, 3], (8, 6, 3)), atol=1e-6)
    mean = directions.mean((0, 1))
    np.testing.assert_allclose(mean / np.linalg.norm(mean), [0, 1, 0], atol=1e-6)  # towards the origin
    # Row 0 is the top of the image (+z), column 0 its left (-x for a camera on the -y axis).
    assert directions[0, 0, 2] > 0 > directions[-1, 0, 2] and directions[0, 0, 0] < 0 < directions[0, -1, 0]
    # The corner ray's slope in the camera frame is (half-size - 0.5 pixel) / focal.
    local = camera[:3, :3].T @ directions[0, -1]
    np.testing.assert_allclose(local[:2] / -local[2], [(3 - 0.5) / 4.0, (4 - 0.5) / 4.0], atol=1e-6)
    with pytest.raises(ValueError, match="4x4"):
        scenes.camera_rays(np.eye(3))


def test_rendered_depth_is_the_first_surface_hit_and_the_background_is_white():
    camera = scenes.look_at(scenes.camera_positions("test")[3])
    image, mask, depth = scenes.render(camera)
    assert image.shape == (scenes.SIZE, scenes.SIZE, 3) and 0.05 < mask.mean() < 0.6
    assert np.all(image[~mask] == scenes.BACKGROUND) and np.all(image[mask].min(-1) < 0.95)
    origins, directions = scenes.camera_rays(camera)
    t = depth[mask]
    assert np.all((scenes.NEAR < t) & (t < scenes.FAR))
    o, d = origins[mask], directions[mask]
    np.testing.assert_allclose(scenes.sdf(o + t[:, None] * d), 0.0, atol=1e-3)
    before = scenes.NEAR + np.linspace(0.0, 1.0, 64)[None, :] * (t[:, None] - 1e-4 - scenes.NEAR)  # in front
    assert np.all(scenes.sdf(o[:, None] + before[..., None] * d[:, None]) > 0)
    # Rays that miss stay off every object all the way to FAR.
    along = np.linspace(scenes.NEAR, scenes.FAR, 256)
    missed = origins[~mask][::7, None] + along[None, :, None] * directions[~mask][::7, None]
    assert np.all(scenes.sdf(missed) > 0)


def test_the_shading_is_lambertian_in_the_albedo():
    points = np.array([[-0.3, 0.15, 0.35], [0.3, 0.2, 0.2]])  # the sphere's top, the box's top face
    np.testing.assert_allclose(scenes.sdf(points), 0.0, atol=1e-9)
    np.testing.assert_allclose(scenes.normals(points), [[0, 0, 1], [0, 0, 1]], atol=1e-6)
    np.testing.assert_allclose(scenes.albedo(points), [[0.85, 0.2, 0.15], [0.2, 0.7, 0.3]])


def test_the_scenes_builder_splits_views_and_held_out_cameras(scenes_dir):
    rays = scenes.load_rays("test", data_dir=scenes_dir)
    n = scenes.NUM_VIEWS["test"] * scenes.SIZE**2
    assert rays["views"] == scenes.NUM_VIEWS["test"] and rays["origins"].shape == rays["rgb"].shape == (n, 3)
    assert rays["mask"].dtype == np.bool_ and 0.0 <= rays["rgb"].min() and rays["rgb"].max() <= 1.0
    view = next(data.load("scenes", "test", data_dir=scenes_dir, as_supervised=False).as_numpy_iterator())
    image, mask, _ = scenes.render(view["camera_to_world"].astype(np.float64))
    np.testing.assert_array_equal(view["image"], np.round(255 * image).astype(np.uint8))
    np.testing.assert_array_equal(view["mask"], mask)
    train = scenes.camera_positions("train")
    assert len(train) == scenes.NUM_VIEWS["train"]
    gaps = np.linalg.norm(scenes.camera_positions("test")[:, None] - train[None], axis=-1).min(1)
    assert gaps.min() > 1e-3  # the test cameras are not train cameras
    with pytest.raises(ValueError, match="Unknown split"):
        scenes.camera_positions("val")
