"""GoogLeNet (Inception v1): Inception modules with 1x1 reductions, and two auxiliary classifiers."""

import keras
from keras import ops

from mpkeras.models.cnn.alexnet import LocalResponseNorm
from mpkeras.models.cnn.base import ConvBNReLU, ImageClassifier, scaled
from mpkeras.registry import register_model

# Table 1 of the paper: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = ("3b", "4e")  # 3x3 stride-2 max-pooling between the stages
AUX_AFTER = ("4a", "4d")  # where the auxiliary classifiers branch off


class Inception(keras.layers.Layer):
    """Four parallel branches concatenated on channels: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max-pool -> 1x1.

    The 1x1 "reduce" convolutions cut the channels before the expensive 3x3 and
    5x5 convolutions, which keeps the module's cost bounded as it widens.
    """

    def __init__(self, filters, batch_norm=False, weight_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        f1, r3, f3, r5, f5, fp = filters
        unit = lambda n, k: ConvBNReLU(n, k, batch_norm=batch_norm, weight_decay=weight_decay)  # noqa: E731
        self.branch1 = [unit(f1, 1)]
        self.branch3 = [unit(r3, 1), unit(f3, 3)]
        self.branch5 = [unit(r5, 1), unit(f5, 5)]
        self.pool = keras.layers.MaxPooling2D(3, strides=1, padding="same")
        self.branch_pool = [unit(fp, 1)]

    def call(self, x, training=False):
        outputs = []
        for branch, h in ((self.branch1, x), (self.branch3, x), (self.branch5, x), (self.branch_pool, self.pool(x))):
            for layer in branch:
                h = layer(h, training=training)
            outputs.append(h)
        return ops.concatenate(outputs, axis=-1)  # (B, H, W, f1 + f3 + f5 + fp)


class AuxiliaryClassifier(keras.layers.Layer):
    """5x5/3 average pool -> 1x1 conv (128) -> fc (1024) -> dropout 0.7 -> logits (training only).

    ``padding="same"`` lets the pool read the small stem's 7x7 (or smaller) maps; the paper's is "valid".
    """

    def __init__(self, num_classes, width=1.0, units=1024, batch_norm=False, weight_decay=0.0, seed=None,
                 padding="valid", **kwargs):
        super().__init__(**kwargs)
        reg = keras.regularizers.L2(weight_decay) if weight_decay else None
        self.pool = keras.layers.AveragePooling2D(5, strides=3, padding=padding)
        self.conv = ConvBNReLU(scaled(128, width), 1, batch_norm=batch_norm, weight_decay=weight_decay)
        self.flatten = keras.layers.Flatten()
        self.fc = keras.layers.Dense(units, activation="relu", kernel_regularizer=reg)
        self.drop = keras.layers.Dropout(0.7, seed=seed)
        self.out = keras.layers.Dense(num_classes, kernel_regularizer=reg, dtype="float32")

    def call(self, x, training=False):
        h = self.flatten(self.conv(self.pool(x), training=training))  # (B, 4*4*128) from 14x14, (B, 3*3*128) from 7x7
        return self.out(self.drop(self.fc(h), training=training))  # (B, num_classes)


@register_model("googlenet", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class GoogLeNet(ImageClassifier):
    """GoogLeNet: stem, Inception 3a-3b, pool, 4a-4e, pool, 5a-5b, global average pool, dropout, fc.

    Two auxiliary classifiers branch off after 4a and 4d. In training their
    cross-entropies are added to the main one with weight ``aux_weight``
    (paper: 0.3), L = L_main + aux_weight * (L_aux1 + L_aux2), which feeds
    gradient into the middle of the deep network. At inference (``training=False``)
    they are not computed, and the export serves the main head only.

    ``stem="imagenet"`` is the paper's 7x7/2 conv, pool, LRN, 1x1, 3x3 (192),
    LRN, pool stem for 224x224 inputs (stages 3, 4, 5 see 28, 14, 7 pixels);
    ``stem="small"`` is one 3x3 conv and a 3x3/2 pool for 28x28 / 32x32 images
    (stages see 14, 7, 4 pixels). ``width`` scales every channel count of Table 1.

    Parameter counts (``model.count_params()``, aux heads included):
    13,378,280 for 224x224x3, 1000 classes, width 1 (the main network alone: 6,998,552);
    the recipe's model (28x28x1, width 0.25, batch norm) has 996,238.

    Args:
        stem: ``imagenet`` or ``small``.
        width: channel multiplier.
        aux_classifiers: build and train the two auxiliary heads.
        aux_weight: weight of each auxiliary loss (paper: 0.3).
        dropout: dropout before the final fc (paper: 0.4).
        batch_norm: batch normalization after every conv (Inception v2; not in v1).
        **kwargs: the :class:`ImageClassifier` arguments.

    Example:
        >>> model = GoogLeNet(input_shape=(224, 224, 3), num_classes=1000)
        >>> model.compile(optimizer="adam", metrics=["accuracy"])  # aux losses are added in compute_loss
        >>> model.predict_outputs(images)["class_id"]               # main head only

    Reference:
        Szegedy et al., "Going deeper with convolutions", CVPR 2015.
    """

    def __init__(self, stem="imagenet", width=1.0, aux_classifiers=True, aux_weight=0.3, dropout=0.4,
                 batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if stem not in ("imagenet", "small"):
            raise ValueError(f"Unknown stem {stem!r}; choose 'imagenet' (224x224 inputs) or 'small' (28x28, 32x32).")
        reg = self.regularizer()
        wd = self.weight_decay
        unit = lambda n, k, s=1: ConvBNReLU(scaled(n, width), k, strides=s, batch_norm=batch_norm,  # noqa: E731
                                            weight_decay=wd)
        pool = lambda: keras.layers.MaxPooling2D(3, strides=2, padding="same")  # noqa: E731
        # === Layers ===
        if stem == "imagenet":
            lrn = (lambda: []) if batch_norm else (lambda: [LocalResponseNorm()])  # noqa: E731
            self.stem_layers = [unit(64, 7, 2), pool(), *lrn(), unit(64, 1), unit(192, 3), *lrn(), pool()]
        else:
            self.stem_layers = [unit(192, 3), pool()]
        self.blocks = {}
        for name, filters in INCEPTION.items():
            self.blocks[name] = Inception([scaled(f, width) for f in filters], batch_norm=batch_norm,
                                          weight_decay=wd, name=f"inception_{name}")
        self.pool = pool()
        self.aux = {}
        if aux_classifiers:
            for name in AUX_AFTER:
                self.aux[name] = AuxiliaryClassifier(self.num_classes, width=width, batch_norm=batch_norm,
                                                     weight_decay=wd, seed=self.seed, name=f"aux_{name}",
                                                     padding="valid" if stem == "imagenet" else "same")
        self.gap = keras.layers.GlobalAveragePooling2D()
        self.drop = keras.layers.Dropout(dropout, seed=self.seed)
        self.fc = keras.layers.Dense(self.num_classes, kernel_regularizer=reg, dtype="float32", name="fc")
        self.aux_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self._aux_logits = ()  # set by every call: the auxiliary logits of a training call, else empty
        # === Config ===
        self.stem = stem
        self.width = width
        self.aux_classifiers = aux_classifiers
        self.aux_weight = aux_weight
        self.dropout = dropout
        self.batch_norm = batch_norm

    def build(self, input_shape):
        # One symbolic pass in training mode, so the training-only auxiliary heads get their weights
        # now (at build, and before a .keras load) rather than inside the first traced train step.
        self._symbolic_pass(training=True)
        self._aux_logits = ()
        keras.Model.build(self, input_shape)

    def forward(self, x, training=False):
        return self.fc(self.embed(x, training=training))  # (B, num_classes)

    def embed(self, x, training=False):
        h = x
        for layer in self.stem_layers:
            h = layer(h, training=training) if isinstance(layer, ConvBNReLU) else layer(h)  # (B, 28, 28, 192) / (B, 14, 14, 192)
        aux_logits = []
        for name, block in self.blocks.items():
            h = block(h, training=training)  # imagenet stem: 3x: (B, 28, 28, .), 4x: 14x14, 5x: 7x7
            if training and name in self.aux:
                aux_logits.append(self.aux[name](h, training=training))  # (B, num_classes)
            if name in POOL_AFTER:
                h = self.pool(h)
        self._aux_logits = tuple(aux_logits)
        return self.drop(self.gap(h), training=training)  # (B, 1024 * width)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The main loss, plus ``aux_weight`` times each auxiliary cross-entropy in training."""
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        aux_logits, self._aux_logits = self._aux_logits, ()
        if training and y is not None:
            for logits in aux_logits:
                loss = loss + self.aux_weight * self.aux_loss(y, logits, sample_weight)
        return loss

    def get_config(self):
        return {
            **super().get_config(),
            "stem": self.stem,
            "width": self.width,
            "aux_classifiers": self.aux_classifiers,
            "aux_weight": self.aux_weight,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
        }
