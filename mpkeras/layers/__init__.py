"""Building blocks shared by several mpkeras models."""

from mpkeras.layers.augmentation import RandomAffine
from mpkeras.layers.attention import (
    PATTERNS, CausalSelfAttention, SinusoidalPositions, TransformerBlock, attention_pattern, pattern_row)
from mpkeras.layers.activations import ACTIVATIONS, RandomizedLeakyReLU, get_activation
from mpkeras.layers.masked import MaskedConv2D, MaskedDense, made_degrees, made_masks, pixelcnn_mask
from mpkeras.layers.recurrent import ElmanCell, LSTMCell, state_jacobian_norms
from mpkeras.layers.row_lstm import RowLSTM
from mpkeras.layers.upsampling import UPSAMPLING_KINDS, BedOfNails, MaxPoolWithArgmax, MaxUnpool, upsampling_layer

__all__ = [
    "ACTIVATIONS",
    "PATTERNS",
    "CausalSelfAttention",
    "SinusoidalPositions",
    "TransformerBlock",
    "attention_pattern",
    "pattern_row",
    "state_jacobian_norms",
    "UPSAMPLING_KINDS",
    "BedOfNails",
    "ElmanCell",
    "LSTMCell",
    "MaskedConv2D",
    "MaskedDense",
    "MaxPoolWithArgmax",
    "MaxUnpool",
    "RandomAffine",
    "RandomizedLeakyReLU",
    "RowLSTM",
    "get_activation",
    "made_degrees",
    "made_masks",
    "pixelcnn_mask",
    "upsampling_layer",
]
