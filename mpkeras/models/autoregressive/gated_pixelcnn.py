"""Gated PixelCNN: vertical and horizontal stacks (no blind spot), gated units, class conditioning."""

import keras
from keras import ops

from mpkeras.layers.masked import MaskedConv2D
from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.models.autoregressive.pixelcnn import output_at
from mpkeras.registry import register_model


def gate(f, g):
    """The gated activation tanh(f) * sigmoid(g)."""
    return ops.tanh(f) * ops.sigmoid(g)


@keras.saving.register_keras_serializable(package="mpkeras")
class GatedPixelCNNLayer(keras.layers.Layer):
    """One layer of the two stacks (van den Oord et al., 2016b, Fig. 2):

        v' = gate(W_v * v + V_v y)                                   vertical: rows <= i
        h' = h + W_o gate(W_h * h + W_vh shift_down(W_v * v) + V_h y)  horizontal: row i, columns <= j

    ``W_v`` is a (k//2 + 1) x k convolution over the rows at and above each
    pixel (zero-padded above), so the vertical stack sees whole rows and no
    row below; shifting it down one row before the link hides the current row.
    ``W_h`` is a 1 x k masked convolution (mask A in the first layer, which
    also has no residual, B later), so the horizontal stack sees the current row
    up to the pixel. The union covers every earlier pixel: no blind spot.

    Args:
        filters: p, the features per stack.
        kernel_size: k (odd).
        mask_type: ``A`` (first layer) or ``B``.
        color_groups: channel groups autoregressed at each pixel.
        num_classes: labels y to condition on (0: none); V y is a learned per-class bias.
        vertical_output: whether v' is computed; the last layer's is unused, so it returns v unchanged.
    """

    def __init__(self, filters, kernel_size=3, mask_type="B", color_groups=1, num_classes=0, vertical_output=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.mask_type = filters, kernel_size, mask_type
        self.color_groups, self.num_classes, self.vertical_output = color_groups, num_classes, vertical_output
        k = kernel_size
        self.pad_vertical = keras.layers.ZeroPadding2D(((k // 2, 0), (k // 2, k // 2)))
        self.vertical = keras.layers.Conv2D(2 * filters, (k // 2 + 1, k), name="vertical")
        self.link = keras.layers.Conv2D(2 * filters, 1, name="vertical_to_horizontal")
        # f and g of the horizontal stack are separate convolutions, so each keeps the contiguous colour
        # groups of its masks (one 2p-channel convolution split in halves would not).
        self.horizontal_f = MaskedConv2D(filters, (1, k), mask_type, color_groups, name="horizontal_f")
        self.horizontal_g = MaskedConv2D(filters, (1, k), mask_type, color_groups, name="horizontal_g")
        self.horizontal_out = MaskedConv2D(filters, 1, "B", color_groups, name="horizontal_out")
        if num_classes and vertical_output:
            self.label_vertical = keras.layers.Embedding(num_classes, 2 * filters, name="label_vertical")
        if num_classes:
            self.label_horizontal = keras.layers.Embedding(num_classes, 2 * filters, name="label_horizontal")

    def call(self, v, h, labels=None):
        v_pre = self.vertical(self.pad_vertical(v))  # (B, H, W, 2p): rows <= i
        # Shift down one row: roll, then zero the wrapped-around row (a slice's gradient is 10x slower on CPU).
        below_top = ops.cast(ops.arange(ops.shape(v_pre)[1]) > 0, v_pre.dtype)[None, :, None, None]
        shifted = ops.roll(v_pre, 1, axis=1) * below_top  # (B, H, W, 2p): rows < i
        h_pre = ops.concatenate([self.horizontal_f(h), self.horizontal_g(h)], axis=-1) + self.link(shifted)
        if self.num_classes:  # (B, H, W, 2p)
            h_pre = h_pre + ops.cast(self.label_horizontal(labels), h_pre.dtype)[:, None, None]
        h_out = self.horizontal_out(gate(*ops.split(h_pre, 2, axis=-1)))  # (B, H, W, p)
        h_out = h_out if self.mask_type == "A" else h + h_out
        if not self.vertical_output:
            return v, h_out
        if self.num_classes:
            v_pre = v_pre + ops.cast(self.label_vertical(labels), v_pre.dtype)[:, None, None]
        return gate(*ops.split(v_pre, 2, axis=-1)), h_out  # (B, H, W, p) each

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "mask_type": self.mask_type, "color_groups": self.color_groups, "num_classes": self.num_classes,
                "vertical_output": self.vertical_output}


@register_model("gated_pixelcnn", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class GatedPixelCNN(AutoregressiveImageModel):
    """Gated PixelCNN: vertical + horizontal stacks of gated layers, optionally class-conditional.

        y = tanh(W_f * x + V_f^T h) ⊙ sigmoid(W_g * x + V_g^T h)

    The first layer (``first_kernel``, mask A) reads the image; ``num_layers`` - 1
    mask-B layers follow (:class:`GatedPixelCNNLayer`); the horizontal stack goes
    through ReLU and two mask-B 1x1 layers to Bernoulli logits (``num_levels`` = 2)
    or a 256-way softmax per sub-pixel (``num_levels`` = 256). Every earlier pixel
    can be in the receptive field, unlike :class:`PixelCNN`'s blind spot.

    Args:
        input_shape: (H, W, C) of the images; C is also the number of colour groups.
        filters: p, the features of each stack (a multiple of C).
        num_layers: gated layers, the first included.
        first_kernel: kernel size of the first layer (odd).
        kernel_size: kernel size of the later layers (odd).
        output_filters: channels of the hidden 1x1 output layer.
        num_levels: 2 (binary) or 256 (8-bit, categorical).
        num_classes: class labels to condition on (0: unconditional); inputs become
            ``{"images", "labels"}`` and ``sample`` takes labels.
        seed: kept for the shared interface.

    Example:
        >>> model = GatedPixelCNN(input_shape=(28, 28, 1), filters=32, num_layers=8, num_classes=10)
        >>> model.compile(optimizer="adam")
        >>> model.fit({"images": binary_images, "labels": digits}, epochs=20)
        >>> model.sample_conditional(tf.constant([3, 3, 7]), tf.constant([0, 1]))["samples"]   # two 3s, a 7

    Reference:
        van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves and Kavukcuoglu,
        "Conditional image generation with PixelCNN decoders", NeurIPS 2016.
    """

    supports_levels = True
    supports_labels = True

    def __init__(self, input_shape=(28, 28, 1), filters=32, num_layers=8, first_kernel=7, kernel_size=3,
                 output_filters=64, num_levels=2, num_classes=0, seed=0, **kwargs):
        super().__init__(input_shape, seed, num_levels=num_levels, num_classes=num_classes, **kwargs)
        c = self.input_shape[-1]
        for n, name in ((filters, "filters"), (output_filters, "output_filters")):
            if n % c:
                raise ValueError(f"{name} ({n}) must be a multiple of the {c} image channels (one group per channel).")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}.")
        per_pixel = 1 if self.binary else self.num_levels
        # === Layers ===
        self.gated = [GatedPixelCNNLayer(filters, first_kernel if i == 0 else kernel_size, "A" if i == 0 else "B", c,
                                         self.num_classes, vertical_output=i < num_layers - 1, name=f"gated_{i}")
                      for i in range(num_layers)]
        self.hidden_out = MaskedConv2D(output_filters, 1, "B", c, name="hidden_out")
        self.out = MaskedConv2D(c * per_pixel, 1, "B", c, dtype="float32", name="logits")
        # === Config ===
        self.filters, self.num_layers, self.first_kernel = int(filters), int(num_layers), int(first_kernel)
        self.kernel_size, self.output_filters = int(kernel_size), int(output_filters)

    def features(self, x, labels=None):
        """Flat pixels (B, D) in [0, 1] -> the horizontal stack's features (B, H, W, p)."""
        images = 2.0 * ops.reshape(x, (-1, *self.input_shape)) - 1.0  # (B, H, W, C), centred
        v, h = images, images
        for layer in self.gated:
            v, h = layer(v, h, labels)  # (B, H, W, p) each
        return h

    def pixel_logits(self, x, pixel, labels=None):
        return output_at(self, self.features(x, labels), pixel)

    def logits(self, x, training=False, labels=None):
        out = self.out(ops.relu(self.hidden_out(ops.relu(self.features(x, labels)))))  # (B, H, W, C * K')
        if self.binary:
            return ops.reshape(out, (-1, self.num_inputs))  # (B, D)
        return ops.reshape(out, (-1, self.num_inputs, self.num_levels))  # (B, D, K)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "num_layers": self.num_layers,
                "first_kernel": self.first_kernel, "kernel_size": self.kernel_size,
                "output_filters": self.output_filters}
