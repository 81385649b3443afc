"""Invertible Keras 3 layers with stateless ``tfb.Bijector`` views (see :mod:`mpkeras.bijectors.base`)."""

from mpkeras.bijectors.actnorm import ActNorm
from mpkeras.bijectors.base import FlowLayer, LayerBijector
from mpkeras.bijectors.coupling import AffineCoupling, ResidualBlock, ResNetCoupling
from mpkeras.bijectors.invconv import InvertibleConv1x1
from mpkeras.bijectors.squeeze import FactorOut, Squeeze

__all__ = ["ActNorm", "AffineCoupling", "FactorOut", "FlowLayer", "InvertibleConv1x1", "LayerBijector", "ResidualBlock",
           "ResNetCoupling", "Squeeze"]
