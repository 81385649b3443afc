"""Shared timing helper of the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every ``fit`` epoch in ``times`` (seconds)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)
