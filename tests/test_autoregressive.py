"""Autoregressive density models (FVSBN, MADE): the degree rule, normalization, the ordering invariant, sampling."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import MaskedDense, made_degrees, made_masks
from mpkeras.models import FVSBN, MADE, NADE, GatedPixelCNN, PixelCNN, PixelRNN

SHAPE = (2, 4, 1)  # n = 8 pixels: all 2^8 images can be enumerated
MODELS = {
    "fvsbn": lambda: FVSBN(input_shape=SHAPE),
    "nade": lambda: NADE(input_shape=SHAPE, hidden_units=16),
    "made": lambda: MADE(input_shape=SHAPE, hidden_units=(16, 16)),
    "made_random_k3": lambda: MADE(input_shape=SHAPE, hidden_units=(16, 16), ordering="random", num_masks=3, seed=2),
}
ALL_IMAGES = np.array(list(itertools.product([0, 1], repeat=8)), np.float32).reshape(-1, *SHAPE)


def _trained(key):
    """A model fitted briefly to skewed data, so its conditionals are far from 1/2."""
    keras.utils.set_random_seed(0)
    model = MODELS[key]()
    x = (np.random.default_rng(0).uniform(size=(64, *SHAPE)) < np.linspace(0.1, 0.9, 8).reshape(SHAPE))
    model.compile(optimizer=keras.optimizers.Adam(5e-2))
    model.fit(x.astype(np.float32), epochs=5, batch_size=64, verbose=0)
    return model


def test_degree_rule_masks():
    degrees = made_degrees(6, (5, 4), ordering="random", seed=3)
    assert sorted(degrees[0]) == list(range(1, 7))
    for d in degrees[1:]:
        assert d.min() >= 1 and d.max() <= 5  # hidden degrees in [1, D - 1]
    masks = made_masks(degrees)
    assert [m.shape for m in masks] == [(6, 5), (5, 4), (4, 6)]
    np.testing.assert_array_equal(masks[0], degrees[1][None] >= degrees[0][:, None])  # >= for hidden layers
    np.testing.assert_array_equal(masks[2], degrees[0][None] > degrees[2][:, None])  # > for the output
    # The product of the masks connects input j to output i only if j comes earlier.
    reach = masks[0] @ masks[1] @ masks[2]  # (D, D): paths j -> i
    earlier = degrees[0][:, None] < degrees[0][None, :]
    assert not reach[~earlier].any()
    with pytest.raises(ValueError, match="permutation"):
        made_degrees(3, (4,), ordering=[1, 1, 2])


def test_masked_dense_applies_the_mask_functionally():
    layer = MaskedDense(3, mask=np.triu(np.ones((3, 3), np.float32), 1))
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x) ** 2)
    grad = tape.gradient(y, layer.kernel).numpy()
    assert np.all(grad[np.tril_indices(3)] == 0)  # masked entries get no gradient
    assert np.any(layer.kernel.numpy()[np.tril_indices(3)] != 0)  # ... and stay in the kernel, unused
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ (layer.kernel.numpy() * np.triu(np.ones((3, 3)), 1)),
                               rtol=1e-6)


@pytest.mark.parametrize("key", list(MODELS))
def test_probabilities_of_all_2_to_the_n_images_sum_to_one(key):
    model = _trained(key)
    total = np.exp(model.log_prob(ALL_IMAGES)["log_prob"].numpy().astype(np.float64)).sum()
    np.testing.assert_allclose(total, 1.0, rtol=1e-5)
    if model.num_masks > 1 if hasattr(model, "num_masks") else False:
        ensemble = np.exp(model.log_prob_ensemble(ALL_IMAGES)["log_prob"].numpy().astype(np.float64)).sum()
        np.testing.assert_allclose(ensemble, 1.0, rtol=1e-5)


@pytest.mark.parametrize("key", list(MODELS))
def test_output_i_has_zero_gradient_from_inputs_at_or_after_i_in_the_ordering(key):
    model = _trained(key)
    for mask_index in range(getattr(model, "num_masks", 1)):
        rank = np.empty(8, int)
        rank[model.mask_order(mask_index) if isinstance(model, MADE) else model.order] = np.arange(8)
        later = rank[None, :] >= rank[:, None]  # (out i, in j): j at or after i in this ordering
        x = tf.constant(np.random.default_rng(mask_index).uniform(size=(1, 8)).astype(np.float32))
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model.logits(x, mask_index=mask_index) if isinstance(model, MADE) else model.logits(x)
        jacobian = tape.jacobian(logits, x)[0, :, 0, :].numpy()  # (out, in)
        assert np.all(jacobian[later] == 0), f"mask {mask_index}"
        assert np.any(jacobian[~later] != 0)  # it does use the earlier pixels


def test_sampling_follows_the_model_and_the_seed():
    model = _trained("made_random_k3")
    n = 20_000
    a = model.sample(n, tf.constant([1, 2]))["samples"].numpy()
    np.testing.assert_array_equal(a[:5], model.sample(n, tf.constant([1, 2]))["samples"].numpy()[:5])
    assert set(np.unique(a)) <= {0.0, 1.0}
    # The empirical frequencies of the 256 images match exp(log_prob).
    codes = a.reshape(len(a), -1) @ (2 ** np.arange(7, -1, -1))
    empirical = np.bincount(codes.astype(int), minlength=256) / len(a)
    exact = np.exp(model.log_prob(ALL_IMAGES)["log_prob"].numpy())
    exact = exact / exact.sum()
    # Total variation, against that of n exact draws (sampling noise alone: ~0.04 here).
    reference = np.bincount(np.random.default_rng(0).choice(256, size=n, p=exact), minlength=256) / n
    assert 0.5 * np.abs(empirical - exact).sum() < 1.5 * 0.5 * np.abs(reference - exact).sum()


IMAGE_MODELS = {
    **MODELS,
    "pixelcnn": lambda: PixelCNN(input_shape=SHAPE, filters=4, num_blocks=1, first_kernel=3, output_filters=4),
    "gated_pixelcnn": lambda: GatedPixelCNN(input_shape=SHAPE, filters=4, num_layers=2, first_kernel=3,
                                            output_filters=4),
    "pixelrnn": lambda: PixelRNN(input_shape=SHAPE, hidden_units=4, input_kernel_size=3, output_units=4),
}


@pytest.mark.parametrize("key", list(IMAGE_MODELS))
def test_bad_images_get_clear_errors(key):
    """The base's checks, in Python and in the served graph, hold for every binary image model."""
    model = IMAGE_MODELS[key]()
    with pytest.raises(ValueError, match="shape|size|rank"):
        model(np.zeros((2, 3, 4, 1), np.float32))
    with pytest.raises(TypeError, match="to_float"):
        model(np.zeros((2, *SHAPE), np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be binary"):
        model.log_prob(np.full((2, *SHAPE), 0.5, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be binary"):
        model.log_prob(np.full((2, *SHAPE), np.nan, np.float32))


def test_bad_made_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="num_masks"):
        MADE(input_shape=SHAPE, num_masks=0)
    with pytest.raises(ValueError, match="Unknown ordering"):
        MADE(input_shape=SHAPE, ordering="zigzag")


@pytest.mark.parametrize("name,flags", [("fvsbn", []), ("made", ["--hidden-units", "32", "--num-masks", "2",
                                                                  "--ordering", "random"])])
def test_recipe_smoke_end_to_end(name, flags, mnist5k_dir, tmp_path_factory):
    import json

    from mpkeras import cli

    data_dir = mnist5k_dir
    out = tmp_path_factory.mktemp(name)
    report = cli.load_recipe(name).main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0",
                                         *flags])
    test = report["test"]
    assert np.isfinite(test["test_nll_nats"]) and test["test_nll_nats"] > 0  # nats per image
    if name == "made":
        assert test["test_nll_nats_ensemble"] > 0
    assert (out / "runs" / name / "figures" / "samples.png").exists()
    card = json.loads((out / "exported" / name / "1" / "assets.extra" / "model_card.json").read_text())
    assert set(card["signatures"]) >= {"serving_default", "sample"}


def test_nade_ancestral_sampling_equals_full_recompute_sampling():
    """The O(DH) recursion carrying a_i draws exactly what D full teacher-forced passes draw from the same noise."""
    from mpkeras.models import AutoregressiveImageModel

    model = _trained("nade")
    fast = model.sample(64, tf.constant([3, 4]))["samples"].numpy()
    slow = AutoregressiveImageModel.sample(model, 64, tf.constant([3, 4]))["samples"].numpy()
    np.testing.assert_array_equal(fast, slow)
