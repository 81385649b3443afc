"""Moving MNIST (moving_mnist5k), the next-frame pipeline, the ConvLSTM predictor and its recipe."""

import argparse
import json
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli, data
from mpkeras.data import pipelines
from mpkeras.data.embedded import Mnist5k, MovingMnist5k, _stratified_split
from mpkeras.errors import UsageError
from mpkeras.models import ConvLSTMPredictor
from mpkeras.testing.fixtures_sequence import _moving_squares
from mpkeras.train.recipe import Data

SMALL = dict(frame_shape=(8, 8, 1), filters=(4, 4), kernel_size=3, patch_size=2, patch_filters=4)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tfds"))
    data.info("moving_mnist5k", data_dir=path)  # builds (a few seconds)
    return path


def _examples(data_dir, split, n=None):
    ds = data.load("moving_mnist5k", split, data_dir=data_dir, as_supervised=False)
    return list((ds.take(n) if n else ds).as_numpy_iterator())


# === Data ===


def test_generator_is_deterministic_and_bounces_inside_the_frame():
    digits, labels = Mnist5k._arrays()
    rows = _stratified_split(labels, Mnist5k.TEST_SIZE)["test"]
    first = MovingMnist5k.compose(digits, rows, 12, seed=1)
    second = MovingMnist5k.compose(digits, rows, 12, seed=1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], MovingMnist5k.compose(digits, rows, 12, seed=2)[0])
    corners = MovingMnist5k.trajectories(np.random.default_rng(0), 200)  # (200, 20, 2)
    assert corners.min() >= 0 and corners.max() <= 64 - 28
    steps = np.linalg.norm(np.diff(corners, axis=1), axis=-1)  # speed 2..4 px, +- rounding, less at a bounce
    assert steps.max() <= 4 + np.sqrt(2) and steps.mean() > 2.5
    frames, chosen = first
    for n in np.flatnonzero(chosen[:, 1] < 0):  # one digit: every frame shows all of it
        assert (frames[n].reshape(20, -1).sum(1) == digits[chosen[n, 0]].sum()).all()
    for n in np.flatnonzero(chosen[:, 1] >= 0):  # two digits combine with max: each shows whole
        sums = frames[n].reshape(20, -1).sum(1, dtype=np.int64)
        parts = digits[chosen[n]].reshape(2, -1).sum(1, dtype=np.int64)
        assert (sums >= parts.max()).all() and (sums <= parts.sum()).all()


def test_splits_shapes_values_and_disjoint_digits(data_dir):
    info = data.info("moving_mnist5k", data_dir=data_dir)
    assert (info.splits["train"].num_examples, info.splits["test"].num_examples) == (2000, 500)
    _, labels = Mnist5k._arrays()
    mnist_rows = _stratified_split(labels, Mnist5k.TEST_SIZE)
    used = {}
    for split in ("train", "test"):
        examples = _examples(data_dir, split)
        frames = np.stack([e["frames"] for e in examples[:50]])
        assert frames.dtype == np.uint8 and frames.shape == (50, 20, 64, 64, 1)
        assert frames.max() == 255 and (frames.reshape(50, 20, -1).max(-1) > 0).all()  # no blank frame
        rows = np.stack([e["digit_rows"] for e in examples])
        classes = np.stack([e["labels"] for e in examples])
        assert set(np.unique((rows >= 0).sum(1))) == {1, 2}
        np.testing.assert_array_equal(classes, np.where(rows >= 0, labels[np.maximum(rows, 0)], -1))
        used[split] = set(rows[rows >= 0].tolist())
        assert used[split] <= set(mnist_rows[split].tolist())
    assert not used["train"] & used["test"]
    again = _examples(data_dir, "test", 5)  # a second read gives the same bytes
    for a, b in zip(again, _examples(data_dir, "test", 5)):
        np.testing.assert_array_equal(a["frames"], b["frames"])


def test_next_frame_pipeline_pairs_each_frame_with_the_next(data_dir):
    args = argparse.Namespace(dataset="moving_mnist5k", data_dir=data_dir, batch_size=4, seed=0, train_sequences=8)
    train, val, test, test_frames = pipelines.next_frame(args, max_test_arrays=3)
    x, y = next(iter(test))
    assert x.dtype == tf.float32 and x.shape == (4, 19, 64, 64, 1) and y.shape == x.shape
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) == 1.0
    np.testing.assert_array_equal(test_frames[:, :-1], x[:3])
    np.testing.assert_array_equal(test_frames[:, 1:], y[:3])
    assert sum(1 for _ in train) == 2  # 8 sequences, batches of 4


# === Model ===


def test_bad_input_errors():
    model = ConvLSTMPredictor(**SMALL)
    x = _moving_squares(2, 4)
    with pytest.raises(ValueError, match="rank 4"):
        model(x[:, 0])
    with pytest.raises(ValueError, match="6 height"):
        model(x[:, :, :6])
    with pytest.raises(ValueError, match="2 channels"):
        model(np.concatenate([x, x], -1))
    with pytest.raises(TypeError, match="uint8"):
        model((x * 255).astype(np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        model.predict_frames(tf.cast(x * 255, tf.uint8))
    with pytest.raises(ValueError, match="multiple of patch_size"):
        ConvLSTMPredictor(frame_shape=(10, 10, 1), patch_size=4)


def test_prediction_for_step_t_depends_only_on_frames_up_to_t():
    keras.utils.set_random_seed(0)
    model = ConvLSTMPredictor(**SMALL)
    x = tf.Variable(_moving_squares(2, 5))
    with tf.GradientTape(persistent=True) as tape:
        out = model(x)  # (2, 5, 8, 8, 1)
        per_step = [tf.reduce_sum(out[:, t]) for t in range(5)]
    for t, value in enumerate(per_step):
        grad = np.abs(tape.gradient(value, x).numpy()).sum(axis=(0, 2, 3, 4))  # per input frame
        assert (grad[t + 1:] == 0).all(), f"step {t} sees later frames: {grad}"
        assert (grad[: t + 1] > 0).all(), f"step {t} ignores earlier frames: {grad}"


def test_rollout_feeds_predictions_back_like_the_one_step_model():
    keras.utils.set_random_seed(0)
    model = ConvLSTMPredictor(**SMALL)
    x = _moving_squares(2, 4)
    rolled = model.rollout(x, 3)["frames"].numpy()
    assert rolled.shape == (2, 3, 8, 8, 1) and 0 < rolled.min() and rolled.max() < 1
    seq = x
    for t in range(3):  # the slow way: rerun the whole, growing sequence
        step = model.predict_frames(seq)["next_frames"].numpy()[:, -1:]
        np.testing.assert_allclose(rolled[:, t:t + 1], step, atol=1e-5)
        seq = np.concatenate([seq, step], axis=1)
    assert model.rollout(x, 0)["frames"].shape == (2, 0, 8, 8, 1)


# === Recipe ===


def test_recipe_smoke_end_to_end(tmp_path, data_dir):
    report = cli.load_recipe("convlstm").main(
        ["--smoke", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0", "--filters", "4",
         "--patch-filters", "4", "--train-sequences", "48"]
    )
    test = report["test"]
    for key in ("test_bce", "test_mse", "copy_last_test_bce", "copy_last_test_mse", "test_rollout_mse",
                "copy_last_test_rollout_mse"):
        assert np.isfinite(test[key]) and test[key] >= 0, key
    assert test["test_mse"] <= 1 and test["copy_last_test_mse"] <= 1
    run_dir = tmp_path / "runs" / "convlstm"
    assert json.loads((run_dir / "metrics.json").read_text())["test"] == test
    assert (run_dir / "figures" / "predictions.png").exists()
    card = json.loads((tmp_path / "exported" / "convlstm" / "1" / "assets.extra" / "model_card.json").read_text())
    assert card["dataset"] == "moving_mnist5k" and card["config"]["filters"] == [4]
    assert set(card["signatures"]) >= {"serving_default", "rollout"}
    assert set(card["signatures"]["serving_default"]["outputs"]) == {"next_frames"}


def test_recipe_takes_the_frame_size_channels_and_count_from_the_data():
    recipe = cli.load_recipe("convlstm")
    rollout_context = sys.modules["mpkeras_recipe_convlstm"].rollout_context
    args = recipe.parse_args(["--filters", "4", "--patch-filters", "4", "--patch-size", "2"])
    frames = np.zeros((2, 6, 8, 12, 3), np.float32)  # (N, T, H, W, C): 6 frames of 8x12 colour
    six_frames = Data(None, None, None, {}, extras={"test_frames": frames})
    assert recipe.make_model(args, six_frames).frame_shape == (8, 12, 3)
    assert rollout_context(args, 6) == 3 and rollout_context(args, 20) == 10  # half the sequence by default
    args.context = 6
    with pytest.raises(UsageError, match="--context 6: the sequences of moving_mnist5k have 6 frames.*1 to 5"):
        recipe.make_model(args, six_frames)
