"""Training core and CLI: smoke recipes end to end, strategies, resume, reproducibility."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from mpkeras import cli, data
from mpkeras.registry import get_entry
from mpkeras.train.callbacks import AtomicBackupAndRestore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Embedded datasets built once for this module, in a temporary data_dir."""
    return str(tmp_path_factory.mktemp("tfds"))


def _smoke(name, out, data_dir, *extra):
    return cli.load_recipe(name).main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0", *extra])


@pytest.mark.parametrize("name", ["mlp", "vae", "beta_vae"])
def test_recipe_smoke_end_to_end(name, tmp_path, data_dir):
    report = _smoke(name, tmp_path, data_dir)
    run_dir = tmp_path / "runs" / name
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["test"] == report["test"] and saved["test"]
    assert all(np.isfinite(v) for v in saved["test"].values() if isinstance(v, float))
    assert (run_dir / "model.keras").exists() and (run_dir / "history.csv").exists()
    assert any((run_dir / "logs").rglob("events.out.tfevents*")), "no TensorBoard logs"
    pngs = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    assert "learning_curves.png" in pngs and len(pngs) >= 2, pngs
    assert not (run_dir / "backup").exists(), "finished runs delete their resume backup"
    export = tmp_path / "exported" / name / "1"
    assert report["export"] == str(export)
    card = json.loads((export / "assets.extra" / "model_card.json").read_text())
    assert card["metrics"] == report["test"] and card["dataset"] == "mnist5k" and card["smoke"] is True
    assert f'name: "{name}"' in (tmp_path / "exported" / "models.config").read_text()
    # A second run exports the next version; smoke runs never touch the repo's exported/.
    _smoke(name, tmp_path, data_dir, "--epochs", "1")
    assert (tmp_path / "exported" / name / "2").is_dir()


@pytest.mark.parametrize("name", ["lenet", "vae"])  # compiled metrics; a custom train_step with trackers
def test_the_runner_traces_the_train_step_once(name, tmp_path, data_dir):
    """The runner builds compiled metrics and optimizer slots before ``fit``. Left to the first trace of the
    step, the variables they create make ``tf.function`` trace it a second time (a deep net's start-up x2)."""
    recipe, traces = cli.load_recipe(name), []

    def make_model(args, data):
        model = recipe.make_model(args, data)
        step = model.train_step

        def counted(batch):
            traces.append(batch)
            return step(batch)

        model.train_step = counted
        return model

    dataclasses.replace(recipe, make_model=make_model).main(
        ["--smoke", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0", "--no-export"])
    assert len(traces) == 1, f"{name}: train_step traced {len(traces)} times"


def test_same_seed_same_metrics(tmp_path, data_dir):
    a = _smoke("mlp", tmp_path / "a", data_dir, "--no-export")
    b = _smoke("mlp", tmp_path / "b", data_dir, "--no-export")
    c = _smoke("mlp", tmp_path / "c", data_dir, "--no-export", "--seed", "1")
    assert a["test"] == b["test"]
    assert a["history"] == b["history"]
    assert a["history"] != c["history"]


def test_gradient_clipping_and_mixed_precision_flags(tmp_path, data_dir):
    # With the recipe's rotation and shift augmentation, which XLA compiles (mpkeras.layers.RandomAffine).
    report = _smoke("mlp", tmp_path, data_dir, "--no-export", "--clip-norm", "0.5", "--mixed-precision", "--jit")
    assert report["args"]["clip_norm"] == 0.5 and report["args"]["jit"] is True
    assert np.isfinite(report["test"]["test_accuracy"])
    assert keras.config.dtype_policy().name == "float32", "the run did not restore the global dtype policy"


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, data_dir):
    """Logical devices must be set before TF starts, so this runs in its own process."""
    cmd = [sys.executable, os.path.join(ROOT, "recipes", "vae.py"), "--smoke", "--strategy", "mirrored",
           "--cpu-devices", "2", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0", "--no-export"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "runs" / "vae" / "metrics.json").read_text())
    assert report["replicas"] == 2
    assert np.isfinite(report["test"]["test_nll_nats"])


def _free_ports(n):
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_strategy_with_two_local_workers(tmp_path, data_dir):
    """Two MultiWorkerMirroredStrategy workers on localhost train in lockstep; only the chief writes; and they
    follow the loss trajectory of one worker with the same global batch.

    Without dropout and augmentation the run has no randomness besides the seeded shuffle. Each global batch is
    split between the workers and their gradients are averaged, so both runs take the same steps; only the order
    of floating-point reductions differs. Tolerance: 1e-4 relative on every epoch's loss.
    """
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    flags = ["--smoke", "--dropout", "0", "--shift", "0", "--rotation", "0", "--data-dir", data_dir, "--verbose", "0"]
    procs = []
    for i in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})}
        cmd = [sys.executable, os.path.join(ROOT, "recipes", "mlp.py"), *flags, "--strategy", "multi_worker",
               "--out", str(tmp_path / f"w{i}")]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    single = subprocess.Popen([sys.executable, os.path.join(ROOT, "recipes", "mlp.py"), *flags, "--no-export",
                               "--out", str(tmp_path / "single")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert single.wait(timeout=600) == 0, single.stderr.read()[-3000:]
    chief = json.loads((tmp_path / "w0" / "runs" / "mlp" / "metrics.json").read_text())
    assert chief["replicas"] == 2
    assert (tmp_path / "w0" / "exported" / "mlp" / "1").is_dir()
    assert not (tmp_path / "w1").exists(), "the non-chief worker wrote into its --out"
    assert "test_accuracy" in outs[1][0]  # it evaluated too
    alone = json.loads((tmp_path / "single" / "runs" / "mlp" / "metrics.json").read_text())
    assert alone["replicas"] == 1 and len(alone["history"]["loss"]) == len(chief["history"]["loss"]) >= 2
    np.testing.assert_allclose(chief["history"]["loss"], alone["history"]["loss"], rtol=1e-4)


@pytest.mark.parametrize("name", ["gan", "realnvp"])
def test_multi_worker_gan_and_flow_train_in_lockstep(name, tmp_path, data_dir):
    """A two-player model (two optimizers, their own steps) and a flow under two local workers: both workers end
    with the same weights, so they report the same test metrics; the losses are finite; only the chief writes.

    (Their trajectories are not compared with one worker's: the GAN draws z per replica, and the flow's actnorm
    initializes from each worker's share of the first batch.)
    """
    # Built here first: two workers building one dataset into one data_dir at once read each other's
    # half-written records ("DataLossError: corrupted record").
    data.info(get_entry(name).dataset, data_dir=data_dir)
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    procs = []
    for i in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})}
        cmd = [sys.executable, os.path.join(ROOT, "recipes", f"{name}.py"), "--smoke", "--strategy", "multi_worker",
               "--data-dir", data_dir, "--verbose", "0", "--out", str(tmp_path / f"w{i}")]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    chief = json.loads((tmp_path / "w0" / "runs" / name / "metrics.json").read_text())
    assert chief["replicas"] == 2
    assert all(np.all(np.isfinite(v)) for v in chief["history"].values())
    assert (tmp_path / "w0" / "exported" / name / "1").is_dir()
    assert not (tmp_path / "w1").exists(), "the non-chief worker wrote into its --out"
    metric_lines = [[line for line in out.splitlines() if line.startswith("  ")] for out, _ in outs]
    assert metric_lines[0] and metric_lines[0] == metric_lines[1], metric_lines


def test_backup_is_atomic_and_training_resumes(tmp_path):
    """A run killed after epoch 2 resumes at epoch 2 from the backup, with optimizer state."""
    x = np.random.default_rng(0).uniform(size=(32, 4)).astype(np.float32)
    y = x.sum(-1, keepdims=True)

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        return m

    backup = str(tmp_path / "backup")
    first = model()
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y, epochs=5, verbose=0, callbacks=[AtomicBackupAndRestore(backup), Crash()])
    files = sorted(os.listdir(backup))
    assert files == ["latest.weights.h5", "training_metadata.json"], files  # no temporary files left
    assert json.loads(open(os.path.join(backup, "training_metadata.json")).read())["epoch"] == 2

    resumed = model()
    history = resumed.fit(x, y, epochs=5, verbose=0, callbacks=[AtomicBackupAndRestore(backup)])
    assert len(history.history["loss"]) == 3  # epochs 2, 3, 4
    assert int(resumed.optimizer.iterations) == int(first.optimizer.iterations) + 3
    assert not os.path.exists(backup)


def test_cli_list_and_errors(capsys, tmp_path):
    assert cli.main(["list", "--exported", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("mlp", "vae", "beta_vae"):
        assert name in out and f"recipes/{name}.py" in out
    assert cli.main(["train", "vea"]) == 2
    err = capsys.readouterr().err
    assert "Unknown model 'vea'" in err and "vae" in err


def test_unknown_strategy_and_dataset_are_rejected(tmp_path, data_dir, capsys):
    for flag, value, message in (("--strategy", "tpu", "invalid choice: 'tpu'"),
                                 ("--dataset", "mnist5000", "Unknown dataset 'mnist5000'. Did you mean 'mnist5k'")):
        with pytest.raises(SystemExit) as exit_:
            _smoke("mlp", tmp_path, data_dir, flag, value)
        assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_nan_in_data_stops_training_with_a_clear_error(tmp_path, capsys):
    import tensorflow as tf

    from mpkeras.models import MLP
    from mpkeras.train import Data, NonFiniteDataError, Recipe

    x = np.random.default_rng(0).uniform(size=(32, 4, 4, 1)).astype(np.float32)
    x[5, 1, 1, 0] = np.nan
    y = np.zeros(32, np.int64)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    recipe = Recipe(
        model="mlp",
        make_data=lambda args: Data(ds, None, ds, {"dataset": "generated"}),
        make_model=lambda args, data: MLP(input_shape=(4, 4, 1), hidden_units=(4,), num_outputs=2),
        evaluate=lambda model, data, args: {},
    )
    # NaN inputs need not reach the loss (ReLU maps NaN to 0 on oneDNN), so the pipeline is checked.
    argv = ["--out", str(tmp_path), "--epochs", "2", "--no-export", "--verbose", "0"]
    with pytest.raises(SystemExit) as exit_:
        recipe.main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("mpkeras train mlp: error: NaN or inf in the train data; clean the dataset or "
                                       "fix the transform that produced it\n")
    with pytest.raises(NonFiniteDataError) as err:  # --debug: the error and what TensorFlow raised
        recipe.main([*argv, "--debug"])
    assert isinstance(err.value.__cause__, tf.errors.InvalidArgumentError)


def test_diverging_loss_stops_training_with_a_clear_error():
    from mpkeras.train.callbacks import RaiseOnNonFinite

    x = np.ones((8, 2), np.float32)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    with pytest.raises(FloatingPointError, match="loss became (nan|inf) at batch .*--learning-rate"):
        model.fit(x, x[:, :1] * 1e20, batch_size=2, epochs=3, verbose=0, callbacks=[RaiseOnNonFinite()])


@pytest.mark.parametrize(
    "tf_config,chief",
    [
        (None, True),
        ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),
        ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
        ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
        ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
    ],
)
def test_only_the_chief_writes(monkeypatch, tf_config, chief):
    from mpkeras.train.distribute import is_chief

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    assert is_chief() is chief


def test_bits_per_dim_converts_nats_per_example():
    import math

    from mpkeras.metrics import bits_per_dim

    assert bits_per_dim(784 * math.log(2.0), 784) == pytest.approx(1.0)
    assert bits_per_dim(0.0, 10) == 0.0
