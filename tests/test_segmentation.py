"""Segmentation models (FCN, U-Net), IoU metrics, figures and recipe smoke runs."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli
from mpkeras.layers import UPSAMPLING_KINDS, MaxPoolWithArgmax, MaxUnpool
from mpkeras.metrics import iou_from_confusion, mean_iou_metric, segmentation_scores
from mpkeras.models import FCN, UNet
from mpkeras.models.segmentation import Segmenter
from mpkeras.testing import get_fixture

SMALL = dict(input_shape=(16, 16, 1), num_classes=3, filters=(4, 8, 8), convs_per_block=1, seed=0)


def _images(n=2, shape=(16, 16, 1), seed=0):
    return np.random.default_rng(seed).uniform(size=(n, *shape)).astype(np.float32)


# === Skip connections ===


def _perturbed_skip_outputs(model, level):
    """Outputs of decode(encode(x)) before and after adding noise to one encoder skip tensor."""
    x = tf.constant(_images())
    model(x)
    encoded = model.encode(x)
    before = model.decode(encoded).numpy()
    skips = list(encoded["skips"])
    skips[level] = skips[level] + tf.random.stateless_normal(tf.shape(skips[level]), seed=[1, 2])
    after = model.decode({**encoded, "skips": skips}).numpy()
    return before, after


@pytest.mark.parametrize("level", [0, 1])
def test_unet_decoder_uses_every_skip_tensor_and_fcn_none(level):
    keras.utils.set_random_seed(0)
    before, after = _perturbed_skip_outputs(UNet(**SMALL), level)
    assert np.abs(after - before).max() > 1e-3, "perturbing an encoder skip tensor did not change the U-Net output"
    before, after = _perturbed_skip_outputs(FCN(**SMALL), level)
    np.testing.assert_array_equal(after, before)  # the FCN decoder never reads the skips


def test_unet_concatenates_skips_into_the_decoder():
    model = UNet(**SMALL)
    model(_images())
    assert [c.name for c in model.concats] == ["skip_0", "skip_1"]
    # Decoder conv at level l sees [upsampled (f_l), skip (f_l)] = 2 f_l input channels; the FCN's sees f_l.
    assert model.decoder_blocks[0][0].kernel.shape == (3, 3, 8, 4)
    assert model.decoder_blocks[1][0].kernel.shape == (3, 3, 16, 8)
    fcn = FCN(**SMALL)
    fcn(_images())
    assert fcn.concats == [] and fcn.decoder_blocks[0][0].kernel.shape == (3, 3, 4, 4)


# === Every decoder kind ===


@pytest.mark.parametrize("upsampling", UPSAMPLING_KINDS)
@pytest.mark.parametrize("cls", [FCN, UNet])
def test_every_upsampling_kind_gives_full_size_logits_and_gradients(cls, upsampling):
    keras.utils.set_random_seed(0)
    model = cls(**{**SMALL, "upsampling": upsampling})
    x = _images(3)
    y = np.random.default_rng(1).integers(0, 3, size=(3, 16, 16))
    model.compile()
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=logits)
    assert logits.shape == (3, 16, 16, 3) and logits.dtype == tf.float32
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    uses_argmax = any(isinstance(p, MaxPoolWithArgmax) for p in model.pools)
    assert uses_argmax == (upsampling == "max_unpool")
    assert any(isinstance(u, MaxUnpool) for u in model.upsamplers) == (upsampling == "max_unpool")


def test_max_unpool_fcn_puts_decoder_values_at_the_encoder_maxima():
    """With max_unpool, the first decoder tensor is non-zero only where the encoder's pooling found maxima."""
    model = FCN(**{**SMALL, "filters": (4, 8), "upsampling": "max_unpool"})
    x = tf.constant(_images())
    model(x)
    encoded = model.encode(x)
    h = model.projections[0](encoded["features"])
    unpooled = model.upsamplers[0]([h, encoded["argmax"][0]]).numpy()  # (2, 16, 16, 4)
    positions = np.zeros(unpooled.size, bool)
    positions[encoded["argmax"][0].numpy().ravel()] = True
    assert np.all(unpooled.ravel()[~positions] == 0)
    assert positions.sum() == unpooled.size // 4  # one position per 2x2 block


# === Input checks ===


@pytest.mark.parametrize("cls", [FCN, UNet])
def test_bad_images_raise_clear_errors(cls):
    model = cls(**SMALL)
    with pytest.raises(ValueError, match="rank 3.*x\\[..., None\\]"):
        model(np.zeros((2, 16, 16), np.float32))
    with pytest.raises(ValueError, match="3 channels.*\\(16, 16, 1\\)"):
        model(np.zeros((2, 16, 16, 3), np.float32))
    with pytest.raises(TypeError, match="uint8.*floating-point"):
        model(np.zeros((2, 16, 16, 1), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        model.predict_outputs(tf.zeros((2, 16, 16, 1), tf.uint8))
    with pytest.raises(ValueError, match="expected \\(batch, 16, 16, 1\\)"):
        model.predict_outputs(np.zeros((2, 8, 8, 1), np.float32))


def test_constructor_errors():
    with pytest.raises(ValueError, match="multiple of 2\\^2 = 4"):
        UNet(input_shape=(18, 16, 1), filters=(4, 8, 8))
    with pytest.raises(ValueError, match="Unknown upsampling 'bilinear'"):
        FCN(upsampling="bilinear")
    with pytest.raises(ValueError, match="at least two levels"):
        FCN(filters=(8,))


# === Serving, standardization, config ===


def test_serving_outputs_and_per_channel_standardization():
    model = UNet(**{**SMALL, "input_shape": (16, 16, 3), "input_mean": (0.1, 0.2, 0.3), "input_std": (1.0, 2.0, 4.0)})
    x = _images(2, (16, 16, 3))
    out = model.predict_outputs(x)
    logits = model(x).numpy()
    assert out["class_map"].dtype == tf.int32 and out["class_map"].shape == (2, 16, 16)
    np.testing.assert_array_equal(out["class_map"].numpy(), logits.argmax(-1))
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
    # Standardizing by hand and running a copy with mean 0, std 1 gives the same logits.
    plain = UNet.from_config({**model.get_config(), "input_mean": 0.0, "input_std": 1.0})
    plain(x)
    plain.set_weights(model.get_weights())
    standardized = (x - np.array([0.1, 0.2, 0.3], np.float32)) / np.array([1.0, 2.0, 4.0], np.float32)
    np.testing.assert_allclose(plain(standardized).numpy(), logits, rtol=1e-4, atol=1e-5)
    config = json.loads(json.dumps(model.get_config()))  # survives JSON (tuples become lists)
    assert UNet.from_config(config).get_config() == model.get_config()


def test_a_subclass_overriding_encode_and_decode_trains():
    @keras.saving.register_keras_serializable(package="mpkeras_test")
    class Pointwise(Segmenter):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Conv2D(8, 1, activation="relu")
            self.head = keras.layers.Conv2D(self.num_classes, 1)

        def encode(self, x, training=False):
            return self.hidden(x)

        def decode(self, h, training=False):
            return self.head(h)

    fx = get_fixture("fcn")
    keras.utils.set_random_seed(0)
    model = Pointwise(input_shape=(16, 16, 1), num_classes=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    first = model.evaluate(fx.x, fx.y, verbose=0)
    model.fit(fx.x, fx.y, epochs=30, batch_size=8, verbose=0)
    assert model.evaluate(fx.x, fx.y, verbose=0) < 0.7 * first
    assert model.predict_outputs(fx.x)["class_map"].shape == (8, 16, 16)


# === Metrics ===


def test_iou_from_a_hand_computed_confusion_matrix():
    # Truth rows, predicted columns: class 0: 3 right, 1 called 1; class 1: 2 right; class 2 never occurs.
    scores = iou_from_confusion([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    np.testing.assert_allclose(scores["per_class_iou"][:2], [3 / 4, 2 / 3])
    assert np.isnan(scores["per_class_iou"][2])
    assert scores["mean_iou"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert scores["pixel_accuracy"] == pytest.approx(5 / 6)


def test_segmentation_scores_match_numpy_and_keras():
    keras.utils.set_random_seed(0)
    model = FCN(**SMALL)
    x = _images(6)
    y = np.random.default_rng(2).integers(0, 3, size=(6, 16, 16)).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    scores = segmentation_scores(model, ds, num_classes=3)
    pred = model(x).numpy().argmax(-1)
    confusion = np.zeros((3, 3), np.int64)
    np.add.at(confusion, (y.ravel(), pred.ravel()), 1)
    np.testing.assert_array_equal(scores["confusion_matrix"], confusion)
    assert scores["pixel_accuracy"] == pytest.approx((pred == y).mean())
    assert scores["mean_iou"] == pytest.approx(iou_from_confusion(confusion)["mean_iou"], rel=1e-5)
    metric = mean_iou_metric(3)
    metric.update_state(y, model(x))
    assert float(metric.result()) == pytest.approx(scores["mean_iou"], rel=1e-5)

    bad = tf.data.Dataset.from_tensor_slices((x, np.full_like(y, 3))).batch(4)
    with pytest.raises(ValueError, match="label 3 is outside the valid range \\[0, 3\\)"):
        segmentation_scores(model, bad, num_classes=3)


def test_segmentation_panels_figure(tmp_path):
    from mpkeras.train import figures

    masks = np.random.default_rng(0).integers(0, 11, size=(4, 8, 8))
    path = figures.segmentation_panels(_images(4, (8, 8, 1)), masks, masks[::-1], str(tmp_path / "p.png"),
                                       [str(d) for d in range(10)] + ["background"], background=10, title="t")
    assert (tmp_path / "p.png").stat().st_size > 1000 and path.endswith("p.png")
    colors = figures.class_colors(11, background=10)
    assert np.all(colors[10] == 0) and len({tuple(c) for c in colors}) == 11


# === Recipes, end to end ===


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.mark.parametrize("name", ["fcn", "unet"])
def test_recipe_smoke_end_to_end(name, tmp_path, data_dir):
    report = cli.load_recipe(name).main(
        ["--smoke", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0", "--filters", "8,16"]
    )
    run_dir = tmp_path / "runs" / name
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["test"] == report["test"]
    assert 0.0 <= report["test"]["test_mean_iou"] <= 1.0 and 0.0 <= report["test"]["test_pixel_accuracy"] <= 1.0
    assert "test_iou_background" in report["test"] and "test_iou_7" in report["test"]
    assert "mean_iou" in report["history"] and "val_mean_iou" in report["history"]
    assert (run_dir / "figures" / "predictions.png").exists()
    card = json.loads((tmp_path / "exported" / name / "1" / "assets.extra" / "model_card.json").read_text())
    assert card["dataset"] == "mnist_seg" and card["config"]["filters"] == [8, 16]
    assert set(card["signatures"]["serving_default"]["outputs"]) == {"class_map", "probabilities"}
