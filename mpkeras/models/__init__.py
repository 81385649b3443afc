"""Model families. Importing this package registers every model."""

from mpkeras.models.mlp import MLP
from mpkeras.models.vae import VAE, BetaVAE, MixturePrior

__all__ = ["MLP", "VAE", "BetaVAE", "MixturePrior"]
