"""AlexNet: five convolutions with ReLU, local response normalization, overlapping pooling and dropout."""

import keras
import tensorflow as tf

from mpkeras.models.cnn.base import ImageClassifier, scaled
from mpkeras.registry import register_model


@keras.saving.register_keras_serializable(package="mpkeras")
class LocalResponseNorm(keras.layers.Layer):
    """b_c = a_c / (k + alpha * sum_{c' within n/2 of c} a_{c'}^2)^beta across channels.

    Keras 3 has no LRN layer; ``tf.nn.local_response_normalization`` computes
    exactly this sum (its ``alpha`` is not divided by n, as in the paper).
    Defaults are the paper's k=2, n=5, alpha=1e-4, beta=0.75.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, x):
        return tf.nn.local_response_normalization(x, self.depth_radius, self.bias, self.alpha, self.beta)

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias, "alpha": self.alpha,
                "beta": self.beta}


@register_model("alexnet", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class AlexNet(ImageClassifier):
    """AlexNet (single tower): conv1..conv5 with ReLU, LRN after conv1 and conv2,
    3x3 stride-2 overlapping max-pooling after conv1, conv2 and conv5, then two
    dropout-regularized fully connected layers and the classifier.

    ``stem="imagenet"`` is the paper's 11x11 stride-4 conv1 (with 2 pixels of
    zero padding, so 224x224 inputs give the 6x6x256 map the paper's fc6 reads);
    ``stem="small"`` is a 5x5 stride-1 conv1 for 28x28 / 32x32 images. ``width``
    scales every conv's channels (1.0: 96, 256, 384, 384, 256).

    Parameter counts (``model.count_params()``):
    62,378,344 for 224x224x3, 1000 classes, width 1, fc_units 4096 (the paper's "60 million");
    the recipe's small model (28x28x1, width 0.5, fc_units 512, batch norm) has 1,462,826.

    Args:
        stem: ``imagenet`` (11x11/4) or ``small`` (5x5/1).
        width: channel multiplier of the convolutions.
        fc_units: width of fc6 and fc7 (paper: 4096).
        dropout: dropout rate on the outputs of fc6 and fc7 (paper: 0.5).
        local_response_norm: LRN after conv1 and conv2 (the paper's; off when ``batch_norm``).
        batch_norm: batch normalization after every conv (not in the paper; trains faster).
        **kwargs: the :class:`ImageClassifier` arguments.

    Example:
        >>> model = AlexNet(input_shape=(224, 224, 3), num_classes=1000)   # the paper's network
        >>> small = AlexNet(input_shape=(28, 28, 1), num_classes=10, stem="small", width=0.5, fc_units=512)

    Reference:
        Krizhevsky, Sutskever and Hinton, "ImageNet classification with deep
        convolutional neural networks", NeurIPS 2012.
    """

    def __init__(self, stem="imagenet", width=1.0, fc_units=4096, dropout=0.5, local_response_norm=True,
                 batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if stem not in ("imagenet", "small"):
            raise ValueError(f"Unknown stem {stem!r}; choose 'imagenet' (224x224 inputs) or 'small' (28x28, 32x32).")
        reg = self.regularizer()
        c = [scaled(n, width) for n in (96, 256, 384, 384, 256)]
        # === Layers ===
        if stem == "imagenet":
            self.pad = keras.layers.ZeroPadding2D(2)
            conv1 = keras.layers.Conv2D(c[0], 11, strides=4, kernel_regularizer=reg, name="conv1")
        else:
            self.pad = None
            conv1 = keras.layers.Conv2D(c[0], 5, padding="same", kernel_regularizer=reg, name="conv1")
        self.convs = [conv1] + [
            keras.layers.Conv2D(n, k, padding="same", kernel_regularizer=reg, name=f"conv{i + 2}")
            for i, (n, k) in enumerate(zip(c[1:], (5, 3, 3, 3)))
        ]
        self.norms = [keras.layers.BatchNormalization() if batch_norm else None for _ in range(5)]
        lrn = local_response_norm and not batch_norm
        self.lrn = [LocalResponseNorm() if lrn else None for _ in range(2)]
        self.pool = keras.layers.MaxPooling2D(3, strides=2)  # overlapping: window 3 > stride 2
        self.flatten = keras.layers.Flatten()
        self.drop = keras.layers.Dropout(dropout, seed=self.seed)
        self.fc6 = keras.layers.Dense(fc_units, activation="relu", kernel_regularizer=reg, name="fc6")
        self.fc7 = keras.layers.Dense(fc_units, activation="relu", kernel_regularizer=reg, name="fc7")
        self.fc8 = keras.layers.Dense(self.num_classes, kernel_regularizer=reg, dtype="float32", name="fc8")
        # === Config ===
        self.stem = stem
        self.width = width
        self.fc_units = fc_units
        self.dropout = dropout
        self.local_response_norm = local_response_norm
        self.batch_norm = batch_norm

    def forward(self, x, training=False):
        return self.fc8(self.embed(x, training=training))  # (B, num_classes)

    def embed(self, x, training=False):
        h = self.pad(x) if self.pad is not None else x  # (B, 228, 228, 3) for the imagenet stem
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = conv(h)  # conv1: (B, 55, 55, 96) imagenet / (B, 28, 28, 48) small
            if norm is not None:
                h = norm(h, training=training)
            h = keras.ops.relu(h)
            if i < 2 and self.lrn[i] is not None:
                h = self.lrn[i](h)
            if i in (0, 1, 4):
                h = self.pool(h)  # imagenet: 27, 13, 6; small: 13, 6, 2
        h = self.flatten(h)  # (B, 6*6*256) imagenet
        h = self.drop(self.fc6(h), training=training)  # dropout in fc6 and fc7, as in the paper
        return self.drop(self.fc7(h), training=training)  # (B, 4096) imagenet

    def get_config(self):
        return {
            **super().get_config(),
            "stem": self.stem,
            "width": self.width,
            "fc_units": self.fc_units,
            "dropout": self.dropout,
            "local_response_norm": self.local_response_norm,
            "batch_norm": self.batch_norm,
        }
