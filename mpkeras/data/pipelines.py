"""Input pipelines the recipes share: TFDS split -> float images -> batches.

Validation data is the last 10% of the train split, so the test split is
touched only by the final evaluation.
"""

import numpy as np
import tensorflow as tf

from mpkeras.data import binarize, load, to_float

AUTOTUNE = tf.data.AUTOTUNE
TRAIN, VAL, TEST = "train[:90%]", "train[90%:]", "test"


def _float_pairs(args, split):
    ds = load(args.dataset, split, data_dir=args.data_dir)
    return ds.map(lambda x, y: (to_float(x), y), num_parallel_calls=AUTOTUNE)


def _to_numpy(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.stack(xs), np.stack(ys)


def _batch(ds, args, train):
    if train:
        ds = ds.shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
    # Fixed batch shapes: one XLA compilation, and even shards across replicas.
    return ds.batch(args.batch_size, drop_remainder=train).prefetch(AUTOTUNE)


def card(args, **extra):
    return {"dataset": args.dataset, "splits": {"train": TRAIN, "val": VAL, "test": TEST}, **extra}


def classification(args):
    """(image in [0, 1], label) batches.

    Returns:
        train, val, test datasets and the test set as numpy arrays.
    """
    splits = [_float_pairs(args, s).cache() for s in (TRAIN, VAL, TEST)]
    test_images, test_labels = _to_numpy(splits[2])
    train, val, test = (_batch(s, args, train=i == 0) for i, s in enumerate(splits))
    return train, val, test, test_images, test_labels


def binarized_data(args):
    """``Data`` for likelihood models on binarized images; train binarization from ``args.binarization``."""
    from mpkeras.train.recipe import Data

    train, val, test, test_images, test_labels = binarized_images(args, args.binarization)
    description = card(args, binarization={"train": args.binarization, "val": "static", "test": "static"})
    return Data(train, val, test, description, extras={"test_images": test_images, "test_labels": test_labels})


def add_binarization_arguments(p):
    p.add_argument("--binarization", choices=("dynamic", "static"), default="dynamic",
                   help="of the train split; val/test are always statically binarized")
    p.add_argument("--iwae-samples", type=int, default=1000, help="k of the importance-sampled test NLL")


def binarized_images(args, mode):
    """Binarized images only (no labels), for likelihood models.

    Train uses ``mode`` (``dynamic``: resampled every epoch, or ``static``);
    val and test are always statically binarized with fixed seeds, so reported
    likelihoods are comparable across runs.

    Returns:
        train, val, test datasets of images; test images and labels as numpy arrays.
    """
    out = []
    for i, (split, split_mode) in enumerate(((TRAIN, mode), (VAL, "static"), (TEST, "static"))):
        seed = args.seed if i == 0 else 1000 * i  # val/test: fixed, whatever the run's seed
        ds = binarize(_float_pairs(args, split), split_mode, seed=seed)
        if split_mode == "static":
            ds = ds.cache()
        out.append(ds)
    test_images, test_labels = _to_numpy(out[2])
    train, val, test = (_batch(s.map(lambda x, y: x), args, train=i == 0) for i, s in enumerate(out))
    return train, val, test, test_images, test_labels
