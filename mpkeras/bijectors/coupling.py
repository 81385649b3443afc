"""Affine coupling (RealNVP) on vectors (B, D) and images (B, H, W, C).

    y_b = x_b,    y_a = x_a * exp(s(x_b)) + t(x_b),    log|det dy/dx| = sum s(x_b)

where b is the part the mask keeps and a the part it transforms. The conditioner
network that outputs (s, t) is never inverted, so it can be any network:

    x_a = (y_a - t(y_b)) * exp(-s(y_b)).
"""

import keras
import numpy as np
import tensorflow as tf

from mpkeras.bijectors.base import FlowLayer

IMAGE_MASKS = ("channel", "checkerboard")
VECTOR_MASKS = ("half", "alternate")


@keras.saving.register_keras_serializable(package="mpkeras")
class AffineCoupling(FlowLayer):
    """Affine coupling layer (Dinh et al.) with a stabilized log-scale and an identity start.

    The log-scale is s = scale * tanh(raw_s), with a learned per-dimension
    ``scale`` (initialized to 1), so it stays bounded; the conditioner's last
    layer is zero-initialized, so the layer starts as the identity.

    Masks:
      * vectors (``event_ndims=1``): ``"half"`` (b = the first half),
        ``"alternate"`` (b = even indices), or an explicit 0/1 list (1 = kept, b);
      * images (``event_ndims=3``): ``"channel"`` (b = the first half of the channels,
        done with splits, not multiplications) or ``"checkerboard"`` (b = pixels
        with (i + j) even, all channels).
    ``reverse=True`` swaps the roles of the two parts.

    Conditioning: ``forward(x, conditions=c)`` concatenates ``c`` into the
    conditioner's input: a vector (B, K) for vectors, and for images either a
    feature map (B, H, W, K) of the same height and width or a vector (B, K),
    which is broadcast over the pixels.

    Subclassing: override :meth:`build_conditioner` to change the network; it
    maps (B, ..., features) to (B, ..., 2 * outputs) raw (s, t).

    Args:
        mask: see above.
        reverse: transform the kept part instead.
        hidden_units: width of the conditioner's hidden layers.
        num_hidden: number of hidden layers.
        event_ndims: 1 (vectors, Dense conditioner) or 3 (images, conv conditioner).
        kernel_size: spatial size of the first and last conv (images).

    Example:
        >>> layer = AffineCoupling(mask="checkerboard", hidden_units=64)
        >>> y, log_det = layer.forward(images)            # (B, H, W, C), (B,)
        >>> x, _ = layer.inverse(y)                       # == images
        >>> layer.bijector().forward_log_det_jacobian(images, event_ndims=3)

    Reference:
        Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    def __init__(self, mask="channel", reverse=False, hidden_units=64, num_hidden=2, event_ndims=3, kernel_size=3,
                 **kwargs):
        super().__init__(event_ndims=event_ndims, **kwargs)
        if isinstance(mask, str):
            allowed = IMAGE_MASKS if event_ndims == 3 else VECTOR_MASKS
            if mask not in allowed:
                raise ValueError(f"Unknown mask {mask!r} for event_ndims={event_ndims}; use one of {allowed}"
                                 + (" or a 0/1 list." if event_ndims == 1 else "."))
        elif event_ndims == 3:
            raise ValueError("Image couplings take mask='channel' or 'checkerboard', not an explicit mask.")
        else:
            mask = [int(m) for m in mask]
        # === Config ===
        self.mask = mask
        self.reverse = bool(reverse)
        self.hidden_units = int(hidden_units)
        self.num_hidden = int(num_hidden)
        self.kernel_size = int(kernel_size)

    # --- Networks ---------------------------------------------------------------
    def build_conditioner(self, outputs):
        """The (s, t) network: (B, ..., features) -> (B, ..., 2 * outputs), last layer zero-initialized."""
        kw = dict(dtype=self.dtype_policy)
        last = dict(kernel_initializer="zeros", bias_initializer="zeros", **kw)
        if self.event_ndims == 1:
            layers = [keras.layers.Dense(self.hidden_units, activation="relu", **kw) for _ in range(self.num_hidden)]
            layers.append(keras.layers.Dense(2 * outputs, **last))
        else:
            k = self.kernel_size
            layers = [keras.layers.Conv2D(self.hidden_units, k if i == 0 else 1, padding="same", activation="relu",
                                          **kw) for i in range(self.num_hidden)]
            layers.append(keras.layers.Conv2D(2 * outputs, k, padding="same", **last))
        return keras.Sequential(layers, name="conditioner")

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if self.event_ndims == 1:
            if not isinstance(self.mask, str) and len(self.mask) != channels:
                raise ValueError(f"mask has {len(self.mask)} entries for {channels}-dimensional inputs.")
            outputs = channels
        elif self.mask == "channel":
            if channels < 2:
                raise ValueError("A channel-mask coupling needs at least 2 channels; squeeze first or use "
                                 "mask='checkerboard'.")
            outputs = self._channel_split(channels)[0]
        else:
            outputs = channels
        self.num_outputs = outputs
        self.log_scale_factor = self.add_weight(shape=(outputs,), initializer="ones", name="log_scale_factor")
        self.conditioner = self.build_conditioner(outputs)
        self.built = True

    def _channel_split(self, channels):
        """(transformed, kept) channel counts of a channel mask."""
        kept = channels // 2
        sizes = (channels - kept, kept)
        return sizes if not self.reverse else sizes[::-1]

    def _binary_mask(self, x):
        """The 0/1 mask b (1 = kept) broadcastable to x, in x's dtype."""
        if self.event_ndims == 1:
            d = int(x.shape[-1])
            if self.mask == "half":
                b = np.arange(d) < d // 2
            elif self.mask == "alternate":
                b = np.arange(d) % 2 == 0
            else:
                b = np.asarray(self.mask, bool)
        else:  # checkerboard over (H, W)
            h, w = tf.shape(x)[1], tf.shape(x)[2]
            b = tf.equal((tf.range(h)[:, None] + tf.range(w)[None, :]) % 2, 0)[None, :, :, None]
        b = tf.cast(b, x.dtype)
        return 1.0 - b if self.reverse else b

    def _conditioner_input(self, kept, conditions):
        if conditions is None:
            return kept
        conditions = tf.cast(conditions, kept.dtype)
        if self.event_ndims == 3 and conditions.shape.rank == 2:  # a vector: broadcast over the pixels
            shape = tf.shape(kept)
            target = tf.concat([shape[:3], tf.shape(conditions)[1:]], 0)  # (B, H, W, K)
            conditions = tf.broadcast_to(conditions[:, None, None, :], target)
        return tf.concat([kept, conditions], axis=-1)

    def _shift_and_log_scale(self, kept, conditions):
        # The network may compute in float16 (mixed precision); the affine map stays in the flow's dtype.
        raw = tf.cast(self.conditioner(self._conditioner_input(kept, conditions)), kept.dtype)
        raw_s, t = tf.split(raw, 2, axis=-1)
        return t, self.log_scale_factor * tf.tanh(raw_s)

    def _sum(self, s):
        return tf.reduce_sum(s, axis=list(range(1, s.shape.rank)))

    def _channel(self, x, sign, conditions):
        a_size, b_size = self._channel_split(int(x.shape[-1]))
        if self.reverse:
            b, a = tf.split(x, [b_size, a_size], axis=-1)
        else:
            a, b = tf.split(x, [a_size, b_size], axis=-1)
        t, s = self._shift_and_log_scale(b, conditions)
        a = a * tf.exp(s) + t if sign > 0 else (a - t) * tf.exp(-s)
        y = tf.concat([b, a] if self.reverse else [a, b], axis=-1)
        return y, sign * self._sum(s)

    def _masked(self, x, sign, conditions):
        b = self._binary_mask(x)
        t, s = self._shift_and_log_scale(x * b, conditions)
        s, t = s * (1.0 - b), t * (1.0 - b)
        a = x * tf.exp(s) + t if sign > 0 else (x - t) * tf.exp(-s)
        return x * b + a * (1.0 - b), sign * self._sum(s)

    def _apply(self, x, sign, conditions):
        if not self.built:
            self.build(x.shape)
        if self.event_ndims == 3 and self.mask == "channel":
            return self._channel(x, sign, conditions)
        return self._masked(x, sign, conditions)

    def forward(self, x, conditions=None, **kwargs):
        return self._apply(x, 1.0, conditions)

    def inverse(self, y, conditions=None, **kwargs):
        return self._apply(y, -1.0, conditions)

    def get_config(self):
        return {**super().get_config(), "mask": self.mask, "reverse": self.reverse,
                "hidden_units": self.hidden_units, "num_hidden": self.num_hidden, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="mpkeras")
class ResidualBlock(keras.layers.Layer):
    """h -> h + conv(relu(conv(relu(h)))), two same-padded convolutions of the input's width.

    Args:
        kernel_size: spatial size of both convolutions.
    """

    def __init__(self, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        width = int(input_shape[-1])
        kw = dict(padding="same", dtype=self.dtype_policy)
        # === Layers ===
        self.conv_in = keras.layers.Conv2D(width, self.kernel_size, name="conv_in", **kw)
        self.conv_out = keras.layers.Conv2D(width, self.kernel_size, name="conv_out", **kw)
        self.conv_in.build(input_shape)
        self.conv_out.build(input_shape)
        self.built = True

    def call(self, h):
        return h + self.conv_out(tf.nn.relu(self.conv_in(tf.nn.relu(h))))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="mpkeras")
class ResNetCoupling(AffineCoupling):
    """Affine coupling on images whose (s, t) come from a residual conv network (RealNVP's image couplings).

    Conditioner: a 3x3 conv to ``hidden_units`` channels, ``num_blocks`` :class:`ResidualBlock`\\ s, a ReLU,
    and a zero-initialized 3x3 conv to (s, t), so the layer starts as the identity. With the checkerboard
    mask the network also gets the mask b as an input channel, so it knows which pixels it predicts for
    (the kept pixels it sees and the zeros it must fill in look alike to a translation-invariant conv).

    The paper's networks also have batch norm and weight norm inside; these have neither (batch statistics
    inside the conditioner would make a replicated step differ from a single-device one).

    Args:
        num_blocks: residual blocks of the conditioner.
        **kwargs: the :class:`AffineCoupling` arguments (``mask`` ``"channel"`` or ``"checkerboard"``,
            ``reverse``, ``hidden_units``, ``kernel_size``).

    Example:
        >>> layer = ResNetCoupling(mask="checkerboard", hidden_units=32, num_blocks=2)
        >>> y, log_det = layer.forward(images)            # (B, H, W, C), (B,)

    Reference:
        Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    def __init__(self, num_blocks=2, **kwargs):
        kwargs.pop("event_ndims", None)
        kwargs.pop("num_hidden", None)
        super().__init__(event_ndims=3, num_hidden=0, **kwargs)
        # === Config ===
        self.num_blocks = int(num_blocks)

    def build_conditioner(self, outputs):
        kw = dict(padding="same", dtype=self.dtype_policy)
        k = self.kernel_size
        return keras.Sequential(
            [keras.layers.Conv2D(self.hidden_units, k, name="conv_in", **kw),
             *[ResidualBlock(k, name=f"block_{i}", dtype=self.dtype_policy) for i in range(self.num_blocks)],
             keras.layers.ReLU(dtype=self.dtype_policy),
             keras.layers.Conv2D(2 * outputs, k, kernel_initializer="zeros", name="conv_out", **kw)],
            name="conditioner")

    def _conditioner_input(self, kept, conditions):
        inputs = super()._conditioner_input(kept, conditions)
        if self.mask != "checkerboard":
            return inputs
        b = self._binary_mask(kept)  # (1, H, W, 1)
        return tf.concat([inputs, tf.broadcast_to(b, tf.concat([tf.shape(kept)[:3], [1]], 0))], axis=-1)

    def get_config(self):
        config = super().get_config()
        for key in ("event_ndims", "num_hidden"):
            config.pop(key)
        return {**config, "num_blocks": self.num_blocks}
