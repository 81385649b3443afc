"""Quality measures in the field's units."""

from mpkeras.metrics.likelihood import bits_per_dim, dataset_elbo, iwae_nll
from mpkeras.metrics.segmentation import iou_from_confusion, mean_iou_metric, segmentation_scores

__all__ = [
    "bits_per_dim",
    "dataset_elbo",
    "iou_from_confusion",
    "iwae_nll",
    "mean_iou_metric",
    "segmentation_scores",
]
