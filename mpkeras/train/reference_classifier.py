"""The mnist5k classifier that scores generated digits (FD-mnist5k and the classifier score).

FD-mnist5k needs a classifier trained on mnist5k (see
:mod:`mpkeras.metrics.sample_quality`). Recipes take it from ``--classifier
PATH`` (a ``.keras`` file, e.g. ``runs/lenet/model.keras``); without the flag
they train LeNet once with its own recipe (``mpkeras train lenet``, seed 0,
about a minute on 2 CPU cores) and cache it at
``$MPKERAS_CACHE_DIR/lenet_mnist5k.keras`` (default ``~/.cache/mpkeras``), so
that every model is scored by the same classifier. The cached file is written
atomically; smoke runs train a 2-epoch LeNet in a temporary directory and never
touch the cache.
"""

import os
import subprocess
import sys
import tempfile

from mpkeras import flags

CACHE_NAME = "lenet_mnist5k.keras"


def add_arguments(p):
    p.add_argument("--classifier", type=flags.existing_file, default=None,
                   help=".keras file of the mnist5k classifier for FD-mnist5k (default: LeNet, trained once by its "
                        "recipe and cached in $MPKERAS_CACHE_DIR or ~/.cache/mpkeras)")


def cache_dir():
    return os.environ.get("MPKERAS_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mpkeras")


def _train_lenet(target, smoke):
    """Runs ``mpkeras train lenet`` in a child process (its own seeds and graph) and moves the model to ``target``."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target), prefix="lenet-") as tmp:
        command = [sys.executable, "-m", "mpkeras.cli", "train", "lenet", "--seed", "0", "--out", tmp,
                   "--no-export", "--verbose", "0"] + (["--smoke"] if smoke else [])
        print(f"training the reference classifier for FD-mnist5k: {' '.join(command[2:])}", file=sys.stderr)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"training the reference classifier failed (exit {done.returncode}):\n"
                               f"{done.stderr[-2000:]}\nPass a trained classifier with --classifier PATH instead.")
        os.replace(os.path.join(tmp, "runs", "lenet", "model.keras"), target)
    return target


def reference_classifier(path=None, smoke=False):
    """The classifier scoring generated mnist5k digits, as a :class:`~mpkeras.metrics.ClassifierFeatures`.

    Args:
        path: a ``.keras`` classifier file; None trains (once) and caches LeNet.
        smoke: train a throwaway 2-epoch LeNet instead of using the cache (for ``--smoke`` runs).
    """
    from mpkeras.metrics.sample_quality import ClassifierFeatures

    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No classifier file at {path!r}. Train one with `mpkeras train lenet` and pass "
                                    "its runs/lenet/model.keras, or drop --classifier to use the cached LeNet.")
        return ClassifierFeatures(path)
    if smoke:
        target = os.path.join(tempfile.mkdtemp(prefix="mpkeras-smoke-clf-"), CACHE_NAME)
        return ClassifierFeatures(_train_lenet(target, smoke=True))
    target = os.path.join(cache_dir(), CACHE_NAME)
    if not os.path.isfile(target):
        _train_lenet(target, smoke=False)
    return ClassifierFeatures(target)
