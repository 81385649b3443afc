"""Flow-level invariants of Glow and the conditional Glow, in float64 on tiny flows; recipe smoke runs; bad inputs."""

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import ConditionalGlow, Glow
from mpkeras.testing.invariants import numerical_log_det

SHAPE = (4, 4, 1)
RNG = np.random.default_rng(0)
X = RNG.uniform(0.02, 0.98, size=(3, *SHAPE))  # dequantized pixels in (0, 1)
LOW_RES = X.reshape(3, 2, 2, 2, 2, 1).mean(axis=(2, 4))


def tiny(conditional=False, preprocessing="logit"):
    """A float64 two-level flow with every trainable weight randomized (so no layer is the identity)."""
    cls = ConditionalGlow if conditional else Glow
    model = cls(input_shape=SHAPE, levels=2, steps=2, hidden_units=8, preprocessing=preprocessing, dtype="float64")
    inputs = {"images": X, "low_res": LOW_RES} if conditional else X
    model(inputs)  # build
    rng = np.random.default_rng(1)
    for w in model.trainable_weights:
        w.assign(0.2 * rng.normal(size=w.shape))
    return model, ((LOW_RES,) if conditional else ())


@pytest.mark.parametrize("conditional", [False, True])
def test_flow_invertible_with_exact_log_det(conditional):
    model, cond = tiny(conditional)
    out = model.forward(X, *cond)
    z, log_det = out["z"], out["log_det"]
    assert z.shape == (3, 1, 1, 16) and z.dtype == tf.float64
    np.testing.assert_allclose(model.inverse(z, *cond)["images"], X, atol=1e-9)
    flow = model.flow(model._conditions(*cond))
    np.testing.assert_allclose(log_det, numerical_log_det(flow.forward, X), atol=1e-7)
    np.testing.assert_allclose(flow.forward_log_det_jacobian(X, event_ndims=3),
                               -model.flow(model._conditions(*cond)).inverse_log_det_jacobian(z, event_ndims=3),
                               atol=1e-8)
    # log p(x) = log N(z; 0, I) + log|det dz/dx|, the change of variables the TransformedDistribution applies.
    base = -0.5 * tf.reduce_sum(z**2, axis=[1, 2, 3]) - 8 * np.log(2 * np.pi)
    np.testing.assert_allclose(model.log_prob(X, *cond)["log_prob"], base + log_det, atol=1e-8)


@pytest.mark.parametrize("conditional", [False, True])
def test_trainable_variables_cover_every_weight_the_flow_uses(conditional):
    model, cond = tiny(conditional)
    inputs = {"images": X, "low_res": LOW_RES} if conditional else X
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=inputs, y_pred=model(inputs, training=True))
    used = {id(v) for v in tape.watched_variables() if v.trainable}
    owned = {id(w.value) for w in model.trainable_weights}
    assert used and used <= owned, "the flow used trainable variables the Keras model does not track"
    grads = tape.gradient(loss, [w.value for w in model.trainable_weights])
    missing = [w.path for w, g in zip(model.trainable_weights, grads) if g is None or not np.any(np.abs(g) > 0)]
    assert not missing, f"weights without effect on the loss: {missing}"


@pytest.mark.parametrize("conditional", [False, True])
def test_samples_agree_with_log_prob(conditional):
    """log_prob of a sample x = f^-1(eps) equals log N(eps) - log|det dx/deps|, the Jacobian taken numerically
    of the sampling map: sampling and density evaluation are one distribution."""
    model, cond = tiny(conditional)
    cond = tuple(np.repeat(c, 2, axis=0)[:4] for c in cond)
    seed = tf.constant([3, 4])
    n = 4
    draw = (lambda: model.sample_conditional(cond[0], seed)) if conditional else (lambda: model.sample(n, seed))
    samples = draw()["images"]
    eps = tf.random.stateless_normal((n, 1, 1, 16), seed, alg="philox", dtype=tf.float64)
    np.testing.assert_allclose(model.inverse(eps, *cond)["images"], samples, atol=1e-12)  # same noise, same map
    log_det_sampling = numerical_log_det(lambda e: model.inverse(e, *cond)["images"], eps.numpy())
    expected = -0.5 * tf.reduce_sum(eps**2, axis=[1, 2, 3]) - 8 * np.log(2 * np.pi) - log_det_sampling
    # The logit preprocessing puts a little mass outside [0, 1], so bypass log_prob's range check.
    log_prob = model.distribution(model._conditions(*cond)).log_prob(samples)
    np.testing.assert_allclose(log_prob, expected, atol=1e-6)
    cooler = (model.sample_conditional(cond[0], seed, 0.5) if conditional else model.sample(n, seed, 0.5))["images"]
    np.testing.assert_allclose(cooler, model.inverse(0.5 * eps, *cond)["images"], atol=1e-12)


def test_bits_per_dim_counts_the_256_levels():
    model, _ = tiny()
    out = model.log_prob(X)
    d = np.prod(SHAPE)
    np.testing.assert_allclose(out["bits_per_dim"], (-out["log_prob"] + d * np.log(256)) / (d * np.log(2)))


def test_actnorm_initializes_on_the_first_fit_batch_only():
    model = Glow(input_shape=SHAPE, levels=2, steps=1, hidden_units=8)
    model(X.astype(np.float32))  # built on a batch: no training, no initialization
    assert all(float(a.initialized.numpy()) == 0 for a in model.actnorms)
    model.compile(optimizer="adam")
    model.fit(X.astype(np.float32), epochs=1, batch_size=3, verbose=0)
    assert all(float(a.initialized.numpy()) == 1 for a in model.actnorms)
    first_actnorm = model.actnorms[0]
    # After init, the first actnorm's outputs on the init batch are standardized (up to one Adam step).
    assert np.all(np.abs(first_actnorm.log_scale.numpy()) > 0)


def test_bad_inputs_get_clear_errors():
    model = Glow(input_shape=SHAPE, levels=2, steps=1, hidden_units=8)
    with pytest.raises(ValueError, match="shape"):
        model(np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(TypeError, match="floating-point pixels"):
        model(np.zeros((2, *SHAPE), np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"pixel values in \[0, 1\]"):
        model.log_prob(np.full((2, *SHAPE), 1.5, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"pixel values in \[0, 1\]"):
        model.log_prob(np.full((2, *SHAPE), np.nan, np.float32))
    with pytest.raises(ValueError, match="divisible by 8"):
        Glow(input_shape=(28, 28, 1), levels=3)
    with pytest.raises(ValueError, match="is unconditional"):
        model({"images": X, "low_res": LOW_RES})
    conditional = ConditionalGlow(input_shape=SHAPE, levels=2, steps=1, hidden_units=8)
    with pytest.raises(ValueError, match="low_res"):
        conditional(X.astype(np.float32))
    with pytest.raises(ValueError, match="low_res"):
        conditional({"images": X.astype(np.float32), "low_res": np.zeros((3, 4, 4, 1), np.float32)})


@pytest.mark.parametrize("name,flags", [("glow", []), ("conditional_glow", ["--no-export"])])
def test_recipe_smoke_end_to_end(name, flags, mnist5k_dir, tmp_path_factory):
    import json

    from mpkeras import cli

    data_dir = mnist5k_dir
    out = tmp_path_factory.mktemp(name)
    report = cli.load_recipe(name).main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0",
                                         "--steps", "1", "--hidden-units", "8", *flags])
    bpd = report["test"]["test_bits_per_dim"]
    assert np.isfinite(bpd) and 0 < bpd < 9  # a fresh flow is near 8 bits/dim
    figures = out / "runs" / name / "figures"
    if name == "glow":
        assert (figures / "samples_t0.7.png").exists()
        card = json.loads((out / "exported" / name / "1" / "assets.extra" / "model_card.json").read_text())
        assert set(card["signatures"]) >= {"serving_default", "log_prob", "sample", "forward", "inverse"}
    else:
        assert (figures / "super_resolution.png").exists()
