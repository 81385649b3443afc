"""The multi-scale RealNVP on images: flow invariants in float64 on a tiny colour flow, the architecture, bad inputs,
and the recipe end to end on photos32."""

import json

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import MultiScaleRealNVP
from mpkeras.models.flows.realnvp_images import max_scales
from mpkeras.testing.invariants import numerical_log_det

SHAPE = (4, 4, 3)
X = np.random.default_rng(0).uniform(0.02, 0.98, size=(3, *SHAPE))  # dequantized pixels in (0, 1)


def tiny(scales=2, **kwargs):
    """A float64 flow with every trainable weight randomized (so no layer is the identity)."""
    model = MultiScaleRealNVP(input_shape=SHAPE, scales=scales, hidden_units=4, res_blocks=1, dtype="float64",
                              **kwargs)
    model(X)  # build
    rng = np.random.default_rng(1)
    for w in model.trainable_weights:
        w.assign(0.2 * rng.normal(size=w.shape))
    return model


@pytest.mark.parametrize("scales,preprocessing", [(1, "logit"), (2, "logit"), (3, "shift")])
def test_flow_invertible_with_exact_log_det(scales, preprocessing):
    model = tiny(scales, preprocessing=preprocessing)
    out = model.forward(X)
    z, log_det = out["z"], out["log_det"]
    f = 2 ** (scales - 1)
    assert z.shape == (3, 4 // f, 4 // f, 3 * f * f) and z.dtype == tf.float64
    np.testing.assert_allclose(model.inverse(z)["images"], X, atol=1e-9)
    np.testing.assert_allclose(log_det, numerical_log_det(model.flow().forward, X), atol=1e-7)
    np.testing.assert_allclose(model.flow().forward_log_det_jacobian(X, event_ndims=3),
                               -model.flow().inverse_log_det_jacobian(z, event_ndims=3), atol=1e-8)
    # log p(x) = log N(z; 0, I) + log|det dz/dx|, D = 48.
    base = -0.5 * tf.reduce_sum(z**2, axis=[1, 2, 3]) - 24 * np.log(2 * np.pi)
    np.testing.assert_allclose(model.log_prob(X)["log_prob"], base + log_det, atol=1e-8)


def test_architecture_follows_the_paper():
    """Per scale 3 checkerboard couplings, a squeeze, 3 channel-wise ones and a factor-out; the last scale 4
    checkerboard couplings; an actnorm before each; masks alternate; later scales see the kept half only."""
    model = tiny(3)
    masks = [(c.mask, c.reverse) for c in model.couplings]
    cycle = [("checkerboard", False), ("checkerboard", True)] * 2
    scale = cycle[:3] + [("channel", False), ("channel", True), ("channel", False)]
    assert masks == scale + scale + cycle
    assert len(model.actnorms) == len(model.couplings) == 16 and len(model.squeezes) == 2
    # Channels each coupling transforms: 3 at 4x4; 12 after the squeeze; 6 at the next scale (half factored
    # out), 24 after its squeeze; 12 at the last.
    seen = [int(c.conditioner.layers[-1].filters) // 2 for c in model.couplings]  # (s, t) per transformed channel
    assert seen == [3] * 3 + [6] * 3 + [6] * 3 + [12] * 3 + [12] * 4


def test_factored_out_channels_are_untouched_by_later_scales():
    """Changing the weights of the last scale changes only the channels still in the flow at that scale."""
    model = tiny(2)
    z = model.forward(X)["z"].numpy()
    for coupling in model.couplings[6:]:  # the last scale's
        for w in coupling.trainable_weights:
            w.assign(w + 0.3)
    z_new = model.forward(X)["z"].numpy()
    # After the squeeze: 12 channels at 2x2, the last 6 factored out.
    np.testing.assert_array_equal(z_new[..., 6:], z[..., 6:])
    assert np.all(np.abs(z_new[..., :6] - z[..., :6]) > 1e-9)


def test_trainable_variables_cover_every_weight_the_flow_uses():
    model = tiny(2)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=X, y_pred=model(X, training=True))
    used = {id(v) for v in tape.watched_variables() if v.trainable}
    assert used and used <= {id(w.value) for w in model.trainable_weights}
    grads = tape.gradient(loss, [w.value for w in model.trainable_weights])
    missing = [w.path for w, g in zip(model.trainable_weights, grads) if g is None or not np.any(np.abs(g) > 0)]
    assert not missing, f"weights without effect on the loss: {missing}"


def test_samples_agree_with_log_prob():
    """log_prob of x = f^-1(eps) equals log N(eps) - log|det dx/deps| of the sampling map (numerical)."""
    model = tiny(2)
    seed, n = tf.constant([3, 4]), 3
    samples = model.sample(n, seed)["images"]
    eps = tf.random.stateless_normal((n, 2, 2, 12), seed, alg="philox", dtype=tf.float64)
    np.testing.assert_allclose(model.inverse(eps)["images"], samples, atol=1e-12)
    expected = (-0.5 * tf.reduce_sum(eps**2, axis=[1, 2, 3]) - 24 * np.log(2 * np.pi)
                - numerical_log_det(lambda e: model.inverse(e)["images"], eps.numpy()))
    np.testing.assert_allclose(model.distribution().log_prob(samples), expected, atol=1e-6)


def test_bad_shapes_and_scales_get_clear_errors():
    assert max_scales(32, 32) == 6 and max_scales(28, 28) == 3 and max_scales(5, 8) == 1
    with pytest.raises(ValueError, match="divisible by 8; input_shape=.*allows 1 to 3 scales"):
        MultiScaleRealNVP(input_shape=(28, 28, 1), scales=4)
    with pytest.raises(ValueError, match="use RealNVP for vectors"):
        MultiScaleRealNVP(input_shape=(2,))
    with pytest.raises(ValueError, match="Unknown preprocessing"):
        MultiScaleRealNVP(input_shape=SHAPE, preprocessing="dequantize")
    model = MultiScaleRealNVP(input_shape=SHAPE, scales=2, hidden_units=4, res_blocks=1)
    with pytest.raises(ValueError, match="shape"):
        model(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"pixel values in \[0, 1\]"):
        model.log_prob(np.full((2, *SHAPE), 1.5, np.float32))


@pytest.fixture(scope="module")
def photos32_dir(tmp_path_factory):
    from mpkeras import data

    path = str(tmp_path_factory.mktemp("tfds_photos32"))
    data.info("photos32", data_dir=path)
    return path


def test_recipe_smoke_end_to_end(photos32_dir, tmp_path, capsys):
    from mpkeras import cli

    recipe = cli.load_recipe("realnvp_images")
    report = recipe.main(["--smoke", "--out", str(tmp_path), "--data-dir", photos32_dir, "--verbose", "0",
                          "--hidden-units", "4", "--res-blocks", "1"])
    test = report["test"]
    assert report["data"]["dataset"] == "photos32"
    assert 0 < test["test_bits_per_dim"] < 9  # a fresh flow is near 8 bits/dim
    assert 0 < test["baseline_independent_gaussian_bits_per_dim"] < 9
    assert 0 < test["baseline_independent_categorical_bits_per_dim"] < 9
    assert (tmp_path / "runs" / "realnvp_images" / "figures" / "samples_t0.7.png").exists()
    card = json.loads((tmp_path / "exported" / "realnvp_images" / "1" / "assets.extra" / "model_card.json").read_text())
    assert set(card["signatures"]) >= {"serving_default", "log_prob", "sample", "forward", "inverse"}
    # Too many scales for 32x32 images: one line naming the limit, exit status 2.
    with pytest.raises(SystemExit) as exit_info:
        recipe.main(["--smoke", "--out", str(tmp_path), "--data-dir", photos32_dir, "--scales", "7", "--no-export"])
    assert exit_info.value.code == 2
    assert "--scales 7: the 32x32 images of photos32 allow at most 6 scales" in capsys.readouterr().err
