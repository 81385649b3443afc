"""Shared invariants of the model families (DESIGN.md section 5), used by the families' own test files."""

import tensorflow as tf


def numerical_log_det(fn, x):
    """log|det J| (B,) of the map ``fn`` at the batch ``x`` (B, ...), from ``batch_jacobian`` of the flattened map.

    Run it in float64: a flow's analytic log-det should agree to about 1e-7.
    """
    x = tf.convert_to_tensor(x)
    flat = tf.reshape(x, (x.shape[0], -1))
    with tf.GradientTape() as tape:
        tape.watch(flat)
        y = tf.reshape(fn(tf.reshape(flat, x.shape)), (x.shape[0], -1))
    return tf.linalg.slogdet(tape.batch_jacobian(y, flat))[1]
