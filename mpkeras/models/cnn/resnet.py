"""ResNet with basic residual blocks: y = relu(F(x) + shortcut(x))."""

import keras
from keras import ops

from mpkeras.models.cnn.base import ImageClassifier
from mpkeras.models.common import FixedArguments
from mpkeras.registry import register_model

DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class BasicBlock(keras.layers.Layer):
    """y = relu(BN(conv3x3(relu(BN(conv3x3_s(x))))) + shortcut(x)).

    The shortcut is the identity, or a strided 1x1 convolution with batch norm
    when the block changes resolution or width (the paper's option B).
    """

    def __init__(self, filters, strides=1, project=False, weight_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        reg = keras.regularizers.L2(weight_decay) if weight_decay else None
        conv = lambda k, s: keras.layers.Conv2D(filters, k, strides=s, padding="same", use_bias=False,  # noqa: E731
                                                kernel_regularizer=reg)
        self.conv1, self.bn1 = conv(3, strides), keras.layers.BatchNormalization()
        self.conv2, self.bn2 = conv(3, 1), keras.layers.BatchNormalization()
        self.project = (conv(1, strides), keras.layers.BatchNormalization()) if project else None

    def call(self, x, training=False):
        h = ops.relu(self.bn1(self.conv1(x), training=training))  # (B, H/s, W/s, filters)
        h = self.bn2(self.conv2(h), training=training)
        shortcut = x if self.project is None else self.project[1](self.project[0](x), training=training)
        return ops.relu(h + shortcut)


@keras.saving.register_keras_serializable(package="mpkeras")
class ResNet(ImageClassifier):
    """A residual network of basic blocks in four stages (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2),
    then global average pooling and a linear classifier.

    Each block learns a residual F(x) and outputs relu(F(x) + x): the identity
    path lets gradients and signals skip blocks, so depth stops hurting
    optimization. ``stage_blocks=(2, 2, 2, 2)`` is ResNet-18 and ``(3, 4, 6, 3)``
    is ResNet-34 (:class:`ResNet18`, :class:`ResNet34`, or :func:`resnet`).

    ``stem="imagenet"`` is the paper's 7x7/2 conv and 3x3/2 max-pool for
    224x224 inputs; ``stem="small"`` is one 3x3/1 conv for 28x28 / 32x32 images
    (the paper's CIFAR setting), which keeps the resolution for stage 1.

    Parameter counts, 224x224x3 and 1000 classes, width 64 (trainable / ``count_params()``
    with batch-norm moving statistics): ResNet-18 11,689,512 / 11,699,112; ResNet-34
    21,797,672 / 21,814,696. The recipes' models (28x28x1, width 16): ResNet-18 703,578,
    ResNet-34 1,338,586 (``count_params()``).

    Args:
        stage_blocks: number of basic blocks in each of the four stages.
        width: channels of stage 1 (paper: 64); stage s has width * 2^(s-1).
        stem: ``imagenet`` or ``small``.
        **kwargs: the :class:`ImageClassifier` arguments.

    Example:
        >>> model = resnet(18, input_shape=(224, 224, 3), num_classes=1000)
        >>> small = ResNet(stage_blocks=(2, 2, 2, 2), width=16, stem="small", input_shape=(28, 28, 1))

    Reference:
        He, Zhang, Ren and Sun, "Deep residual learning for image recognition", CVPR 2016.
    """

    def __init__(self, stage_blocks=(2, 2, 2, 2), width=64, stem="imagenet", **kwargs):
        super().__init__(**kwargs)
        if stem not in ("imagenet", "small"):
            raise ValueError(f"Unknown stem {stem!r}; choose 'imagenet' (224x224 inputs) or 'small' (28x28, 32x32).")
        if len(stage_blocks) != 4 or min(stage_blocks) < 1:
            raise ValueError(f"stage_blocks needs four positive counts, e.g. (2, 2, 2, 2); got {stage_blocks!r}.")
        reg = self.regularizer()
        # === Layers ===
        if stem == "imagenet":
            self.stem_conv = keras.layers.Conv2D(width, 7, strides=2, padding="same", use_bias=False,
                                                 kernel_regularizer=reg, name="stem_conv")
            self.stem_pool = keras.layers.MaxPooling2D(3, strides=2, padding="same")
        else:
            self.stem_conv = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_regularizer=reg,
                                                 name="stem_conv")
            self.stem_pool = None
        self.stem_bn = keras.layers.BatchNormalization()
        self.blocks = []
        for s, n in enumerate(stage_blocks):
            for b in range(n):
                strides = 2 if s > 0 and b == 0 else 1
                self.blocks.append(BasicBlock(width * 2**s, strides, project=strides != 1,
                                              weight_decay=self.weight_decay, name=f"stage{s + 1}_block{b + 1}"))
        self.gap = keras.layers.GlobalAveragePooling2D()
        self.fc = keras.layers.Dense(self.num_classes, kernel_regularizer=reg, dtype="float32", name="fc")
        # === Config ===
        self.stage_blocks = tuple(stage_blocks)
        self.width = width
        self.stem = stem

    def forward(self, x, training=False):
        return self.fc(self.embed(x, training=training))  # (B, num_classes)

    def embed(self, x, training=False):
        h = ops.relu(self.stem_bn(self.stem_conv(x), training=training))  # (B, 112, 112, w) / (B, 28, 28, w)
        if self.stem_pool is not None:
            h = self.stem_pool(h)  # (B, 56, 56, w)
        for block in self.blocks:
            h = block(h, training=training)  # ends at (B, 7, 7, 8w) / (B, 4, 4, 8w)
        return self.gap(h)  # (B, 8w)

    def get_config(self):
        return {**super().get_config(), "stage_blocks": self.stage_blocks, "width": self.width, "stem": self.stem}


@register_model("resnet18", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class ResNet18(FixedArguments, ResNet):
    """ResNet-18: :class:`ResNet` with stage_blocks (2, 2, 2, 2), 11.7M parameters at 224x224, 1000 classes.

    Args:
        **kwargs: the :class:`ResNet` arguments except ``stage_blocks``.

    Example:
        >>> model = ResNet18(input_shape=(28, 28, 1), num_classes=10, width=16, stem="small")

    Reference:
        He, Zhang, Ren and Sun, "Deep residual learning for image recognition", CVPR 2016.
    """

    FIXED = {"stage_blocks": DEPTHS[18]}


@register_model("resnet34", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class ResNet34(FixedArguments, ResNet):
    """ResNet-34: :class:`ResNet` with stage_blocks (3, 4, 6, 3), 21.8M parameters at 224x224, 1000 classes.

    Args:
        **kwargs: the :class:`ResNet` arguments except ``stage_blocks``.

    Example:
        >>> model = ResNet34(input_shape=(32, 32, 3), num_classes=10, width=16, stem="small")

    Reference:
        He, Zhang, Ren and Sun, "Deep residual learning for image recognition", CVPR 2016.
    """

    FIXED = {"stage_blocks": DEPTHS[34]}


def resnet(depth, **kwargs):
    """The ResNet family constructor: ``resnet(18)`` -> :class:`ResNet18`, ``resnet(34)`` -> :class:`ResNet34`.

    Args:
        depth: 18 or 34 (the basic-block depths of the paper's Table 1).
        **kwargs: the :class:`ResNet` arguments except ``stage_blocks``.
    """
    classes = {18: ResNet18, 34: ResNet34}
    if depth not in classes:
        raise ValueError(f"No basic-block ResNet of depth {depth!r}; choose 18 or 34, or build "
                         "ResNet(stage_blocks=...) directly.")
    return classes[depth](**kwargs)
