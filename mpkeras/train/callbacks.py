"""Keras callbacks used by the training core."""

import json
import os

import keras
import numpy as np

from mpkeras.atomic import atomic_write


def atomic_write_text(path, text):
    """Writes ``text`` to ``path`` atomically (:func:`mpkeras.atomic.atomic_write`)."""
    atomic_write(path, lambda f: f.write(text), mode="w")


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose backups are written atomically.

    Keras writes ``latest.weights.h5`` and ``training_metadata.json`` in place,
    so a run killed mid-write leaves a torn checkpoint that the next run fails
    to load. Here both files go to temporary names first and are renamed into
    place, weights before metadata, so the metadata never points at a
    half-written file. Restoring (including optimizer state and the epoch to
    resume from) is Keras's own.
    """

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        tmp_weights = os.path.join(self.backup_dir, f"tmp-{os.getpid()}.weights.h5")
        self.model.save_weights(filepath=tmp_weights, overwrite=True)
        os.replace(tmp_weights, self._weights_path)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        atomic_write_text(self._training_metadata_path, json.dumps(metadata))


NON_FINITE_HINT = "Check the data for NaNs, lower --learning-rate or set --clip-norm."


class RaiseOnNonFinite(keras.callbacks.Callback):
    """Raises ``FloatingPointError`` at the first batch whose loss is NaN or inf.

    ``keras.callbacks.TerminateOnNaN`` only stops training quietly; when that
    happens in the first epoch, ``fit`` returns an empty history and the run
    would go on to evaluate and export a broken model.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.all(np.isfinite(loss)):
            raise FloatingPointError(f"The training loss became {np.ravel(loss)[0]} at batch {batch}. {NON_FINITE_HINT}")
