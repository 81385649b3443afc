"""Quality measures in the field's units."""

from mpkeras.metrics.images import mean_psnr, psnr
from mpkeras.metrics.likelihood import bits_per_dim, dataset_elbo, dequantized_bits_per_dim, iwae_nll
from mpkeras.metrics.sample_quality import (
    ClassifierFeatures,
    RandomConvFeatures,
    classifier_score,
    fd_mnist5k,
    feature_frechet_distance,
    frechet_distance,
    gaussian_statistics,
    mode_coverage,
    score_from_probabilities,
)
from mpkeras.metrics.segmentation import binary_iou, iou_from_confusion, mean_iou_metric, segmentation_scores

__all__ = [
    "ClassifierFeatures",
    "RandomConvFeatures",
    "binary_iou",
    "bits_per_dim",
    "classifier_score",
    "dataset_elbo",
    "dequantized_bits_per_dim",
    "fd_mnist5k",
    "feature_frechet_distance",
    "frechet_distance",
    "gaussian_statistics",
    "iou_from_confusion",
    "iwae_nll",
    "mean_psnr",
    "mean_iou_metric",
    "mode_coverage",
    "psnr",
    "score_from_probabilities",
    "segmentation_scores",
]
