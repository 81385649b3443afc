"""The Row LSTM of PixelRNN: an LSTM whose time step is an image row and whose state is a whole row.

For an input map x (B, H, W, C) and ``units`` = h, row i of the output is

    z_i = K^ss * h_{i-1} + (K^is * x)_i + b          (B, W, 4h)
    o_i, f_i, i_i = sigma(z_i^o), sigma(z_i^f), sigma(z_i^i),   g_i = tanh(z_i^g)
    c_i = f_i . c_{i-1} + i_i . g_i
    h_i = o_i . tanh(c_i)                            (B, W, h)

with h_0 = c_0 = 0. ``K^is`` (input-to-state) is a 1 x k convolution along the
row with PixelCNN's mask B (:class:`~mpkeras.layers.MaskedConv2D`): position
(i, j) reads x(i, j - k//2 .. j), and at j itself only channel groups up to its
own. It has no recurrence, so it runs on all rows at once. ``K^ss``
(state-to-state) is an unmasked 1-D convolution of kernel k over the previous
row's hidden state; that row lies wholly above row i, so it is all context.
The recurrence over rows is a ``tf.scan`` (a ``tf.while_loop``), which exports
and differentiates.

If x(i, j) depends only on pixels before (i, j) in raster order, so does h(i, j):
(K^is * x)(i, j) reads row i at columns <= j, and h_{i-1} reads rows < i only.
The receptive field is a triangle above the pixel (each row up widens it by
k//2 on either side), so part of the context (far left of the current row,
far right of the rows above) is a blind spot.

Gate layout: the 4h channels of z are unit-major, channel 4u + n is gate n of
unit u, with n = 0, 1, 2, 3 for o, f, i, g (the paper's order). With
``color_groups`` G > 1 (R -> G -> B at each pixel), mask B assigns channel n of
N to group n G // N, and the unit-major layout puts the four gates of unit u in
the same group as unit u of h, so group g of h(i, j) reads only groups <= g of
x(i, j).

Example:
    >>> layer = RowLSTM(32, kernel_size=3)
    >>> layer(features).shape          # features (B, 28, 28, 64)
    (B, 28, 28, 32)

Reference:
    van den Oord, Kalchbrenner and Kavukcuoglu, "Pixel recurrent neural
    networks", ICML 2016, Sec. 3.1.
"""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.layers.masked import MaskedConv2D

GATES = ("o", "f", "i", "g")


@keras.saving.register_keras_serializable(package="mpkeras")
class RowLSTM(keras.layers.Layer):
    """A Row LSTM layer, (B, H, W, C) -> (B, H, W, units); see the module docstring.

    Args:
        units: h, the channels of the hidden and cell states.
        kernel_size: k (odd), the width of both the input-to-state and the
            state-to-state convolutions.
        color_groups: channel groups autoregressed at each pixel (1 for binary
            or grey images); ``units`` and the input channels must be multiples of it.
        unit_forget_bias: start the forget-gate bias at 1, else 0.
        kernel_initializer: initializer of K^is and K^ss.

    Example:
        >>> h = RowLSTM(32)(features)   # (B, H, W, 32)

    Reference:
        van den Oord, Kalchbrenner and Kavukcuoglu, "Pixel recurrent neural
        networks", ICML 2016, Sec. 3.1.
    """

    def __init__(self, units, kernel_size=3, color_groups=1, unit_forget_bias=True,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if kernel_size % 2 == 0 or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}.")
        if units % color_groups:
            raise ValueError(f"units ({units}) must be a multiple of color_groups ({color_groups}).")
        self.units = int(units)
        self.kernel_size = int(kernel_size)
        self.color_groups = int(color_groups)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = kernel_initializer
        # K^is: 1 x k along the row, mask B; the bias b lives on this layer (forget gate at 1).
        self.input_to_state = MaskedConv2D(4 * self.units, (1, self.kernel_size), mask_type="B",
                                           color_groups=self.color_groups, use_bias=False,
                                           kernel_initializer=kernel_initializer, name="input_to_state")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"RowLSTM expects feature maps (batch, height, width, channels), got shape {input_shape}.")
        self.input_to_state.build(input_shape)
        u = self.units
        self.state_kernel = self.add_weight(shape=(self.kernel_size, u, 4 * u), initializer=self.kernel_initializer,
                                            name="state_kernel")  # K^ss: (k, h, 4h)
        forget = 1.0 if self.unit_forget_bias else 0.0

        def bias_init(shape, dtype=None):
            return ops.reshape(ops.tile(ops.convert_to_tensor([[0.0, forget, 0.0, 0.0]], dtype or "float32"),
                                        (u, 1)), shape)  # unit-major (h, 4) -> (4h,)

        self.bias = self.add_weight(shape=(4 * u,), initializer=bias_init, name="bias")

    def input_gates(self, x):
        """(K^is * x) + b for all rows at once: (B, H, W, C) -> (B, H, W, 4h)."""
        return self.input_to_state(x) + ops.cast(self.bias, x.dtype)

    def step(self, state, gates):
        """One row: ``state`` = (h_{i-1}, c_{i-1}), (B, W, h) each, and ``gates`` = (K^is * x)_i + b, (B, W, 4h).

        Returns (h_i, c_i).
        """
        h_prev, c_prev = state
        z = gates + ops.conv(h_prev, ops.cast(self.state_kernel, h_prev.dtype), padding="same")  # (B, W, 4h)
        z = ops.reshape(z, (-1, ops.shape(z)[1], self.units, 4))  # (B, W, h, 4): unit-major o, f, i, g
        o, f, i = ops.sigmoid(z[..., 0]), ops.sigmoid(z[..., 1]), ops.sigmoid(z[..., 2])
        g = ops.tanh(z[..., 3])
        c = f * c_prev + i * g  # (B, W, h)
        h = o * ops.tanh(c)  # (B, W, h)
        return h, c

    def initial_state(self, batch_size, width, dtype):
        zeros = ops.zeros((batch_size, width, self.units), dtype)
        return zeros, zeros

    def call(self, x):
        gates = self.input_gates(x)  # (B, H, W, 4h)
        state = self.initial_state(ops.shape(x)[0], ops.shape(x)[2], gates.dtype)
        rows = tf.transpose(gates, (1, 0, 2, 3))  # (H, B, W, 4h): scan over rows
        hs, _ = tf.scan(lambda carry, row: self.step(carry, row), rows, initializer=state)  # (H, B, W, h) each
        return tf.transpose(hs, (1, 0, 2, 3))  # (B, H, W, h)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_size": self.kernel_size,
                "color_groups": self.color_groups, "unit_forget_bias": self.unit_forget_bias,
                "kernel_initializer": self.kernel_initializer}
