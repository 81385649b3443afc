"""VGG: stacks of 3x3 convolutions between 2x2 max-pools, then three fully connected layers."""

import keras

from mpkeras.models.cnn.base import ConvBNReLU, ImageClassifier, scaled
from mpkeras.registry import register_model

# Convolutions per stage for the paper's configurations A (11), B (13), D (16) and E (19).
STAGE_CONVS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
STAGE_WIDTHS = (64, 128, 256, 512, 512)


@register_model("vgg", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class VGG(ImageClassifier):
    """VGG-``depth``: five stages of 3x3 'same' convolutions (64, 128, 256, 512, 512
    channels, times ``width``), each followed by 2x2 max-pooling, then fc-fc-classifier.

    Two stacked 3x3 convolutions see a 5x5 window and three see 7x7, with fewer
    parameters (3 * 9C^2 vs 49C^2) and more non-linearities than one large kernel.
    ``depth`` counts the weight layers: 11, 13, 16 or 19 (configurations A, B, D, E).
    For small inputs a stage whose feature map is already below 2x2 skips its
    pooling, so 28x28 digits pass through all five stages (28, 14, 7, 3, 1, 1).

    Parameter counts (``model.count_params()``):
    VGG-16 at 224x224x3, 1000 classes, width 1, fc_units 4096: 138,357,544;
    VGG-19: 143,667,240; the recipe's VGG-11 (28x28x1, width 0.25, fc_units 256, batch norm): 680,282.

    Args:
        depth: 11, 13, 16 or 19.
        width: channel multiplier of the convolutions.
        fc_units: width of the two hidden fully connected layers (paper: 4096).
        dropout: dropout rate on their outputs (paper: 0.5).
        batch_norm: batch normalization after every conv (the later "VGG-BN" variant).
        **kwargs: the :class:`ImageClassifier` arguments.

    Example:
        >>> vgg16 = VGG(depth=16, input_shape=(224, 224, 3), num_classes=1000)
        >>> small = VGG(depth=11, input_shape=(28, 28, 1), width=0.25, fc_units=256, batch_norm=True)

    Reference:
        Simonyan and Zisserman, "Very deep convolutional networks for
        large-scale image recognition", ICLR 2015.
    """

    def __init__(self, depth=16, width=1.0, fc_units=4096, dropout=0.5, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if depth not in STAGE_CONVS:
            raise ValueError(f"Unsupported VGG depth {depth!r}; choose one of {sorted(STAGE_CONVS)}.")
        reg = self.regularizer()
        # === Layers ===
        self.stages = [
            [ConvBNReLU(scaled(w, width), 3, batch_norm=batch_norm, weight_decay=self.weight_decay,
                        name=f"conv{s + 1}_{i + 1}") for i in range(n)]
            for s, (n, w) in enumerate(zip(STAGE_CONVS[depth], STAGE_WIDTHS))
        ]
        self.pool = keras.layers.MaxPooling2D(2)
        self.flatten = keras.layers.Flatten()
        self.drop = keras.layers.Dropout(dropout, seed=self.seed)
        self.fc = [keras.layers.Dense(fc_units, activation="relu", kernel_regularizer=reg, name=f"fc{i + 1}")
                   for i in range(2)]
        self.classifier = keras.layers.Dense(self.num_classes, kernel_regularizer=reg, dtype="float32",
                                             name="classifier")
        # === Config ===
        self.depth = depth
        self.width = width
        self.fc_units = fc_units
        self.dropout = dropout
        self.batch_norm = batch_norm

    def forward(self, x, training=False):
        return self.classifier(self.embed(x, training=training))  # (B, num_classes)

    def embed(self, x, training=False):
        h = x
        for stage in self.stages:
            for conv in stage:
                h = conv(h, training=training)  # (B, H_s, W_s, C_s)
            if h.shape[1] is None or min(h.shape[1], h.shape[2]) >= 2:
                h = self.pool(h)  # halves H and W
        h = self.flatten(h)  # (B, 7*7*512) for 224x224 inputs
        for fc in self.fc:
            h = self.drop(fc(h), training=training)  # dropout on fc1 and fc2, as in the paper
        return h  # (B, 4096) imagenet

    def get_config(self):
        return {
            **super().get_config(),
            "depth": self.depth,
            "width": self.width,
            "fc_units": self.fc_units,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
        }
