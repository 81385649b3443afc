"""The shared body of the CNN zoo: checked, standardized, augmented image in; class logits out."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.layers import RandomAffine
from mpkeras.models.common import check_images, check_input


def _per_channel(value, channels, name):
    """A scalar or one value per channel -> tuple of floats of length ``channels``."""
    values = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise ValueError(f"{name} has {len(values)} values; give one, or one per channel ({channels}).")
    return values


def scaled(channels, width):
    """A layer width scaled by the width multiplier, at least 4 channels."""
    return max(4, int(round(channels * width)))


class ConvBNReLU(keras.layers.Layer):
    """Conv2D -> (BatchNormalization) -> ReLU, the unit most zoo models stack.

    With batch norm the convolution has no bias: BN's beta replaces it.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="same", batch_norm=False, weight_decay=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
        self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                                        use_bias=not batch_norm, kernel_regularizer=regularizer)
        self.norm = keras.layers.BatchNormalization() if batch_norm else None

    def call(self, x, training=False):
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x, training=training)
        return ops.relu(x)


class ImageClassifier(keras.Model):
    """Base class of the CNN zoo: p(y | x) = softmax(f(x)) over ``num_classes``.

    ``call`` checks the batch, augments it (training only), standardizes it with
    the training-set statistics given to the constructor, and hands it to
    ``forward``, which subclasses implement. The loss is the categorical
    negative log-likelihood (sparse cross-entropy on logits), defaulted in
    ``compile``; L2 ``weight_decay`` on the kernels turns it into MAP.

    Subclasses call ``super().__init__`` with the arguments below, create their
    layers, implement ``forward(x, training) -> logits`` (float32), and extend
    ``get_config`` with their own arguments.

    Args:
        input_shape: ``(H, W, C)`` of one image.
        num_classes: number of classes.
        input_mean, input_std: training-set statistics, a scalar or one per
            channel; the model computes (x - mean) / std itself, so callers and
            servers send raw pixels in [0, 1].
        augment_shift: random translation in training, as a fraction of height
            and width; 0 disables it.
        augment_rotation: random rotation in training, as a fraction of 2 pi. Shift and
            rotation are one ``mpkeras.layers.RandomAffine`` warp, which XLA compiles.
        augment_flip: random horizontal flips in training (natural images, not digits).
        weight_decay: L2 coefficient on the kernels.
        seed: seed of the random parts (augmentation, dropout).

    Example:
        >>> class Tiny(ImageClassifier):
        ...     def __init__(self, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.pool = keras.layers.GlobalAveragePooling2D()
        ...         self.head = keras.layers.Dense(self.num_classes, dtype="float32")
        ...     def forward(self, x, training=False):
        ...         return self.head(self.pool(x))

    Reference:
        LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to
        document recognition", Proc. IEEE 1998.
    """

    def __init__(
        self,
        input_shape=(28, 28, 1),
        num_classes=10,
        input_mean=0.0,
        input_std=1.0,
        augment_shift=0.0,
        augment_rotation=0.0,
        augment_flip=False,
        weight_decay=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels); got {tuple(input_shape)}.")
        channels = input_shape[-1]
        # === Layers ===
        self.augmentation = []
        if augment_flip:
            self.augmentation.append(keras.layers.RandomFlip("horizontal", seed=seed))
        if augment_rotation or augment_shift:  # one bilinear warp that XLA compiles (Keras's layers do not)
            self.augmentation.append(RandomAffine(augment_shift, augment_rotation, seed=seed))
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.input_mean = _per_channel(input_mean, channels, "input_mean")
        self.input_std = _per_channel(input_std, channels, "input_std")
        self.augment_shift = augment_shift
        self.augment_rotation = augment_rotation
        self.augment_flip = augment_flip
        self.weight_decay = weight_decay
        self.seed = seed

    def build(self, input_shape):
        # One symbolic pass creates every sub-layer's weights (before fit, and before a .keras load).
        self._symbolic_pass(training=False)
        super().build(input_shape)

    def _symbolic_pass(self, training):
        try:
            self.call(keras.KerasTensor((None, *self.input_shape)), training=training)
        except ValueError as e:
            if "Negative dimension" not in str(e) and "negative" not in str(e).lower():
                raise
            raise ValueError(
                f"{type(self).__name__} cannot take {self.input_shape[0]}x{self.input_shape[1]} images: its "
                "convolutions and pooling shrink them below one pixel. Use larger images (resize them), "
                "or a configuration for small inputs (e.g. stem='small' where the model has one)."
            ) from None

    def regularizer(self):
        """The kernel regularizer of every conv and dense layer (None without weight decay)."""
        return keras.regularizers.L2(self.weight_decay) if self.weight_decay else None

    def call(self, x, training=False):
        check_images(x, self.input_shape, "images")
        if training:  # images only: the labels of a classifier do not move with the pixels
            for layer in self.augmentation:
                x = layer(x, training=True)
        return self.forward(self.standardize(x), training=training)  # (B, num_classes) logits

    def standardize(self, x):
        """(x - mean) / std with the constructor's per-channel input statistics."""
        return (x - ops.convert_to_tensor(self.input_mean, x.dtype)) / ops.convert_to_tensor(self.input_std, x.dtype)

    def forward(self, x, training=False):
        """Standardized images (B, H, W, C) -> logits (B, num_classes). Subclasses implement it, usually as
        the output layer applied to :meth:`embed`."""
        raise NotImplementedError

    def embed(self, x, training=False):
        """Standardized images (B, H, W, C) -> the representation (B, D) the output layer reads."""
        raise NotImplementedError(f"{type(self).__name__} does not expose its penultimate representation; "
                                  "implement embed(x, training) to use it as a feature extractor.")

    def features(self, images):
        """The penultimate representation (B, D) of images in [0, 1], in inference mode.

        These are the features of sample-quality distances such as
        :func:`mpkeras.metrics.fd_mnist5k`.
        """
        check_images(images, self.input_shape, "images")
        return self.embed(self.standardize(ops.convert_to_tensor(images)), training=False)

    # --- Training -----------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, **kwargs):
        """``keras.Model.compile``; ``loss`` defaults to the categorical NLL on logits."""
        loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        super().compile(optimizer=optimizer, loss=loss, **kwargs)
        for layer in self.augmentation:  # XLA cannot compile Keras's fused warp; RandomAffine has a form it can
            if isinstance(layer, RandomAffine):
                layer.xla = bool(self.jit_compile)

    # --- Serving ------------------------------------------------------------
    def predict_outputs(self, images):
        """``probabilities`` (B, K) and ``class_id`` (B,) int32 of a batch of images in [0, 1]."""
        images = check_input(images, self.input_shape, "images")
        logits = self(images, training=False)
        return {
            "probabilities": ops.softmax(logits, axis=-1),
            "class_id": ops.cast(ops.argmax(logits, axis=-1), "int32"),
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
            "augment_shift": self.augment_shift,
            "augment_rotation": self.augment_rotation,
            "augment_flip": self.augment_flip,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }
