"""Autoregressive density models: FVSBN, NADE, MADE, PixelCNN, Gated PixelCNN, PixelRNN and WaveNet."""

from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.models.autoregressive.fvsbn import FVSBN
from mpkeras.models.autoregressive.gated_pixelcnn import GatedPixelCNN
from mpkeras.models.autoregressive.made import MADE
from mpkeras.models.autoregressive.nade import NADE
from mpkeras.models.autoregressive.pixelcnn import PixelCNN
from mpkeras.models.autoregressive.pixelrnn import PixelRNN
from mpkeras.models.autoregressive.wavenet import GatedResidualBlock, WaveNet

__all__ = ["AutoregressiveImageModel", "FVSBN", "GatedPixelCNN", "GatedResidualBlock", "MADE", "NADE", "PixelCNN",
           "PixelRNN", "WaveNet"]
