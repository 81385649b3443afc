"""Flags are checked when parsed; errors the user can fix end in one line and exit status 2, without a traceback.

Parse errors and most run errors are checked in process (each TensorFlow start costs seconds); two
subprocesses prove the real entry points, ``mpkeras train NAME`` and ``python recipes/NAME.py``.
"""

import argparse
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli, flags
from mpkeras.data import UnknownDatasetError, caching
from mpkeras.models import MLP
from mpkeras.registry import list_models
from mpkeras.rl import runner
from mpkeras.train import Data, Recipe
from mpkeras.train import figures as figs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRING_FLAGS = {"dataset", "data_dir", "out", "run_dir", "env"}
"""Flags whose value is a name or a path: no range, checked where they are used."""
TABULAR = ("value_iteration", "policy_iteration", "td0", "sarsa", "q_learning")


def one_error_line(capsys, call):
    """Runs ``call``, which must exit with status 2 and print one line, no traceback, on stderr; returns the line."""
    with pytest.raises(SystemExit) as exit_:
        call()
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err.splitlines()[0]


# --- Parse errors: every common flag, and recipe flags --------------------------------------------------------
COMMON = [
    (["--dataset"], "argument --dataset: expected one argument"),
    (["--data-dir"], "argument --data-dir: expected one argument"),
    (["--epochs", "0"], "argument --epochs: expected a positive integer, got 0"),
    (["--epochs", "2.5"], "argument --epochs: expected a positive integer, got 2.5"),
    (["--batch-size", "0"], "argument --batch-size: expected a positive integer, got 0"),
    (["--learning-rate", "-1"], "argument --learning-rate: expected a positive number, got -1"),
    (["--learning-rate", "nan"], "argument --learning-rate: expected a positive number, got nan"),
    (["--patience", "-1"], "argument --patience: expected a non-negative integer, got -1"),
    (["--retrain-full=yes"], "argument --retrain-full: ignored explicit argument 'yes'"),
    (["--schedule", "linear"], "argument --schedule: invalid choice: 'linear'"),
    (["--clip-norm", "0"], "argument --clip-norm: expected a positive number, got 0"),
    (["--decay-epochs", "0,5"], "argument --decay-epochs: expected comma-separated positive integers"),
    (["--decay-factor", "1"], "argument --decay-factor: expected a number in (0, 1), got 1"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["--momentum", "1"], "argument --momentum: expected a number in [0, 1), got 1"),
    (["--epsilon", "0"], "argument --epsilon: expected a positive number, got 0"),
    (["--preset", "nosuch"], "argument --preset: invalid choice: 'nosuch' (choose from 'paper')"),
    (["--strategy", "tpu"], "argument --strategy: invalid choice: 'tpu'"),
    (["--cpu-devices", "0"], "argument --cpu-devices: expected a positive integer, got 0"),
    (["--jit=1"], "argument --jit/--no-jit: ignored explicit argument '1'"),
    (["--mixed-precision=1"], "argument --mixed-precision: ignored explicit argument '1'"),
    (["--seed", "-1"], "argument --seed: expected an integer in [0, 4294967295], got -1"),
    (["--deterministic=1"], "argument --deterministic: ignored explicit argument '1'"),
    (["--smoke=1"], "argument --smoke: ignored explicit argument '1'"),
    (["--out"], "argument --out: expected one argument"),
    (["--run-dir"], "argument --run-dir: expected one argument"),
    (["--no-export=1"], "argument --no-export: ignored explicit argument '1'"),
    (["--verbose", "3"], "argument --verbose: invalid choice: 3"),
    (["--debug=1"], "argument --debug: ignored explicit argument '1'"),
]


def test_the_table_covers_every_common_flag():
    # vae has presets (mpkeras.train.presets), so its parser also has --preset.
    common = Recipe(model="vae", make_data=None, make_model=None, evaluate=None).parser()
    covered = {common._option_string_actions[argv[0].split("=")[0]].dest for argv, _ in COMMON}
    assert covered == {a.dest for a in common._actions if a.dest != "help"}


@pytest.mark.parametrize("argv,message", COMMON, ids=[" ".join(argv) for argv, _ in COMMON])
def test_a_bad_common_flag_is_one_line(argv, message, capsys):
    line = one_error_line(capsys, lambda: cli.load_recipe("vae").main(["--smoke", *argv]))
    assert line.startswith(f"mpkeras train vae: error: {message}"), line


RECIPE_FLAGS = [
    ("vae", ["--latent-dim", "0"], "argument --latent-dim: expected a positive integer, got 0"),
    ("vae", ["--hidden-units", "0,4"],
     "argument --hidden-units: expected comma-separated positive integers like 512,256, got 0,4"),
    ("mlp", ["--dropout", "1.5"], "argument --dropout: expected a number in [0, 1), got 1.5"),
    ("mlp", ["--shift", "-0.1"], "argument --shift: expected a number in [0, 1], got -0.1"),
    ("dcgan", ["--beta-1", "1"], "argument --beta-1: expected a number in [0, 1), got 1"),
    ("realnvp", ["--num-hidden", "-1"], "argument --num-hidden: expected a non-negative integer, got -1"),
    ("transformer_lm", ["--attention", "dense,nosuch"], "argument --attention: unknown 'nosuch'; choose from"),
    ("lbs", ["--model-path", "/no/such/body.npz"], "argument --model-path: no file at '/no/such/body.npz'"),
    ("dqn", ["--steps", "0"], "argument --steps: expected a positive integer, got 0"),
    ("actor_critic", ["--num-envs", "0"], "argument --num-envs: expected a positive integer, got 0"),
    ("reinforce", ["--gamma", "1.5"], "argument --gamma: expected a number in [0, 1], got 1.5"),
]


@pytest.mark.parametrize("name,argv,message", RECIPE_FLAGS, ids=[f"{n} {' '.join(a)}" for n, a, _ in RECIPE_FLAGS])
def test_a_bad_recipe_flag_is_one_line(name, argv, message, capsys):
    line = one_error_line(capsys, lambda: cli.load_recipe(name).main(["--smoke", *argv]))
    assert line.startswith(f"mpkeras train {name}: error: {message}"), line


def test_tabular_recipes_check_their_flags(capsys):
    line = one_error_line(capsys, lambda: runner.main("q_learning", ["--alpha", "0"]))
    assert line == "recipes/q_learning.py: error: argument --alpha: expected a number in (0, 1], got 0"


def test_every_numeric_flag_of_every_recipe_has_a_range():
    """A new flag with a bare int/float type (or no type, for a non-string flag) fails here."""
    parsers = {name: cli.load_recipe(name).parser() for name in list_models()}
    parsers.update({name: runner.parser(name) for name in TABULAR})
    unchecked = []
    for name, p in parsers.items():
        assert isinstance(p, flags.ArgumentParser) and "--debug" in p._option_string_actions, name
        for action in p._actions:
            if type(action).__name__ != "_StoreAction" or action.choices is not None:
                continue
            if action.type is None and action.dest in STRING_FLAGS:
                continue
            if not hasattr(action.type, "range"):
                unchecked.append(f"{name} {action.option_strings[0]} (type={action.type})")
    assert not unchecked, "flags without a range-checked type (see mpkeras/flags.py): " + ", ".join(unchecked)


@pytest.mark.parametrize("kind,good,bad", [
    (flags.positive_int, {"1": 1, "64": 64}, ["0", "-3", "1.5", "x", ""]),
    (flags.nonnegative_int, {"0": 0, "7": 7}, ["-1", "2e3"]),
    (flags.positive_float, {"1e-3": 1e-3, "2": 2.0}, ["0", "-1e-3", "inf", "nan"]),
    (flags.nonnegative_float, {"0": 0.0, "0.5": 0.5}, ["-0.5", "inf"]),
    (flags.probability, {"0": 0.0, "1": 1.0}, ["1.01", "-0.01", "nan"]),
    (flags.rate, {"0": 0.0, "0.999": 0.999}, ["1", "1.5"]),
    (flags.seed, {"0": 0, "4294967295": 2**32 - 1}, ["-1", "4294967296"]),
    (flags.int_tuple, {"512,256": (512, 256), "8": (8,)}, ["0,4", "4,", "a", ""]),
    (flags.int_tuple_or_none, {"32,64": (32, 64), "none": (), "None": ()}, ["0,4", "a", ""]),
])
def test_flag_types_accept_their_range_only(kind, good, bad):
    for text, value in good.items():
        assert kind(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match="expected"):
            kind(text)


# --- Run errors the user can fix -----------------------------------------------------------------------------
def test_an_unknown_dataset_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    argv = ["--smoke", "--dataset", "nosuch", "--out", str(tmp_path), "--no-export"]
    line = one_error_line(capsys, lambda: cli.load_recipe("vae").main(argv))
    assert line.startswith("mpkeras train vae: error: Unknown dataset 'nosuch'.") and "mnist5k" in line
    with pytest.raises(UnknownDatasetError, match="Unknown dataset 'nosuch'"):  # --debug: the exception propagates
        cli.load_recipe("vae").main([*argv, "--debug"])


@pytest.mark.parametrize("name,argv,message", [
    ("igr_sdf", ["--dataset", "mnist5k"], "The igr_sdf recipe fits point clouds"),
    ("dqn", ["--env", "NoSuchEnv-v0"], "Unknown or unusable gymnasium environment 'NoSuchEnv-v0'"),
])
def test_unusable_settings_found_by_the_run_are_one_line(name, argv, message, tmp_path, capsys):
    line = one_error_line(capsys, lambda: cli.load_recipe(name).main(["--smoke", "--out", str(tmp_path), *argv]))
    assert line.startswith(f"mpkeras train {name}: error: {message}"), line


def test_a_split_smaller_than_one_batch_is_refused(tmp_path, mnist5k_dir, capsys):
    argv = ["--smoke", "--batch-size", "100000", "--out", str(tmp_path), "--data-dir", mnist5k_dir, "--no-export"]
    line = one_error_line(capsys, lambda: cli.load_recipe("vae").main(argv))
    assert line == ("mpkeras train vae: error: the train split (train[:90%]) of mnist5k has 3600 examples, fewer than "
                    "one batch of 100000; pass --batch-size 3600 or smaller, or use a larger dataset")


def _tiny_recipe(train, val, build):
    def make_model(args, data):
        assert build, "the model was built before the data was checked"
        return MLP(input_shape=(4,), hidden_units=(4,), num_outputs=2)

    return Recipe(model="mlp", make_model=make_model, evaluate=lambda model, data, args: {},
                  make_data=lambda args: Data(train(args.batch_size), val, train(args.batch_size),
                                              {"dataset": "generated"}))


def _examples(n):
    return tf.data.Dataset.from_tensor_slices((np.ones((n, 4), np.float32), np.zeros(n, np.int64)))


SMALL_SPLITS = {  # case: (train batches from the batch size, val batches, whether the model may be built)
    "known length": (lambda b: _examples(12).batch(b, drop_remainder=True), None, False),
    # TF cannot tell the length of a filtered dataset: the runner finds out after the first epoch.
    "unknown length": (lambda b: _examples(12).filter(lambda x, y: True).batch(b, drop_remainder=True), None, True),
    "empty val": (lambda b: _examples(80).batch(b, drop_remainder=True), _examples(0).batch(8), False),
}


@pytest.mark.parametrize("case,message", [
    ("known length", "the train split of generated has 12 examples, fewer than one batch of 64; pass --batch-size "
                     "12 or smaller, or use a larger dataset"),
    ("unknown length", "the train split of generated yields no batch of 64; pass a smaller --batch-size or use a "
                       "larger dataset"),
    ("empty val", "the val split of generated has no examples; use a larger dataset"),
])
def test_splits_that_yield_no_batch_are_refused(case, message, tmp_path, capsys):
    recipe = _tiny_recipe(*SMALL_SPLITS[case])
    argv = ["--batch-size", "64", "--epochs", "2", "--out", str(tmp_path), "--no-export", "--verbose", "0"]
    assert one_error_line(capsys, lambda: recipe.main(argv)) == f"mpkeras train mlp: error: {message}"


def test_learning_curves_of_an_empty_history(tmp_path):
    path = figs.learning_curves({}, str(tmp_path / "curves.png"))
    assert os.path.getsize(path) > 0


def test_only_small_catalogue_splits_are_cached(monkeypatch):
    sizes = {"train": types.SimpleNamespace(num_examples=1000)}  # 1,000 examples of 28x28x1 float32: 3.1 MB
    monkeypatch.setattr(caching, "info", lambda name, data_dir=None: types.SimpleNamespace(splits=sizes))
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((3, 28, 28, 1), np.float32))
    assert caching.split_bytes(ds, "mnist", "train") == 1000 * 28 * 28 * 4
    assert caching.cache_if_small(ds, "mnist", "train", limit=4_000_000) is not ds  # cached
    assert caching.cache_if_small(ds, "mnist", "train", limit=3_000_000) is ds  # streamed
    assert caching.cache_if_small(ds, "mnist", "test") is ds  # no statistics for the split: streamed
    assert caching.cache_if_small(ds, "mnist5k", "test", limit=0) is not ds  # embedded: always cached


# --- The real entry points, in subprocesses -------------------------------------------------------------------
TF_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                    r"|[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*)$")
"""TensorFlow's C++ start-up log, printed before Python runs (not ours to silence)."""


def test_entry_points_print_one_line_and_exit_2(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    commands = {
        "mpkeras train vae: error: argument --epochs: expected a positive integer, got 0":
            [sys.executable, "-m", "mpkeras.cli", "train", "vae", "--smoke", "--epochs", "0"],
        "mpkeras train vae: error: Unknown dataset 'nosuch'.":
            [sys.executable, os.path.join(ROOT, "recipes", "vae.py"), "--smoke", "--dataset", "nosuch",
             "--out", str(tmp_path), "--no-export"],
    }
    procs = {expected: subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True) for expected, cmd in commands.items()}
    for expected, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        lines = [line for line in err.splitlines() if not TF_LOG.match(line)]
        assert proc.returncode == 2, err
        assert len(lines) == 1 and lines[0].startswith(expected), err
