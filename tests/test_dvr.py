"""DVR: the implicit-differentiation gradient against finite differences, the march, the secant step, misses,
occupancy range, and the recipe smoke run."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models.implicit import DVR


class SphereDVR(DVR):
    """f(p) = k (r - ||p - c||): occupancy logits of a sphere whose radius r is a weight."""

    def __init__(self, centre=(0.0, 0.0, 0.0), radius=0.5, sharpness=10.0, **kwargs):
        super().__init__(hidden_units=(4,), num_frequencies=0, **kwargs)
        self.centre = np.asarray(centre, np.float32)
        self.sharpness = sharpness
        self.radius = self.add_weight(shape=(), initializer=keras.initializers.Constant(radius), name="radius")

    def logits(self, points):
        return self.sharpness * (self.radius - tf.norm(points - self.centre, axis=-1))

    def texture(self, points):
        return tf.sigmoid(points)


def _rays(n=4, seed=0):
    """Rays from y = -2.5 towards the origin, slightly fanned out."""
    rng = np.random.default_rng(seed)
    origins = np.tile([[0.0, -2.5, 0.0]], (n, 1)).astype(np.float32)
    directions = np.array([0.0, 1.0, 0.0]) + rng.uniform(-0.12, 0.12, (n, 3)) * [1, 0, 1]
    return origins, (directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)


def _sphere_depth(origins, directions, centre, radius):
    """The exact first intersection of the rays with a sphere."""
    oc = origins - centre
    b = np.sum(oc * directions, -1)
    return -b - np.sqrt(b**2 - np.sum(oc**2, -1) + radius**2)


def test_secant_converges_to_the_exact_sphere_intersection():
    origins, directions = _rays(8)
    model = SphereDVR(centre=(0.05, 0.1, -0.02), radius=0.45, num_steps=16, secant_steps=8)
    out = model.render_rays(origins, directions)
    exact = _sphere_depth(origins, directions, model.centre, 0.45)
    assert np.all(out["mask"].numpy() == 1)
    np.testing.assert_allclose(out["depth"].numpy(), exact, atol=1e-5)
    coarse = SphereDVR(centre=(0.05, 0.1, -0.02), radius=0.45, num_steps=16, secant_steps=0)
    assert np.max(np.abs(coarse.render_rays(origins, directions)["depth"].numpy() - exact)) > 1e-3  # secant does work


def test_implicit_gradient_matches_finite_differences_for_a_sphere_radius():
    origins, directions = _rays(6, seed=1)
    model = SphereDVR(radius=0.5, num_steps=32)
    with tf.GradientTape() as tape:
        depth = model.render_rays(origins, directions)["depth"]
    grad = tape.jacobian(depth, model.radius).numpy()  # (B,)
    h = 1e-2

    def depth_at(r):
        model.radius.assign(r)
        return model.render_rays(origins, directions)["depth"].numpy().astype(np.float64)

    numeric = (depth_at(0.5 + h) - depth_at(0.5 - h)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=2e-3)
    cosine = -np.sum(directions * (origins + depth_at(0.5)[:, None] * directions), -1) / 0.5  # -n . w
    np.testing.assert_allclose(grad, -1 / cosine, rtol=2e-3)  # dt/dr = 1 / (n . w), the closed form


def test_implicit_gradient_matches_finite_differences_for_network_weights():
    keras.utils.set_random_seed(0)
    origins, directions = _rays(4, seed=2)
    model = DVR(hidden_units=(16, 16), num_frequencies=2, num_steps=48, secant_steps=12)
    model.render_rays(origins, directions)  # build
    # Perturb the encoding weights away from zero so that the field is not just a sphere.
    model.encoding_in.kernel.assign(np.random.default_rng(0).normal(0, 0.05, model.encoding_in.kernel.shape))
    kernel = model.hidden[0].kernel
    with tf.GradientTape(persistent=True) as tape:
        out = model.render_rays(origins, directions)
        depth, rgb = tf.reduce_sum(out["depth"]), tf.reduce_sum(out["rgb"])  # sums over the rays
    assert np.all(out["mask"].numpy() == 1)
    grad_depth, grad_rgb = tape.gradient(depth, kernel).numpy(), tape.gradient(rgb, kernel).numpy()  # (H, H)
    i, j = np.unravel_index(np.argmax(np.abs(grad_depth)), kernel.shape)  # the weight that moves depth most
    analytic_depth, analytic_rgb = grad_depth[i, j], grad_rgb[i, j]
    base, h = kernel.numpy(), 2e-3

    def render_at(delta):
        w = base.copy()
        w[i, j] += delta
        kernel.assign(w)
        out = model.render_rays(origins, directions)
        return out["depth"].numpy().astype(np.float64).sum(), out["rgb"].numpy().astype(np.float64).sum()

    (d_plus, c_plus), (d_minus, c_minus) = render_at(h), render_at(-h)
    np.testing.assert_allclose(analytic_depth, (d_plus - d_minus) / (2 * h), rtol=2e-2, atol=1e-4)
    np.testing.assert_allclose(analytic_rgb, (c_plus - c_minus) / (2 * h), rtol=2e-2, atol=1e-4)
    assert abs(analytic_depth) > 1e-2 and abs(analytic_rgb) > 1e-3  # the check is not vacuous


def test_march_finds_the_first_of_two_objects():
    class TwoSpheres(SphereDVR):
        def logits(self, points):
            near = 0.3 - tf.norm(points - [0.0, -0.5, 0.0], axis=-1)
            far = 0.3 - tf.norm(points - [0.0, 0.5, 0.0], axis=-1)
            return self.sharpness * tf.maximum(near, far)

    origins, directions = np.array([[0.0, -2.5, 0.0]], np.float32), np.array([[0.0, 1.0, 0.0]], np.float32)
    depth = TwoSpheres(num_steps=64).render_rays(origins, directions)["depth"].numpy()
    np.testing.assert_allclose(depth, [2.5 - 0.5 - 0.3], atol=1e-5)  # the near sphere, not the far one


def test_rays_that_miss_have_no_surface_and_the_background():
    origins = np.tile([[0.0, -2.5, 0.0]], (3, 1)).astype(np.float32)
    directions = np.array([[1.0, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]], np.float32)
    out = SphereDVR(radius=0.5, background=0.7).render_rays(origins, directions)
    np.testing.assert_array_equal(out["mask"].numpy(), [0, 1, 0])
    np.testing.assert_allclose(out["rgb"].numpy()[[0, 2]], 0.7)
    np.testing.assert_array_equal(out["depth"].numpy()[[0, 2]], 0.0)
    assert np.all(out["rgb"].numpy()[1] != 0.7)


def test_occupancy_lies_in_0_1_and_starts_as_a_sphere():
    points = np.random.default_rng(0).uniform(-1.5, 1.5, (512, 3)).astype(np.float32)
    model = DVR(hidden_units=(64, 64), init_radius=0.5)
    out = model.occupancy(points)
    occupancy = out["occupancy"].numpy()
    assert np.all((occupancy >= 0) & (occupancy <= 1))
    np.testing.assert_allclose(occupancy, 1 / (1 + np.exp(-out["logits"].numpy())), rtol=1e-5)
    radius = np.linalg.norm(points, axis=-1)
    assert np.mean((occupancy > 0.5) == (radius < 0.5)) > 0.9
    with pytest.raises(ValueError, match="expected \\(batch, 3\\)"):
        model.occupancy(points[:, :2])


def test_recipe_smoke_end_to_end(tmp_path, scenes_dir):
    from mpkeras import cli

    report = cli.load_recipe("dvr").main(["--smoke", "--out", str(tmp_path), "--verbose", "0", "--data-dir", scenes_dir])
    assert np.isfinite(report["test"]["psnr"]) and 0 <= report["test"]["mask_iou"] <= 1
    run = tmp_path / "runs" / "dvr"
    assert (run / "dvr.ply").exists() and (run / "figures" / "dvr.png").exists()
    assert (run / "figures" / "dvr_mesh.png").exists()


def test_bad_inputs_get_clear_errors():
    model = DVR(hidden_units=(8,), num_steps=4)
    rays = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="dict of rays"):
        model(rays)
    with pytest.raises(ValueError, match="targets"):
        model.compute_loss(x={"origins": rays, "directions": rays}, y=rays, y_pred=None)
