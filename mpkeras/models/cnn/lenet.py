"""LeNet-5: convolution, subsampling, convolution, subsampling, full connection."""

import keras

from mpkeras.models.cnn.base import ImageClassifier
from mpkeras.registry import register_model


@register_model("lenet", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class LeNet(ImageClassifier):
    """LeNet-5: C1 conv 5x5 -> S2 pool -> C3 conv 5x5 -> S4 pool -> C5 conv 5x5 -> F6 -> output.

    Each conv computes h = s(W * x + b) with a small shared kernel W (local
    receptive fields, weight sharing); each subsampling layer halves the
    resolution. C1 uses ``"same"`` padding by default, which plays the role of
    the paper's 32x32 frame around 28x28 MNIST digits; with 32x32 inputs and
    ``c1_padding="valid"`` the layer sizes are the paper's. C5 is a 5x5
    convolution over the 5x5 S4 maps, then flattened, as in the paper.

    Parameter counts (``model.count_params()``, 10 classes, default widths):
    61,706 for 28x28x1 (or 32x32x1 with ``c1_padding="valid"``), 61,794 with
    the recipe's batch norm;
    25,251,926 for 224x224x3, where C5 leaves a 50x50x120 map for F6.

    Args:
        filters: channels of C1 and C3 (paper: 6, 16).
        units: widths of C5 and F6 (paper: 120, 84).
        activation: ``tanh`` (the paper's squashing function) or ``relu``.
        pooling: ``average`` (the paper's subsampling, without its trainable
            coefficient) or ``max``.
        c1_padding: ``same`` or ``valid``.
        dropout: dropout rate before F6 and the output layer.
        batch_norm: batch normalization after C1 and C3 (not in the paper).
        **kwargs: the :class:`ImageClassifier` arguments (``input_shape``,
            ``num_classes``, ``input_mean``/``input_std``, augmentation,
            ``weight_decay``, ``seed``).

    Example:
        >>> model = LeNet(input_shape=(28, 28, 1), num_classes=10, activation="relu")
        >>> model.compile(optimizer="adam", metrics=["accuracy"])  # loss: sparse CE on logits
        >>> model.fit(images, labels, epochs=20)

    Reference:
        LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to
        document recognition", Proc. IEEE 86(11), 1998.
    """

    def __init__(self, filters=(6, 16), units=(120, 84), activation="tanh", pooling="average", c1_padding="same",
                 dropout=0.0, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"Unknown activation {activation!r}; choose 'tanh' or 'relu'.")
        if pooling not in ("average", "max"):
            raise ValueError(f"Unknown pooling {pooling!r}; choose 'average' or 'max'.")
        reg = self.regularizer()
        pool = keras.layers.AveragePooling2D if pooling == "average" else keras.layers.MaxPooling2D
        # === Layers ===
        self.c1 = keras.layers.Conv2D(filters[0], 5, padding=c1_padding, kernel_regularizer=reg, name="c1")
        self.n1 = keras.layers.BatchNormalization() if batch_norm else None
        self.s2 = pool(2, name="s2")
        self.c3 = keras.layers.Conv2D(filters[1], 5, kernel_regularizer=reg, name="c3")
        self.n3 = keras.layers.BatchNormalization() if batch_norm else None
        self.s4 = pool(2, name="s4")
        self.c5 = keras.layers.Conv2D(units[0], 5, kernel_regularizer=reg, name="c5")
        self.flatten = keras.layers.Flatten()
        self.drop = keras.layers.Dropout(dropout, seed=self.seed)
        self.f6 = keras.layers.Dense(units[1], kernel_regularizer=reg, name="f6")
        self.out = keras.layers.Dense(self.num_classes, kernel_regularizer=reg, dtype="float32", name="output")
        self.act = keras.layers.Activation(activation)
        # === Config ===
        self.filters = tuple(filters)
        self.units = tuple(units)
        self.activation = activation
        self.pooling = pooling
        self.c1_padding = c1_padding
        self.dropout = dropout
        self.batch_norm = batch_norm

    def forward(self, x, training=False):
        return self.out(self.drop(self.embed(x, training=training), training=training))  # (B, num_classes)

    def embed(self, x, training=False):
        h = self.c1(x)  # (B, H, W, 6)
        if self.n1 is not None:
            h = self.n1(h, training=training)
        h = self.s2(self.act(h))  # (B, H/2, W/2, 6)
        h = self.c3(h)  # (B, H/2 - 4, W/2 - 4, 16)
        if self.n3 is not None:
            h = self.n3(h, training=training)
        h = self.s4(self.act(h))  # (B, 5, 5, 16) for 28x28 inputs
        h = self.flatten(self.act(self.c5(h)))  # (B, 120)
        return self.act(self.f6(self.drop(h, training=training)))  # (B, 84)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "units": self.units,
            "activation": self.activation,
            "pooling": self.pooling,
            "c1_padding": self.c1_padding,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
        }
