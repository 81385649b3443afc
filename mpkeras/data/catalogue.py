"""The TFDS catalogue datasets the recipes declare, and how each one's splits and features map to theirs.

A recipe reads three splits by role: ``train``, ``val`` (early stopping, model choice) and ``test`` (the final
figure only). Most datasets have a train and a test split, so ``val`` is the last 10% of train; where TFDS
has a validation split (``binarized_mnist``, ``tiny_shakespeare``, ``speech_commands``, ``nsynth``, which calls
it ``valid``), the recipes use it; where it has no test split (``downsampled_imagenet``), its validation split
is the test split; ``moving_mnist`` has a test split only, cut 80/10/10 in TFDS's fixed example order into train,
val and test. Image datasets come out as
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
    >>> catalogue.split("moving_mnist", "train")   # a test split only: cut into train, val and test
    'test[:80%]'
"""

CLASSIFICATION = ("mnist", "fashion_mnist", "cifar10", "svhn_cropped")
"""Labelled image datasets for the classifiers."""

BINARY_IMAGES = ("binarized_mnist", "mnist")
"""Image datasets for the likelihood models of binary pixels: ``binarized_mnist`` is the fixed binarization of
Larochelle and Murray (2011) that the NADE, MADE, PixelCNN and IWAE papers report on (used as it is: binarizing
it again is the identity); ``mnist`` is binarized by the recipe (dynamic or static)."""

COLOUR_IMAGES = ("cifar10", "downsampled_imagenet/32x32")
"""Colour photographs for the likelihood models of 8-bit images (PixelCNN, Gated PixelCNN, Glow), in bits/dim of
the 256 levels of each sub-pixel, never binarized. ``downsampled_imagenet/32x32`` is ImageNet at 32x32 (van den Oord
et al., 2016); it has no labels and no test split, and the papers report on its validation split."""

EMBEDDED_COLOUR = ("photos32",)
"""Embedded colour photographs (:mod:`mpkeras.data.photos`: 32x32 patches of the photographs scikit-image and
scikit-learn ship), built offline; 8-bit like :data:`COLOUR_IMAGES`, and unlabelled."""

PREBINARIZED = ("binarized_mnist",)
"""Datasets whose pixels are already 0 or 1, binarized once by their authors."""

SEGMENTATION = ("oxford_iiit_pet",)
"""Segmentation datasets (images with per-pixel class masks)."""

AUDIO = ("speech_commands", "nsynth")
"""Audio datasets for WaveNet: ``speech_commands`` (int16 clips of up to 1 s at 16 kHz; 12 classes: 10 words,
silence, unknown) and ``nsynth`` (float32 notes of 4 s at 16 kHz, labelled with their instrument family)."""

TEXT = ("tiny_shakespeare",)
"""Text datasets for the character language models: one ``text`` string per split (the whole split)."""

VIDEO = ("moving_mnist",)
"""Frame-sequence datasets for next-frame prediction (ConvLSTM). ``moving_mnist`` is the 10,000 test sequences of
Srivastava et al. (2015), 20 frames of 64x64 grey each; TFDS has no other split, so the recipes cut that one
(:data:`_SPLITS`)."""

GAN_IMAGES = ("mnist", "fashion_mnist", "cifar10", "celeb_a")
"""Image datasets for the image GANs (dcgan, wgan_gp; cgan only the labelled ones, :func:`has_labels`). celeb_a
comes centre-cropped and resized to 64x64 (:func:`image_transform`)."""

FAMILIES = (CLASSIFICATION, BINARY_IMAGES, COLOUR_IMAGES, GAN_IMAGES, SEGMENTATION, AUDIO, TEXT, VIDEO)

DECLARED = tuple(dict.fromkeys(name for family in FAMILIES for name in family))
"""Every catalogue dataset some recipe declares."""

NO_LABEL = -1
"""The label of every example of a dataset without labels."""

DEFAULT_SPLITS = {"train": "train[:90%]", "val": "train[90%:]", "test": "test", "train+val": "train"}

_SPLITS = {
    "binarized_mnist": {"train": "train", "val": "validation", "test": "test", "train+val": "train+validation"},
    "tiny_shakespeare": {"train": "train", "val": "validation", "test": "test", "train+val": "train+validation"},
    "speech_commands": {"train": "train", "val": "validation", "test": "test", "train+val": "train+validation"},
    "nsynth": {"train": "train", "val": "valid", "test": "test", "train+val": "train+valid"},
    # A test split only (10,000 sequences, in a fixed order): the first 80% train, the next 10% val, the last 10% test.
    "moving_mnist": {"train": "test[:80%]", "val": "test[80%:90%]", "test": "test[90%:]", "train+val": "test[:90%]"},
    # No test split: the papers' figures are on validation, so that is test here, and val is the last 1% of train
    # (12,812 images: 10% would make every validation pass a tenth of an epoch).
    "downsampled_imagenet": {"train": "train[:99%]", "val": "train[99%:]", "test": "validation", "train+val": "train"},
    "celeb_a": {"train": "train", "val": "validation", "test": "test", "train+val": "train+validation"},
}
"""Datasets whose roles map to other TFDS splits than :data:`DEFAULT_SPLITS`."""

_IMAGE_FEATURES = {
    # name: (image feature, label feature or None, scale to uint8 levels 0..255)
    "binarized_mnist": ("image", None, 255),  # pixels are 0 or 1
    "downsampled_imagenet": ("image", None, 1),  # no label
    "celeb_a": ("image", None, 1),  # 40 binary attributes and landmarks, no class label
    "photos32": ("image", None, 1),  # embedded; its `photo` feature names the source, not a class to learn
}
"""Datasets whose ``as_supervised`` pairs are not ``(uint8 image in 0..255, label)``."""

_FRAME_FEATURES = {"moving_mnist": "image_sequence"}
"""Frame-sequence datasets whose uint8 ``(T, H, W, C)`` sequences are not called ``frames`` (the embedded
``moving_mnist5k``'s name)."""

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


def image_size(name):
    """``(H, W)`` of every image of ``name`` where its TFDS image feature leaves the size open (None elsewhere).

    ``downsampled_imagenet``'s feature is ``(None, None, 3)``; its config names the size (``"32x32"``).
    """
    if base_name(name) != "downsampled_imagenet":
        return None
    config = name.split(":")[0].split("/")[1:] or ["32x32"]  # TFDS's default config is the first, 32x32
    height, width = config[0].strip().split("x")
    return int(height), int(width)


def is_colour_photographs(name):
    """Whether ``name`` holds 8-bit colour photographs (:data:`COLOUR_IMAGES`, :data:`EMBEDDED_COLOUR`)."""
    return name in COLOUR_IMAGES or base_name(name) in COLOUR_IMAGES + EMBEDDED_COLOUR


def is_prebinarized(name):
    """Whether the pixels of dataset ``name`` are binary already (:data:`PREBINARIZED`)."""
    return base_name(name) in PREBINARIZED


def image_features(name):
    """``(image feature, label feature or None, factor to uint8 levels)`` of ``name``, or None if its
    ``as_supervised`` pairs are ``(uint8 image in 0..255, label)`` already."""
    return _IMAGE_FEATURES.get(base_name(name))


def frame_feature(name):
    """The feature of dataset ``name`` that holds its uint8 frame sequences ``(T, H, W, C)``."""
    return _FRAME_FEATURES.get(base_name(name), "frames")


def has_labels(name):
    """Whether the image dataset ``name`` has a class label (else its pairs carry :data:`NO_LABEL`)."""
    features = _IMAGE_FEATURES.get(base_name(name))
    return features is None or features[1] is not None


def image_transform(name):
    """``{"crop": (H, W), "size": (H, W)}``: the centre crop and resize the loader applies to the images of
    ``name``, or None if it serves them as stored."""
    return _IMAGE_TRANSFORMS.get(base_name(name))
