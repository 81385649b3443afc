"""Invariants of every bijector in mpkeras.bijectors, in float64.

For each layer (with randomized weights, so nothing is the identity): inverse(forward(x)) = x; the analytic
log-det equals log|det J| of a float64 batch_jacobian; through the tfb.Bijector view, fldj(x) = -ildj(forward(x));
the layer's trainable variables include every variable a forward pass touches, and each one changes the output.
"""

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.bijectors import (
    ActNorm, AffineCoupling, FactorOut, InvertibleConv1x1, LayerBijector, ResNetCoupling, Squeeze)
from mpkeras.testing.invariants import numerical_log_det

F64 = dict(dtype="float64")
RNG = np.random.default_rng(0)
IMAGES = tf.constant(RNG.normal(size=(3, 4, 4, 4)))  # (B, H, W, C)
VECTORS = tf.constant(RNG.normal(size=(3, 6)))  # (B, D)
FEATURES = tf.constant(RNG.normal(size=(3, 4, 4, 2)))  # an image-shaped conditioning input
CODES = tf.constant(RNG.normal(size=(3, 5)))  # a vector conditioning input

CASES = {
    "coupling_vector_half": (lambda: AffineCoupling("half", event_ndims=1, hidden_units=8, **F64), VECTORS, {}),
    "coupling_vector_mask_conditional": (
        lambda: AffineCoupling([1, 0, 0, 1, 1, 0], reverse=True, event_ndims=1, hidden_units=8, **F64), VECTORS,
        {"conditions": CODES}),
    "coupling_channel": (lambda: AffineCoupling("channel", hidden_units=8, **F64), IMAGES, {}),
    "coupling_channel_reverse_feature_map": (lambda: AffineCoupling("channel", reverse=True, hidden_units=8, **F64),
                                             IMAGES, {"conditions": FEATURES}),
    "coupling_checkerboard_vector_condition": (lambda: AffineCoupling("checkerboard", hidden_units=8, **F64), IMAGES,
                                               {"conditions": CODES}),
    "resnet_coupling_checkerboard": (lambda: ResNetCoupling(mask="checkerboard", hidden_units=4, num_blocks=2, **F64),
                                     IMAGES, {}),
    "resnet_coupling_channel_reverse": (
        lambda: ResNetCoupling(mask="channel", reverse=True, hidden_units=4, num_blocks=1, **F64), IMAGES, {}),
    "actnorm": (lambda: ActNorm(**F64), IMAGES, {}),
    "actnorm_vector": (lambda: ActNorm(event_ndims=1, **F64), VECTORS, {}),
    "invconv": (lambda: InvertibleConv1x1(seed=3, **F64), IMAGES, {}),
    "invconv_vector": (lambda: InvertibleConv1x1(event_ndims=1, seed=4, **F64), VECTORS, {}),
    "squeeze": (lambda: Squeeze(**F64), IMAGES, {}),
    "squeeze_factored": (lambda: Squeeze(**F64), IMAGES, {"factored": 2}),
    "factor_out": (lambda: FactorOut(**F64), IMAGES, {}),
    "factor_out_conditional": (lambda: FactorOut(**F64), IMAGES, {"conditions": FEATURES}),
    "top_prior_conditional": (lambda: FactorOut(use_half=False, **F64), IMAGES, {"conditions": FEATURES}),
}


def randomize(layer, seed=0):
    """Builds the layer and sets every trainable weight to random values (zero-initialized nets included)."""
    rng = np.random.default_rng(seed)
    for w in layer.trainable_weights:
        w.assign(0.3 * rng.normal(size=w.shape))
    return layer


def make(name):
    factory, x, kwargs = CASES[name]
    layer = factory()
    layer.forward(x, **kwargs)  # build
    return randomize(layer), x, kwargs


@pytest.mark.parametrize("name", sorted(CASES))
def test_inverse_log_det_and_facade(name):
    layer, x, kwargs = make(name)
    y, log_det = layer.forward(x, **kwargs)
    x_back, inverse_log_det = layer.inverse(y, **kwargs)
    np.testing.assert_allclose(x_back, x, atol=1e-10)
    assert name.startswith("squeeze") or not np.allclose(y, x), "a randomized layer should not be the identity"
    expected = numerical_log_det(lambda t: layer.forward(t, **kwargs)[0], x)
    np.testing.assert_allclose(log_det, expected, atol=1e-8)
    np.testing.assert_allclose(inverse_log_det, -log_det, atol=1e-8)
    # Through the stateless tfb.Bijector view.
    factored = kwargs.pop("factored", 0)
    bijector = layer.bijector(passthrough=factored, **kwargs)
    ndims = layer.event_ndims
    np.testing.assert_allclose(bijector.forward(x), y, atol=1e-12)
    fldj = bijector.forward_log_det_jacobian(x, event_ndims=ndims)
    ildj = layer.bijector(passthrough=factored, **kwargs).inverse_log_det_jacobian(y, event_ndims=ndims)
    np.testing.assert_allclose(fldj, -ildj, atol=1e-8)
    np.testing.assert_allclose(fldj, expected, atol=1e-8)
    assert tuple(bijector.forward_event_shape(x.shape[1:])) == tuple(y.shape[1:])
    assert tuple(bijector.inverse_event_shape(y.shape[1:])) == tuple(x.shape[1:])


@pytest.mark.parametrize("name", sorted(CASES))
def test_trainable_variables_cover_every_weight_used(name):
    layer, x, kwargs = make(name)
    kwargs.pop("factored", None)
    with tf.GradientTape() as tape:
        y, log_det = layer.bijector(**kwargs).forward(x), layer.forward(x, **kwargs)[1]
        objective = tf.reduce_sum(tf.sin(y)) + tf.reduce_sum(log_det)
    used = {id(v) for v in tape.watched_variables() if v.trainable}
    owned = {id(w.value) for w in layer.trainable_weights}
    assert used <= owned, "a forward pass used trainable variables the Keras layer does not own"
    grads = tape.gradient(objective, [w.value for w in layer.trainable_weights])
    for w, g in zip(layer.trainable_weights, grads):
        assert g is not None and np.any(np.abs(g) > 0), f"{w.path} does not affect the output"


def test_facade_runs_the_layer_once_for_value_and_log_det():
    layer, x, _ = make("coupling_channel")
    calls = []
    forward = layer.forward
    layer.forward = lambda t, **kw: calls.append(1) or forward(t, **kw)
    bijector = layer.bijector()
    bijector.forward(x)
    bijector.forward_log_det_jacobian(x, event_ndims=3)
    assert len(calls) == 1
    assert isinstance(bijector, LayerBijector) and not bijector.trainable_variables  # the view holds no variables


def test_coupling_starts_as_identity():
    for layer, x in ((AffineCoupling("checkerboard", **F64), IMAGES), (AffineCoupling("half", event_ndims=1, **F64),
                                                                        VECTORS)):
        y, log_det = layer.forward(x)
        np.testing.assert_allclose(y, x)
        np.testing.assert_allclose(log_det, 0.0)


@pytest.mark.parametrize("mask,reverse", [("checkerboard", False), ("checkerboard", True), ("channel", False),
                                          ("channel", True)])
def test_resnet_coupling_keeps_its_half_and_transforms_the_other(mask, reverse):
    """The kept half (pixels with (i + j) even, or the first / last half of the channels) passes unchanged;
    every element of the other half changes; a fresh layer is the identity (zero-initialized last conv)."""
    layer = ResNetCoupling(mask=mask, reverse=reverse, hidden_units=4, num_blocks=1, **F64)
    y, log_det = layer.forward(IMAGES)
    np.testing.assert_allclose(y, IMAGES)
    np.testing.assert_allclose(log_det, 0.0)
    randomize(layer)
    y = layer.forward(IMAGES)[0].numpy()
    if mask == "checkerboard":
        i, j = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
        kept = np.broadcast_to(((i + j) % 2 == int(reverse))[None, :, :, None], IMAGES.shape)
    else:
        kept = np.zeros(IMAGES.shape, bool)
        kept[..., 2:] = not reverse  # 4 channels: the last 2 kept, or (reverse) the first 2
        kept[..., :2] = reverse
    np.testing.assert_array_equal(y[kept], IMAGES.numpy()[kept])
    assert np.all(np.abs(y[~kept] - IMAGES.numpy()[~kept]) > 1e-6)


def test_actnorm_initializes_from_the_first_training_batch_once():
    layer = ActNorm(**F64)
    first = IMAGES * 3.0 + 1.5
    step = tf.function(lambda t: layer.forward(t, training=True))  # the graph path (tf.cond on `initialized`)
    y, _ = step(first)
    np.testing.assert_allclose(tf.reduce_mean(y, [0, 1, 2]), 0.0, atol=1e-10)
    np.testing.assert_allclose(tf.math.reduce_std(y, [0, 1, 2]), 1.0, atol=1e-5)
    weights = [w.numpy().copy() for w in layer.weights]
    step(IMAGES * 0.1 - 4.0)  # a different batch: no second initialization
    for before, w in zip(weights, layer.weights):
        np.testing.assert_array_equal(w.numpy(), before)
    # A copy with the saved weights (initialized = 1) does not initialize either.
    clone = ActNorm(**F64)
    clone.build(IMAGES.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone.forward(IMAGES * 0.1 - 4.0, training=True)[0],
                               layer.forward(IMAGES * 0.1 - 4.0)[0])
    # Without training=True nothing initializes.
    fresh = ActNorm(**F64)
    np.testing.assert_allclose(fresh.forward(first)[0], first)
    assert float(fresh.initialized.numpy()) == 0.0


def test_invconv_is_a_rotation_at_init_and_lu_parts_are_structured():
    layer = InvertibleConv1x1(seed=1, **F64)
    layer.build(IMAGES.shape)
    w = layer.weight().numpy()
    np.testing.assert_allclose(w @ w.T, np.eye(4), atol=1e-10)
    assert not layer.permutation.trainable and not layer.sign_s.trainable
    # Only the strict triangles of L and U matter: changing the other entries leaves W unchanged.
    layer.lower.assign(layer.lower + np.triu(np.ones((4, 4))))
    layer.upper.assign(layer.upper + np.tril(np.ones((4, 4))))
    np.testing.assert_allclose(layer.weight(), w, atol=1e-12)


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="Unknown mask"):
        AffineCoupling("stripes")
    with pytest.raises(ValueError, match="at least 2 channels"):
        AffineCoupling("channel").forward(tf.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match="divisible by 2"):
        Squeeze().forward(tf.zeros((1, 3, 4, 1)))
    with pytest.raises(ValueError, match="mask has 3 entries"):
        AffineCoupling([1, 0, 1], event_ndims=1).forward(tf.zeros((1, 4)))
