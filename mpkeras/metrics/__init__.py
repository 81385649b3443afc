"""Quality measures in the field's units."""

from mpkeras.metrics.likelihood import bits_per_dim, dataset_elbo, iwae_nll
from mpkeras.metrics.sample_quality import (
    ClassifierFeatures,
    classifier_score,
    fd_mnist5k,
    frechet_distance,
    gaussian_statistics,
    mode_coverage,
    score_from_probabilities,
)
from mpkeras.metrics.segmentation import iou_from_confusion, mean_iou_metric, segmentation_scores

__all__ = [
    "ClassifierFeatures",
    "bits_per_dim",
    "classifier_score",
    "dataset_elbo",
    "fd_mnist5k",
    "frechet_distance",
    "gaussian_statistics",
    "iou_from_confusion",
    "iwae_nll",
    "mean_iou_metric",
    "mode_coverage",
    "score_from_probabilities",
    "segmentation_scores",
]
