"""Segmentation quality: intersection over union and pixel accuracy from one confusion matrix; IoU of binary sets."""

import keras
import numpy as np
import tensorflow as tf


def mean_iou_metric(num_classes, name="mean_iou"):
    """``keras.metrics.MeanIoU`` for models that output logits (B, H, W, K) and masks (B, H, W).

    Mean IoU = 1/K' sum_k TP_k / (TP_k + FP_k + FN_k), over the K' classes that
    occur in the truth or the prediction. Note: Keras drops pixels whose label is
    outside [0, K) without a word, so check labels in the data
    (:func:`mpkeras.data.check_labels`).
    """
    return keras.metrics.MeanIoU(num_classes=num_classes, sparse_y_true=True, sparse_y_pred=False, name=name)


def iou_from_confusion(confusion):
    """Per-class IoU, mean IoU and pixel accuracy from a confusion matrix (rows: truth, columns: prediction).

    Args:
        confusion: (K, K) counts.

    Returns:
        ``{"mean_iou", "pixel_accuracy", "per_class_iou"}``; classes absent from
        truth and prediction get IoU NaN and are left out of the mean, as in Keras.
    """
    confusion = np.asarray(confusion, np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp  # TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(union > 0, tp / union, np.nan)
    return {
        "mean_iou": float(np.nanmean(per_class)) if np.any(union > 0) else float("nan"),
        "pixel_accuracy": float(tp.sum() / confusion.sum()) if confusion.sum() else float("nan"),
        "per_class_iou": per_class,
    }


def binary_iou(predicted, truth, axis=None):
    """IoU |P and T| / |P or T| of boolean sets (masks, inside/outside labels), 1 where both are empty.

    Args:
        predicted, truth: boolean arrays of the same shape.
        axis: axes to pool over (None: all, giving a float; e.g. 1 for per-shape IoU of (B, N) labels).

    Example:
        >>> binary_iou(occupancy >= 0.5, labels, axis=1)  # volumetric IoU per shape (Mescheder et al.)
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted {predicted.shape} and truth {truth.shape} must have the same shape.")
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    inter, union = np.sum(predicted & truth, axis=axis), np.sum(predicted | truth, axis=axis)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return float(iou) if axis is None else iou


def segmentation_scores(model, dataset, num_classes):
    """Evaluates a segmentation model over a dataset with ``keras.metrics.MeanIoU``.

    Args:
        model: maps images (B, H, W, C) to logits (B, H, W, K).
        dataset: batches of ``(images, masks)``, masks int (B, H, W) in 0..K-1.
        num_classes: K.

    Returns:
        ``{"mean_iou", "pixel_accuracy", "per_class_iou" (K,), "confusion_matrix" (K, K)}``.
        ``mean_iou`` is Keras's result; per-class values come from its confusion matrix.

    Raises:
        ValueError: a mask holds a label outside [0, K) (Keras would silently skip it).

    Example:
        >>> scores = segmentation_scores(model, test, num_classes=11)
        >>> scores["mean_iou"], scores["per_class_iou"][10]  # background IoU
    """
    metric = mean_iou_metric(num_classes)
    logits_of = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    for images, masks in dataset:
        low, high = int(tf.reduce_min(masks)), int(tf.reduce_max(masks))
        if low < 0 or high >= num_classes:
            raise ValueError(f"Mask label {low if low < 0 else high} is outside the valid range [0, {num_classes}).")
        metric.update_state(masks, logits_of(images))
    confusion = metric.total_cm.numpy()
    scores = iou_from_confusion(confusion)
    scores["mean_iou"] = float(metric.result())
    scores["confusion_matrix"] = confusion
    return scores
