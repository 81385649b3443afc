"""Implicit surfaces: the eikonal term, the SDF gradient norm after training, Chamfer, sphere fit, recipe smoke."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import trimesh  # the 3-D extra, installed by the dev extra: a missing install fails here, it is not skipped

from mpkeras.data import shapes
from mpkeras.models.implicit import IGRSDF, extract_mesh
from mpkeras.train.implicit import chamfer_distance, fit_sphere


class ExactSphere(IGRSDF):
    """f(x) = ||x - c|| - r, the exact SDF of a sphere, with IGRSDF's loss."""

    def call(self, points, training=False):
        return tf.norm(points - [0.1, 0.0, -0.2], axis=-1) - 0.4


def _points(n=256, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3)).astype(np.float32)


def test_eikonal_term_is_zero_for_an_exact_sdf_and_positive_otherwise():
    x = _points()
    np.testing.assert_allclose(ExactSphere().eikonal_term(x).numpy(), 0.0, atol=1e-5)
    squashed = ExactSphere()
    squashed.call = lambda points, training=False: 0.5 * (tf.norm(points, axis=-1) - 0.4)  # ||grad f|| = 0.5
    np.testing.assert_allclose(squashed.eikonal_term(x).numpy(), 0.25, atol=1e-5)
    assert float(tf.reduce_mean(IGRSDF(geometric_init=False).eikonal_term(x))) > 0.1


def test_geometric_init_is_close_to_a_sphere_sdf():
    x = _points(seed=1)
    f = IGRSDF(hidden_units=(512, 512), init_radius=0.5).sdf(x)["sdf"].numpy()  # approximate at finite width
    sphere = np.linalg.norm(x, axis=-1) - 0.5
    assert np.mean(np.abs(f - sphere)) < 0.2 and np.corrcoef(f, sphere)[0, 1] > 0.9


def test_gradient_norm_is_about_one_near_the_surface_after_training():
    keras.utils.set_random_seed(0)
    points, _ = shapes.point_cloud("capsule", 2048, seed=0)
    model = IGRSDF(hidden_units=(64, 64, 64), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.fit(points, batch_size=512, epochs=30, verbose=0)
    fresh, _ = shapes.point_cloud("capsule", 1024, seed=7)
    near = fresh + np.random.default_rng(1).normal(0, 0.02, fresh.shape).astype(np.float32)
    out = model.gradient(near)
    norms = np.linalg.norm(out["gradient"].numpy(), axis=-1)
    assert abs(np.median(norms) - 1) < 0.1 and np.mean(np.abs(norms - 1)) < 0.2, (np.median(norms), norms.mean())
    assert np.mean(np.abs(model.sdf(fresh)["sdf"].numpy())) < 0.05
    np.testing.assert_allclose(np.linalg.norm(out["normals"].numpy(), axis=-1), 1.0, atol=1e-5)


def test_chamfer_is_zero_to_itself_and_the_shift_to_a_shifted_plane():
    plane = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    assert chamfer_distance(plane, plane, num_samples=2000) == pytest.approx(0.0, abs=1e-9)
    shifted = plane.copy()
    shifted.apply_translation([0, 0, 0.07])
    assert chamfer_distance(plane, shifted, num_samples=2000) == pytest.approx(0.07, rel=1e-4)
    torus = shapes.mesh("torus")
    assert chamfer_distance(torus, torus, num_samples=2000) == pytest.approx(0.0, abs=1e-9)


def test_sphere_fit_recovers_a_known_sphere():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(500, 3))
    points = [0.3, -0.1, 0.2] + 0.7 * u / np.linalg.norm(u, axis=1, keepdims=True)
    centre, radius = fit_sphere(points)
    np.testing.assert_allclose(centre, [0.3, -0.1, 0.2], atol=1e-8)
    assert radius == pytest.approx(0.7, abs=1e-8)


def test_extract_mesh_of_the_exact_sphere_sdf():
    mesh = extract_mesh(ExactSphere(), resolution=32, bounds=1.0)
    radii = np.linalg.norm(mesh.vertices - [0.1, 0.0, -0.2], axis=-1)
    np.testing.assert_allclose(radii, 0.4, atol=0.01)
    with pytest.raises(ValueError, match="no zero crossing"):
        extract_mesh(ExactSphere(), resolution=8, bounds=0.1)


def test_unknown_shape_lists_the_shapes():
    with pytest.raises(ValueError, match="torus"):
        shapes.mesh("teapot")


def test_recipe_smoke_end_to_end(tmp_path):
    from mpkeras import cli

    report = cli.load_recipe("igr_sdf").main(["--smoke", "--out", str(tmp_path), "--verbose", "0", "--shape",
                                              "capsule", "--batch-size", "256"])
    assert np.isfinite(report["test"]["chamfer"]) and report["test"]["mesh_vertices"] > 0
    assert (tmp_path / "runs" / "igr_sdf" / "igr_sdf_capsule.ply").exists()
    assert (tmp_path / "runs" / "igr_sdf" / "figures" / "igr_sdf.png").exists()
