"""Segmentation data: the mnist_seg builder, label checks, the pipeline and joint augmentation."""

import argparse

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mpkeras import data
from mpkeras.data import pipelines
from mpkeras.testing import mock_catalogue


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """mnist_seg (and the mnist5k digits it is composed from) built once for the module."""
    path = str(tmp_path_factory.mktemp("tfds"))
    data.info("mnist_seg", data_dir=path)
    data.info("mnist5k", data_dir=path)
    return path


def _examples(data_dir, split):
    """Every example of a split as a dict of stacked numpy arrays, sorted by canvas content."""
    ds = data.load("mnist_seg", split, data_dir=data_dir, as_supervised=False)
    rows = list(ds.as_numpy_iterator())
    order = sorted(range(len(rows)), key=lambda i: rows[i]["image"].tobytes())
    return {k: np.stack([rows[i][k] for i in order]) for k in rows[0]}


def _args(data_dir, **kw):
    defaults = dict(dataset="mnist_seg", data_dir=data_dir, batch_size=50, seed=0)
    return argparse.Namespace(**{**defaults, **kw})


# === The mnist_seg builder ===


def test_mnist_seg_is_embedded_with_sizes_and_specs(data_dir):
    assert "mnist_seg" in data.EMBEDDED
    splits = data.info("mnist_seg", data_dir=data_dir).splits
    assert (splits["train"].num_examples, splits["test"].num_examples) == (4000, 1000)
    image, mask = data.load("mnist_seg", "test", data_dir=data_dir).element_spec  # supervised: (image, mask)
    assert image.dtype == tf.uint8 and tuple(image.shape) == (64, 64, 1)
    assert mask.dtype == tf.uint8 and tuple(mask.shape) == (64, 64, 1)


def test_mnist_seg_masks_follow_the_pixels(data_dir):
    ex = _examples(data_dir, "test")
    images, masks, counts = ex["image"][..., 0], ex["segmentation_mask"][..., 0], ex["digit_counts"]
    assert set(np.unique(masks)) == set(range(11))  # every digit class and background occur
    np.testing.assert_array_equal(masks == 10, images < 128)  # digit exactly where the pixel is >= 128
    assert counts.sum(axis=1).min() == 1 and counts.sum(axis=1).max() == 4
    for image_counts, mask in zip(counts[:50], masks[:50]):
        assert set(np.flatnonzero(image_counts)) == set(np.unique(mask)) - {10}


def test_mnist_seg_build_is_deterministic(data_dir, tmp_path):
    first = _examples(data_dir, "test")
    again = _examples(str(tmp_path), "test")  # a second, independent build
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])


@pytest.fixture(scope="module")
def mnist5k_digits(data_dir):
    """The raw bytes of every mnist5k digit, per split."""
    return {split: {x.tobytes() for x, _ in data.load("mnist5k", split, data_dir=data_dir).as_numpy_iterator()}
            for split in ("train", "test")}


@pytest.mark.parametrize("split,other", [("test", "train"), ("train", "test")])
def test_mnist_seg_splits_use_disjoint_digits(data_dir, mnist5k_digits, split, other):
    """Each canvas holds exactly its digit_counts.sum() whole digits of its own mnist5k split, none of the other."""
    own, foreign = mnist5k_digits[split], mnist5k_digits[other] - mnist5k_digits[split]
    ex = _examples(data_dir, split)
    for canvas, counts in zip(ex["image"][:40], ex["digit_counts"][:40]):
        windows = np.lib.stride_tricks.sliding_window_view(canvas[..., 0], (28, 28)).reshape(-1, 28 * 28)
        keys = [w.tobytes() for w in windows]
        assert sum(k in own for k in keys) == counts.sum()
        assert not any(k in foreign for k in keys)


# === Labels are checked ===


def test_check_labels_rejects_out_of_range_values_with_a_clear_error():
    images = tf.zeros((3, 4, 4, 1))
    masks = np.zeros((3, 4, 4), np.int32)
    masks[1, 2, 3] = 11
    ds = data.check_labels(tf.data.Dataset.from_tensor_slices((images, masks)), num_classes=11, dataset="mnist_seg")
    message = r"Dataset mnist_seg has label\] \[11\] \[outside the valid range \[0, 11\)"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        list(ds)
    masks[1, 2, 3] = -1
    ds = data.check_labels(tf.data.Dataset.from_tensor_slices((images, masks)), num_classes=11, dataset="pets")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Dataset pets has label\] \[-1\]"):
        list(ds)
    masks[1, 2, 3] = 10
    ds = data.check_labels(tf.data.Dataset.from_tensor_slices((images, masks)), num_classes=11, dataset="mnist_seg")
    assert len(list(ds)) == 3  # the valid range passes untouched


def test_pipeline_rejects_labels_the_dataset_does_not_have(data_dir, monkeypatch):
    """mnist_seg has 11 classes; claiming 10 makes the background label 10 invalid."""
    monkeypatch.setitem(pipelines.SEGMENTATION, "mnist_seg",
                        {**pipelines.SEGMENTATION["mnist_seg"], "classes": tuple("0123456789")})
    message = r"Dataset mnist_seg has label\] \[10\] \[outside the valid range \[0, 10\)"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        pipelines.segmentation(_args(data_dir))


def test_oxford_iiit_pet_trimaps_map_to_pet_background_border():
    """TFDS stores the trimaps as they are (1 = pet, 2 = background, 3 = border): labels 0, 1, 2, in class order."""
    with tfds.testing.mock_data(as_dataset_fn=mock_catalogue.oxford_iiit_pet(num_examples=4)):
        raw = list(data.load("oxford_iiit_pet", "test", as_supervised=False).as_numpy_iterator())
        args = _args(None, dataset="oxford_iiit_pet", batch_size=2, image_size=32)
        _, _, _, images, masks = pipelines.segmentation(args, max_test_arrays=4)
    assert images.shape == (4, 32, 32, 3) and masks.shape == (4, 32, 32)
    assert pipelines.segmentation_classes("oxford_iiit_pet") == ("pet", "background", "border")
    for example, mask in zip(raw, masks):
        trimap = tf.image.resize(example["segmentation_mask"], (32, 32), method="nearest").numpy()[..., 0]
        assert set(np.unique(trimap)) == {mock_catalogue.PET, mock_catalogue.BACKGROUND, mock_catalogue.BORDER}
        np.testing.assert_array_equal(mask, trimap.astype(np.int32) - 1)


def test_out_of_range_mask_values_name_the_stored_range_and_the_offset():
    """The plain mock draws mask values 0..254, which oxford_iiit_pet's trimaps never hold: refused, saying why."""
    message = (r"Dataset oxford_iiit_pet has label\] \[-?\d+\] \[outside the valid range \[0, 3\) \(num_classes=3\); "
               r"the labels are the oxford_iiit_pet segmentation_mask values minus the offset 1, and its masks hold "
               r"1..3 \(1 = pet, 2 = background, 3 = border\)")
    with tfds.testing.mock_data(num_examples=2), pytest.raises(tf.errors.InvalidArgumentError, match=message):
        pipelines.segmentation(_args(None, dataset="oxford_iiit_pet", batch_size=2, image_size=8))


def test_unsupported_segmentation_dataset():
    with pytest.raises(ValueError, match="mnist_seg.*oxford_iiit_pet"):
        pipelines.segmentation_classes("mnist5k")


# === The pipeline ===


def test_segmentation_pipeline_batches_and_statistics(data_dir):
    d = pipelines.segmentation_data(_args(data_dir))
    images, masks = next(iter(d.train))
    assert images.dtype == tf.float32 and tuple(images.shape) == (50, 64, 64, 1)
    assert masks.dtype == tf.int32 and tuple(masks.shape) == (50, 64, 64)
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    assert sum(int(m.shape[0]) for _, m in d.val) == 400  # train[90%:]
    assert sum(int(m.shape[0]) for _, m in d.test) == 1000
    test_images, test_masks = d.extras["test_images"], d.extras["test_masks"]
    assert test_images.shape == (256, 64, 64, 1) and test_masks.shape == (256, 64, 64)
    assert test_masks.min() == 0 and test_masks.max() == 10
    np.testing.assert_array_equal(test_masks == 10, np.round(test_images[..., 0] * 255) < 128)
    # Standardization statistics come from the train split (train[:90%]) only.
    train = np.stack([x for x, _ in data.load("mnist_seg", "train[:90%]", data_dir=data_dir).as_numpy_iterator()])
    np.testing.assert_allclose(d.extras["standardizer"].mean, [train.mean() / 255], rtol=1e-5)
    assert d.extras["class_names"][10] == "background" and d.card["classes"][3] == "3"


def test_resizing_keeps_masks_as_class_ids(data_dir):
    """The path oxford_iiit_pet takes: bilinear images, nearest-neighbour masks at a fixed size."""
    _, _, _, images, masks = pipelines.segmentation(_args(data_dir, image_size=32), max_test_arrays=64)
    assert images.shape == (64, 32, 32, 1) and masks.shape == (64, 32, 32) and masks.dtype == np.int32
    full = np.stack([m for _, m in data.load("mnist_seg", "test", data_dir=data_dir).take(64).as_numpy_iterator()])
    # Nearest neighbour copies existing labels (no averaged, in-between classes): halving with half-pixel
    # centres (source = 2 i + 0.5, rounded up) keeps the odd rows and columns.
    np.testing.assert_array_equal(masks, full[:, 1::2, 1::2, 0].astype(np.int32))


# === Augmentation moves image and mask together ===


def _mask_images(n=8, size=16, seed=0):
    """Masks of 4x4 blocks of classes 0..4, and images that encode the mask: pixel = class / 4."""
    masks = np.random.default_rng(seed).integers(0, 5, size=(n, size // 4, size // 4))
    masks = masks.repeat(4, axis=1).repeat(4, axis=2).astype(np.int32)
    return (masks[..., None] / 4.0).astype(np.float32), masks


def _augmented(ds, **kw):
    out = list(data.augment_segmentation(ds, **kw).as_numpy_iterator())
    return np.concatenate([x for x, _ in out]), np.concatenate([m for _, m in out])


def test_augmentation_keeps_masks_aligned_with_images():
    images, masks = _mask_images()
    ds = tf.data.Dataset.from_tensor_slices((images, masks)).batch(4)
    kw = dict(flip=True, shift=0.2, rotation=0.1, zoom=0.1, interpolation="nearest", seed=3)
    aug_images, aug_masks = _augmented(ds, **kw)
    assert aug_masks.dtype == np.int32 and aug_images.dtype == np.float32
    assert np.mean(aug_masks != masks) > 0.3  # it did move things
    # Nearest resampling on both: the image still encodes its own mask at every pixel.
    np.testing.assert_array_equal(np.round(aug_images[..., 0] * 4).astype(np.int32), aug_masks)
    assert set(np.unique(aug_masks)) <= set(range(5))

    # With bilinear images, pixels near a class boundary may blend; away from boundaries they agree.
    # The same measure on a mask shifted by 2 pixels shows what a misalignment would look like.
    aug_images, aug_masks = _augmented(ds, **{**kw, "interpolation": "bilinear"})

    def interior_agreement(images, masks):
        agree = np.round(images[..., 0] * 4).astype(np.int32) == masks
        interior = np.ones_like(agree)
        for axis in (1, 2):
            for step in (-1, 1):
                interior &= np.roll(masks, step, axis=axis) == masks
        return agree[interior].mean()

    assert interior_agreement(aug_images, aug_masks) > 0.9
    assert interior_agreement(aug_images, np.roll(aug_masks, 2, axis=2)) < 0.8


def test_augmentation_is_seeded_and_new_each_epoch():
    images, masks = _mask_images()
    ds = tf.data.Dataset.from_tensor_slices((images, masks)).batch(4)
    aug = data.augment_segmentation(ds, flip=True, shift=0.2, seed=5)
    epoch1 = np.concatenate([m for _, m in aug.as_numpy_iterator()])
    epoch2 = np.concatenate([m for _, m in aug.as_numpy_iterator()])
    again = np.concatenate([m for _, m in data.augment_segmentation(ds, flip=True, shift=0.2, seed=5)
                            .as_numpy_iterator()])
    assert not np.array_equal(epoch1, epoch2)
    np.testing.assert_array_equal(epoch1, again)


def test_flip_only_mirrors_both():
    images, masks = _mask_images(n=64)
    ds = tf.data.Dataset.from_tensor_slices((images, masks)).batch(64)
    aug_images, aug_masks = _augmented(ds, flip=True, seed=0)
    flipped = np.all(aug_masks == masks[:, :, ::-1], axis=(1, 2)) & ~np.all(masks == masks[:, :, ::-1], axis=(1, 2))
    kept = np.all(aug_masks == masks, axis=(1, 2))
    assert np.all(flipped | kept) and 10 < flipped.sum() < 54
    np.testing.assert_array_equal(np.round(aug_images[..., 0] * 4).astype(np.int32), aug_masks)
