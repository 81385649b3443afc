"""Autoregressive density models of binary images: FVSBN and MADE."""

from mpkeras.models.autoregressive.base import BinaryAutoregressive
from mpkeras.models.autoregressive.fvsbn import FVSBN
from mpkeras.models.autoregressive.made import MADE

__all__ = ["BinaryAutoregressive", "FVSBN", "MADE"]
