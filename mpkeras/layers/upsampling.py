"""Upsampling and unpooling layers for the decoders of fully convolutional networks.

Four ways to double the resolution of a feature map ``(B, H, W, C)``:

* ``nearest``: copy each value into its whole s x s block
  (``keras.layers.UpSampling2D(interpolation="nearest")``);
* ``bed_of_nails``: put each value at the top-left of its block, zeros elsewhere
  (:class:`BedOfNails`);
* ``max_unpool``: put each value where the matching max-pooling found its
  maximum, zeros elsewhere (:class:`MaxPoolWithArgmax` + :class:`MaxUnpool`);
* ``transposed``: a learned transposed convolution
  (``keras.layers.Conv2DTranspose``), y[s i + p, s j + q] += W[p, q]^T x[i, j].

Only the last one has weights. :func:`upsampling_layer` builds any of them by name,
which is how the segmentation models choose their decoder.

Example:
    >>> values, argmax = MaxPoolWithArgmax()(x)        # (B, H/2, W/2, C), int64
    >>> y = MaxUnpool()([values, argmax])                # (B, H, W, C), zeros off the maxima
    >>> up = upsampling_layer("transposed", filters=32)  # Conv2DTranspose(32, 2, strides=2)
"""

import keras
import tensorflow as tf
from keras import ops

UPSAMPLING_KINDS = ("nearest", "bed_of_nails", "max_unpool", "transposed")
"""The names :func:`upsampling_layer` accepts."""


@keras.saving.register_keras_serializable(package="mpkeras")
class BedOfNails(keras.layers.Layer):
    """Bed-of-nails upsampling: y[s i, s j] = x[i, j], and y = 0 at the other s^2 - 1 positions of each block.

    It is max-unpooling with the maximum always assumed at the top-left corner,
    so it needs no pooling indices. A convolution after it fills the holes.

    Args:
        size: integer upsampling factor s for height and width.

    Example:
        >>> BedOfNails(2)(np.array([[1., 2.], [3., 4.]]).reshape(1, 2, 2, 1))[0, ..., 0]
        [[1, 0, 2, 0],
         [0, 0, 0, 0],
         [3, 0, 4, 0],
         [0, 0, 0, 0]]

    Reference:
        Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", 2016;
        Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ValueError(f"BedOfNails needs size >= 1, got {size}.")
        self.size = int(size)

    def call(self, x):
        s = self.size
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        nails = x[:, :, None, :, None, :]  # (B, H, 1, W, 1, C)
        nails = ops.pad(nails, [[0, 0], [0, 0], [0, s - 1], [0, 0], [0, s - 1], [0, 0]])  # (B, H, s, W, s, C)
        shape = ops.shape(x)
        out_h = h * s if h is not None else shape[1] * s
        out_w = w * s if w is not None else shape[2] * s
        return ops.reshape(nails, (shape[0], out_h, out_w, c))  # (B, H s, W s, C)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.size, None if w is None else w * self.size, c)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolWithArgmax(keras.layers.Layer):
    """Max pooling that also returns where each maximum was (the "switches").

    ``values[b, i, j, c] = max over the s x s block of x``, and ``argmax`` holds the
    flat position of that maximum in the *input* tensor,
    ``((b * H + y) * W + x) * C + c`` (``tf.nn.max_pool_with_argmax`` with
    ``include_batch_in_index=True``). :class:`MaxUnpool` uses it to put values back.

    Args:
        pool_size: integer size s of the square pooling window; the stride is s too,
            so windows do not overlap and every input position is the argmax of at
            most one window.
        padding: ``"valid"`` or ``"same"`` (as in ``keras.layers.MaxPooling2D``).

    Example:
        >>> values, argmax = MaxPoolWithArgmax(2)(x)  # x: (B, 4, 4, C)
        >>> values.shape, argmax.dtype                # (B, 2, 2, C), int64

    Reference:
        Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014;
        Badrinarayanan, Kendall and Cipolla, "SegNet: A Deep Convolutional Encoder-Decoder
        Architecture for Image Segmentation", TPAMI 2017.
    """

    def __init__(self, pool_size=2, padding="valid", **kwargs):
        super().__init__(**kwargs)
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
        self.pool_size = int(pool_size)
        self.padding = padding

    def call(self, x):
        s = self.pool_size
        values, argmax = tf.nn.max_pool_with_argmax(
            x, ksize=s, strides=s, padding=self.padding.upper(), include_batch_in_index=True
        )
        return values, argmax  # (B, H/s, W/s, C), int64 flat indices into x

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape

        def pooled(n):
            if n is None:
                return None
            return -(-n // self.pool_size) if self.padding == "same" else n // self.pool_size

        shape = (b, pooled(h), pooled(w), c)
        return shape, shape

    def compute_output_spec(self, x):
        shape = self.compute_output_shape(x.shape)[0]
        return keras.KerasTensor(shape, dtype=x.dtype), keras.KerasTensor(shape, dtype="int64")

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding}


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpool(keras.layers.Layer):
    """Max-unpooling: scatters each value to the position its max-pooling remembered.

    Given ``values`` (B, H, W, C) and ``argmax`` from :class:`MaxPoolWithArgmax`
    applied to a tensor of shape (B, H s, W s, C), the output has that shape, holds
    ``values[b, i, j, c]`` at flat position ``argmax[b, i, j, c]`` and zeros
    elsewhere: y = scatter(argmax, values). The scatter is linear in ``values``,
    so the gradient flows back to them (a gather at the same positions); the
    indices get none.

    Args:
        size: integer factor s between the pooled and the unpooled size; the
            output has height H s and width W s. Use the pooling's ``pool_size``
            with ``padding="valid"`` and inputs whose size is a multiple of s.

    Example:
        >>> pooled, argmax = MaxPoolWithArgmax(2)(x)   # encoder
        >>> restored = MaxUnpool(2)([pooled, argmax])   # decoder: x at its block maxima, 0 elsewhere

    Reference:
        Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014
        (unpooling with switches); Badrinarayanan, Kendall and Cipolla, "SegNet: A Deep
        Convolutional Encoder-Decoder Architecture for Image Segmentation", TPAMI 2017.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ValueError(f"MaxUnpool needs size >= 1, got {size}.")
        self.size = int(size)

    def call(self, inputs):
        values, argmax = inputs
        s = self.size
        dynamic = tf.shape(values)
        static = values.shape
        out_h = static[1] * s if static[1] is not None else dynamic[1] * s
        out_w = static[2] * s if static[2] is not None else dynamic[2] * s
        channels = static[3] if static[3] is not None else dynamic[3]
        out_shape = tf.stack([dynamic[0], out_h, out_w, channels])  # (4,)
        flat_size = tf.reduce_prod(tf.cast(out_shape, tf.int64))
        indices = tf.reshape(tf.cast(argmax, tf.int64), [-1, 1])  # (B H W C, 1)
        flat = tf.scatter_nd(indices, tf.reshape(values, [-1]), tf.reshape(flat_size, [1]))  # (B Hs Ws C,)
        out = tf.reshape(flat, out_shape)
        return tf.ensure_shape(out, self.compute_output_shape(static))  # (B, H s, W s, C)

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 2 and not isinstance(input_shape[0], (int, type(None))):
            input_shape = input_shape[0]  # [values shape, argmax shape]
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.size, None if w is None else w * self.size, c)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def upsampling_layer(kind, filters=None, size=2, kernel_size=None, name=None):
    """Returns a fresh layer that upsamples by ``size`` in height and width.

    Args:
        kind: one of :data:`UPSAMPLING_KINDS`:
            ``nearest`` (``keras.layers.UpSampling2D``), ``bed_of_nails``
            (:class:`BedOfNails`), ``max_unpool`` (:class:`MaxUnpool`, called on
            ``[values, argmax]``) or ``transposed`` (``keras.layers.Conv2DTranspose``).
        filters: output channels of the transposed convolution (required there,
            ignored by the others, which keep the channel count).
        size: integer upsampling factor.
        kernel_size: kernel of the transposed convolution; defaults to ``size``
            (non-overlapping, the "up-convolution" of U-Net).
        name: layer name.

    Example:
        >>> up = upsampling_layer("bed_of_nails")
        >>> up(np.ones((1, 2, 2, 3), "float32")).shape
        (1, 4, 4, 3)
    """
    if kind == "nearest":
        return keras.layers.UpSampling2D(size, interpolation="nearest", name=name)
    if kind == "bed_of_nails":
        return BedOfNails(size, name=name)
    if kind == "max_unpool":
        return MaxUnpool(size, name=name)
    if kind == "transposed":
        if not filters:
            raise ValueError("upsampling_layer('transposed') needs the number of filters.")
        return keras.layers.Conv2DTranspose(filters, kernel_size or size, strides=size, padding="same", name=name)
    raise ValueError(f"Unknown upsampling kind {kind!r}; choose one of {', '.join(UPSAMPLING_KINDS)}.")
