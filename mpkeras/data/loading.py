"""Load datasets through TFDS: embedded sets build offline, real names go to the catalogue.

Example:
    >>> from mpkeras import data
    >>> train = data.load("mnist5k", "train")          # builds offline on first use
    >>> image, label = next(iter(train))               # uint8 (28, 28, 1), int64 scalar
    >>> data.load("mnist", "train", download=False)    # DatasetUnavailableError offline
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import socket
import urllib.parse
import urllib.request

import tensorflow as tf
import tensorflow_datasets as tfds

from mpkeras.data import catalogue, embedded  # noqa: F401  (defining the embedded builders registers them)
from mpkeras.data.catalogue import DECLARED
from mpkeras.data.catalogue import base_name as _base_name
from mpkeras.data.transforms import centre_crop_and_resize
from mpkeras.errors import UserError

EMBEDDED = ("mnist5k", "digits8x8", "mnist_seg", "moving_mnist5k", "pydoc_text", "tones16k", "two_moons", "ring8",
            "mnist5k_inpaint", "scenes", "shapes3d", "photos32")
"""Datasets that build offline from data shipped in installed packages."""

REAL = DECLARED
"""TFDS catalogue datasets the recipes declare (:mod:`mpkeras.data.catalogue`); any other TFDS name also loads."""

DATA_DIR_ENV = "MPKERAS_DATA_DIR"

_NO_GCS_CONFIG = tfds.download.DownloadConfig(try_download_gcs=False)


class UnknownDatasetError(UserError, ValueError):
    """The name is neither an embedded dataset nor a TFDS catalogue name."""


class DatasetUnavailableError(UserError, RuntimeError):
    """A catalogue dataset is not prepared and cannot be downloaded (e.g. offline)."""


class CorruptDatasetError(UserError, RuntimeError):
    """The prepared files of an embedded dataset are unreadable, missing or truncated."""


TFRECORD_FRAMING = 16
"""Bytes a TFRecord adds around each serialized example: length (8), its CRC (4) and the data's CRC (4)."""


def load(
    name: str,
    split: str,
    *,
    data_dir: str | os.PathLike | None = None,
    shuffle_files: bool = False,
    download: bool = True,
    as_supervised: bool = True,
) -> tf.data.Dataset:
    """Returns a split of a dataset as ``(image, label)`` pairs, or as feature dicts.

    Embedded datasets (:data:`EMBEDDED`) are prepared offline on first use. Other
    names go to TFDS, which reads prepared data from ``data_dir`` or downloads it.
    A dataset that cannot be reached raises; another dataset is never substituted.

    Args:
        name: dataset name (``"mnist5k"``, ``"mnist"``, ...), optionally with a TFDS
            config or version (``"mnist:3.0.1"``).
        split: ``"train"``, ``"test"`` or any TFDS split string
            (``"train[:90%]"``, ``"train+test"``).
        data_dir: TFDS data directory. ``None`` uses ``$MPKERAS_DATA_DIR`` if set,
            else TFDS's default (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        shuffle_files: shuffle the order of the TFRecord shards.
        download: for catalogue datasets, whether to download data that is not
            prepared yet. Embedded datasets always build, as they need no network.
        as_supervised: ``True``: pairs of the dataset's ``supervised_keys`` (image datasets without them, such as
            ``binarized_mnist`` and ``celeb_a``: ``(image, catalogue.NO_LABEL)``, the images scaled to 0..255 and
            cropped and resized as :mod:`mpkeras.data.catalogue` says); ``False``: dicts of every feature as
            TFDS stores them (e.g. ``{"image", "segmentation_mask", ...}``).

    Returns:
        A ``tf.data.Dataset`` of ``(image uint8 [H, W, C], label int64 [])`` (for
        ``mnist_seg`` the label is the mask, uint8 [64, 64, 1]; for ``moving_mnist5k`` the pair is
        ``(frames uint8 [20, 64, 64, 1], labels int64 [2])``), or of feature dicts.

    Raises:
        UnknownDatasetError: ``name`` is not embedded and not in the TFDS catalogue.
        DatasetUnavailableError: the data is not prepared and could not be downloaded.
        CorruptDatasetError: an embedded dataset's prepared files are unreadable, missing or truncated
            (records corrupted in place still raise ``tf.errors.DataLossError`` when read).
        ValueError: ``split`` names a split the dataset does not have.
    """
    builder = _prepared_builder(name, data_dir, download)
    _check_split(builder, split)
    if as_supervised and catalogue.image_features(name) is not None:
        ds = builder.as_dataset(split=split, shuffle_files=shuffle_files, as_supervised=False)
        return ds.map(functools.partial(_image_pair, name), num_parallel_calls=tf.data.AUTOTUNE)
    return builder.as_dataset(split=split, shuffle_files=shuffle_files, as_supervised=as_supervised)


def _image_pair(name: str, example: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """``(image uint8 (H, W, C) in 0..255, label int64 ())`` of a feature dict of ``name``, as
    :func:`mpkeras.data.catalogue.image_features` and :func:`~mpkeras.data.catalogue.image_transform` describe."""
    image_key, label_key, factor = catalogue.image_features(name)
    image = example[image_key] * tf.constant(factor, tf.uint8)  # (H, W, C) uint8 in 0..255
    transform = catalogue.image_transform(name)
    if transform:
        image = centre_crop_and_resize(image, transform["crop"], transform["size"])  # (*size, C)
    size = catalogue.image_size(name)
    if size:  # a feature of open size whose images all have the config's: static (H, W, C), for the models
        image = tf.image.resize_with_crop_or_pad(image, *size)  # the identity on the real data
    label = tf.cast(example[label_key], tf.int64) if label_key else tf.constant(catalogue.NO_LABEL, tf.int64)
    return image, label


def num_classes(name: str, *, data_dir: str | os.PathLike | None = None) -> int | None:
    """The number of classes of dataset ``name``: the ``num_classes`` of its label feature (the second of its
    ``supervised_keys``), or None if it has no class label (``catalogue.has_labels``; e.g. celeb_a)."""
    if not catalogue.has_labels(name):
        return None
    meta = info(name, data_dir=data_dir)
    keys = meta.supervised_keys
    return getattr(meta.features[keys[1]], "num_classes", None) if keys else None


def info(name: str, *, data_dir: str | os.PathLike | None = None) -> tfds.core.DatasetInfo:
    """Returns the ``tfds.core.DatasetInfo`` of a dataset.

    Embedded datasets are built first if needed, so their split sizes are filled
    in. Catalogue datasets are not downloaded: if they are not prepared, the info
    has features and citation but no split statistics.

    Args:
        name: dataset name, as in :func:`load`.
        data_dir: TFDS data directory, as in :func:`load`.

    Returns:
        The dataset's ``DatasetInfo``.
    """
    if _base_name(name) in EMBEDDED:
        return _prepared_builder(name, data_dir, download=False).info
    return _builder(name, data_dir).info


def _resolve_data_dir(data_dir: str | os.PathLike | None) -> str | None:
    if data_dir is not None:
        return os.fspath(data_dir)
    return os.environ.get(DATA_DIR_ENV) or None  # None: TFDS picks its default.


@functools.lru_cache(maxsize=1)
def _catalogue() -> frozenset[str]:
    # Community datasets are left out: listing them reads an index from GCS.
    return frozenset(tfds.list_builders(with_community_datasets=False))


def in_catalogue(name: str) -> bool:
    """Whether ``name`` (without config or version) is a TFDS catalogue dataset."""
    return _base_name(name) in _catalogue()


def _unknown(name: str) -> UnknownDatasetError:
    candidates = list(dict.fromkeys(EMBEDDED + tuple(sorted(_catalogue()))))
    close = difflib.get_close_matches(_base_name(name), candidates, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return UnknownDatasetError(
        f"Unknown dataset {name!r}.{hint} Embedded datasets (build offline): "
        f"{', '.join(EMBEDDED)}. Supported TFDS datasets: {', '.join(REAL)} "
        "(any name in tfds.list_builders() also loads where TFDS can download or "
        "find prepared data)."
    )


def _unavailable(builder: tfds.core.DatasetBuilder, reason: str) -> DatasetUnavailableError:
    name = builder.name
    return DatasetUnavailableError(
        f"Dataset {name!r} is not prepared in {os.fspath(builder.data_dir)} and {reason}. "
        f"mpkeras does not swap datasets: use an embedded dataset that builds offline "
        f"({', '.join(map(repr, EMBEDDED))}), or prepare {name!r} where there is "
        f"network access (`tfds build {name} --data_dir DIR` or "
        f"`tfds.load({name!r}, data_dir=DIR)`), copy DIR here and pass "
        f"data_dir=DIR (or set ${DATA_DIR_ENV} / $TFDS_DATA_DIR)."
    )


def _builder(name: str, data_dir) -> tfds.core.DatasetBuilder:
    """Returns the (maybe unprepared) TFDS builder; checks the name first."""
    if not isinstance(name, str):
        raise TypeError(f"Dataset name must be a string, got {type(name).__name__}.")
    base = _base_name(name)
    if base not in EMBEDDED and base not in _catalogue():
        raise _unknown(name)
    try:
        return tfds.builder(name, data_dir=_resolve_data_dir(data_dir))
    except tfds.core.registered.DatasetNotFoundError as e:  # e.g. a bad config name
        raise _unknown(name) from e
    except Exception as e:  # pylint: disable=broad-except
        if base not in EMBEDDED:
            raise
        # The builder class is ours, so what failed is reading the prepared dataset_info.json.
        where = os.path.join(_resolve_data_dir(data_dir) or "the TFDS data_dir", base)
        raise _corrupt(name, where, f"its dataset_info.json cannot be read ({type(e).__name__}: {e})") from e


def _corrupt(name: str, directory, problem: str) -> CorruptDatasetError:
    return CorruptDatasetError(
        f"The prepared data of {name!r} in {os.fspath(directory)} is corrupt: {problem}. A copy or a build "
        f"was cut short. Delete {os.fspath(directory)}; embedded datasets rebuild offline on the next load."
    )


def _check_files(builder: tfds.core.DatasetBuilder) -> None:
    """Raises :class:`CorruptDatasetError` if a split's TFRecord files are missing or not of the recorded size."""
    if builder.info.file_format != tfds.core.FileFormat.TFRECORD:
        return
    for split in builder.info.splits.values():
        expected = int(split.num_bytes) + TFRECORD_FRAMING * split.num_examples
        size = 0
        for path in split.filepaths:
            if not os.path.exists(os.fspath(path)):
                raise _corrupt(builder.name, builder.data_dir, f"{os.path.basename(os.fspath(path))} is missing")
            size += os.path.getsize(os.fspath(path))
        if size != expected:
            raise _corrupt(builder.name, builder.data_dir,
                           f"the {split.name} files hold {size} bytes, but {expected} were written")


def _prepared_builder(name: str, data_dir, download: bool) -> tfds.core.DatasetBuilder:
    """Returns a builder whose data is prepared, preparing it if allowed."""
    builder = _builder(name, data_dir)
    embedded_set = _base_name(name) in EMBEDDED
    if builder.is_prepared():
        if embedded_set:
            _check_files(builder)
        return builder
    if _tfds_mocked():
        return builder  # tfds.testing.mock_data: preparing is a no-op and as_dataset serves random examples
    if not (embedded_set or download):
        raise _unavailable(builder, "download=False")
    host = None if embedded_set else _unreachable_host(builder)
    if host:
        raise _unavailable(builder, f"its download host {host} is unreachable (offline?)")
    try:
        builder.download_and_prepare(download_config=_NO_GCS_CONFIG)
    except Exception as e:  # pylint: disable=broad-except
        # Another process may have finished the same build first.
        fresh = tfds.builder(name, data_dir=_resolve_data_dir(data_dir))
        if fresh.is_prepared():
            return fresh
        if embedded_set:
            raise
        raise _unavailable(builder, f"preparing it failed ({type(e).__name__}: {e})") from e
    return builder


def _tfds_mocked() -> bool:
    """Whether ``tfds.testing.mock_data`` is active.

    The mock replaces ``DatasetBuilder.download_and_prepare`` with a no-op and ``as_dataset`` with random
    examples of the dataset's real features, but ``is_prepared()`` stays False. TFDS has no public flag for it,
    so the replaced method's name is the test (pinned by tests/test_catalogue.py).
    """
    method = tfds.core.DatasetBuilder.download_and_prepare
    return getattr(method, "__name__", "") == "mock_download_and_prepare"


def _unreachable_host(builder: tfds.core.DatasetBuilder, timeout: float = 3.0) -> str | None:
    """Returns a download host of ``builder`` that does not answer, else None.

    TFDS retries a failing URL with backoff for minutes (~200 s for mnist with no
    network), so probe each host once with a short TCP connect first. Behind a
    proxy a direct connect proves nothing, so then no probe is made.

    Args:
        builder: an unprepared TFDS builder.
        timeout: seconds to wait for each connection.
    """
    if urllib.request.getproxies():
        return None
    try:
        urls = list(builder.url_infos or ())
    except Exception:  # pylint: disable=broad-except
        return None  # No URL list (e.g. manual data): let TFDS try and report.
    for url in sorted(urls):
        parts = urllib.parse.urlsplit(url)
        if not parts.hostname:
            continue
        port = parts.port or (80 if parts.scheme == "http" else 443)
        try:
            socket.create_connection((parts.hostname, port), timeout=timeout).close()
        except OSError:
            return parts.hostname
    return None


def _check_split(builder: tfds.core.DatasetBuilder, split) -> None:
    """Raises ValueError if a split string names a split the dataset lacks."""
    if not isinstance(split, str):
        return  # ReadInstruction and friends: TFDS validates them.
    valid = sorted(builder.info.splits.keys())
    if not valid and _tfds_mocked():
        return  # the mock has no split statistics unless metadata files are given; it serves any split
    for part in split.split("+"):
        split_name = re.sub(r"\[.*\]$", "", part.strip())
        if split_name not in valid and split_name != "all":
            raise ValueError(
                f"Unknown split {split_name!r} in {split!r} for dataset {builder.name!r}. "
                f"Valid splits: {', '.join(valid)} (slices such as 'train[:90%]' and "
                "unions such as 'train+test' also work)."
            )
