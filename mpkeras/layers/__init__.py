"""Building blocks shared by several mpkeras models."""

from mpkeras.layers.activations import ACTIVATIONS, RandomizedLeakyReLU, get_activation

__all__ = ["ACTIVATIONS", "RandomizedLeakyReLU", "get_activation"]
