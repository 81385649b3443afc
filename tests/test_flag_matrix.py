"""Recipes under the flags they advertise: the runs that broke, and the refusals of the declared opt-outs.

The conformance kit checks every model under several replicas, mixed precision and XLA
(tests/test_conformance.py); ``benchmarks/flag_matrix.py`` runs every recipe's ``--smoke`` path under
each flag. Here, in process: the recipes that crashed before (issue 20) and one refusal per kind.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli
from mpkeras.models.perceptron import SEQUENTIAL_RULE
from mpkeras.models.segmentation import NO_XLA_MAX_UNPOOL
from mpkeras.rl.deep_runner import NO_REPLICAS


def _smoke(name, out, data_dir, *extra):
    return cli.load_recipe(name).main(["--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0", *extra])


def _card(report):
    with open(f"{report['export']}/assets.extra/model_card.json") as f:
        return json.load(f)


@pytest.mark.parametrize("name", ["realnvp", "vrnn"])
def test_mixed_precision_recipes_train_and_export_float32(name, tmp_path, mnist5k_dir):
    """The flows (AddV2 of half and float) and vrnn (ConcatV2 of float16 and float32) crashed under the flag.
    (Glow's recipe is the slower flow; the kit checks the Glow model under mixed precision.)"""
    report = _smoke(name, tmp_path, mnist5k_dir, "--mixed-precision")
    assert report["args"]["mixed_precision"] is True
    assert all(np.isfinite(v) for v in report["test"].values() if isinstance(v, float)), report["test"]
    for signature, io in _card(report)["signatures"].items():
        dtypes = {d["dtype"] for side in ("inputs", "outputs") for d in io[side].values()}
        assert "float16" not in dtypes, f"{name}/{signature} serves float16 after mixed-precision training"
    served = tf.saved_model.load(report["export"]).signatures["log_prob" if name == "realnvp" else "log_prob_bound"]
    assert all(t.dtype == tf.float32 for t in served.structured_outputs.values() if t.dtype.is_floating)


def test_nerf_trains_under_mixed_precision(tmp_path, scenes_dir):
    """NeRF failed converting a float16 tensor to float32 in call()."""
    report = _smoke("nerf", tmp_path, scenes_dir, "--mixed-precision", "--no-export")
    assert np.isfinite(report["test"]["test_psnr"]), report["test"]


def test_an_augmenting_classifier_trains_under_xla(tmp_path, mnist5k_dir):
    """lenet's recipe augments with rotations and shifts inside the model. Keras's RandomRotation has no XLA
    kernel, so Keras used to train it without XLA; RandomAffine compiles, and the runner refuses --jit whenever
    Keras switches XLA off, so a run that succeeds ran under XLA."""
    report = _smoke("lenet", tmp_path, mnist5k_dir, "--jit", "--no-export")
    assert report["args"]["jit"] is True and report["args"]["shift"] > 0 and report["args"]["rotation"] > 0
    assert np.isfinite(report["test"]["test_accuracy"]), report["test"]


@pytest.mark.parametrize("name, extra, message", [
    ("fcn", ["--jit", "--upsampling", "max_unpool"], f"--jit is not supported by fcn: {NO_XLA_MAX_UNPOOL}"),
    ("perceptron", ["--strategy", "mirrored", "--cpu-devices", "2"],
     f"--strategy mirrored is not supported by perceptron: {SEQUENTIAL_RULE}"),
])
def test_a_declared_opt_out_is_refused_in_one_line(name, extra, message, tmp_path, mnist5k_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        _smoke(name, tmp_path, mnist5k_dir, *extra)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == f"mpkeras train {name}: error: {message}", err
    assert not (tmp_path / "exported").exists(), "a refused run exported something"


def test_deep_rl_recipes_refuse_replicas_and_take_jit_and_mixed_precision(tmp_path, capsys):
    recipe = cli.load_recipe("dqn")
    with pytest.raises(SystemExit) as exit_:
        recipe.main(["--smoke", "--out", str(tmp_path), "--strategy", "mirrored"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.strip() == f"mpkeras train dqn: error: --strategy mirrored is not supported by dqn: {NO_REPLICAS}"
    report = recipe.main(["--smoke", "--steps", "600", "--out", str(tmp_path), "--jit", "--mixed-precision",
                          "--no-export"])
    assert np.isfinite(report["metrics"]["eval_mean_return"]) and report["traces"] == 1
