"""PixelCNN: a stack of masked convolutions, every conditional of an image in one pass."""

import keras
from keras import ops

from mpkeras.layers.masked import MaskedConv2D
from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.registry import register_model


def output_at(model, features, pixel):
    """The logits (B,) or (B, K) of sub-pixel ``pixel`` = position * C + channel from the features (B, H, W, F) of
    a PixelCNN-style ``model``: its 1x1 output layers ``hidden_out`` and ``out`` at that one position only.

    Sampling needs one sub-pixel a step, and the 256-way softmax of every position was most of a step's cost
    (C * 256 output channels at H * W positions).
    """
    h, w, c = model.input_shape
    at = ops.take(ops.reshape(features, (-1, h * w, features.shape[-1])), pixel // c, axis=1)  # (B, F)
    out = model.out(ops.relu(model.hidden_out(ops.relu(at[:, None, None]))))  # (B, 1, 1, C * K')
    logits = ops.take(ops.reshape(out, (-1, c, 1 if model.binary else model.num_levels)), pixel % c, axis=1)
    return logits[:, 0] if model.binary else logits  # (B,) or (B, K)


@keras.saving.register_keras_serializable(package="mpkeras")
class PixelCNNResidualBlock(keras.layers.Layer):
    """PixelCNN's residual block (van den Oord et al., 2016, Fig. 5) on 2h features:

        y = x + conv1x1_B(relu(convkxk_B(relu(conv1x1_B(relu(x))))))   with h, h, 2h filters.
    """

    def __init__(self, filters, kernel_size=3, color_groups=1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.color_groups = filters, kernel_size, color_groups
        self.reduce = MaskedConv2D(filters, 1, "B", color_groups, name="reduce")
        self.spatial = MaskedConv2D(filters, kernel_size, "B", color_groups, name="spatial")
        self.expand = MaskedConv2D(2 * filters, 1, "B", color_groups, name="expand")

    def call(self, x):
        h = self.reduce(ops.relu(x))  # (B, H, W, h)
        h = self.spatial(ops.relu(h))  # (B, H, W, h)
        return x + self.expand(ops.relu(h))  # (B, H, W, 2h)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "color_groups": self.color_groups}


@register_model("pixelcnn", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class PixelCNN(AutoregressiveImageModel):
    """PixelCNN: masked convolutions give p(x_i | x_<i) for every pixel at once.

        p(x) = prod_i p(x_{i,R} | x_<i) p(x_{i,G} | x_<i, x_{i,R}) p(x_{i,B} | x_<i, x_{i,R}, x_{i,G})

    Raster order, channels R -> G -> B inside a pixel. A ``first_kernel``
    convolution with mask A (the pixel itself is hidden; at the centre a colour
    group sees only earlier groups), ``num_blocks`` residual blocks with mask-B
    k x k convolutions, then two mask-B 1x1 layers to the logits: one Bernoulli
    logit per sub-pixel (``num_levels`` = 2) or a 256-way softmax per sub-pixel
    (``num_levels`` = 256, 8-bit images). Features are split into C contiguous
    colour groups, so the autoregression over channels holds in every layer.

    Stacked k x k mask-B convolutions never see the pixels up and to the right
    beyond a 45 degree cone (the "blind spot"); :class:`GatedPixelCNN` removes it.

    Args:
        input_shape: (H, W, C) of the images; C is also the number of colour groups.
        filters: h; residual features have 2h channels (multiples of C).
        num_blocks: residual blocks.
        first_kernel: the mask-A kernel size (odd).
        kernel_size: the mask-B kernel size in the blocks (odd).
        output_filters: channels of the hidden 1x1 output layer.
        num_levels: 2 (binary) or 256 (8-bit, categorical).
        seed: kept for the shared interface (initializers use Keras's global seed).

    Example:
        >>> model = PixelCNN(input_shape=(28, 28, 1), filters=32, num_blocks=5)
        >>> model.compile(optimizer="adam")                    # loss: NLL in nats per image
        >>> model.fit(binary_images, epochs=20)
        >>> model.log_prob(binary_images)["bits_per_dim"]      # (B,)
        >>> model.sample(16, tf.constant([0, 1]))["samples"]    # (16, 28, 28, 1), in the graph

    Reference:
        van den Oord, Kalchbrenner and Kavukcuoglu, "Pixel recurrent neural networks", ICML 2016.
    """

    supports_levels = True

    def __init__(self, input_shape=(28, 28, 1), filters=32, num_blocks=5, first_kernel=7, kernel_size=3,
                 output_filters=64, num_levels=2, seed=0, **kwargs):
        super().__init__(input_shape, seed, num_levels=num_levels, **kwargs)
        c = self.input_shape[-1]
        for n, name in ((filters, "filters"), (output_filters, "output_filters")):
            if n % c:
                raise ValueError(f"{name} ({n}) must be a multiple of the {c} image channels (one group per channel).")
        per_pixel = 1 if self.binary else self.num_levels
        # === Layers ===
        self.first = MaskedConv2D(2 * filters, first_kernel, "A", c, name="first")
        self.blocks = [PixelCNNResidualBlock(filters, kernel_size, c, name=f"block_{i}") for i in range(num_blocks)]
        self.hidden_out = MaskedConv2D(output_filters, 1, "B", c, name="hidden_out")
        self.out = MaskedConv2D(c * per_pixel, 1, "B", c, dtype="float32", name="logits")
        # === Config ===
        self.filters, self.num_blocks, self.first_kernel = int(filters), int(num_blocks), int(first_kernel)
        self.kernel_size, self.output_filters = int(kernel_size), int(output_filters)

    def features(self, x, labels=None):
        """Images (B, H, W, C) in [0, 1] -> masked features (B, H, W, 2h)."""
        h = self.first(2.0 * x - 1.0)  # centred inputs
        for block in self.blocks:
            h = block(h)
        return h

    def logits(self, x, training=False, labels=None):
        images = ops.reshape(x, (-1, *self.input_shape))  # (B, H, W, C)
        h = self.out(ops.relu(self.hidden_out(ops.relu(self.features(images, labels)))))  # (B, H, W, C * K')
        if self.binary:
            return ops.reshape(h, (-1, self.num_inputs))  # (B, D)
        return ops.reshape(h, (-1, self.num_inputs, self.num_levels))  # (B, D, K): channel c * K + k

    def pixel_logits(self, x, pixel, labels=None):
        return output_at(self, self.features(ops.reshape(x, (-1, *self.input_shape)), labels), pixel)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "num_blocks": self.num_blocks,
                "first_kernel": self.first_kernel, "kernel_size": self.kernel_size,
                "output_filters": self.output_filters}
