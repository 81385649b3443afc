"""Cache a split in memory only when it fits: embedded datasets always, catalogue splits when they are small.

A catalogue split larger than :data:`CACHE_LIMIT_BYTES` (as the pipeline yields it, e.g. float32
pixels), or of a size TFDS cannot tell (not prepared, mocked, variable shapes), streams from
TFDS's files every epoch instead of filling the host's memory.
"""

import tensorflow as tf

from mpkeras.data.loading import EMBEDDED, _base_name, info

CACHE_LIMIT_BYTES = 1 << 30
"""Largest split, in bytes as the pipeline yields it, that :func:`cache_if_small` keeps in memory."""


def split_bytes(ds, name, split, data_dir=None):
    """Bytes ``ds`` holds if it yields one element per example of ``split`` of ``name``; None if unknown.

    The example count comes from TFDS's split statistics, the bytes per example from ``ds.element_spec``.
    """
    try:
        count = int(info(name, data_dir=data_dir).splits[split].num_examples)
    except (KeyError, ValueError):  # not prepared (no statistics), or a split TFDS cannot slice
        return None
    per_example = 0
    for spec in tf.nest.flatten(ds.element_spec):
        if not spec.shape.is_fully_defined() or spec.dtype == tf.string:
            return None
        per_example += spec.shape.num_elements() * spec.dtype.size
    return count * per_example if count else None


def cache_if_small(ds, name, split, data_dir=None, limit=CACHE_LIMIT_BYTES):
    """``ds.cache()`` in memory for an embedded dataset or a split of at most ``limit`` bytes, else ``ds`` (streamed).

    Args:
        ds: the unbatched examples of ``split`` of the dataset ``name``, one element per example.
        name, split, data_dir: as given to :func:`mpkeras.data.load`.
        limit: the most bytes to keep in memory.
    """
    if _base_name(name) in EMBEDDED:
        return ds.cache()
    size = split_bytes(ds, name, split, data_dir)
    return ds.cache() if size is not None and size <= limit else ds
