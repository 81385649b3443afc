"""Input pipelines the recipes share: TFDS split -> float images -> batches.

Validation data is the last 10% of the train split (or the dataset's own validation split, see
:mod:`mpkeras.data.catalogue`), so the test split is touched only by the final evaluation.
"""

import numpy as np
import tensorflow as tf

from mpkeras import flags
from mpkeras.data import Standardizer, augment_segmentation, binarize, catalogue, check_labels, load, to_float
from mpkeras.data.caching import cache_if_small
from mpkeras.data.loading import _base_name
from mpkeras.errors import UsageError

AUTOTUNE = tf.data.AUTOTUNE
TRAIN, VAL, TEST = (catalogue.DEFAULT_SPLITS[role] for role in catalogue.ROLES)  # the splits of most datasets


def image_pairs(name, role, data_dir=None):
    """``(image uint8 (H, W, C), label int64 ())`` pairs of the ``role`` split of the image dataset ``name``.

    Args:
        name: an embedded or TFDS image dataset.
        role: ``"train"``, ``"val"``, ``"test"`` or ``"train+val"`` (:func:`mpkeras.data.catalogue.split`).
        data_dir: TFDS data directory, as in :func:`mpkeras.data.load`.
    """
    return load(name, catalogue.split(name, role), data_dir=data_dir)  # load makes pairs of any image dataset


def _float_pairs(args, role):
    """``(image float32 in [0, 1], label)`` pairs of the ``role`` split (:func:`mpkeras.data.catalogue.split`)."""
    ds = image_pairs(args.dataset, role, data_dir=args.data_dir)
    return ds.map(lambda x, y: (to_float(x), y), num_parallel_calls=AUTOTUNE)


def _cached(ds, args, role):
    """``ds`` (one element per example of the ``role`` split) cached in memory if it fits (:func:`cache_if_small`)."""
    return cache_if_small(ds, args.dataset, catalogue.split(args.dataset, role), args.data_dir)


def _to_numpy(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.stack(xs), np.stack(ys)


def first_numpy(ds, n):
    """The first ``n`` elements of ``ds`` as numpy, from one iterator read to the end.

    A ``take(n)`` of a cached dataset leaves a partly written cache that TF should
    discard, but the full suite once saw a later iteration of such a test split stop
    at n elements (256 of 1,000), plausibly while the partial iterator was still
    alive. One full pass leaves a complete cache.
    """
    kept = []
    for i, element in enumerate(ds):
        if i < n:
            kept.append(tf.nest.map_structure(lambda t: t.numpy(), element))
    return kept


def _batch(ds, args, train, after_batch=None):
    """Shuffled (train) and batched ``ds``; ``after_batch``: a vectorized transform of the batched dataset."""
    if train:
        ds = ds.shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
    # Fixed batch shapes: one XLA compilation, and even shards across replicas.
    ds = ds.batch(args.batch_size, drop_remainder=train)
    if after_batch is not None:
        ds = after_batch(ds)
    return ds.prefetch(AUTOTUNE)


def card(args, **extra):
    return {"dataset": args.dataset, "splits": catalogue.splits(args.dataset), **extra}


def classification(args):
    """(image in [0, 1], label) batches.

    Returns:
        train, val, test datasets and the test set as numpy arrays.
    """
    splits = [_cached(_float_pairs(args, role), args, role) for role in catalogue.ROLES]
    test_images, test_labels = _to_numpy(splits[2])
    train, val, test = (_batch(s, args, train=i == 0) for i, s in enumerate(splits))
    return train, val, test, test_images, test_labels


def train_split(args):
    """The unbatched, unshuffled ``(image in [0, 1], label)`` pairs of the train split (without val):
    the data to fit statistics on (e.g. a ``Standardizer``), every example exactly once."""
    return _float_pairs(args, "train")


def train_and_val(args):
    """The whole train split (train + val), shuffled and batched like ``train``: for retraining
    the found number of epochs once early stopping has picked it on val."""
    return _batch(_cached(_float_pairs(args, "train+val"), args, "train+val"), args, train=True)


def binarized_data(args):
    """``Data`` for likelihood models of images: binarized (``args.levels`` 2) or 8-bit (256).

    With ``args.conditional`` the batches are ``{"images", "labels"}`` dicts, for
    class-conditional models.
    """
    from mpkeras.train.recipe import Data

    levels, conditional = getattr(args, "levels", 2), getattr(args, "conditional", False)
    fixed = catalogue.is_prebinarized(args.dataset)
    if fixed and levels != 2:
        raise UsageError(f"--levels {levels}: {args.dataset} has binary pixels only; use --levels 2, or mnist for "
                         "its 8-bit images.")
    if conditional and not catalogue.has_labels(args.dataset):
        raise UsageError(f"--conditional: {args.dataset} has no class labels; use a labelled dataset such as mnist.")
    channels = _float_pairs(args, "test").element_spec[0].shape[-1]  # (H, W, C)
    if levels == 2 and not fixed and (channels or 1) > 1:
        raise UsageError(f"--levels 2: {args.dataset} has colour images ({channels} channels), and binarizing "
                         "photographs throws away what the model should learn; use --levels 256 (8-bit, the default "
                         "on colour datasets).")
    mode = "fixed" if fixed else args.binarization if levels == 2 else "8-bit"
    train, val, test, test_images, test_labels = binarized_images(args, mode, with_labels=conditional)
    if fixed:
        description = card(args, binarization="fixed: the dataset's own binarization, used as it is")
    elif levels == 2:
        description = card(args, binarization={"train": args.binarization, "val": "static", "test": "static"})
    else:
        description = card(args, pixels="8-bit: the 256 levels k/255 of the uint8 images")
    return Data(train, val, test, description, extras={"test_images": test_images, "test_labels": test_labels})


def add_binarization_arguments(p):
    p.add_argument("--binarization", choices=("dynamic", "static"), default="dynamic",
                   help="of the train split; val/test are always statically binarized (binarized_mnist: its own, fixed)")
    p.add_argument("--iwae-samples", type=flags.positive_int, default=1000, help="k of the importance-sampled test NLL")


def _images_only(x, y):
    return x


def _images_and_labels(x, y):
    return {"images": x, "labels": tf.cast(y, tf.int32)}


def binarized_images(args, mode, with_labels=False):
    """Binarized (or 8-bit) images, for likelihood models.

    Train uses ``mode`` (``dynamic``: resampled every epoch, ``static``, ``fixed``: the
    pixels are binary already and are used as they are, or ``8-bit``: the images as they
    are, levels k/255); val and test are then statically binarized with fixed seeds (or
    left as they are), so reported likelihoods are comparable across runs.

    Args:
        with_labels: yield ``{"images", "labels"}`` dicts instead of bare images.

    Returns:
        train, val, test datasets; test images and labels as numpy arrays.
    """
    out = []
    for i, role in enumerate(catalogue.ROLES):
        ds = _float_pairs(args, role)
        if mode in ("dynamic", "static") and (i > 0 or mode == "static"):  # fixed forever, so the binarized images are cached
            ds = binarize(ds, "static", seed=args.seed if i == 0 else 1000 * i)  # val/test: whatever the run's seed
        out.append(_cached(ds, args, role))
    test_images, test_labels = _to_numpy(out[2])
    select = _images_and_labels if with_labels else _images_only

    def train_batches(ds):
        # Dynamic: the cached images get new pixels every epoch, one stateless draw per shuffled batch (a draw
        # per example cost more than the training step of the small models).
        if mode == "dynamic":
            ds = binarize(ds, "dynamic", seed=args.seed)
        return ds.map(select)

    train = _batch(out[0], args, train=True, after_batch=train_batches)
    val, test = (_batch(s, args, train=False, after_batch=lambda ds: ds.map(select)) for s in out[1:])
    return train, val, test, test_images, test_labels


# === Segmentation ===

SEGMENTATION = {
    "mnist_seg": {"classes": tuple(str(d) for d in range(10)) + ("background",), "offset": 0, "image_size": None},
    # TFDS trimaps: segmentation_mask uint8 (H, W, 1) of values 1 = pet, 2 = background, 3 = border (labels 0, 1, 2);
    # images uint8 (H, W, 3) of varying size, the mask of the image's size.
    "oxford_iiit_pet": {"classes": ("pet", "background", "border"), "offset": 1, "image_size": 128},
}
"""Segmentation datasets: class names (index = label), the value subtracted from the stored
mask to make labels 0..K-1, and the fixed size images are resized to (None: keep)."""


def segmentation_classes(name):
    """Class names of a segmentation dataset (index = label id)."""
    base = _base_name(name)
    if base not in SEGMENTATION:
        raise UsageError(
            f"Dataset {name!r} has no segmentation masks mpkeras knows how to read. Segmentation datasets: "
            f"{', '.join(SEGMENTATION)} (mnist_seg is embedded and builds offline)."
        )
    return SEGMENTATION[base]["classes"]


def _mask_encoding(name):
    """How the labels come from the stored masks of ``name``, for the label check's error message."""
    spec = SEGMENTATION[_base_name(name)]
    classes, offset = spec["classes"], spec["offset"]
    values = f"{offset}..{offset + len(classes) - 1}"
    if len(classes) <= 5:
        values += " (" + ", ".join(f"{offset + i} = {c}" for i, c in enumerate(classes)) + ")"
    minus = f" minus the offset {offset}" if offset else ""
    return f"the labels are the {name} segmentation_mask values{minus}, and its masks hold {values}"


def _segmentation_pairs(args, role):
    """Unbatched ``(image uint8 (H, W, C), mask int32 (H, W))`` of the ``role`` split, labels checked, cached."""
    classes = segmentation_classes(args.dataset)
    spec = SEGMENTATION[_base_name(args.dataset)]
    size = getattr(args, "image_size", None) or spec["image_size"]
    ds = load(args.dataset, catalogue.split(args.dataset, role), data_dir=args.data_dir, as_supervised=False)

    def to_pair(example):
        image = example["image"]  # (H, W, C) uint8
        mask = tf.cast(example["segmentation_mask"], tf.int32) - spec["offset"]  # (H, W, 1)
        if size:
            image = tf.image.resize(image, (size, size), method="bilinear", antialias=True)
            image = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)  # cache 1 byte per pixel
            mask = tf.image.resize(mask, (size, size), method="nearest")  # class ids stay class ids
        return image, mask[..., 0]  # (H, W, C), (H, W)

    ds = ds.map(to_pair, num_parallel_calls=AUTOTUNE)
    ds = check_labels(ds, len(classes), dataset=args.dataset, source=_mask_encoding(args.dataset))
    return _cached(ds, args, role)


def _augmentation(args):
    return {k: getattr(args, k, 0) or 0 for k in ("flip", "shift", "rotation", "zoom")}


def segmentation(args, max_test_arrays=256):
    """``(image float32 in [0, 1] (B, H, W, C), mask int32 (B, H, W))`` batches.

    Masks hold labels 0..K-1 (:func:`segmentation_classes`); a label outside that
    range stops iteration with an error naming the dataset (:func:`check_labels`).
    Train batches are shuffled and augmented with ``args.flip``, ``args.shift``,
    ``args.rotation`` and ``args.zoom`` (absent = off; image and mask move
    together, seeded by ``args.seed``); val (``train[90%:]``) and test are not.

    Args:
        args: ``dataset``, ``data_dir``, ``batch_size``, ``seed`` and optionally
            ``image_size`` and the augmentation flags.
        max_test_arrays: how many test examples to return as numpy arrays.

    Returns:
        train, val, test datasets, and the first ``max_test_arrays`` test images and masks as numpy arrays.
    """
    splits = [_segmentation_pairs(args, role) for role in catalogue.ROLES]
    splits = [s.map(lambda x, y: (to_float(x), y), num_parallel_calls=AUTOTUNE) for s in splits]
    test_images, test_masks = (np.stack(a) for a in zip(*first_numpy(splits[2], max_test_arrays)))
    train = splits[0].shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
    train = train.batch(args.batch_size, drop_remainder=True)
    train = augment_segmentation(train, **_augmentation(args), seed=args.seed).prefetch(AUTOTUNE)
    val, test = (s.batch(args.batch_size).prefetch(AUTOTUNE) for s in splits[1:])
    return train, val, test, test_images, test_masks


def add_segmentation_arguments(p, flip=False, shift=0.0, rotation=0.0, zoom=0.0):
    """Flags of :func:`segmentation` (augmentation of the train split, image size)."""
    import argparse

    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=flip, help="random horizontal flips")
    p.add_argument("--shift", type=flags.probability, default=shift,
                   help="random translation, fraction of size; 0: off")
    p.add_argument("--rotation", type=flags.probability, default=rotation,
                   help="random rotation, fraction of 2 pi; 0: off")
    p.add_argument("--zoom", type=flags.probability, default=zoom, help="random zoom, fraction; 0: off")
    p.add_argument("--image-size", type=flags.positive_int, default=None,
                   help="resize to this square size (default: the dataset's, 128 for oxford_iiit_pet)")


def segmentation_data(args):
    """``Data`` for segmentation recipes: batches from :func:`segmentation`, plus in ``extras``
    ``test_images``, ``test_masks``, ``class_names`` and a per-channel ``standardizer``
    fitted on the (unaugmented) train split."""
    from mpkeras.train.recipe import Data

    train, val, test, test_images, test_masks = segmentation(args)
    standardizer = Standardizer.fit(
        _segmentation_pairs(args, "train").map(lambda x, y: to_float(x), num_parallel_calls=AUTOTUNE))
    classes = segmentation_classes(args.dataset)
    description = card(args, classes=list(classes), augmentation=_augmentation(args),
                       preprocessing="pixels in [0, 1], standardized inside the model with train statistics")
    extras = {"test_images": test_images, "test_masks": test_masks, "class_names": classes,
              "standardizer": standardizer}
    return Data(train, val, test, description, extras=extras)


# === Sequences ===


def _frame_sequences(args, role, limit=None):
    """Unbatched uint8 frame sequences (T, H, W, C) of the ``role`` split (the first ``limit``), cached if small
    (1 byte a pixel)."""
    ds = load(args.dataset, catalogue.split(args.dataset, role), data_dir=args.data_dir, as_supervised=False)
    if limit:
        ds = ds.take(int(limit))
    key = catalogue.frame_feature(args.dataset)  # "frames"; moving_mnist: "image_sequence"
    return _cached(ds.map(lambda example: example[key], num_parallel_calls=AUTOTUNE), args, role)


def next_frame(args, max_test_arrays=64):
    """One-step-ahead pairs ``(frames[:-1], frames[1:])``, float32 in [0, 1], (B, T-1, H, W, C) each.

    Input step t holds frame t and the target at step t is frame t+1, so a causal
    sequence model trained on these pairs predicts every next frame from the
    frames before it (teacher forcing); with 20-frame sequences each example has
    19 targets. Train batches are shuffled with ``args.seed`` and drop the remainder;
    val and test are neither (splits by role: :func:`mpkeras.data.catalogue.split`; ``moving_mnist``
    has a test split only, cut into all three).

    Args:
        args: ``dataset`` (a dataset of uint8 frame sequences, :func:`mpkeras.data.catalogue.frame_feature`:
            ``moving_mnist5k``, ``moving_mnist``),
            ``data_dir``, ``batch_size``, ``seed`` and optionally ``train_sequences``
            (use only the first N sequences of the train split; None: all).
        max_test_arrays: how many whole test sequences to return as a numpy array.

    Returns:
        train, val, test datasets, and the first ``max_test_arrays`` test sequences
        (N, T, H, W, C) float32 in [0, 1].
    """
    limits = (getattr(args, "train_sequences", None), None, None)
    splits = [_frame_sequences(args, role, n) for role, n in zip(catalogue.ROLES, limits)]
    test_frames = np.stack(first_numpy(splits[2].map(to_float, num_parallel_calls=AUTOTUNE), max_test_arrays))

    def pair(frames):
        frames = to_float(frames)  # (T, H, W, C) in [0, 1]
        return frames[:-1], frames[1:]

    splits = [s.map(pair, num_parallel_calls=AUTOTUNE) for s in splits]
    train, val, test = (_batch(s, args, train=i == 0) for i, s in enumerate(splits))
    return train, val, test, test_frames


def next_frame_data(args):
    """``Data`` for next-frame recipes: batches from :func:`next_frame`, plus ``test_frames`` in ``extras``."""
    from mpkeras.train.recipe import Data

    train, val, test, test_frames = next_frame(args)
    description = card(args, task="one-step-ahead: input frames[:-1], target frames[1:]",
                       preprocessing="pixels in [0, 1] (uint8 / 255), used as Bernoulli targets")
    return Data(train, val, test, description, extras={"test_frames": test_frames})


# === Text ===


def split_text(args, split):
    """The text of a split of a text dataset: its examples' ``text`` joined, in ``index`` order where the dataset
    has that feature (``pydoc_text``'s chunks), else in reading order (``tiny_shakespeare`` has one example per
    split; ``tfds.testing.mock_data`` serves many short ones)."""
    ds = load(args.dataset, split, data_dir=args.data_dir, as_supervised=False)
    if "text" not in ds.element_spec:
        raise UsageError(f"{args.dataset} has no 'text' feature (it has {', '.join(sorted(ds.element_spec))}); the "
                         "character models read text datasets such as pydoc_text or tiny_shakespeare.")
    examples = [(int(e.get("index", k)), e["text"].decode("utf-8")) for k, e in enumerate(ds.as_numpy_iterator())]
    return "".join(text for _, text in sorted(examples, key=lambda pair: pair[0]))


UNKNOWN_CHARACTER = "\ufffd"
"""U+FFFD REPLACEMENT CHARACTER: what val and test characters that the train split lacks become."""


def text_vocabulary(texts):
    """The vocabulary of ``texts`` (``{role: text}``) and the texts it encodes.

    The vocabulary is the sorted set of characters of ``texts["train"]``. A character of another split that train
    lacks is replaced by :data:`UNKNOWN_CHARACTER`, which then joins the vocabulary as its last id; the model never
    sees it in training, so the evaluation charges it what an unseen character costs.

    Returns:
        (CharVocabulary, ``{role: text}`` with unknown characters replaced, ``{role: how many were replaced}``).
    """
    from mpkeras.data.text import CharVocabulary

    if not texts["train"]:
        raise UsageError("The train split holds no text, so it gives no vocabulary. Check --dataset and --data-dir "
                         "(the character models read text datasets such as pydoc_text or tiny_shakespeare).")
    vocabulary = CharVocabulary.from_text(texts["train"])
    unknown = {role: vocabulary.unknown(text) for role, text in texts.items()}  # distinct characters
    replaced = {role: sum(text.count(c) for c in unknown[role]) for role, text in texts.items()}
    if any(replaced.values()) and UNKNOWN_CHARACTER not in vocabulary.chars:
        vocabulary = CharVocabulary(vocabulary.chars + UNKNOWN_CHARACTER)
    texts = {role: text.translate({ord(c): UNKNOWN_CHARACTER for c in unknown[role]}) for role, text in texts.items()}
    return vocabulary, texts, replaced


def char_windows(ids, context, batch_size, seed=None):
    """Batches of next-character pairs ``(w[:-1], w[1:])`` (B, context) int32 from windows w of ``ids``.

    Training (``seed`` given): window k starts at ``k * context + r`` with r
    uniform in [0, context) and redrawn every epoch (``Dataset.random`` with
    ``rerandomize_each_iteration``), windows shuffled, full batches only; over
    the epochs every position gets predicted from every amount of context.
    Evaluation (``seed=None``): consecutive windows overlapping by one
    character, so every character but the first is predicted exactly once;
    the last partial window is dropped (the recipes' ``evaluate`` scores it).
    """
    ids = tf.constant(np.asarray(ids, np.int32))
    length = int(ids.shape[0])
    if length < context + 2:
        raise UsageError(f"The text has {length} characters; a window needs context + 2 = {context + 2}. "
                         "Use a shorter --context or more text.")
    num_windows = (length - 1) // context
    if seed is None:
        starts = tf.data.Dataset.range(num_windows)
        ds = starts.map(lambda k: ids[k * context:k * context + context + 1])
    else:
        num_windows -= 1  # room for the random shift
        starts = tf.data.Dataset.range(num_windows).shuffle(num_windows, seed=seed, reshuffle_each_iteration=True)
        shifts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip(starts, shifts).map(
            lambda k, r: ids[k * context + r % context:k * context + r % context + context + 1])
    ds = ds.map(lambda w: tf.ensure_shape(w, [context + 1]))
    ds = ds.map(lambda w: (w[:-1], w[1:]), num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=seed is not None).prefetch(AUTOTUNE)


def text_data(args):
    """``Data`` for character language models.

    The splits are read by role (:func:`mpkeras.data.catalogue.split`): ``pydoc_text`` trains on
    ``train[:90%]`` of its chunks and validates on ``train[90%:]``; ``tiny_shakespeare`` uses its own
    ``validation`` split. The vocabulary is the set of characters of the train split (:func:`text_vocabulary`:
    val and test characters train lacks become U+FFFD). ``extras``: ``vocabulary`` (CharVocabulary) and the ids
    of each split (``train_ids``, ``val_ids``, ``test_ids``). ``args``: ``dataset``, ``data_dir``, ``context``,
    ``batch_size``, ``seed``.
    """
    from mpkeras.train.recipe import Data

    texts = {role: split_text(args, catalogue.split(args.dataset, role)) for role in catalogue.ROLES}
    vocabulary, texts, replaced = text_vocabulary(texts)
    ids = {role: vocabulary.encode(text) for role, text in texts.items()}  # (characters,) int32 each
    train = char_windows(ids["train"], args.context, args.batch_size, seed=args.seed)
    val = char_windows(ids["val"], args.context, args.batch_size)
    test = char_windows(ids["test"], args.context, args.batch_size)
    full = np.concatenate([ids["train"], ids["val"]])
    description = card(args, task="next character", vocabulary_size=len(vocabulary), context=args.context,
                       vocabulary_rule="the characters of the train split; val/test characters outside it -> U+FFFD",
                       characters={role: len(text) for role, text in texts.items()},
                       unknown_characters={role: replaced[role] for role in ("val", "test")})
    extras = {"vocabulary": vocabulary, **{f"{role}_ids": v for role, v in ids.items()}}
    return Data(train, val, test, description, extras=extras,
                train_full=char_windows(full, args.context, args.batch_size, seed=args.seed))
