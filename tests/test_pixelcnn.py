"""PixelCNN and Gated PixelCNN: masks, the ordering invariant, the blind spot, normalization, sampling, conditioning."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import MaskedConv2D, pixelcnn_mask
from mpkeras.models import GatedPixelCNN, PixelCNN


def _jacobian(model, x, labels=None):
    """d logits / d inputs as (out sub-pixel, [level,] in sub-pixel) for one flat image x (1, D)."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model.logits(x, labels=labels)
    jacobian = tape.jacobian(logits, x).numpy()[0]  # (D, [K,] 1, D)
    return np.moveaxis(jacobian, -2, 0)[0] if jacobian.ndim == 4 else jacobian[:, 0]


def test_pixelcnn_masks_a_and_b_with_colour_groups():
    a = pixelcnn_mask((3, 3), 3, 6, "A", color_groups=3)  # image RGB -> 6 features, two per group
    b = pixelcnn_mask((3, 3), 6, 6, "B", color_groups=3)
    for mask in (a, b):
        assert np.all(mask[0] == 1) and np.all(mask[1, 0] == 1)  # the row above, the pixel to the left
        assert np.all(mask[2] == 0) and np.all(mask[1, 2] == 0)  # the row below, the pixel to the right
    # Centre tap, (in, out): A lets G read R, B read R and G, and never the same channel; B adds each group itself.
    np.testing.assert_array_equal(a[1, 1], [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]])
    groups = np.arange(6) // 2
    np.testing.assert_array_equal(b[1, 1], groups[:, None] <= groups[None])
    with pytest.raises(ValueError, match="mask_type"):
        pixelcnn_mask((3, 3), 1, 1, "C")
    with pytest.raises(ValueError, match="multiple of color_groups"):
        pixelcnn_mask((3, 3), 3, 4, "B", color_groups=3)
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2D(4, 2)


MODELS = {
    "pixelcnn": lambda shape, **kw: PixelCNN(input_shape=shape, filters=6, num_blocks=2, first_kernel=3,
                                             output_filters=6, **kw),
    "gated_pixelcnn": lambda shape, **kw: GatedPixelCNN(input_shape=shape, filters=6, num_layers=3, first_kernel=3,
                                                        output_filters=6, **kw),
}


@pytest.mark.parametrize("name,shape,levels,classes", [
    (name, shape, levels, 0) for name in MODELS for shape, levels in (((4, 4, 1), 2), ((3, 3, 3), 256))
] + [("gated_pixelcnn", (3, 3, 3), 2, 4)])
def test_output_i_has_zero_gradient_from_inputs_at_or_after_i(name, shape, levels, classes):
    """Raster order over pixels, R -> G -> B inside a pixel: sub-pixel d reads only sub-pixels j < d."""
    keras.utils.set_random_seed(0)
    model = MODELS[name](shape, num_levels=levels, num_classes=classes)
    d = int(np.prod(shape))
    x = np.random.default_rng(1).uniform(size=(1, d)).astype(np.float32)
    labels = tf.constant([1]) if classes else None
    jacobian = np.abs(_jacobian(model, x, labels))  # (D, [K,] D)
    reach = jacobian.reshape(d, -1, d).max(axis=1)  # (out, in)
    later = np.arange(d)[None, :] >= np.arange(d)[:, None]
    assert np.all(reach[later] == 0)
    assert np.mean(reach[np.tril_indices(d, -1)] > 0) > 0.5  # ... and it reads earlier ones (some ReLUs are dead)


@pytest.mark.parametrize("name,shape,levels,classes", [
    ("pixelcnn", (2, 3, 3), 256, 0), ("pixelcnn", (2, 3, 1), 2, 0), ("gated_pixelcnn", (2, 3, 3), 4, 2)])
def test_sampling_logits_of_one_sub_pixel_equal_the_full_logits(name, shape, levels, classes):
    """pixel_logits (the output layers at one position, what sampling runs) = logits of that sub-pixel."""
    keras.utils.set_random_seed(0)
    model = MODELS[name](shape, num_levels=levels, num_classes=classes)
    x = tf.constant(np.random.default_rng(0).uniform(size=(2, int(np.prod(shape)))).astype(np.float32))
    labels = tf.constant([0, 1]) if classes else None
    full = model.logits(x, labels=labels).numpy()  # (B, D[, K])
    for pixel in range(x.shape[1]):
        np.testing.assert_allclose(model.pixel_logits(x, pixel, labels).numpy(), full[:, pixel], atol=1e-5)


def test_gated_pixelcnn_has_no_blind_spot_and_pixelcnn_has_one():
    """The receptive field of pixel (3, 1) in a 6x6 image: PixelCNN's k x k mask-B stacks miss the up-right
    cone (e.g. (2, 3), (2, 4)), however deep; the gated vertical + horizontal stacks see every earlier pixel."""
    keras.utils.set_random_seed(0)
    shape, target = (6, 6, 1), 3 * 6 + 1
    x = np.random.default_rng(0).uniform(size=(1, 36)).astype(np.float32)
    earlier = np.arange(36) < target
    plain = PixelCNN(input_shape=shape, filters=8, num_blocks=6, first_kernel=3)
    gated = GatedPixelCNN(input_shape=shape, filters=8, num_layers=6, first_kernel=3)
    seen_plain = np.abs(_jacobian(plain, x)[target]) > 0
    seen_gated = np.abs(_jacobian(gated, x)[target]) > 0
    blind = earlier & ~seen_plain
    assert blind.reshape(6, 6)[2, 3] and blind.reshape(6, 6)[2, 4] and blind.reshape(6, 6)[1, 5]
    assert np.all(seen_gated[earlier]), f"gated blind spot at {np.argwhere(~seen_gated.reshape(6, 6) & earlier.reshape(6, 6))}"
    assert not np.any(seen_gated[~earlier]) and not np.any(seen_plain[~earlier])


def _fit(model, x, epochs=5):
    model.compile(optimizer=keras.optimizers.Adam(5e-2))
    model.fit(x, epochs=epochs, batch_size=64, verbose=0)
    return model


@pytest.mark.parametrize("name", list(MODELS))
def test_probabilities_sum_to_one_binary_and_over_colour_levels(name):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    binary = MODELS[name]((2, 4, 1))
    _fit(binary, (rng.uniform(size=(64, 2, 4, 1)) < np.linspace(0.1, 0.9, 8).reshape(2, 4, 1)).astype(np.float32))
    images = np.array(list(itertools.product([0, 1], repeat=8)), np.float32).reshape(-1, 2, 4, 1)
    np.testing.assert_allclose(np.exp(binary.log_prob(images)["log_prob"].numpy().astype(np.float64)).sum(), 1.0,
                               rtol=1e-5)
    # 4 levels on a 1x2 RGB image: 4^6 = 4,096 images, R -> G -> B inside each pixel.
    colour = MODELS[name]((1, 2, 3), num_levels=4)
    _fit(colour, rng.integers(0, 4, size=(64, 1, 2, 3)).astype(np.float32) / 3)
    images = np.array(list(itertools.product(range(4), repeat=6)), np.float32).reshape(-1, 1, 2, 3) / 3
    total = np.exp(colour.log_prob(images)["log_prob"].numpy().astype(np.float64)).sum()
    np.testing.assert_allclose(total, 1.0, rtol=1e-4)


def test_categorical_samples_follow_the_model():
    """20,000 in-graph samples of a 1x1 RGB image with 4 levels (64 outcomes) match exp(log_prob)."""
    keras.utils.set_random_seed(0)
    model = _fit(MODELS["gated_pixelcnn"]((1, 1, 3), num_levels=4),
                 (np.random.default_rng(0).integers(0, 4, size=(64, 1, 1, 3)) * [1, 1, 0] / 3).astype(np.float32))
    n = 20_000
    samples = tf.function(model.sample)(n, tf.constant([5, 6]))["samples"].numpy().reshape(n, 3)
    assert set(np.unique(samples * 3).round(4)) <= {0.0, 1.0, 2.0, 3.0}
    codes = np.round(samples * 3).astype(int) @ np.array([16, 4, 1])
    empirical = np.bincount(codes, minlength=64) / n
    outcomes = np.array(list(itertools.product(range(4), repeat=3)), np.float32).reshape(-1, 1, 1, 3) / 3
    exact = np.exp(model.log_prob(outcomes)["log_prob"].numpy().astype(np.float64))
    reference = np.bincount(np.random.default_rng(0).choice(64, size=n, p=exact / exact.sum()), minlength=64) / n
    assert 0.5 * np.abs(empirical - exact).sum() < 1.5 * 0.5 * np.abs(reference - exact).sum()


def test_class_conditioning_is_learned_and_steers_samples():
    """Class 0 digits are the top row lit, class 1 the bottom row: the conditional model learns each."""
    keras.utils.set_random_seed(0)
    labels = np.arange(64, dtype=np.int32) % 2
    images = np.zeros((64, 2, 4, 1), np.float32)
    images[labels == 0, 0] = 1.0
    images[labels == 1, 1] = 1.0
    model = _fit(MODELS["gated_pixelcnn"]((2, 4, 1), num_classes=2), {"images": images, "labels": labels}, epochs=40)
    log_p = model.log_prob(images[:2], labels[:2])["log_prob"].numpy()
    swapped = model.log_prob(images[:2], labels[:2][::-1].copy())["log_prob"].numpy()
    assert np.all(log_p > np.log(0.5)) and np.all(swapped < log_p - 5)
    samples = tf.function(model.sample_conditional)(tf.constant([0, 1, 0, 1]), tf.constant([1, 2]))["samples"]
    np.testing.assert_array_equal(samples.numpy(), images[:4])
    # Completion keeps the given pixels.
    given = images[:2].copy()
    completed = model.complete(given, 4, tf.constant([3, 4]), labels[:2])["samples"].numpy()
    np.testing.assert_array_equal(completed[:, 0], given[:, 0])


def test_bad_inputs_get_clear_errors():
    model = MODELS["gated_pixelcnn"]((2, 4, 1), num_classes=2)
    images = np.zeros((2, 2, 4, 1), np.float32)
    with pytest.raises(ValueError, match="class-conditional"):
        model(images)
    with pytest.raises(ValueError, match="unconditional"):
        MODELS["pixelcnn"]((2, 4, 1))({"images": images, "labels": np.zeros(2, np.int32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be class ids"):
        model.sample_conditional(np.array([0, 2], np.int32), tf.constant([0, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be binary"):
        model.log_prob(np.full((2, 2, 4, 1), 0.5, np.float32), np.zeros(2, np.int32))
    eight_bit = MODELS["pixelcnn"]((2, 4, 1), num_levels=256)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"pixel values in \[0, 1\]"):
        eight_bit.log_prob(np.full((2, 2, 4, 1), 255.0, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"pixel values in \[0, 1\]"):
        eight_bit.log_prob(np.full((2, 2, 4, 1), np.nan, np.float32))
    with pytest.raises(TypeError, match="to_float"):
        eight_bit(np.zeros((2, 2, 4, 1), np.uint8))
    with pytest.raises(ValueError, match="multiple of the 3 image channels"):
        PixelCNN(input_shape=(4, 4, 3), filters=4)
    with pytest.raises(ValueError, match="binary images only"):
        from mpkeras.models import NADE

        NADE(input_shape=(2, 4, 1), num_levels=256)
    with pytest.raises(ValueError, match="no class-conditional form"):
        PixelCNN(input_shape=(2, 4, 1), num_classes=10)


def test_recipe_smoke_conditional_8_bit(tmp_path):
    from mpkeras import cli

    report = cli.load_recipe("gated_pixelcnn").main(
        ["--smoke", "--out", str(tmp_path), "--data-dir", str(tmp_path / "tfds"), "--verbose", "0", "--filters", "4",
         "--num-layers", "2", "--first-kernel", "3", "--levels", "256", "--conditional"])
    test = report["test"]
    assert test["pixels"] == "256 levels" and 0 < test["test_bits_per_dim"] < 8.0 + 1e-6
    figures = tmp_path / "runs" / "gated_pixelcnn" / "figures"
    assert (figures / "samples.png").exists() and (figures / "completions.png").exists()
