"""The autoencoder family: linear, deep, denoising and sparse autoencoders; sparse coding and PSD."""

from mpkeras.models.autoencoders.base import Autoencoder
from mpkeras.models.autoencoders.sparse_coding import PSD, Dictionary, SparseCoding, soft_threshold
from mpkeras.models.autoencoders.variants import DenoisingAutoencoder, LinearAutoencoder, SparseAutoencoder

__all__ = ["PSD", "Autoencoder", "DenoisingAutoencoder", "Dictionary", "LinearAutoencoder", "SparseAutoencoder",
           "SparseCoding", "soft_threshold"]
