"""Perceptron: Rosenblatt's rule exactly, Novikoff's bound, XOR, no gradients, serving, errors, recipe."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli
from mpkeras.models import MLP, Perceptron
from mpkeras.testing.fixtures_perceptron import bar_images

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0], np.int64)


def _model(input_dim, num_outputs=1, learning_rate=1.0, kernel=None, bias=None, **compile_kwargs):
    model = Perceptron(input_shape=(input_dim,), num_outputs=num_outputs, learning_rate=learning_rate)
    model.build((None, input_dim))
    if kernel is not None:
        model.kernel.assign(np.asarray(kernel, np.float32).reshape(input_dim, num_outputs))
    if bias is not None:
        model.bias.assign(np.asarray(bias, np.float32).reshape(num_outputs))
    model.compile(**compile_kwargs)
    return model


class _Record(keras.callbacks.Callback):
    """Records fn(model) after every training step."""

    def __init__(self, fn):
        super().__init__()
        self.fn, self.values = fn, []

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(self.fn(self.model))


def _accuracy(model, x, y):
    """Accuracy of the current weights, computed in NumPy from the variables."""
    scores = x @ model.kernel.numpy() + model.bias.numpy()
    pred = (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(-1)
    return float(np.mean(pred == y))


# --- The rule ---------------------------------------------------------------
def test_one_step_is_rosenblatts_rule_and_correct_examples_change_nothing():
    theta, b, eta = np.array([0.2, -0.4, 0.1], np.float32), np.float32(0.05), np.float32(0.5)
    x = np.array([[1.0, 2.0, -1.0]], np.float32)  # score 0.2 - 0.8 - 0.1 + 0.05 = -0.65: y_hat = 0
    model = _model(3, learning_rate=0.5, kernel=theta, bias=b)

    model.train_on_batch(x, np.array([1]))  # y = 1, y_hat = 0: theta + eta (1 - 0) x
    np.testing.assert_array_equal(model.kernel.numpy()[:, 0], theta + eta * (1 - 0) * x[0])
    np.testing.assert_array_equal(model.bias.numpy(), [b + eta * (1 - 0)])
    assert int(model.num_updates) == 1

    before = [v.numpy() for v in (model.kernel, model.bias)]  # now score = 2.45 > 0: correct for y = 1
    logs = model.train_on_batch(x, np.array([1]), return_dict=True)
    for v, old in zip((model.kernel, model.bias), before):
        np.testing.assert_array_equal(v.numpy(), old)
    assert int(model.num_updates) == 1 and logs["loss"] == 0.0  # train_on_batch: this batch's error rate

    model.train_on_batch(x, np.array([0]))  # y = 0, y_hat = 1: theta + eta (0 - 1) x
    np.testing.assert_array_equal(model.kernel.numpy()[:, 0], before[0][:, 0] + eta * (0 - 1) * x[0])
    np.testing.assert_array_equal(model.bias.numpy(), before[1] - eta)
    assert int(model.num_updates) == 2


def test_one_vs_rest_applies_the_rule_to_every_unit():
    rng = np.random.default_rng(0)
    theta, b, eta = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32), np.float32(0.3)
    x, y = rng.normal(size=(1, 4)).astype(np.float32), 2
    model = _model(4, num_outputs=3, learning_rate=0.3, kernel=theta, bias=b)
    model.train_on_batch(x, np.array([y]))
    target = np.eye(3, dtype=np.float32)[y]  # t_k = 1[y == k]
    correction = target - (x[0] @ theta + b > 0)  # (K,) in {-1, 0, 1}
    assert np.any(correction != 0)  # the example does update some unit
    np.testing.assert_allclose(model.kernel.numpy(), theta + eta * np.outer(x[0], correction), rtol=1e-6)
    np.testing.assert_allclose(model.bias.numpy(), b + eta * correction, rtol=1e-6)
    assert int(model.num_updates) == int(np.abs(correction).sum())


def test_a_batch_is_processed_online_example_by_example():
    """One train step over a batch equals the NumPy online loop (integer data: exact arithmetic)."""
    rng = np.random.default_rng(1)
    x = rng.integers(-2, 3, size=(40, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    theta, b, updates = np.zeros((6, 3), np.float32), np.zeros(3, np.float32), 0
    for x_i, y_i in zip(x, y):  # Rosenblatt, one example at a time
        correction = np.eye(3, dtype=np.float32)[y_i] - (x_i @ theta + b > 0)
        theta += np.outer(x_i, correction)
        b += correction
        updates += int(np.abs(correction).sum())
    model = _model(6, num_outputs=3)
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(model.kernel.numpy(), theta)
    np.testing.assert_array_equal(model.bias.numpy(), b)
    assert int(model.num_updates) == updates
    # Not the same as one "batch" update from the starting weights: the order matters.
    batch_theta = x.T @ (np.eye(3)[y] - 0.0)  # every example sees theta = 0, b = 0 (y_hat = 0)
    assert not np.array_equal(batch_theta, theta)


def test_eta_only_scales_the_weights_from_zero():
    x, y = bar_images()
    models = []
    for eta in (1.0, 0.125):  # powers of two: the scaling is exact
        model = _model(36, num_outputs=3, learning_rate=eta)
        model.fit(x.reshape(18, -1), y, batch_size=18, epochs=1, verbose=0, shuffle=False)
        models.append(model)
    np.testing.assert_array_equal(models[1].kernel.numpy() * 8, models[0].kernel.numpy())
    assert int(models[0].num_updates) == int(models[1].num_updates)


def test_novikoff_zero_errors_within_the_mistake_bound():
    """Separable data with margin gamma, radius R (bias folded in): at most (R / gamma)^2 updates, then none."""
    rng = np.random.default_rng(0)
    u = rng.normal(size=6)
    u /= np.linalg.norm(u)  # the known separator (w, b) as one unit vector
    x = rng.uniform(-1.0, 1.0, size=(2000, 5)).astype(np.float32)
    augmented = np.concatenate([x, np.ones((len(x), 1), np.float32)], axis=1)  # x~ = (x, 1)
    margin = augmented @ u
    keep = np.abs(margin) >= 0.05
    x, augmented, margin = x[keep][:300], augmented[keep][:300], margin[keep][:300]
    y = (margin > 0).astype(np.int64)
    gamma, radius = np.abs(margin).min(), np.linalg.norm(augmented, axis=1).max()
    bound = (radius / gamma) ** 2

    model = _model(5)
    passes = 60
    record = _Record(lambda m: int(m.num_updates))
    model.fit(np.tile(x, (passes, 1)), np.tile(y, passes), batch_size=len(x), epochs=1, shuffle=False, verbose=0,
              callbacks=[record])  # one step = one pass over the data, in order
    counts = record.values
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] == 0.0  # zero training errors
    converged = counts.index(counts[-1])  # first pass after which no update happened any more
    assert converged < passes - 10, counts  # finitely many updates: the last passes changed nothing
    assert 0 < counts[-1] <= bound, (counts[-1], bound)
    print(f"Novikoff: {counts[-1]} updates in {converged + 1} passes, bound (R/gamma)^2 = {bound:.0f}")


def test_xor_defeats_the_perceptron_but_not_a_two_layer_mlp():
    model = _model(2)
    passes = 200
    record = _Record(lambda m: (_accuracy(m, XOR_X, XOR_Y), int(m.num_updates)))
    model.fit(np.tile(XOR_X, (passes, 1)), np.tile(XOR_Y, passes), batch_size=4, epochs=1, shuffle=False, verbose=0,
              callbacks=[record])
    accuracies, counts = zip(*record.values)
    assert max(accuracies) <= 0.75  # no line gets all four right
    assert counts[-1] > counts[passes // 2] > 0  # and the rule never stops updating

    keras.utils.set_random_seed(0)
    mlp = MLP(input_shape=(2,), hidden_units=(8,), activation="tanh", num_outputs=2, seed=0)
    mlp.compile(optimizer=keras.optimizers.Adam(0.05), metrics=["accuracy"])
    mlp.fit(np.tile(XOR_X, (200, 1)), np.tile(XOR_Y, 200), batch_size=4, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(mlp.predict_outputs(XOR_X)["class_id"], XOR_Y)


# --- No gradients -------------------------------------------------------------
def test_no_trainable_variables_and_the_optimizer_is_unused():
    x, y = bar_images()
    model = Perceptron(input_shape=(6, 6, 1), num_outputs=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=True, metrics=["accuracy"])
    history = model.fit(x, y, batch_size=6, epochs=3, verbose=0, validation_data=(x, y))
    assert model.trainable_variables == []
    assert {v.name for v in model.non_trainable_variables} == {"kernel", "bias", "num_updates"}
    assert np.any(model.kernel.numpy() != 0)  # it did learn ...
    assert int(model.optimizer.iterations) == 0  # ... without the optimizer
    assert set(history.history) == {"loss", "accuracy", "num_updates", "val_loss", "val_accuracy"}
    assert history.history["num_updates"][-1] == int(model.num_updates)
    assert history.history["val_loss"][-1] == 0.0 and history.history["val_accuracy"][-1] == 1.0
    with pytest.raises(ValueError, match="do not pass a loss"):
        model.compile(optimizer="sgd", loss="mse")


# --- Serving, saving, errors ----------------------------------------------------
def test_serving_outputs_are_hard_decisions():
    x, y = bar_images()
    model = _model(36, num_outputs=3)
    model.fit(x.reshape(18, -1), y, batch_size=18, epochs=3, verbose=0, shuffle=False)
    out = model.predict_outputs(x.reshape(18, -1))
    assert out["class_id"].dtype == tf.int32 and out["class_id"].shape == (18,)
    np.testing.assert_array_equal(out["class_id"], np.argmax(out["scores"], -1))
    np.testing.assert_array_equal(out["probabilities"], np.eye(3)[out["class_id"].numpy()])  # one-hot
    np.testing.assert_array_equal(out["class_id"], y)

    binary = _model(2, kernel=[1.0, 1.0], bias=-1.5)  # AND
    out = binary.predict_outputs(XOR_X)
    np.testing.assert_array_equal(out["class_id"], [0, 0, 0, 1])
    assert out["scores"].shape == (4, 1) and out["probabilities"].shape == (4, 1)
    np.testing.assert_array_equal(out["probabilities"][:, 0], [0, 0, 0, 1])
    assert list(binary.serving_endpoints()) == ["serving_default"]


def test_keras_roundtrip_of_a_trained_model_gives_identical_decisions(tmp_path):
    x, y = bar_images()
    rng = np.random.default_rng(3)
    x_new = rng.uniform(size=(50, 6, 6, 1)).astype(np.float32)
    model = Perceptron(input_shape=(6, 6, 1), num_outputs=3, learning_rate=0.5)
    model.compile(metrics=["accuracy"])
    model.fit(x, y, batch_size=6, epochs=2, verbose=0)
    model.save(tmp_path / "p.keras")
    loaded = keras.saving.load_model(tmp_path / "p.keras")
    assert type(loaded) is Perceptron and loaded.get_config() == model.get_config()
    for images in (x, x_new):
        a, b = model.predict_outputs(images), loaded.predict_outputs(images)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert int(loaded.num_updates) == int(model.num_updates) > 0
    assert loaded.compiled and loaded.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == 1.0


def test_bad_input_gets_a_clear_error():
    model = Perceptron(input_shape=(6, 6, 1), num_outputs=3)
    model.compile(metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"expected \(batch, 6, 6, 1\)"):
        model.predict_outputs(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(TypeError, match="float32"):
        model.predict_outputs(tf.zeros((2, 6, 6, 1), tf.int32))
    with pytest.raises(TypeError, match="uint8"):
        model.fit(tf.zeros((4, 6, 6, 1), tf.uint8), np.zeros(4), verbose=0)
    x, y = bar_images()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class ids in \[0, 3\)"):
        model.fit(x, y + 1, verbose=0)
    with pytest.raises(ValueError, match="not one-hot"):
        model.fit(x, np.eye(3)[y], verbose=0)
    with pytest.raises(ValueError, match="sample weights"):
        model.fit(x, y, sample_weight=np.ones(len(y)), verbose=0)
    with pytest.raises(ValueError, match="num_outputs"):
        Perceptron(num_outputs=0)
    with pytest.raises(ValueError, match="learning_rate"):
        Perceptron(learning_rate=0.0)
    binary = Perceptron(input_shape=(2,), num_outputs=1)
    binary.compile()
    with pytest.raises(tf.errors.InvalidArgumentError, match="0/1 labels"):
        binary.fit(XOR_X, 2 * XOR_Y - 1, verbose=0)  # -1/+1 labels
    # After all these failed first traces, fit works (the weights were built by compile, not in a trace).
    model.fit(x, y, verbose=0)
    assert int(model.num_updates) > 0


def test_more_than_one_replica_is_refused_with_the_fix():
    """Logical CPU devices must be set before TensorFlow starts, so this runs in its own process."""
    script = textwrap.dedent("""
        from mpkeras.train.distribute import split_cpu
        split_cpu(2)
        import numpy as np, tensorflow as tf
        from mpkeras.models import Perceptron
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            model = Perceptron(input_shape=(2,), num_outputs=1)
            try:
                model.compile()
            except RuntimeError as e:
                print("COMPILE:", e)
        model = Perceptron(input_shape=(2,), num_outputs=1)  # compiled outside, stepped inside
        model.compile()
        try:
            strategy.run(model.train_step, args=((tf.zeros((2, 2)), tf.zeros((2,), tf.int64)),))
        except RuntimeError as e:
            print("STEP:", e)
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for where in ("COMPILE:", "STEP:"):
        line = next((l for l in proc.stdout.splitlines() if l.startswith(where)), "")
        assert "2 replicas" in line and "--strategy default" in line, proc.stdout


# --- Recipe -------------------------------------------------------------------
def test_recipe_smoke_end_to_end(tmp_path):
    data_dir = str(tmp_path / "tfds")
    report = cli.load_recipe("perceptron").main(
        ["--smoke", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0"])
    run_dir = tmp_path / "runs" / "perceptron"
    saved = json.loads((run_dir / "metrics.json").read_text())
    test = saved["test"]
    assert test == report["test"]
    assert {"test_accuracy", "num_updates", "xor_accuracy_perceptron", "xor_accuracy_mlp"} <= set(test)
    assert 0.0 < test["test_accuracy"] <= 1.0 and test["num_updates"] > 0
    assert test["xor_accuracy_perceptron"] <= 0.75
    pngs = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    assert pngs == ["learning_curves.png", "weight_templates.png", "xor_decision_regions.png"], pngs
    # The exported SavedModel of the trained model decides like the .keras model.
    export = tmp_path / "exported" / "perceptron" / "1"
    assert report["export"] == str(export)
    images = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype(np.float32)
    served = tf.saved_model.load(str(export)).signatures["serving_default"](x=tf.constant(images))
    local = keras.saving.load_model(run_dir / "model.keras").predict_outputs(images)
    np.testing.assert_array_equal(served["class_id"], local["class_id"])
    np.testing.assert_allclose(served["scores"], local["scores"], rtol=1e-5, atol=1e-5)
