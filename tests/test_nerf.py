"""NeRF: compositing, positional encoding, hierarchical sampling, the late view direction, rendering, recipe smoke."""

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models.implicit import NeRF, RadianceField, composite, positional_encoding, sample_pdf
from mpkeras.models.implicit.nerf import intervals, stratified_samples
from mpkeras.testing.fixtures_implicit import scene_rays


def _colours(shape, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(size=(*shape, 3)), tf.float32)


def test_compositing_weights_lie_in_0_1_and_sum_to_at_most_1():
    rng = np.random.default_rng(0)
    sigma = rng.exponential(5.0, (64, 32)) * (rng.uniform(size=(64, 32)) < 0.7)  # many exact zeros
    sigma[:8, 5] = 1e30  # huge densities: fully opaque samples
    sigma[8:16] = 0.0  # empty rays
    sigma[16:24] = 1e6
    deltas = rng.uniform(0.0, 0.2, (64, 32))
    out = composite(tf.constant(sigma, tf.float32), _colours((64, 32)), tf.constant(deltas, tf.float32))
    w = out["weights"].numpy()
    assert np.all(np.isfinite(w)) and np.all(w >= 0.0) and np.all(w <= 1.0)
    assert np.all(w.sum(-1) <= 1.0 + 1e-6)
    np.testing.assert_allclose(out["opacity"].numpy(), w.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(w[:8, 6:], 0.0)  # nothing is seen behind an opaque sample


def test_compositing_matches_a_hand_computed_ray():
    sigma, deltas, t = [[1.0, 2.0]], [[0.5, 0.25]], [[1.0, 1.5]]
    rgb = tf.constant([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    out = composite(tf.constant(sigma), rgb, tf.constant(deltas), tf.constant(t), background=1.0)
    a1, a2 = 1 - np.exp(-0.5), 1 - np.exp(-0.5)  # alpha_i = 1 - exp(-sigma_i delta_i)
    w1, w2 = a1, (1 - a1) * a2  # T_1 = 1, T_2 = 1 - alpha_1
    rest = 1 - w1 - w2
    np.testing.assert_allclose(out["weights"].numpy(), [[w1, w2]], rtol=1e-6)
    np.testing.assert_allclose(out["rgb"].numpy(), [[w1 + rest, w2 + rest, rest]], rtol=1e-6)
    np.testing.assert_allclose(out["depth"].numpy(), [w1 * 1.0 + w2 * 1.5], rtol=1e-6)


def test_an_opaque_first_sample_gives_its_colour_and_an_empty_ray_the_background():
    rgb = _colours((2, 5))
    sigma = tf.constant([[1e9, 3.0, 0.0, 7.0, 1.0], [0.0] * 5])
    t = tf.constant([[2.0, 2.1, 2.2, 2.3, 2.4]] * 2)
    out = composite(sigma, rgb, tf.fill([2, 5], 0.1), t, background=0.3)
    np.testing.assert_allclose(out["rgb"].numpy()[0], rgb.numpy()[0, 0], rtol=1e-6)
    np.testing.assert_allclose(out["depth"].numpy(), [2.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out["rgb"].numpy()[1], [0.3, 0.3, 0.3], rtol=1e-6)
    np.testing.assert_allclose(out["opacity"].numpy(), [1.0, 0.0], atol=1e-6)


def test_stratified_samples_have_one_per_bin_and_midpoints_when_deterministic():
    u = tf.random.stateless_uniform((4, 10), seed=(1, 2))
    t, edges = stratified_samples(2.0, 4.0, 4, 10, u)
    e = edges.numpy()
    np.testing.assert_allclose(e[0], np.linspace(2, 4, 11), rtol=1e-6)
    assert np.all((t.numpy() >= e[:, :-1]) & (t.numpy() <= e[:, 1:]))
    mid, _ = stratified_samples(2.0, 4.0, 1, 10)
    np.testing.assert_allclose(mid.numpy()[0], np.linspace(2.1, 3.9, 10), rtol=1e-6)
    np.testing.assert_allclose(intervals(mid, 4.0).numpy()[0], [0.2] * 9 + [0.1], rtol=1e-5)


def test_hierarchical_samples_follow_the_pdf():
    edges = tf.constant([np.linspace(2.0, 4.0, 9)] * 3, tf.float32)  # 8 bins of width 0.25
    weights = np.zeros((3, 8), np.float32)
    weights[0, 5] = 1.0  # all mass in bin 5: [3.25, 3.5)
    weights[1, [1, 6]] = [1.0, 3.0]  # a quarter of the mass in bin 1, three quarters in bin 6
    weights[2] = np.random.default_rng(0).uniform(size=8)
    u = tf.random.stateless_uniform((3, 4000), seed=(3, 4))
    t = sample_pdf(edges, tf.constant(weights), u).numpy()
    assert np.all((t[0] >= 3.25) & (t[0] <= 3.5))
    in_bin1, in_bin6 = np.mean((t[1] >= 2.25) & (t[1] < 2.5)), np.mean((t[1] >= 3.5) & (t[1] < 3.75))
    assert in_bin1 == pytest.approx(0.25, abs=0.03) and in_bin6 == pytest.approx(0.75, abs=0.03)
    assert np.all((t >= 2.0) & (t <= 4.0))
    counts = np.histogram(t[2], bins=np.linspace(2, 4, 9))[0] / 4000
    np.testing.assert_allclose(counts, weights[2] / weights[2].sum(), atol=0.03)
    quantiles = tf.broadcast_to((tf.range(16, dtype=tf.float32) + 0.5) / 16, [3, 16])  # deterministic: sorted
    fixed = sample_pdf(edges, tf.constant(weights), quantiles).numpy()
    assert np.all(np.diff(fixed, axis=-1) >= 0) and np.all((fixed[0] >= 3.25) & (fixed[0] <= 3.5))


def test_positional_encoding_on_a_hand_case():
    p = tf.constant([[0.25, -0.5]])
    s, c = np.sin, np.cos
    expected = [0.25, -0.5, s(np.pi / 4), s(-np.pi / 2), s(np.pi / 2), s(-np.pi), c(np.pi / 4), c(-np.pi / 2),
                c(np.pi / 2), c(-np.pi)]
    np.testing.assert_allclose(positional_encoding(p, 2).numpy()[0], expected, atol=1e-6)
    assert positional_encoding(tf.zeros((5, 7, 3)), 4).shape == (5, 7, 27)


def test_the_view_direction_changes_only_the_colour():
    field = RadianceField(hidden_units=(32, 32), colour_units=16, position_frequencies=4, direction_frequencies=2)
    points = tf.random.stateless_uniform((128, 3), seed=(0, 1), minval=-1, maxval=1)
    d1 = tf.math.l2_normalize(tf.random.stateless_normal((128, 3), seed=(0, 2)), -1)
    d2 = tf.math.l2_normalize(tf.random.stateless_normal((128, 3), seed=(0, 3)), -1)
    (s1, c1), (s2, c2) = field(points, d1), field(points, d2)
    np.testing.assert_array_equal(s1.numpy(), s2.numpy())
    np.testing.assert_allclose(field.density(points).numpy(), s1.numpy(), rtol=1e-6)
    assert np.mean(np.abs(c1.numpy() - c2.numpy())) > 1e-4
    assert np.all(s1.numpy() >= 0) and np.all((c1.numpy() >= 0) & (c1.numpy() <= 1))
    with tf.GradientTape() as tape:
        tape.watch(d1)
        sigma, _ = field(points, d1)
    assert tape.gradient(sigma, d1) is None  # sigma's graph does not contain d


def test_rendering_is_deterministic_and_training_renders_are_jittered():
    x, _, _ = scene_rays(size=4)
    model = NeRF(hidden_units=(16, 16), colour_units=8, num_coarse=8, num_fine=8)
    a = model.render_rays(x["origins"], x["directions"])
    b = model.render_rays(x["origins"], x["directions"])
    for k in ("rgb", "depth", "opacity"):
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    assert np.all((a["rgb"].numpy() >= 0) & (a["rgb"].numpy() <= 1))
    assert np.all((a["opacity"].numpy() >= 0) & (a["opacity"].numpy() <= 1 + 1e-6))
    jittered = model(x, training=True)["rgb"].numpy()
    assert np.max(np.abs(jittered - a["rgb"].numpy())) > 1e-6
    with pytest.raises(ValueError, match="origins"):
        model.render_rays(x["origins"][:, :2], x["directions"])


def test_recipe_smoke_end_to_end(tmp_path, scenes_dir):
    from mpkeras import cli

    report = cli.load_recipe("nerf").main(["--smoke", "--out", str(tmp_path), "--verbose", "0", "--data-dir", scenes_dir,
                                           "--batch-size", "128",
                                           "--hidden-units", "16,16", "--num-coarse", "8", "--num-fine", "8",
                                           "--steps-per-epoch", "2", "--epochs", "1"])
    assert 0 < report["test"]["test_psnr"] < 100 and np.isfinite(report["test"]["test_psnr_coarse"])
    assert (tmp_path / "runs" / "nerf" / "figures" / "nerf.png").exists()
    assert report["export"] is not None
