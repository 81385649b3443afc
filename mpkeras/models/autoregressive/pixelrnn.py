"""PixelRNN with Row LSTM layers."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.layers.masked import MaskedConv2D
from mpkeras.layers.row_lstm import RowLSTM
from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.registry import register_model


@register_model("pixelrnn", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class PixelRNN(AutoregressiveImageModel):
    """PixelRNN (Row LSTM): a masked convolution, residual Row LSTM layers and a 1 x 1 masked read-out.

    With h = ``hidden_units`` and an image x (B, H, W, C):

        a^0 = MaskConvA_{n x n}(x) (+ E y)                        (B, H, W, 2h)
        a^l = a^{l-1} + MaskConvB_{1 x 1}(RowLSTM_l(a^{l-1}))       l = 1..L, residual
        logits = MaskConvB_{1 x 1}(relu(MaskConvB_{1 x 1}(relu(a^L))))

    where each Row LSTM (:class:`~mpkeras.layers.RowLSTM`) runs over the rows
    top to bottom,

        [o_i, f_i, i_i, g_i] = [sigma, sigma, sigma, tanh](K^ss * h_{i-1} + K^is * a_i)
        c_i = f_i . c_{i-1} + i_i . g_i,     h_i = o_i . tanh(c_i),

    with K^is a 1 x k convolution along row i under mask B and K^ss an
    unmasked 1-D convolution of kernel k over the previous row's state. The
    logits of pixel (i, j) therefore depend on pixels before (i, j) in raster
    order only (channel c after channels < c of the same pixel), and

        log p(x) = sum_{i, j, c} log p(x_{i,j,c} | x_{<(i,j,c)}),

    Bernoulli for binary images (``num_levels`` = 2, a sigmoid per pixel as in
    the paper's MNIST model) or a K-way softmax per channel (``num_levels`` = K,
    the paper's 256-way softmax). Training computes all conditionals in one
    pass (the input-to-state convolution for all rows at once, then a
    ``tf.scan`` over rows). The receptive field is a triangle above the pixel,
    widened by k//2 per row up; the rest is a blind spot.

    Sampling overrides the generic sampler, which recomputes the whole image for
    every pixel: it carries every layer's (h, c) of the finished rows through a
    ``tf.while_loop`` and recomputes only the current row for each pixel,
    H W C row passes instead of H W C image passes. It draws exactly what the
    generic sampler draws from the same seed.

    With ``num_classes`` > 0 the model is class-conditional: a learned
    embedding E y of the label (B,) is added to the input map a^0, so every
    conditional sees it.

    Args:
        input_shape: (H, W, C) of the images; C channels are autoregressed in order at each pixel.
        hidden_units: h, the state size of every Row LSTM; the residual stream has 2h channels
            (both multiples of C).
        num_layers: L, the number of Row LSTM layers.
        input_kernel_size: n (odd), the first convolution's n x n kernel (mask A).
        kernel_size: k (odd), the Row LSTM's input-to-state and state-to-state kernel width.
        output_units: channels of the hidden 1 x 1 read-out layer (a multiple of C).
        seed: kept for the shared interface (the model has no random ordering).
        num_levels: 2 for binary images (Bernoulli logits), K > 2 for K-level pixels (categorical logits).
        num_classes: number of class labels to condition on (0: unconditional); inputs become
            ``{"images", "labels"}``.

    Example:
        >>> model = PixelRNN(input_shape=(28, 28, 1), hidden_units=32, num_layers=2)
        >>> model.compile(optimizer="adam")
        >>> model.fit(binary_images, epochs=20)
        >>> model.log_prob(binary_images)["log_prob"]            # (B,) nats
        >>> model.sample(16, tf.constant([0, 1]))["samples"]     # (16, 28, 28, 1)

    Reference:
        van den Oord, Kalchbrenner and Kavukcuoglu, "Pixel recurrent neural
        networks", ICML 2016 (Sec. 3.1 Row LSTM, Sec. 3.3 residual connections, Sec. 3.4 masks).
    """

    supports_levels = True
    supports_labels = True

    def __init__(self, input_shape=(28, 28, 1), hidden_units=32, num_layers=2, input_kernel_size=7, kernel_size=3,
                 output_units=64, seed=0, num_levels=2, num_classes=0, **kwargs):
        super().__init__(input_shape, seed, num_levels=num_levels, num_classes=num_classes, **kwargs)
        if int(num_layers) < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}.")
        channels = self.input_shape[-1]
        for name, value in (("hidden_units", hidden_units), ("output_units", output_units)):
            if int(value) % channels:
                raise ValueError(f"{name} ({value}) must be a multiple of the image channels ({channels}), so "
                                 "every channel gets its own group of features.")
        h = int(hidden_units)
        groups = dict(color_groups=channels)
        # === Layers ===
        self.input_conv = MaskedConv2D(2 * h, input_kernel_size, mask_type="A", name="input_conv", **groups)
        self.label_embedding = (keras.layers.Embedding(self.num_classes, 2 * h, embeddings_initializer="zeros",
                                                       name="label_embedding") if self.num_classes else None)
        self.row_lstms = [RowLSTM(h, kernel_size, name=f"row_lstm_{l}", **groups) for l in range(int(num_layers))]
        self.residual_convs = [MaskedConv2D(2 * h, 1, mask_type="B", name=f"residual_{l}", **groups)
                               for l in range(int(num_layers))]
        self.output_hidden = MaskedConv2D(int(output_units), 1, mask_type="B", activation="relu", name="output_hidden",
                                          **groups)
        per_channel = 1 if self.num_levels == 2 else self.num_levels
        self.output_conv = MaskedConv2D(channels * per_channel, 1, mask_type="B", dtype="float32", name="output",
                                        **groups)  # channel c's logits are block c: group c
        # === Config ===
        self.hidden_units = h
        self.num_layers = int(num_layers)
        self.input_kernel_size = int(input_kernel_size)
        self.kernel_size = int(kernel_size)
        self.output_units = int(output_units)

    # --- The network -------------------------------------------------------------
    def input_map(self, images, labels=None):
        """a^0: images (B, rows, W, C) -> (B, rows, W, 2h)."""
        a = self.input_conv(images)
        if self.num_classes:
            a = a + ops.cast(self.label_embedding(labels), a.dtype)[:, None, None, :]
        return a

    def read_out(self, a):
        """Logits of the residual stream a^L (B, rows, W, 2h): (B, rows * W * C) or (B, rows * W * C, K)."""
        logits = self.output_conv(self.output_hidden(ops.relu(a)))  # (B, rows, W, C * K'): channel c's K' together
        pixels = ops.shape(logits)[1] * self.input_shape[1] * self.input_shape[2]  # rows * W * C
        return ops.reshape(logits, (-1, pixels) if self.binary else (-1, pixels, self.num_levels))

    def logits(self, x, training=False, labels=None):
        images = ops.reshape(x, (-1, *self.input_shape))  # (B, H, W, C)
        a = self.input_map(images, labels)  # (B, H, W, 2h)
        for lstm, residual in zip(self.row_lstms, self.residual_convs):
            a = a + residual(lstm(a))  # (B, H, W, 2h)
        return self.read_out(a)  # (B, D) or (B, D, K)

    # --- Row-by-row sampling -----------------------------------------------------
    def _row(self, canvas, i, states, labels):
        """The residual stream of row i (B, 1, W, 2h) and every layer's (h_i, c_i), given (h_{i-1}, c_{i-1}).

        The first convolution reads the rows i - n//2 .. i of the canvas (zero
        above the image, like its same padding); its mask hides everything
        below row i, so the window gives row i exactly.
        """
        height, width, channels = self.input_shape
        reach = self.input_kernel_size // 2
        images = tf.reshape(canvas, (-1, height, width, channels))
        padded = tf.pad(images, [[0, 0], [reach, 0], [0, 0], [0, 0]])  # (N, reach + H, W, C)
        window = tf.cast(tf.slice(padded, [0, i, 0, 0], [-1, reach + 1, -1, -1]), self.compute_dtype)  # rows i-reach..i
        a = self.input_map(window, labels)[:, reach:]  # (N, 1, W, 2h)
        new_states = []
        for lstm, residual, state in zip(self.row_lstms, self.residual_convs, states):
            h, c = lstm.step(state, lstm.input_gates(a)[:, 0])  # (N, W, h) each
            new_states.append((h, c))
            a = a + residual(h[:, None])  # (N, 1, W, 2h)
        return a, new_states

    def _sample(self, canvas, start, seed, labels=None):
        """Completes ``canvas`` (N, D) from pixel ``start`` on, carrying the finished rows' LSTM states.

        The noise is the generic sampler's (philox uniforms or Gumbels of
        ``seed``, one per pixel), so both draw the same images.
        """
        height, width, channels = self.input_shape
        row_size = width * channels
        n = tf.shape(canvas)[0]
        noise = self._noise(n, seed)  # (N, D) or (N, D, K)
        start = tf.cast(start, tf.int32)

        def pixel_step(p, canvas, i, states):
            a, _ = self._row(canvas, i, states, labels)
            logits = tf.cast(self.read_out(a), tf.float32)  # (N, W C) or (N, W C, K)
            value = self._draw(tf.gather(logits, p - i * row_size, axis=1), tf.gather(noise, p, axis=1))  # (N,)
            one_hot = tf.one_hot(p, self.num_inputs)[None]  # (1, D)
            return p + 1, canvas * (1 - one_hot) + value[:, None] * one_hot

        def row_step(i, canvas, states):
            end = (i + 1) * row_size
            _, canvas = tf.while_loop(lambda p, _: p < end, lambda p, c: pixel_step(p, c, i, states),
                                      (tf.maximum(start, i * row_size), canvas))
            _, states = self._row(canvas, i, states, labels)  # row i is final: its states feed row i + 1
            return i + 1, canvas, states

        zeros = tf.zeros((n, width, self.hidden_units), self.compute_dtype)
        states = [(zeros, zeros) for _ in self.row_lstms]
        _, canvas, _ = tf.while_loop(lambda i, *_: i < height, row_step, (0, canvas, states))
        return {"samples": tf.reshape(canvas, (-1, *self.input_shape))}

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "num_layers": self.num_layers,
                "input_kernel_size": self.input_kernel_size, "kernel_size": self.kernel_size,
                "output_units": self.output_units}
