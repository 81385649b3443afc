"""Autoregressive density models of binary images: FVSBN, NADE and MADE."""

from mpkeras.models.autoregressive.base import BinaryAutoregressive
from mpkeras.models.autoregressive.fvsbn import FVSBN
from mpkeras.models.autoregressive.made import MADE
from mpkeras.models.autoregressive.nade import NADE

__all__ = ["BinaryAutoregressive", "FVSBN", "MADE", "NADE"]
