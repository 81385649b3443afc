"""Small helpers shared by the model families."""

import tensorflow as tf


def check_input(x, expected_shape, name, dtype=tf.float32):
    """Converts ``x`` to a tensor and checks its dtype and per-example shape.

    Args:
        x: a batch, shape (B, *expected_shape).
        expected_shape: shape of one example.
        name: the argument's name, used in the error message.
        dtype: the dtype the model expects.

    Raises:
        TypeError / ValueError naming the expected and the given dtype or shape.
    """
    if isinstance(x, tf.Tensor | tf.Variable) and x.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype.name}, expected {dtype.name}; cast it first, "
            f"e.g. tf.cast({name}, tf.{dtype.name}) (images scaled to [0, 1])."
        )
    x = tf.convert_to_tensor(x, dtype=dtype) if not isinstance(x, tf.Tensor) else x
    expected = (None, *expected_shape)
    shape = x.shape
    if shape.rank is not None and (
        shape.rank != len(expected)
        or any(e is not None and s is not None and e != s for e, s in zip(expected, shape))
    ):
        raise ValueError(
            f"{name} has shape {tuple(shape)}, expected (batch, {', '.join(map(str, expected_shape))}). "
            "Reshape the batch, or build the model with a matching input_shape."
        )
    return x
