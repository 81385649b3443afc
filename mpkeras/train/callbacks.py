"""Keras callbacks used by the training core."""

import json
import os
import re

import keras
import numpy as np

from mpkeras.atomic import atomic_write


def atomic_write_text(path, text):
    """Writes ``text`` to ``path`` atomically (:func:`mpkeras.atomic.atomic_write`)."""
    atomic_write(path, lambda f: f.write(text), mode="w")


# Temporary names of the atomic writes here and in the recipe runner: tmp-PID.weights.h5, tmp-PID.keras and
# mpkeras.atomic's .NAME.tmp-PID.
_TEMPORARY = re.compile(r"^tmp-\d+\.(weights\.h5|keras)$|^\..+\.tmp-\d+$")


def remove_stale_temporaries(directory):
    """Deletes the temporary files that a killed run's atomic writes left in ``directory`` (not recursive)."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if _TEMPORARY.match(name):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                os.remove(path)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose backups are written atomically.

    Keras writes ``latest.weights.h5`` and ``training_metadata.json`` in place,
    so a run killed mid-write leaves a torn checkpoint that the next run fails
    to load. Here both files go to temporary names first and are renamed into
    place, weights before metadata, so the metadata never points at a
    half-written file. Restoring (including optimizer state and the epoch to
    resume from) is Keras's own.
    """

    def on_train_begin(self, logs=None):
        remove_stale_temporaries(self.backup_dir)  # left by a run killed mid-write
        super().on_train_begin(logs)

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        tmp_weights = os.path.join(self.backup_dir, f"tmp-{os.getpid()}.weights.h5")
        self.model.save_weights(filepath=tmp_weights, overwrite=True)
        os.replace(tmp_weights, self._weights_path)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        atomic_write_text(self._training_metadata_path, json.dumps(metadata))


NON_FINITE_HINT = "Check the data for NaNs, lower --learning-rate or set --clip-norm."


class RaiseOnNonFinite(keras.callbacks.Callback):
    """Stops at the first batch whose loss is NaN or inf, restores the last good weights and raises.

    The last good weights are those at the start of training (after any resume)
    or at the end of the last epoch, which is also what the run's backup holds.
    The optimizer state is left as it is; rerunning with the same run directory
    resumes from the backup. ``FloatingPointError`` names the epoch and batch.

    ``keras.callbacks.TerminateOnNaN`` only stops training quietly; when that
    happens in the first epoch, ``fit`` returns an empty history and the run
    would go on to evaluate and export a broken model.
    """

    def _remember(self, where):
        self._good_weights = [np.array(w) for w in self.model.get_weights()]
        self._good_at = where

    def on_train_begin(self, logs=None):
        self._epoch = 0
        self._remember("the start of training")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._remember(f"the end of epoch {epoch + 1}")

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.all(np.isfinite(loss)):
            self.model.stop_training = True
            self.model.set_weights(self._good_weights)
            raise FloatingPointError(
                f"The training loss became {np.ravel(loss)[0]} at batch {batch + 1} of epoch {self._epoch + 1}; "
                f"the weights were restored to those at {self._good_at}. {NON_FINITE_HINT}"
            )
