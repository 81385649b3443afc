"""Masked layers for autoregressive models: MADE's dense layers and PixelCNN's convolutions.

MADE's degree rule (Germain et al., 2015, Sec. 4): input d gets degree m(d),
its position in the ordering (1..D); hidden unit k of layer l gets a degree
m^l(k) in [min m^{l-1}, D - 1]. Connections are kept where

    hidden layers:  M^l[k', k] = 1  iff  m^l(k) >= m^{l-1}(k')
    output layer:   M^V[k, d]  = 1  iff  m(d) >  m^L(k)

so output d depends only on inputs with a smaller degree, i.e. earlier in the ordering.

Example:
    >>> degrees = made_degrees(784, (500,), ordering="natural", seed=0)
    >>> masks = made_masks(degrees)      # [(784, 500), (500, 784)] float32 0/1
    >>> layer = MaskedDense(500, mask=masks[0])

PixelCNN's masks (van den Oord, Kalchbrenner and Kavukcuoglu, 2016, Sec. 3.4)
zero the kernel taps at and after the centre in raster order. At the centre
tap, channels are split into ``color_groups`` contiguous groups (R, G, B) and
output group g_out may read input group g_in only if g_in < g_out (mask A, the
first layer) or g_in <= g_out (mask B, every later layer).
"""

import keras
import numpy as np
from keras import ops


def made_degrees(num_inputs, hidden_units, ordering="natural", seed=0):
    """Degrees [m^0 (D,), m^1 (H_1,), ..., m^L (H_L,)] of MADE's layers (inputs 1..D).

    Args:
        num_inputs: D.
        hidden_units: H_1..H_L.
        ordering: ``natural`` (m^0 = 1..D), ``random`` (a permutation drawn from
            ``seed``), or an explicit permutation of 1..D.
        seed: seed of the random ordering and of the hidden degrees.
    """
    rng = np.random.default_rng(seed)
    if isinstance(ordering, str):
        if ordering == "natural":
            inputs = np.arange(1, num_inputs + 1)
        elif ordering == "random":
            inputs = rng.permutation(num_inputs) + 1
        else:
            raise ValueError(f"Unknown ordering {ordering!r}; use 'natural', 'random' or a permutation of 1..D.")
    else:
        inputs = np.asarray(ordering, np.int64)
        if sorted(inputs.tolist()) != list(range(1, num_inputs + 1)):
            raise ValueError(f"An explicit ordering must be a permutation of 1..{num_inputs}.")
    degrees = [inputs]
    for units in hidden_units:
        low = min(int(degrees[-1].min()), num_inputs - 1)
        degrees.append(rng.integers(low, num_inputs, size=units))  # in [low, D - 1]
    return degrees


def made_masks(degrees):
    """0/1 float32 masks of every layer from :func:`made_degrees`: hidden layers >=, the output layer >."""
    masks = [(later[None, :] >= earlier[:, None]) for earlier, later in zip(degrees[:-1], degrees[1:])]
    masks.append(degrees[0][None, :] > degrees[-1][:, None])  # (H_L, D)
    return [m.astype(np.float32) for m in masks]


@keras.saving.register_keras_serializable(package="mpkeras")
class MaskedDense(keras.layers.Layer):
    """y = x (W * M) + b, where M is a fixed 0/1 mask (a non-trainable weight).

    The mask multiplies the kernel inside ``call``, never assigned into it, so the
    masked-out entries get zero gradient and stay out of the function whatever the
    optimizer does. Several masks (MADE's connectivity resampling) are stored
    side by side, ``(num_masks, fan_in, units)``, and ``call(x, mask_index)``
    picks one.

    Args:
        units: output size.
        mask: (fan_in, units) or (num_masks, fan_in, units) 0/1 array; None: all ones
            of ``num_masks`` masks, to be set with :meth:`set_masks` (e.g. when loading).
        num_masks: how many masks the layer holds (used when ``mask`` is None).
        activation: applied after the affine map.

    Reference:
        Germain, Gregor, Murray and Larochelle, "MADE: Masked autoencoder for
        distribution estimation", ICML 2015.
    """

    def __init__(self, units, mask=None, num_masks=1, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.initial_mask = None if mask is None else np.asarray(mask, np.float32).reshape(-1, *np.shape(mask)[-2:])
        self.num_masks = num_masks if mask is None else len(self.initial_mask)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernel = self.add_weight(shape=(fan_in, self.units), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        init = "ones" if self.initial_mask is None else keras.initializers.Constant(self.initial_mask)
        self.mask = self.add_weight(shape=(self.num_masks, fan_in, self.units), initializer=init, trainable=False,
                                    name="mask")

    def set_masks(self, masks):
        self.mask.assign(np.asarray(masks, np.float32).reshape(self.mask.shape))

    def call(self, x, mask_index=0):
        mask = ops.take(ops.cast(self.mask, x.dtype), mask_index, axis=0)  # (fan_in, units)
        return self.activation(ops.matmul(x, ops.cast(self.kernel, x.dtype) * mask) + ops.cast(self.bias, x.dtype))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_masks": self.num_masks,
                "activation": keras.activations.serialize(self.activation)}


def pixelcnn_mask(kernel_size, in_channels, out_channels, mask_type, color_groups=1):
    """The (kh, kw, in, out) 0/1 float32 mask of a PixelCNN convolution (see the module docstring).

    Channel c of n channels belongs to group c * groups // n, so features are
    contiguous blocks (R block, G block, B block) and an image's channels are
    groups 0, 1, 2 themselves.
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"Unknown mask_type {mask_type!r}; use 'A' (first layer) or 'B' (later layers).")
    for n, name in ((in_channels, "input"), (out_channels, "output")):
        if n % color_groups:
            raise ValueError(f"{name} channels ({n}) must be a multiple of color_groups ({color_groups}).")
    kh, kw = kernel_size
    cy, cx = kh // 2, kw // 2
    mask = np.zeros((kh, kw, in_channels, out_channels), np.float32)
    mask[:cy] = 1  # rows above the centre
    mask[cy, :cx] = 1  # left of the centre in the centre row
    g_in = np.arange(in_channels) * color_groups // in_channels
    g_out = np.arange(out_channels) * color_groups // out_channels
    allowed = g_in[:, None] < g_out[None] if mask_type == "A" else g_in[:, None] <= g_out[None]
    mask[cy, cx] = allowed
    return mask


@keras.saving.register_keras_serializable(package="mpkeras")
class MaskedConv2D(keras.layers.Conv2D):
    """A ``keras.layers.Conv2D`` whose kernel is multiplied by a PixelCNN mask of type A or B.

    The mask (:func:`pixelcnn_mask`) follows from the configuration, so it is a
    constant rather than a weight; it multiplies the kernel inside the
    convolution, so masked taps get zero gradient. Padding is ``same`` and the
    kernel sizes odd, so output (i, j) sits on input (i, j).

    Args:
        filters: output channels (a multiple of ``color_groups``).
        kernel_size: odd int or (kh, kw).
        mask_type: ``A`` (excludes the centre pixel's own and later channel
            groups; the first layer) or ``B`` (includes its own group).
        color_groups: number of channel groups autoregressed at each pixel (1, or 3 for R -> G -> B).
        **kwargs: other ``Conv2D`` arguments (activation, initializers, ...).

    Example:
        >>> layer = MaskedConv2D(64, 7, mask_type="A")      # first layer of a PixelCNN
        >>> layer(images).shape                              # (B, H, W, 64)
    """

    def __init__(self, filters, kernel_size, mask_type="B", color_groups=1, **kwargs):
        kwargs.pop("padding", None)
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"kernel_size must be odd so the centre tap is the pixel itself, got {self.kernel_size}.")
        self.mask_type = mask_type
        self.color_groups = int(color_groups)
        pixelcnn_mask(self.kernel_size, color_groups, filters, mask_type, color_groups)  # validate early

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_mask = pixelcnn_mask(self.kernel_size, int(input_shape[-1]), self.filters, self.mask_type,
                                         self.color_groups)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * ops.cast(self.kernel_mask, kernel.dtype))

    def get_config(self):
        config = super().get_config()
        config.pop("padding", None)
        return {**config, "mask_type": self.mask_type, "color_groups": self.color_groups}
