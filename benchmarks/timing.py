"""Shared helpers of the benchmark scripts (run as ``python benchmarks/<script>.py``): timing and reports."""

import json
import os
import platform
import time

import keras
import tensorflow as tf


def machine():
    """What the figures were measured on: CPUs, platform, versions, GPUs."""
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "gpus": len(tf.config.list_physical_devices("GPU"))}


def write_report(report, path):
    """Writes ``report`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, path)
    print(f"wrote {path}")


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every ``fit`` epoch in ``times`` (seconds)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)
