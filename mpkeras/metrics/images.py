"""Image fidelity: peak signal-to-noise ratio."""

import numpy as np


def psnr(prediction, truth, max_value=1.0):
    """Peak signal-to-noise ratio in dB, 10 log10(max^2 / MSE), over all the values of the arrays."""
    prediction, truth = np.asarray(prediction, np.float64), np.asarray(truth, np.float64)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction {prediction.shape} and truth {truth.shape} must have the same shape.")
    mse = float(np.mean((prediction - truth) ** 2))
    return 10.0 * np.log10(max_value**2 / max(mse, 1e-20))


def mean_psnr(predictions, truths, max_value=1.0):
    """The mean over images of each image's PSNR (the usual per-view average of novel-view synthesis)."""
    return float(np.mean([psnr(p, t, max_value) for p, t in zip(predictions, truths, strict=True)]))
