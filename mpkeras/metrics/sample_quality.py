"""Sample quality of generative models: mode coverage on 2-D mixtures, FD-mnist5k and a classifier score.

* :func:`mode_coverage`: modes covered and the fraction of high-quality samples
  on a Gaussian mixture such as the embedded ``ring8`` (Metz et al. 2017; the
  counting rule of Srivastava et al. 2017).
* :func:`frechet_distance`, :func:`gaussian_statistics`, :func:`feature_frechet_distance`,
  :func:`fd_mnist5k`: the Fréchet distance between Gaussians fitted to features
  (the FID formula of Heusel et al. 2017).
* :func:`classifier_score`, :func:`score_from_probabilities`: exp(E_x KL(p(y|x) || p(y)))
  (the Inception-score formula of Salimans et al. 2016).

**These are not FID or IS.** No Inception-v3 weights are available offline, so
the features and class probabilities come from a classifier of ours trained on
mnist5k (e.g. ``mpkeras train lenet``), wrapped in :class:`ClassifierFeatures`.
Report the numbers as "FD-mnist5k" and "classifier score (<model name>)". They
compare models scored with the same classifier only; they are not comparable
with published FID/IS values, nor across classifiers. On other data the features
come from a classifier trained on that dataset ("FD-cifar10", ...), or, for data
without class labels, from a fixed, seeded, untrained conv net
(:class:`RandomConvFeatures`, "FD-random-conv").
"""

from __future__ import annotations

import os

import keras
import numpy as np
import scipy.linalg

__all__ = [
    "ClassifierFeatures",
    "RandomConvFeatures",
    "classifier_score",
    "fd_mnist5k",
    "feature_frechet_distance",
    "frechet_distance",
    "gaussian_statistics",
    "mode_coverage",
    "score_from_probabilities",
]


# === Mode coverage on a Gaussian mixture ===


def mode_coverage(samples, centers, std, threshold=3.0, min_count=1):
    """Modes covered and high-quality fraction of 2-D (or any-D) samples of an isotropic Gaussian mixture.

    Each sample x goes to its nearest center k(x) = argmin_k ||x - mu_k||. It is
    *high quality* if ||x - mu_k(x)|| <= ``threshold * std``, and a mode is
    *covered* if at least ``min_count`` high-quality samples go to it. The
    default (3 sigma, one sample) is the rule of Srivastava et al. 2017 (VEEGAN),
    used with the 8-Gaussian ring of Metz et al. 2017 (``ring8``); raise
    ``min_count`` to ignore modes that receive only a few stray samples.

    For samples from the mixture itself, the radius r = ||x - mu_k|| / std is
    chi-distributed with d degrees of freedom, so the expected high-quality
    fraction is P(chi_d <= 3): 1 - exp(-9/2) = 0.9889 in 2-D (0.9973 is the 1-D value).

    Args:
        samples: (N, d) points.
        centers: (K, d) mode means.
        std: the standard deviation of every mode.
        threshold: the high-quality radius in units of ``std``.
        min_count: high-quality samples a mode needs to count as covered.

    Returns:
        ``{"modes_covered": int, "high_quality_fraction": float, "counts": list}``,
        ``counts[k]`` the number of high-quality samples of mode k.

    Reference:
        Metz, Poole, Pfau and Sohl-Dickstein, "Unrolled generative adversarial
        networks", ICLR 2017. Srivastava, Valkov, Russell, Gutmann and Sutton,
        "VEEGAN: Reducing mode collapse in GANs using implicit variational
        learning", NeurIPS 2017.
    """
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(centers, np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples must be (N, d) and centers (K, d) with the same d; got {samples.shape} and "
                         f"{centers.shape}.")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)  # (N, K)
    nearest = distances.argmin(axis=1)  # (N,)
    good = distances[np.arange(len(samples)), nearest] <= threshold * std  # (N,)
    counts = np.bincount(nearest[good], minlength=len(centers))  # (K,)
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality_fraction": float(good.mean()) if len(samples) else 0.0,
        "counts": counts.tolist(),
    }


# === Fréchet distance ===


def gaussian_statistics(features):
    """Mean (D,) and unbiased covariance (D, D), float64, of features (N, D)."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be (N, D) with N >= 2; got shape {features.shape}.")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet (Wasserstein-2) distance squared between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)),

    the formula of FID (Heusel et al. 2017; Dowson and Landau 1982), computed in
    float64 with ``scipy.linalg.sqrtm``. If the square root comes out
    non-finite (sigma1 sigma2 singular, e.g. dead features or fewer samples
    than dimensions), both covariances get ``eps * I`` added and it is redone; imaginary parts that rounding leaves in
    the square root are dropped if they are small, and raise otherwise.

    Args:
        mu1, mu2: (D,) means.
        sigma1, sigma2: (D, D) covariances.
        eps: the diagonal offset used when sigma1 sigma2 is singular.

    Returns:
        The distance (float, >= 0 up to rounding), in squared feature units.

    Reference:
        Heusel, Ramsauer, Unterthiner, Nessler and Hochreiter, "GANs trained by a
        two time-scale update rule converge to a local Nash equilibrium", NeurIPS 2017.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"means must be (D,) and covariances (D, D) alike; got {mu1.shape}, {sigma1.shape}, "
                         f"{mu2.shape}, {sigma2.shape}.")
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = eps * np.eye(len(mu1))
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"sqrtm(sigma1 sigma2) has imaginary part {np.abs(covmean.imag).max():.3g}; "
                             "the covariances are not positive semi-definite (check the features).")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


# === A trained classifier as feature extractor ===


class ClassifierFeatures:
    """A trained Keras image classifier as feature extractor and p(y | x), for FD-mnist5k and the classifier score.

    ``features(images)`` returns the classifier's penultimate representation,
    the input of its output layer (``ImageClassifier.features``: F6, 84 units,
    for LeNet; the pooled features for ResNet and GoogLeNet), and
    ``probabilities(images)`` returns softmax(logits), both in inference mode.

    Args:
        classifier: an :class:`~mpkeras.models.ImageClassifier` (e.g. ``LeNet``)
            or the path of its ``.keras`` file (e.g. ``<run dir>/model.keras``
            written by ``mpkeras train lenet``). Any model with a
            ``features(images)`` method and logits as output works.
        batch_size: images per forward pass.

    Example:
        >>> clf = ClassifierFeatures("runs/lenet/model.keras")
        >>> fd_mnist5k(generated_images, test_images, clf)  # images (N, 28, 28, 1) in [0, 1]
        >>> classifier_score(generated_images, clf)
    """

    def __init__(self, classifier, batch_size=500):
        if isinstance(classifier, (str, os.PathLike)):
            import mpkeras.models  # noqa: F401  pylint: disable=g-import-not-at-top  (registers our classes)

            classifier = keras.saving.load_model(classifier)
        if not callable(getattr(classifier, "features", None)):
            raise TypeError(f"{type(classifier).__name__} has no features(images) method; use a classifier of the "
                            "CNN zoo (mpkeras.models.ImageClassifier), e.g. one trained with mpkeras train lenet.")
        self.model = classifier
        self.batch_size = batch_size

    def _batch(self, images):
        """(features (B, D), probabilities (B, K)) of one batch, numpy float64."""
        features = keras.ops.convert_to_numpy(self.model.features(images))  # (B, D)
        probs = keras.ops.softmax(self.model(images, training=False), axis=-1)  # (B, K)
        return features.astype(np.float64), keras.ops.convert_to_numpy(probs).astype(np.float64)

    def _all(self, images):
        images = np.asarray(images, np.float32)
        parts = [self._batch(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def features(self, images):
        """The penultimate activations (N, D), float64, of images (N, H, W, C) in the classifier's input range."""
        return self._all(images)[0]

    def probabilities(self, images):
        """p(y | x) (N, K), float64, of images (N, H, W, C)."""
        return self._all(images)[1]


class RandomConvFeatures:
    """Features of a fixed, seeded, untrained conv net: a feature space for images that have no class labels.

    A dataset without labels (celeb_a) gives no classifier of ours to take features from, and FID's Inception-v3
    weights are not available offline. The features of a randomly initialised network still describe local
    colour, edge and texture statistics, and Naeem et al. (2020) report that sample-quality measures in the
    features of a randomly initialised VGG-16 behave sensibly on data unlike ImageNet. Here the net is small:
    x (N, H, W, C) in [0, 1] -> x - 0.5 -> four 3x3 convs of stride 2 with widths ``widths`` and ReLU, He-normal
    weights drawn from ``seed`` (layer i from seed + i), zero biases -> the spatial mean of every layer's
    activations, concatenated: (N, sum(widths)) features. The same (input shape, widths, seed) give the same
    weights in every process, so distances are comparable across models and runs, but only with the same
    net: report them as "FD-random-conv".

    Args:
        input_shape: (H, W, C) of the images.
        widths: output channels of the four convs.
        seed: the weights' seed.
        batch_size: images per forward pass.

    Reference:
        Naeem, Oh, Uh, Choi and Yoo, "Reliable fidelity and diversity metrics for generative models", ICML 2020.
    """

    def __init__(self, input_shape, widths=(32, 64, 128, 256), seed=0, batch_size=500):
        inputs = keras.Input(tuple(input_shape))
        x = keras.layers.Rescaling(1.0, offset=-0.5)(inputs)  # (B, H, W, C) in [-0.5, 0.5]
        pooled = []
        for i, width in enumerate(widths):
            x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu",
                                    kernel_initializer=keras.initializers.HeNormal(seed=seed + i))(x)  # (B, h/2, w/2, width)
            pooled.append(keras.layers.GlobalAveragePooling2D()(x))  # (B, width)
        self.model = keras.Model(inputs, keras.layers.Concatenate()(pooled), name="random_conv_features")
        self.input_shape, self.widths, self.seed, self.batch_size = tuple(input_shape), tuple(widths), seed, batch_size

    def features(self, images):
        """(N, sum(widths)) float64 features of images (N, H, W, C) in [0, 1]."""
        images = np.asarray(images, np.float32)
        if images.shape[1:] != self.input_shape:
            raise ValueError(f"images have shape {images.shape[1:]}; this feature net was built for "
                             f"{self.input_shape}. Build a RandomConvFeatures for the images' shape.")
        parts = [keras.ops.convert_to_numpy(self.model(images[i : i + self.batch_size], training=False))
                 for i in range(0, len(images), self.batch_size)]  # (B, D) each
        return np.concatenate(parts).astype(np.float64)


def _as_extractor(classifier):
    return classifier if isinstance(classifier, ClassifierFeatures) else ClassifierFeatures(classifier)


def feature_frechet_distance(generated, reference, extractor):
    """The Fréchet distance between Gaussians fitted to ``extractor.features`` of two image sets.

    d^2 = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2)), with (mu, S) the mean and covariance of the
    features of each set (the FID recipe of Heusel et al. 2017 with our feature extractor in place of
    Inception-v3). Report it under the extractor's name; like FID it is biased upwards for small sets, so
    compare at equal N.

    Args:
        generated, reference: images (N, H, W, C) in [0, 1].
        extractor: anything with ``features(images) -> (N, D)``: a :class:`ClassifierFeatures` or a
            :class:`RandomConvFeatures`.
    """
    return frechet_distance(*gaussian_statistics(extractor.features(generated)),
                            *gaussian_statistics(extractor.features(reference)))


def fd_mnist5k(generated, reference, classifier):
    """FD-mnist5k: the Fréchet distance between Gaussians fitted to classifier features of two image sets.

    d^2 = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2)), with (mu, S) the
    mean and covariance of :meth:`ClassifierFeatures.features` of each set (the
    FID recipe of Heusel et al. 2017 with our mnist5k classifier in place of
    Inception-v3). It is not FID: report it as FD-mnist5k with the classifier
    used. Like FID it is biased upwards for small sets; compare at equal N
    (the mnist5k test split has 1,000 images).

    Args:
        generated, reference: images (N, H, W, C) in [0, 1].
        classifier: a :class:`ClassifierFeatures`, a classifier model or its ``.keras`` path.

    Returns:
        The distance (float).
    """
    return feature_frechet_distance(generated, reference, _as_extractor(classifier))


def score_from_probabilities(probabilities, eps=1e-12):
    """exp(E_x KL(p(y|x) || p(y))) from class probabilities (N, K), with p(y) = mean_x p(y|x).

    It lies between 1 (every x gets the same p(y|x)) and K (confident,
    class-balanced predictions). The formula of the Inception score (Salimans
    et al. 2016), computed over all N at once (no splits).

    Reference:
        Salimans, Goodfellow, Zaremba, Cheung, Radford and Chen, "Improved
        techniques for training GANs", NeurIPS 2016.
    """
    p = np.asarray(probabilities, np.float64)  # (N, K)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be (N, K); got shape {p.shape}.")
    marginal = p.mean(axis=0, keepdims=True)  # (1, K)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)  # (N,)
    return float(np.exp(kl.mean()))


def classifier_score(images, classifier):
    """The classifier score exp(E_x KL(p(y|x) || p(y))) of images, p(y|x) from our classifier.

    The Inception-score formula (Salimans et al. 2016) with a classifier
    trained on mnist5k instead of Inception-v3, so it is not IS: report it as
    the classifier score of that model. See :func:`score_from_probabilities`.

    Args:
        images: (N, H, W, C) in [0, 1].
        classifier: a :class:`ClassifierFeatures`, a classifier model or its ``.keras`` path.
    """
    return score_from_probabilities(_as_extractor(classifier).probabilities(images))
