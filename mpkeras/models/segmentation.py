"""Semantic segmentation: per-pixel classifiers with an encoder-decoder shape.

* :class:`Segmenter`: the shared base. Logits ``(B, H, W, K)``, per-pixel
  cross-entropy, input checks and standardization, serving endpoints.
* :class:`FCN`: conv encoder, then a decoder that upsamples back to the input
  size with one of :data:`mpkeras.layers.UPSAMPLING_KINDS`, without skip
  connections. With ``upsampling="max_unpool"`` the encoder remembers where each
  max-pooling maximum was and the decoder puts values back there (SegNet).
* :class:`UNet`: the same encoder and decoder, plus skip connections that
  concatenate each encoder level's features into the decoder at that level.

Example:
    >>> model = UNet(input_shape=(64, 64, 1), num_classes=11, filters=(16, 32, 64))
    >>> model.compile(optimizer="adam", metrics=[keras.metrics.MeanIoU(11, sparse_y_pred=False)])
    >>> model.fit(images, masks, epochs=10)      # masks: int (B, H, W) in 0..10
    >>> model.predict_outputs(images)["class_map"]  # (B, H, W) int32
"""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.layers import UPSAMPLING_KINDS, MaxPoolWithArgmax, upsampling_layer
from mpkeras.models.common import check_images, check_input
from mpkeras.registry import register_model

NO_XLA_MAX_UNPOOL = ("XLA has no kernel for MaxPoolWithArgmax, which upsampling='max_unpool' (SegNet) needs for its "
                     "pooling indices; train without --jit, or with another --upsampling")


def _statistic(value):
    """A scalar, or one value per channel, as JSON-friendly floats."""
    if isinstance(value, (list, tuple)):
        return tuple(float(v) for v in value)
    return float(value)


@keras.saving.register_keras_serializable(package="mpkeras")
class Segmenter(keras.Model):
    """Base of the segmentation models: maps images (B, H, W, C) to logits (B, H, W, K).

    The model is trained with the per-pixel categorical cross-entropy
    L = -1/(B H W) sum_{b,i,j} log softmax(f(x)_{b,i,j})[y_{b,i,j}], the
    negative log-likelihood of independent per-pixel class labels. ``call``
    checks the image batch, standardizes it and runs ``decode(encode(x))``;
    subclasses implement :meth:`encode` and :meth:`decode`.

    Args:
        input_shape: ``(H, W, C)`` of one image.
        num_classes: K, the number of per-pixel classes (labels 0..K-1).
        input_mean, input_std: training-set statistics, a scalar or one value per
            channel; the model standardizes its input, (x - mean) / std, so
            callers and servers send pixels in [0, 1].

    Example:
        >>> class Threshold(Segmenter):   # the smallest subclass: a 1x1 conv
        ...     def __init__(self, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.head = keras.layers.Conv2D(self.num_classes, 1)
        ...     def encode(self, x, training=False):
        ...         return x
        ...     def decode(self, h, training=False):
        ...         return self.head(h)

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for Semantic
        Segmentation", CVPR 2015.
    """

    min_classes = 2  # 1 for image-to-image subclasses whose "classes" are output channels (pix2pix)

    def __init__(self, input_shape=(64, 64, 1), num_classes=11, input_mean=0.0, input_std=1.0, **kwargs):
        super().__init__(**kwargs)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)}.")
        if num_classes < self.min_classes:
            raise ValueError(f"num_classes must be at least {self.min_classes}, got {num_classes}.")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.num_classes = int(num_classes)
        self.input_mean = _statistic(input_mean)
        self.input_std = _statistic(input_std)

    def build(self, input_shape):
        # A symbolic call creates every sub-layer's weights (needed to load a .keras file).
        self.call(keras.KerasTensor((None, *tuple(input_shape)[1:]), dtype=self.compute_dtype))
        super().build(input_shape)

    def call(self, x, training=False):
        check_images(x, self.input_shape)
        x = (x - ops.cast(self.input_mean, x.dtype)) / ops.cast(self.input_std, x.dtype)  # (B, H, W, C)
        return self.decode(self.encode(x, training=training), training=training)  # (B, H, W, K) logits

    def encode(self, x, training=False):
        """Standardized images (B, H, W, C) -> whatever :meth:`decode` needs."""
        raise NotImplementedError

    def decode(self, encoded, training=False):
        """The output of :meth:`encode` -> logits (B, H, W, K)."""
        raise NotImplementedError

    # --- Training -----------------------------------------------------------
    def segmentation_loss(self):
        """Per-pixel sparse categorical cross-entropy on logits, averaged over pixels."""
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def compile(self, optimizer="adam", loss=None, **kwargs):
        """``keras.Model.compile``; ``loss`` defaults to :meth:`segmentation_loss`."""
        super().compile(optimizer=optimizer, loss=loss or self.segmentation_loss(), **kwargs)

    # --- Serving ------------------------------------------------------------
    def predict_outputs(self, images):
        """Named outputs: ``class_map`` (B, H, W) int32 and ``probabilities`` (B, H, W, K)."""
        images = check_input(images, self.input_shape, "images")
        logits = self(images, training=False)
        return {
            "class_map": ops.cast(ops.argmax(logits, axis=-1), "int32"),
            "probabilities": ops.softmax(ops.cast(logits, "float32"), axis=-1),
        }

    def serving_endpoints(self):
        spec = [tf.TensorSpec((None, *self.input_shape), tf.float32, name="images")]
        return {"serving_default": (self.predict_outputs, spec)}

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.input_shape,
            "num_classes": self.num_classes,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
        }


@register_model("fcn", dataset="mnist_seg", metric="test_mean_iou")
@keras.saving.register_keras_serializable(package="mpkeras")
class FCN(Segmenter):
    """Fully convolutional encoder-decoder without skip connections.

    Encoder: for each width f_l in ``filters[:-1]`` a block of ``convs_per_block``
    3x3 conv (+ batch norm) + ReLU, then 2x2 max pooling; a last block of width
    ``filters[-1]`` at 1/2^L resolution (L = len(filters) - 1). Decoder, from the
    deepest level up: upsample by 2 to width f_l, then a conv block of width f_l;
    finally a 1x1 conv to K logits. Every output pixel is predicted from the
    coarse code alone, so fine detail has to be rebuilt by the decoder.

    Upsampling (``upsampling``):
        ``transposed``: learned 2x2 stride-2 transposed conv (Long et al.'s
        "deconvolution"); ``nearest``: copies; ``bed_of_nails``: value at the
        top-left, zeros elsewhere; ``max_unpool``: the encoder pools with
        :class:`mpkeras.layers.MaxPoolWithArgmax` and the decoder puts each value
        back at its remembered argmax (SegNet). For the last three a 1x1 conv first
        maps the channels to f_l (required for unpooling, whose indices address
        f_l channels).

    Args:
        input_shape: ``(H, W, C)``; H and W must be multiples of 2^L.
        num_classes: K per-pixel classes.
        filters: conv widths per level, shallow to deep; the last is the bottleneck.
        convs_per_block: 3x3 convs in each block.
        upsampling: one of ``nearest``, ``bed_of_nails``, ``max_unpool``, ``transposed``.
        batch_norm: batch normalization after every 3x3 conv (before the ReLU).
        dropout: dropout rate on the bottleneck features (0 disables it).
        input_mean, input_std: train statistics for standardization (see :class:`Segmenter`).
        seed: seed of the dropout.

    Example:
        >>> model = FCN(input_shape=(64, 64, 1), num_classes=11, filters=(16, 32, 64),
        ...             upsampling="max_unpool")
        >>> model.compile(optimizer="adam")  # per-pixel cross-entropy
        >>> model.fit(images, masks, epochs=10)
        >>> model.serving_endpoints()["serving_default"]  # class_map, probabilities

    Reference:
        Long, Shelhamer and Darrell, "Fully Convolutional Networks for Semantic
        Segmentation", CVPR 2015; Badrinarayanan, Kendall and Cipolla, "SegNet: A Deep
        Convolutional Encoder-Decoder Architecture for Image Segmentation", TPAMI 2017
        (max-unpooling with pooling indices); Zeiler and Fergus, "Visualizing and
        Understanding Convolutional Networks", ECCV 2014 (unpooling with switches).
    """

    skip_connections = False

    def __init__(
        self,
        input_shape=(64, 64, 1),
        num_classes=11,
        filters=(16, 32, 64),
        convs_per_block=2,
        upsampling="transposed",
        batch_norm=False,
        dropout=0.0,
        input_mean=0.0,
        input_std=1.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(input_shape=input_shape, num_classes=num_classes, input_mean=input_mean,
                         input_std=input_std, **kwargs)
        if upsampling not in UPSAMPLING_KINDS:
            raise ValueError(f"Unknown upsampling {upsampling!r}; choose one of {', '.join(UPSAMPLING_KINDS)}.")
        if len(filters) < 2:
            raise ValueError(f"filters needs at least two levels (one pooling), got {tuple(filters)}.")
        factor = 2 ** (len(filters) - 1)
        for size, label in zip(self.input_shape[:2], ("height", "width")):
            if size is not None and size % factor:
                raise ValueError(
                    f"input {label} {size} is not a multiple of 2^{len(filters) - 1} = {factor} "
                    f"({len(filters) - 1} poolings for filters={tuple(filters)}); resize or pad the images, "
                    "or use fewer levels."
                )
        depth = len(filters) - 1
        # === Layers ===
        self.encoder_blocks = [
            self._conv_block(f, convs_per_block, batch_norm, f"encoder_{i}") for i, f in enumerate(filters[:-1])
        ]
        if upsampling == "max_unpool":
            self.pools = [MaxPoolWithArgmax(2, name=f"pool_{i}") for i in range(depth)]
        else:
            self.pools = [keras.layers.MaxPooling2D(2, name=f"pool_{i}") for i in range(depth)]
        self.bottleneck = self._conv_block(filters[-1], convs_per_block, batch_norm, "bottleneck")
        self.bottleneck_dropout = keras.layers.Dropout(dropout, seed=seed) if dropout else None
        self.projections = [
            None if upsampling == "transposed" else keras.layers.Conv2D(f, 1, name=f"project_{i}")
            for i, f in enumerate(filters[:-1])
        ]
        self.upsamplers = [upsampling_layer(upsampling, filters=f, name=f"up_{i}") for i, f in enumerate(filters[:-1])]
        joins = depth if self.skip_connections else 0  # U-Net: one concatenation per level
        self.concats = [keras.layers.Concatenate(name=f"skip_{i}") for i in range(joins)]
        self.decoder_blocks = [
            self._conv_block(f, convs_per_block, batch_norm, f"decoder_{i}") for i, f in enumerate(filters[:-1])
        ]
        # float32 head: logits stay float32 under a mixed_float16 policy.
        self.head = keras.layers.Conv2D(num_classes, 1, dtype="float32", name="head")
        # === Config ===
        self.filters = tuple(int(f) for f in filters)
        self.convs_per_block = int(convs_per_block)
        self.upsampling = upsampling
        self.batch_norm = bool(batch_norm)
        self.dropout = float(dropout)
        self.seed = seed

    @staticmethod
    def _conv_block(width, convs, batch_norm, name):
        """``convs`` x [3x3 conv (no bias before batch norm), batch norm, ReLU]."""
        layers = []
        for j in range(convs):
            layers.append(keras.layers.Conv2D(width, 3, padding="same", use_bias=not batch_norm,
                                              kernel_initializer="he_normal", name=f"{name}_conv{j}"))
            if batch_norm:
                layers.append(keras.layers.BatchNormalization(name=f"{name}_bn{j}"))
            layers.append(keras.layers.ReLU(name=f"{name}_relu{j}"))
        return layers

    @staticmethod
    def _run(layers, h, training):
        for layer in layers:
            h = layer(h, training=training)
        return h

    def encode(self, x, training=False):
        """Returns ``{"features", "skips", "argmax"}``: the bottleneck features
        (B, H/2^L, W/2^L, f_L), each level's block output before pooling, and the
        pooling indices (empty unless ``upsampling="max_unpool"``)."""
        h, skips, argmax = x, [], []
        for block, pool in zip(self.encoder_blocks, self.pools):
            h = self._run(block, h, training)  # (B, H_l, W_l, f_l)
            skips.append(h)
            if isinstance(pool, MaxPoolWithArgmax):
                h, indices = pool(h)  # (B, H_l/2, W_l/2, f_l), int64 positions in the block output
                argmax.append(indices)
            else:
                h = pool(h)  # (B, H_l/2, W_l/2, f_l)
        h = self._run(self.bottleneck, h, training)  # (B, H/2^L, W/2^L, f_L)
        if self.bottleneck_dropout is not None:
            h = self.bottleneck_dropout(h, training=training)
        return {"features": h, "skips": skips, "argmax": argmax}

    def decode(self, encoded, training=False):
        """Upsamples the bottleneck features level by level to logits (B, H, W, K)."""
        h = encoded["features"]
        for i in reversed(range(len(self.decoder_blocks))):
            if self.projections[i] is not None:
                h = self.projections[i](h)  # (B, H_l/2, W_l/2, f_l)
            if self.upsampling == "max_unpool":
                h = self.upsamplers[i]([h, encoded["argmax"][i]])  # (B, H_l, W_l, f_l)
            else:
                h = self.upsamplers[i](h)  # (B, H_l, W_l, f_l)
            if self.skip_connections:
                h = self.concats[i]([h, encoded["skips"][i]])  # (B, H_l, W_l, 2 f_l)
            h = self._run(self.decoder_blocks[i], h, training)  # (B, H_l, W_l, f_l)
        return self.head(h)  # (B, H, W, K)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "convs_per_block": self.convs_per_block,
            "upsampling": self.upsampling,
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
            "seed": self.seed,
        }

    def unsupported_flags(self):
        """``--jit`` with ``upsampling="max_unpool"``: XLA has no MaxPoolWithArgmax."""
        return {"jit": NO_XLA_MAX_UNPOOL} if self.upsampling == "max_unpool" else {}


@register_model("unet", dataset="mnist_seg", metric="test_mean_iou")
@keras.saving.register_keras_serializable(package="mpkeras")
class UNet(FCN):
    """U-Net: the :class:`FCN` encoder-decoder with skip connections.

    At every level l the decoder concatenates the upsampled features with the
    encoder's block output of the same resolution, [up(h_{l+1}), e_l], before its
    conv block. The coarse path says *what* is where; the skips bring back
    *exactly where* (edges at full resolution), which an FCN without skips must
    reconstruct from the code. Convolutions are "same"-padded, so the output has
    the input's size and no cropping is needed (the paper used "valid" convs and
    cropped the skips).

    Args:
        input_shape: ``(H, W, C)``; H and W must be multiples of 2^L (L = len(filters) - 1).
        num_classes: K per-pixel classes.
        filters: conv widths per level, shallow to deep; the last is the bottleneck.
        convs_per_block: 3x3 convs in each block (2 in the paper).
        upsampling: ``transposed`` (the paper's 2x2 "up-convolution"), ``nearest``,
            ``bed_of_nails`` or ``max_unpool``.
        batch_norm: batch normalization after every 3x3 conv (before the ReLU).
        dropout: dropout rate at the end of the contracting path (the bottleneck),
            as in the paper; 0 disables it.
        input_mean, input_std: train statistics for standardization (see :class:`Segmenter`).
        seed: seed of the dropout.

    Example:
        >>> model = UNet(input_shape=(64, 64, 1), num_classes=11, filters=(16, 32, 64, 128),
        ...              batch_norm=True, dropout=0.2)
        >>> model.compile(optimizer="adam", metrics=[keras.metrics.MeanIoU(11, sparse_y_pred=False)])
        >>> model.fit(images, masks, epochs=10)
        >>> model.predict_outputs(images)["class_map"]  # (B, 64, 64) int32

    Reference:
        Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for Biomedical
        Image Segmentation", MICCAI 2015; Long, Shelhamer and Darrell, "Fully
        Convolutional Networks for Semantic Segmentation", CVPR 2015.
    """

    skip_connections = True
