"""Quality measures in the field's units."""

from mpkeras.metrics.likelihood import bits_per_dim, dataset_elbo, iwae_nll

__all__ = ["bits_per_dim", "dataset_elbo", "iwae_nll"]
