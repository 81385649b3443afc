"""Batches of many tiny examples (points, rays) held in memory: index permutations and one gather per batch.

``from_tensor_slices(points).shuffle(n).batch(b)`` moves every point through the shuffle buffer on its own, a few
µs a point, so a batch of 1,024 points of 12 bytes cost milliseconds: the ``igr_sdf`` pipeline ran at only 8.8x
its training step (benchmarks/pipeline.py). Permuting the indices and gathering whole batches costs one small op
per batch instead, as Keras's own ``fit`` batches arrays.
"""

import math

import tensorflow as tf


def index_batches(arrays, batch_size, steps, seed):
    """``steps`` batches of ``batch_size`` rows of ``arrays`` per epoch (per iterator), in random order.

    The rows are visited in consecutive uniformly random permutations of all n rows (a pass over the data, then
    the next), so every row appears once per pass; each new iterator (each ``fit`` epoch) draws new
    permutations, reproducibly from ``seed``.

    Args:
        arrays: an array or a tuple of arrays with the same number n of rows (the data, held in memory).
        batch_size: rows per batch.
        steps: batches per epoch.
        seed: integer seed.

    Returns:
        A dataset of ``steps`` elements, each a tuple (or array) of the gathered rows, (batch_size, ...) each.
    """
    tensors = tf.nest.map_structure(tf.convert_to_tensor, arrays)
    n = int(tf.nest.flatten(tensors)[0].shape[0])
    if n < batch_size:
        raise ValueError(f"index_batches: {n} rows cannot fill one batch of {batch_size}; lower the batch size.")
    passes = math.ceil(steps * batch_size / n)

    def epoch(key):  # key: a new int64 for every iterator (rerandomize_each_iteration)
        orders = [tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([key, tf.constant(p, tf.int64)]))
                  for p in range(passes)]
        order = tf.concat(orders, 0)[: steps * batch_size]  # (steps · B,)
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [steps, batch_size]))

    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    indices = keys.flat_map(epoch).apply(tf.data.experimental.assert_cardinality(steps))  # (B,) each
    return indices.map(lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), tensors),
                       num_parallel_calls=tf.data.AUTOTUNE)
