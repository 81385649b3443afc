"""Small helpers shared by the model families."""

import keras
import tensorflow as tf

# The flags of the matrix every recipe advertises, as models name them in ``unsupported_flags()``.
FLAG_OPTIONS = {"replicas": "--strategy mirrored|multi_worker", "mixed_precision": "--mixed-precision",
                "jit": "--jit"}


def split_dtype_policy(kwargs):
    """For models whose own maths stays in float32 under mixed precision: the policy for their networks.

    Flows (log-determinants), renderers (positional encodings, compositing weights) and body models
    (kinematic chains) hold sums and products of many terms that float16 rounds badly; a mixed policy on
    the model itself would also read its weights as float16 inside ``call``. Such a model computes in its
    variables' dtype (float32 under ``mixed_float16``; float64 stays float64) and builds its neural networks
    with the policy this returns: the one the caller asked for (``dtype=``), or else the global one, so
    ``mixed_float16`` still runs the networks in float16.

    Args:
        kwargs: the model's ``**kwargs``; its ``dtype`` is replaced in place by the policy's variable dtype.
    """
    policy = keras.dtype_policies.get(kwargs.pop("dtype", None) or keras.config.dtype_policy())
    kwargs["dtype"] = policy.variable_dtype
    return policy


def unsupported_flags(model):
    """``{flag: reason}`` for the flags of :data:`FLAG_OPTIONS` that ``model`` cannot train under.

    A model that cannot support one defines ``unsupported_flags()`` returning this dict (it may depend on
    the model's configuration); the recipe runner refuses those flags with the reason, and the model's
    conformance fixture records the same reasons.
    """
    method = getattr(model, "unsupported_flags", None)
    return dict(method()) if method is not None else {}


def _replicas():
    """Replicas a loss computed here is split over: the strategy's inside a replicated step, else 1 (a call
    outside any step sees the whole batch)."""
    if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
        return 1
    return tf.distribute.get_strategy().num_replicas_in_sync


def average_loss(per_example):
    """The mean of per-example losses (B, ...) over the *global* batch, as a float32 scalar.

    Under a ``tf.distribute`` strategy each replica sees B / R examples and the optimizer sums the
    replicas' gradients; ``tf.nn.compute_average_loss`` divides the replica's sum by the global batch,
    so the summed gradient is that of the mean over all examples (a per-replica mean would multiply it
    by R). Keras's own losses scale the same way, and its ``train_step`` unscales the value it reports.
    Trailing axes are averaged first; the sum is taken in float32 (mixed precision computes in float16).
    """
    per_example = tf.cast(per_example, tf.float32)
    if per_example.shape.rank is not None and per_example.shape.rank > 1:
        per_example = tf.reduce_mean(per_example, axis=list(range(1, per_example.shape.rank)))
    if _replicas() == 1:
        return tf.reduce_mean(per_example)
    return tf.nn.compute_average_loss(per_example)


def unscale_loss(loss):
    """The replica's own mean from a loss averaged over the global batch (x the number of replicas), for trackers.

    Keras's ``train_step`` reports ``compute_loss`` values the same way.
    """
    return loss * tf.cast(_replicas(), loss.dtype)


def with_regularization(loss, losses):
    """``loss`` plus the sum of a model's ``losses`` (weight decay, activity penalties), scaled like
    :func:`average_loss`: every replica adds them, and the optimizer sums the replicas' gradients."""
    if not losses:
        return loss
    total = tf.add_n([tf.cast(tf.reduce_sum(term), tf.float32) for term in losses])
    return loss + total / tf.cast(_replicas(), tf.float32)


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
    if isinstance(x, tf.Tensor | tf.Variable) and x.dtype in (tf.float16, tf.bfloat16) and dtype.is_floating:
        # Keras casts a layer's inputs to its compute dtype under mixed precision.
        x = tf.cast(x, dtype)
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


def check_float_pixels(x, name="images"):
    """Raises ``TypeError`` unless ``x`` (a tensor, array or KerasTensor) is floating point, naming the fix."""
    dtype = tf.as_dtype(getattr(x, "dtype", None) or tf.float32)
    if not dtype.is_floating:
        raise TypeError(
            f"{name} has dtype {dtype.name}; the model expects floating-point pixels in [0, 1]. "
            "Convert with mpkeras.data.to_float (uint8 / 255) or tf.cast(x, tf.float32) / 255."
        )
    return x


def check_images(x, input_shape, name="images"):
    """Checks the static rank, size, channel count and dtype of an image batch.

    Unlike :func:`check_input` it does not convert, so it also works on the
    symbolic ``KerasTensor``s of a functional build. Call it first in ``call``.

    Args:
        x: a batch, shape (B, H, W, C); H and W may be None in ``input_shape``.
        input_shape: ``(H, W, C)`` the model was built for.
        name: the argument's name, used in the error message.

    Raises:
        TypeError: ``x`` is not floating point (e.g. raw uint8 pixels).
        ValueError: wrong rank, size or channel count.
    """
    check_float_pixels(x, name)
    shape = tuple(x.shape)
    expected = (None, *input_shape)
    if len(shape) != len(expected):
        raise ValueError(
            f"{name} has rank {len(shape)} (shape {shape}); expected a batch of images of shape "
            f"(batch, {', '.join(map(str, input_shape))}). Add the batch axis (x[None]) or the "
            "channel axis (x[..., None])."
        )
    for axis, label in ((-1, "channels"), (-3, "height"), (-2, "width")):
        e, s = expected[axis], shape[axis]
        if e is not None and s is not None and e != s:
            raise ValueError(
                f"{name} has {s} {label} (shape {shape}); the model was built for images of shape "
                f"{tuple(input_shape)}. Resize or convert the images, or build the model with input_shape="
                f"{(*shape[1:],)}."
            )
    return x


class FixedArguments:
    """Mixin for a named variant of a model that fixes some constructor arguments.

    ``class ResNet18(FixedArguments, ResNet): FIXED = {"stage_blocks": (2, 2, 2, 2)}``
    passes ``FIXED`` to the base constructor and leaves those keys out of
    ``get_config``, so ``from_config`` rebuilds the variant without repeating them.
    """

    FIXED = {}

    def __init__(self, **kwargs):
        super().__init__(**self.FIXED, **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in self.FIXED:
            del config[key]
        return config
