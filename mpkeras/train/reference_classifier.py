"""The reference classifiers that score generated images (FD-mnist5k, FD-<dataset> and the classifier score).

FD-mnist5k needs a classifier trained on mnist5k (see
:mod:`mpkeras.metrics.sample_quality`). Recipes take it from ``--classifier
PATH`` (a ``.keras`` file, e.g. ``runs/lenet/model.keras``); without the flag
they train LeNet once with its own recipe (``mpkeras train lenet``, seed 0,
about a minute on 2 CPU cores) and cache it at
``$MPKERAS_CACHE_DIR/lenet_mnist5k.keras`` (default ``~/.cache/mpkeras``), so
that every model is scored by the same classifier. The cached file is written
atomically; smoke runs train a 2-epoch LeNet in a temporary directory and never
touch the cache. Other labelled datasets (FD-cifar10, FD-fashion_mnist) get a
LeNet trained the same way on their own train split, cached as
``lenet_<dataset>.keras``.
"""

import os
import subprocess
import sys
import tempfile

from mpkeras import flags

CACHE_NAME = "lenet_mnist5k.keras"


def cache_name(dataset="mnist5k"):
    """The cache file of the LeNet trained on ``dataset``."""
    return f"lenet_{dataset}.keras"


def add_arguments(p):
    p.add_argument("--classifier", type=flags.existing_file, default=None,
                   help=".keras file of the reference classifier (FD-mnist5k: trained on mnist5k; FD-<dataset>: on "
                        "that dataset) (default: LeNet, trained once by its recipe and cached in $MPKERAS_CACHE_DIR or "
                        "~/.cache/mpkeras)")


def cache_dir():
    return os.environ.get("MPKERAS_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mpkeras")


def _train_lenet(target, smoke, dataset="mnist5k", data_dir=None):
    """Runs ``mpkeras train lenet`` on ``dataset`` in a child process (its own seeds and graph) and moves the model
    to ``target``."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target), prefix="lenet-") as tmp:
        command = [sys.executable, "-m", "mpkeras.cli", "train", "lenet", "--dataset", dataset, "--seed", "0",
                   "--out", tmp, "--no-export", "--verbose", "0"] + (["--smoke"] if smoke else [])
        command += ["--data-dir", os.fspath(data_dir)] if data_dir else []
        print(f"training the reference classifier for FD-{dataset}: {' '.join(command[2:])}", file=sys.stderr)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"training the reference classifier failed (exit {done.returncode}):\n"
                               f"{done.stderr[-2000:]}\nPass a trained classifier with --classifier PATH instead.")
        os.replace(os.path.join(tmp, "runs", "lenet", "model.keras"), target)
    return target


def reference_classifier(path=None, smoke=False, dataset="mnist5k", data_dir=None):
    """The classifier scoring generated images of ``dataset``, as a :class:`~mpkeras.metrics.ClassifierFeatures`.

    Args:
        path: a ``.keras`` classifier file; None trains (once) and caches LeNet.
        smoke: train a throwaway 2-epoch LeNet instead of using the cache (for ``--smoke`` runs).
        dataset: the labelled dataset LeNet is trained on (default mnist5k: FD-mnist5k).
        data_dir: TFDS data directory of ``dataset``, as in :func:`mpkeras.data.load`.
    """
    from mpkeras.metrics.sample_quality import ClassifierFeatures

    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No classifier file at {path!r}. Train one with `mpkeras train lenet` and pass "
                                    "its runs/lenet/model.keras, or drop --classifier to use the cached LeNet.")
        return ClassifierFeatures(path)
    if smoke:
        target = os.path.join(tempfile.mkdtemp(prefix="mpkeras-smoke-clf-"), cache_name(dataset))
        return ClassifierFeatures(_train_lenet(target, smoke=True, dataset=dataset, data_dir=data_dir))
    target = os.path.join(cache_dir(), cache_name(dataset))
    if not os.path.isfile(target):
        _train_lenet(target, smoke=False, dataset=dataset, data_dir=data_dir)
    return ClassifierFeatures(target)
