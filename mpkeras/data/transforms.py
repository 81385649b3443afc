"""Transforms for ``tf.data`` pipelines of ``(image, label)`` pairs.

All randomness is stateless (``tf.random.stateless_uniform`` with ``alg="philox"``,
which XLA and non-XLA paths agree on), keyed by a seed:

* ``static``: the key is ``(seed, element index)``, so the noise is fixed forever;
* per epoch (``binarize(mode="dynamic")``, ``dequantize``): the key comes from
  ``tf.data.Dataset.random(seed, rerandomize_each_iteration=True)``, so every pass
  over the dataset draws new noise, yet the sequence of epochs repeats from run
  to run (given the same TF global seed, which is unset by default).

There is one key per element: an example, or a whole batch when the dataset is
batched, which draws a batch's noise in one op (much faster per example).

The one exception is :func:`augment_segmentation`, which runs Keras preprocessing
layers (seeded, stateful ``SeedGenerator``s) so that image and mask move together.

Example:
    >>> from mpkeras import data
    >>> train = data.load("mnist5k", "train").map(lambda x, y: (data.to_float(x), y))
    >>> train = data.binarize(train, "static", seed=0).shuffle(4000).batch(64)
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

BINARIZE_MODES = ("static", "dynamic")

# The largest float32 u < 1 such that x + u < x + 1 for every integer x in 0..255
# (float32 spacing just below 256 is 2**-16). Clipping u there keeps
# floor(256 * dequantized) == x exactly.
_MAX_U = 1.0 - 2.0**-16


def to_float(image) -> tf.Tensor:
    """Converts a uint8 image (0..255) to float32 in [0, 1].

    Args:
        image: uint8 tensor or array of any shape. Floating input is assumed to be
            in [0, 1] already and is only cast to float32.

    Returns:
        float32 tensor of the same shape.
    """
    image = tf.convert_to_tensor(image)
    if image.dtype.is_floating:
        return tf.cast(image, tf.float32)
    if image.dtype != tf.uint8:
        raise TypeError(f"to_float expects uint8 or floating images, got {image.dtype.name}.")
    return tf.cast(image, tf.float32) / 255.0


def centre_crop_and_resize(image, crop, size) -> tf.Tensor:
    """The centre ``crop`` (height, width) of a uint8 image (H, W, C), resized to ``size`` (height, width), uint8.

    The crop starts at row ``(H - height) // 2`` and column ``(W - width) // 2``; the resize is bilinear with
    antialiasing (so shrinking averages, like an area resize), rounded back to 0..255.
    """
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    image = tf.image.crop_to_bounding_box(image, (height - crop[0]) // 2, (width - crop[1]) // 2, *crop)  # crop
    image = tf.image.resize(image, size, method="bilinear", antialias=True)  # (*size, C) float32
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def binarize(ds: tf.data.Dataset, mode: str, seed: int = 0) -> tf.data.Dataset:
    """Samples binary images: each pixel is 1 with probability equal to its intensity.

    Args:
        ds: dataset of ``(image, label)`` (or bare images); images float in [0, 1]
            (uint8 is converted with :func:`to_float`). Unbatched, or batched: one
            stateless draw per batch, much faster than one per example.
        mode: ``"static"``: one binarization per example, the same every epoch
            and every run. The example index is the key, so apply it before any
            shuffle. ``"dynamic"``: a fresh binarization on every pass over the
            dataset, reproducible across runs for a given seed.
        seed: integer seed.

    Returns:
        The dataset with float32 images in {0, 1}; labels untouched.
    """
    if mode not in BINARIZE_MODES:
        raise ValueError(f"Unknown binarization mode {mode!r}; use one of {BINARIZE_MODES}.")

    def sample(image, key):
        image = to_float(image)
        u = tf.random.stateless_uniform(tf.shape(image), seed=key, alg="philox")
        return tf.cast(u < image, tf.float32)

    return _map_images(ds, sample, _keys(seed, per_epoch=(mode == "dynamic")))


def dequantize(ds: tf.data.Dataset, seed: int = 0) -> tf.data.Dataset:
    """Uniform dequantization ``(x + u) / 256``, ``u ~ U[0, 1)``, new noise each epoch.

    Args:
        ds: dataset of ``(image, label)`` (or bare images) with uint8 images.
        seed: integer seed; the sequence of epochs is reproducible across runs.

    Returns:
        The dataset with float32 images in [0, 1), ``floor(256 * y) == x``.
    """

    def sample(image, key):
        if image.dtype != tf.uint8:
            raise TypeError(f"dequantize expects uint8 images, got {image.dtype.name}.")
        u = tf.random.stateless_uniform(tf.shape(image), seed=key, alg="philox")
        return (tf.cast(image, tf.float32) + tf.minimum(u, _MAX_U)) / 256.0

    return _map_images(ds, sample, _keys(seed, per_epoch=True))


class Standardizer:
    """Standardizes images with statistics of the training split only.

    Fit on the train split, then apply the same object to every split.

    Args:
        mean: per-channel (shape ``[C]``) or per-pixel (``[H, W, C]``) mean.
        std: standard deviation of the same shape; zeros become 1 (constant
            pixels, e.g. MNIST borders, are only shifted).

    Example:
        >>> scaler = Standardizer.fit(train)
        >>> train, test = scaler.apply(train), scaler.apply(test)
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32)
        std = np.asarray(std, dtype=np.float32)
        self.std = np.where(std > 0, std, np.float32(1.0))

    @classmethod
    def fit(cls, ds: tf.data.Dataset, per_pixel: bool = False) -> "Standardizer":
        """Computes mean and std over every image of an (unbatched) dataset.

        Args:
            ds: dataset of ``(image, label)`` or bare images ``[H, W, C]``.
            per_pixel: one mean/std per pixel and channel instead of per channel.

        Returns:
            A fitted ``Standardizer``.
        """
        images = ds.map(lambda image, *_: image) if isinstance(ds.element_spec, tuple) else ds
        count, total, squares = 0, 0.0, 0.0
        for batch in images.batch(1024).as_numpy_iterator():
            batch = batch.astype(np.float64)
            if not per_pixel:
                batch = batch.reshape(-1, batch.shape[-1])  # [pixels, C]
            count += batch.shape[0]
            total = total + batch.sum(axis=0)
            squares = squares + np.square(batch).sum(axis=0)
        if count == 0:
            raise ValueError("Cannot fit a Standardizer on an empty dataset.")
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
        return cls(mean, std)

    def __call__(self, images) -> tf.Tensor:
        """Returns ``(images - mean) / std`` as float32 (any leading batch axes)."""
        return (tf.cast(images, tf.float32) - self.mean) / self.std

    def apply(self, ds: tf.data.Dataset) -> tf.data.Dataset:
        """Standardizes the images of a dataset of ``(image, label)`` or images."""
        if isinstance(ds.element_spec, tuple):
            return ds.map(lambda image, *rest: (self(image), *rest))
        return ds.map(self)

    def get_config(self) -> dict:
        """Returns ``{"mean": list, "std": list}`` (JSON-serializable)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_config(cls, config: dict) -> "Standardizer":
        """Rebuilds a ``Standardizer`` from :meth:`get_config` output."""
        return cls(**config)


def _keys(seed: int, per_epoch: bool) -> tf.data.Dataset:
    """Stateless RNG keys ``[seed, r]``, one per example.

    ``r`` is the example index (fixed), or a draw from ``Dataset.random`` that is
    rerandomized on every iteration (new each epoch, same epochs every run).
    """
    if per_epoch:
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    else:
        draws = tf.data.Dataset.counter()
    return draws.map(lambda r: tf.stack([tf.constant(seed, tf.int64), r]))


def _map_images(ds: tf.data.Dataset, fn: Callable, keys: tf.data.Dataset) -> tf.data.Dataset:
    """Replaces the image of each ``(image, label, ...)`` or bare-image element by ``fn(image, key)``."""

    def on_example(example, key):
        if isinstance(example, tuple):
            return (fn(example[0], key),) + example[1:]
        return fn(example, key)

    return tf.data.Dataset.zip((ds, keys)).map(on_example, num_parallel_calls=tf.data.AUTOTUNE)


def check_labels(ds: tf.data.Dataset, num_classes: int, dataset: str = "dataset",
                 source: str | None = None) -> tf.data.Dataset:
    """Makes iterating ``ds`` fail on the first label outside ``[0, num_classes)``.

    Out-of-range labels fail loudly in some places and not in others: the
    sparse cross-entropy raises on CPU but gives NaN on GPU, and
    ``keras.metrics.MeanIoU`` silently drops them from its confusion matrix. So
    the data layer rejects them before any of that.

    Args:
        ds: dataset of ``(image, labels)`` pairs; ``labels`` of any shape (a class
            id, or a per-pixel mask), integer dtype.
        num_classes: K; valid labels are 0..K-1.
        dataset: the dataset's name, for the error message.
        source: how the labels come from the stored data, for the error message (e.g. "the labels are
            the oxford_iiit_pet segmentation_mask values minus the offset 1, and its masks hold 1..3").

    Returns:
        The same dataset, with the check attached. Iterating it raises
        ``tf.errors.InvalidArgumentError`` naming the dataset, the bad value and
        the valid range.

    Example:
        >>> train = check_labels(train, num_classes=11, dataset="mnist_seg")
    """
    if not ds.element_spec[1].dtype.is_integer:
        raise TypeError(f"check_labels expects integer labels, got {ds.element_spec[1].dtype.name}.")

    def check(image, labels):
        low, high = tf.reduce_min(labels), tf.reduce_max(labels)
        bad = tf.where(low < 0, low, high)
        ok = tf.logical_and(low >= 0, high < num_classes)
        assertion = tf.debugging.Assert(
            ok,
            [f"Dataset {dataset} has label", bad, f"outside the valid range [0, {num_classes}) "
             f"(num_classes={num_classes}){f'; {source}' if source else ''}. Fix the labels (e.g. map them to "
             f"0..{num_classes - 1}) or build the model with more classes."],
        )
        with tf.control_dependencies([assertion]):
            return image, tf.identity(labels)

    return ds.map(check, num_parallel_calls=tf.data.AUTOTUNE)


def augment_segmentation(
    ds: tf.data.Dataset,
    *,
    flip: bool = False,
    shift: float = 0.0,
    rotation: float = 0.0,
    zoom: float = 0.0,
    interpolation: str = "bilinear",
    seed: int = 0,
) -> tf.data.Dataset:
    """Random geometric augmentation that moves images and masks together.

    Keras 3 image preprocessing layers take a dict ``{"images", "segmentation_masks"}``:
    they draw one transformation per example and apply it to both, resampling the
    mask with nearest neighbour so it stays a map of class ids. The layers keep a
    seeded ``SeedGenerator`` whose state advances on every call, so each epoch
    draws new transformations, yet runs with the same seed repeat exactly (the
    map runs sequentially for that reason; it is one call per batch).

    Points from outside the image are filled with ``fill_mode="nearest"`` (the
    edge pixel) in image and mask alike. The default constant fill would write
    0 into the mask, a real class (digit 0 in ``mnist_seg``).

    Args:
        ds: *batched* dataset of ``(images float [B, H, W, C], masks int [B, H, W])``.
        flip: random horizontal flips (``keras.layers.RandomFlip``).
        shift: random translation up to this fraction of height and width
            (``keras.layers.RandomTranslation``); 0 disables it.
        rotation: random rotation up to this fraction of 2 pi
            (``keras.layers.RandomRotation``); 0 disables it.
        zoom: random zoom up to this fraction (``keras.layers.RandomZoom``); 0 disables it.
        interpolation: image resampling, ``"bilinear"`` or ``"nearest"`` (masks
            always use nearest).
        seed: integer seed of the layers.

    Returns:
        The dataset with augmented images (float32) and masks (their dtype).

    Example:
        >>> train = augment_segmentation(train.batch(32), flip=True, shift=0.1, seed=0)
    """
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="nearest",
                                                     interpolation=interpolation, seed=seed + 1))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="nearest", interpolation=interpolation,
                                                  seed=seed + 2))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="nearest", interpolation=interpolation,
                                              seed=seed + 3))
    if not layers:
        return ds

    def apply(images, masks):
        data = {"images": images, "segmentation_masks": masks[..., None]}  # (B, H, W, C), (B, H, W, 1)
        for layer in layers:
            data = layer(data, training=True)
        # The layers hand back float32 masks; nearest resampling kept them integral.
        return data["images"], tf.cast(tf.round(data["segmentation_masks"][..., 0]), masks.dtype)

    return ds.map(apply)
