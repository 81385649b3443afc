"""The TFDS catalogue datasets the recipes declare, and how each one's splits and features map to theirs.

A recipe reads three splits by role: ``train``, ``val`` (early stopping, model choice) and ``test`` (the final
figure only). Most datasets have a train and a test split, so ``val`` is the last 10% of train; where TFDS
has a validation split (``binarized_mnist``), the recipes use it. Image datasets come out as
``(image uint8 (H, W, C), label int64 ())`` pairs whatever their features are called; a dataset without labels
gives :data:`NO_LABEL`.

The family tuples below are what the recipes declare (``Recipe.datasets``); tests/test_catalogue.py runs
every (recipe, declared dataset) end to end under ``tfds.testing.mock_data``. This module only describes the
datasets; :mod:`mpkeras.data.loading` and :mod:`mpkeras.data.pipelines` read them.

Example:
    >>> from mpkeras.data import catalogue
    >>> catalogue.split("binarized_mnist", "val")
    'validation'
    >>> catalogue.split("cifar10", "val")
    'train[90%:]'
"""

CLASSIFICATION = ("mnist", "fashion_mnist", "cifar10", "svhn_cropped")
"""Labelled image datasets for the classifiers."""

BINARY_IMAGES = ("binarized_mnist", "mnist")
"""Image datasets for the likelihood models of binary pixels: ``binarized_mnist`` is the fixed binarization of
Larochelle and Murray (2011) that the NADE, MADE, PixelCNN and IWAE papers report on (used as it is: binarizing
it again is the identity); ``mnist`` is binarized by the recipe (dynamic or static)."""

PREBINARIZED = ("binarized_mnist",)
"""Datasets whose pixels are already 0 or 1, binarized once by their authors."""

SEGMENTATION = ("oxford_iiit_pet",)
"""Segmentation datasets (images with per-pixel class masks)."""

AUDIO = ("speech_commands", "nsynth")
"""Audio datasets for WaveNet."""

GAN_IMAGES = ("mnist", "fashion_mnist", "cifar10", "celeb_a")
"""Image datasets for the image GANs (dcgan, wgan_gp; cgan only the labelled ones, :func:`has_labels`). celeb_a
comes centre-cropped and resized to 64x64 (:func:`image_transform`)."""

FAMILIES = (CLASSIFICATION, BINARY_IMAGES, SEGMENTATION, AUDIO, GAN_IMAGES)

DECLARED = tuple(dict.fromkeys(name for family in FAMILIES for name in family))
"""Every catalogue dataset some recipe declares."""

NO_LABEL = -1
"""The label of every example of a dataset without labels."""

DEFAULT_SPLITS = {"train": "train[:90%]", "val": "train[90%:]", "test": "test", "train+val": "train"}

_SPLITS = {
    "binarized_mnist": {"train": "train", "val": "validation", "test": "test", "train+val": "train+validation"},
    "celeb_a": {"train": "train", "val": "validation", "test": "test", "train+val": "train+validation"},
}
"""Datasets whose roles map to other TFDS splits than :data:`DEFAULT_SPLITS`."""

_IMAGE_FEATURES = {
    # name: (image feature, label feature or None, scale to uint8 levels 0..255)
    "binarized_mnist": ("image", None, 255),  # pixels are 0 or 1
    "celeb_a": ("image", None, 1),  # 40 binary attributes and landmarks, no class label
}
"""Datasets whose ``as_supervised`` pairs are not ``(uint8 image in 0..255, label)``."""

_IMAGE_TRANSFORMS = {
    # The 108x108 centre crop (rows 55-162, columns 35-142 of the aligned 218x178 faces: the face without most of
    # the hair and background), resized to 64x64: the CelebA input of the TensorFlow DCGAN implementation
    # (carpedm20/DCGAN-tensorflow, `--input_height=108 --crop`) of Radford et al. (2016).
    "celeb_a": {"crop": (108, 108), "size": (64, 64)},
}
"""Datasets whose images the loader centre-crops to ``crop`` (H, W) and then resizes to ``size`` (H, W)."""

ROLES = ("train", "val", "test")
"""The three splits a recipe reads."""


def base_name(name):
    """``"mnist/config:3.0.1"`` -> ``"mnist"``."""
    return name.split(":")[0].split("/")[0].strip()


def split(name, role):
    """The TFDS split string of ``role`` (``"train"``, ``"val"``, ``"test"`` or ``"train+val"``: both, for
    retraining once early stopping has picked the epochs) for dataset ``name``."""
    if role not in DEFAULT_SPLITS:
        raise ValueError(f"Unknown split role {role!r}; roles are {', '.join(DEFAULT_SPLITS)}.")
    return _SPLITS.get(base_name(name), DEFAULT_SPLITS)[role]


def splits(name):
    """``{role: TFDS split}`` of dataset ``name``, for model cards."""
    return {role: split(name, role) for role in ROLES}


def is_prebinarized(name):
    """Whether the pixels of dataset ``name`` are binary already (:data:`PREBINARIZED`)."""
    return base_name(name) in PREBINARIZED


def image_features(name):
    """``(image feature, label feature or None, factor to uint8 levels)`` of ``name``, or None if its
    ``as_supervised`` pairs are ``(uint8 image in 0..255, label)`` already."""
    return _IMAGE_FEATURES.get(base_name(name))


def has_labels(name):
    """Whether the image dataset ``name`` has a class label (else its pairs carry :data:`NO_LABEL`)."""
    features = _IMAGE_FEATURES.get(base_name(name))
    return features is None or features[1] is not None


def image_transform(name):
    """``{"crop": (H, W), "size": (H, W)}``: the centre crop and resize the loader applies to the images of
    ``name``, or None if it serves them as stored."""
    return _IMAGE_TRANSFORMS.get(base_name(name))
