"""Reliability: resume after SIGKILL, NaN rollback, --deterministic runs, corrupt or missing data.

The recipe runs are real subprocesses of ``recipes/mlp.py`` on the embedded mnist5k, made small with flags.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Two short epochs of a small MLP without dropout or augmentation; batch 16 makes an epoch 0.5-1 s long,
# so a kill lands inside an epoch.
SMALL = ["--hidden-units", "64", "--dropout", "0", "--shift", "0", "--rotation", "0", "--epochs", "2",
         "--batch-size", "16", "--patience", "0", "--seed", "3", "--deterministic", "--verbose", "0"]
ACCURACY_TOLERANCE = 0.03  # ~3 binomial standard deviations of an accuracy of ~0.9 on the 1,000 test digits


def _mlp(out, data_dir, *extra):
    cmd = [sys.executable, os.path.join(ROOT, "recipes", "mlp.py"), *SMALL, "--out", str(out), "--data-dir",
           data_dir, *extra]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc):
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return out


def _kill_mid_epoch(proc, run_dir):
    """SIGKILLs ``proc`` shortly after its first backup appears; returns the epoch the backup holds."""
    metadata = run_dir / "backup" / "training_metadata.json"
    deadline = time.time() + 300
    while not metadata.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # a few dozen steps into the next epoch (of 225)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return json.loads(metadata.read_text())["epoch"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two uninterrupted runs (no export) and one killed mid-epoch, in parallel on the 2 cores."""
    root = tmp_path_factory.mktemp("runs")
    data_dir = str(root / "tfds")
    from mpkeras import data

    data.info("mnist5k", data_dir=data_dir)  # built once, before the processes read it
    procs = {name: _mlp(root / name, data_dir, *(["--no-export"] if name != "killed" else []))
             for name in ("a", "b", "killed")}
    killed_at = _kill_mid_epoch(procs.pop("killed"), root / "killed" / "runs" / "mlp")
    outputs = {name: _finish(proc) for name, proc in procs.items()}
    return root, data_dir, killed_at, outputs


def _metrics(root, name):
    return json.loads((root / name / "runs" / "mlp" / "metrics.json").read_text())


def test_deterministic_runs_write_identical_metrics(runs):
    root = runs[0]
    a, b = _metrics(root, "a"), _metrics(root, "b")
    assert a["args"]["deterministic"] is True
    wall_times = {"seconds", "args", "figures", "export"}  # args differ only in --out
    assert {k: v for k, v in a.items() if k not in wall_times} == {k: v for k, v in b.items() if k not in wall_times}
    assert a["epochs_trained"] == 2 and a["resumed_at_epoch"] == 0


def test_resume_after_sigkill(runs):
    root, data_dir, killed_at, _ = runs
    run_dir = root / "killed" / "runs" / "mlp"
    assert killed_at == 1 and not (run_dir / "metrics.json").exists()

    out = _finish(_mlp(root / "killed", data_dir))
    assert f"resuming from the backup after epoch {killed_at}" in out
    resumed = _metrics(root, "killed")
    assert resumed["resumed_at_epoch"] == killed_at and resumed["epochs_trained"] == 2
    assert len(resumed["history"]["loss"]) == 1  # only the remaining epoch was trained
    history_rows = (run_dir / "history.csv").read_text().strip().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in history_rows] == [0, 1], history_rows
    # Within noise of the uninterrupted run: after resuming, the data order differs from it.
    reference = _metrics(root, "a")["test"]
    assert abs(resumed["test"]["test_accuracy"] - reference["test_accuracy"]) <= ACCURACY_TOLERANCE, (resumed, reference)
    # Nothing temporary or half-written is left: no backup, no temporaries, one complete export.
    assert not (run_dir / "backup").exists()
    leftovers = [p for p in (root / "killed").rglob("*") if p.name.startswith("tmp-") or ".tmp-" in p.name]
    assert not leftovers, leftovers
    assert sorted(p.name for p in (root / "killed" / "exported" / "mlp").iterdir()) == ["1"]
    import mpkeras.models  # noqa: F401  (registers MLP)

    keras.models.load_model(run_dir / "model.keras")


def test_stale_backup_temporaries_are_removed(tmp_path):
    from mpkeras.train.callbacks import AtomicBackupAndRestore

    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "tmp-123.weights.h5").write_bytes(b"torn")  # a run killed while writing its backup
    (backup / ".training_metadata.json.tmp-123").write_text("{")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[AtomicBackupAndRestore(str(backup))])
    assert not backup.exists()


def test_nan_loss_restores_the_last_good_weights(tmp_path):
    import tensorflow as tf

    from mpkeras.models import MLP
    from mpkeras.train import Data, Recipe

    x = np.random.default_rng(0).uniform(size=(32, 4, 4, 1)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(32, np.int64))).batch(8)  # 4 batches an epoch

    class Poison(keras.callbacks.Callback):
        """Keeps the weights at the end of epoch 1, then makes the loss NaN at batch 3 of epoch 2."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            self.good = [np.array(w) for w in self.model.get_weights()]

        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 1 and batch == 2:
                bias = self.model.trainable_weights[-1]  # of the logits, so no ReLU can hide the NaN
                bias.assign(np.full(bias.shape, np.nan, np.float32))

    poison = Poison()
    recipe = Recipe(
        model="mlp",
        make_data=lambda args: Data(ds, None, ds, {"dataset": "generated"}),
        make_model=lambda args, data: MLP(input_shape=(4, 4, 1), hidden_units=(4,), num_outputs=2),
        evaluate=lambda model, data, args: {},
        callbacks=lambda args, data, run_dir: [poison],
    )
    with pytest.raises(FloatingPointError) as err:
        recipe.main(["--out", str(tmp_path), "--epochs", "4", "--verbose", "0"])
    message = str(err.value)
    assert "loss became nan at batch 3 of epoch 2" in message and "end of epoch 1" in message
    assert "--learning-rate" in message and "--clip-norm" in message
    weights = poison.model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)
    for w, good in zip(weights, poison.good, strict=True):
        np.testing.assert_array_equal(w, good)
    run_dir = tmp_path / "runs" / "mlp"
    assert not (tmp_path / "exported").exists() and not (run_dir / "model.keras").exists()
    assert not (run_dir / "metrics.json").exists()
    assert json.loads((run_dir / "backup" / "training_metadata.json").read_text())["epoch"] == 1  # resumable


@pytest.mark.parametrize("damage", ["truncated", "missing", "bad_info"])
def test_corrupt_prepared_data_gets_a_clear_error(tmp_path, damage):
    from mpkeras import data

    data.info("digits8x8", data_dir=str(tmp_path))
    (prepared,) = (tmp_path / "digits8x8").iterdir()  # the version directory
    shard = next(prepared.glob("digits8x8-train.tfrecord-*"))
    if damage == "truncated":  # e.g. a copy cut short
        os.truncate(shard, shard.stat().st_size // 2)
    elif damage == "missing":
        shard.unlink()
    else:
        (prepared / "dataset_info.json").write_text('{"name": ')
    with pytest.raises(data.CorruptDatasetError) as err:
        data.load("digits8x8", "test", data_dir=str(tmp_path))
    message = str(err.value)
    assert "'digits8x8'" in message and "Delete" in message and "rebuild offline" in message
    assert {"truncated": "train files hold", "missing": shard.name, "bad_info": "dataset_info.json"}[damage] in message
    shutil.rmtree(prepared if damage != "bad_info" else tmp_path / "digits8x8")  # the fix the message names
    assert sum(1 for _ in data.load("digits8x8", "test", data_dir=str(tmp_path))) == 360
