"""What the runner checks about a run's data: every split yields a batch, and its values are finite.

Both failures are the user's to fix (a batch size, a dataset), so they raise the errors of
:mod:`mpkeras.train.errors`, which the entry points print as one line.
"""

import contextlib
import re

import keras
import tensorflow as tf

from mpkeras.train.errors import NonFiniteDataError, SplitTooSmallError

_NON_FINITE = re.compile(r"NaN or inf in the ([\w+]+) data")


def check_finite(ds, split):
    """Makes iterating ``ds`` fail on the first NaN or inf in a float feature, naming the split.

    A NaN input does not always show up in the loss (ReLU maps NaN to 0 on
    oneDNN CPU builds), so it is caught at the source instead.
    """
    if ds is None:
        return None
    message = f"NaN or inf in the {split} data. Clean the dataset or fix the transform that produced it"

    def check(*elements):
        checked = tf.nest.map_structure(
            lambda t: tf.debugging.check_numerics(t, message) if t.dtype.is_floating else t, elements
        )
        return checked if len(checked) > 1 else checked[0]

    return ds.map(check)


@contextlib.contextmanager
def non_finite_data_is_a_user_error():
    """Turns the error of a :func:`check_finite` check, raised inside ``fit``, into a :class:`NonFiniteDataError`."""
    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        found = _NON_FINITE.search(e.message or "")
        if not found:
            raise
        raise NonFiniteDataError(f"NaN or inf in the {found.group(1)} data; clean the dataset or fix the transform "
                                 "that produced it") from e


def example_count(batched):
    """How many examples the batched dataset ``batched`` was made from, or None if TF cannot tell.

    Walks up from ``batched`` through the datasets it was built from (prefetch, map, batch, ...)
    to the first of known, non-zero length: the examples before a batch that dropped them all.
    """
    ds = batched
    while True:
        n = int(ds.cardinality())
        parent = getattr(ds, "_input_dataset", None)  # tf.data's unary datasets keep their input here
        if parent is None and getattr(ds, "_datasets", None):  # a zip (data with per-epoch random keys): the data
            parent = tf.nest.flatten(ds._datasets)[0]  # pylint: disable=protected-access
        if n != 0 or parent is None:
            return n if n >= 0 else None
        ds = parent


def _split_name(split, card):
    where = (card.get("splits") or {}).get(split)
    shown = f" ({where})" if isinstance(where, str) and where != split else ""  # e.g. train[:90%]
    return f"the {split} split{shown} of {card.get('dataset')}"


def too_small(split, card, batch_size, count=None):
    """The :class:`SplitTooSmallError` for ``split`` (of ``count`` examples, None: unknown)."""
    name = _split_name(split, card)
    if count == 0:
        return SplitTooSmallError(f"{name} has no examples; use a larger dataset")
    if count is None:
        return SplitTooSmallError(f"{name} yields no batch of {batch_size}; pass a smaller --batch-size or use "
                                  "a larger dataset")
    return SplitTooSmallError(f"{name} has {count} example{'s' if count != 1 else ''}, fewer than one batch of "
                              f"{batch_size}; pass --batch-size {count} or smaller, or use a larger dataset")


def check_batches(splits, card, batch_size):
    """Raises :class:`SplitTooSmallError` for the first of ``splits`` (name -> batched dataset) known to be empty.

    A dataset whose length TF cannot tell passes; :class:`RequireTrainingSteps` catches an empty train split then.
    """
    for split, ds in splits.items():
        if hasattr(ds, "cardinality") and int(ds.cardinality()) == 0:
            raise too_small(split, card, batch_size, example_count(ds))


class RequireTrainingSteps(keras.callbacks.Callback):
    """Raises :class:`SplitTooSmallError` after an epoch that trained no batch (a train split of unknown length)."""

    def __init__(self, card, batch_size):
        super().__init__()
        self.card, self.batch_size = card, batch_size

    def on_epoch_begin(self, epoch, logs=None):
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.steps == 0:
            raise too_small("train", self.card, self.batch_size)
