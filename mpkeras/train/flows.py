"""The recipe shape of image flows (``recipes/glow.py``, ``recipes/conditional_glow.py``).

Data: 8-bit images dequantized to x = (k + u) / 256, u ~ U[0, 1): fresh noise
every epoch for train, fixed noise for val and test (so reported numbers are
comparable). For super-resolution the batches are ``{"images", "low_res"}``,
low_res the 2x2 average pool of the clean image k / 255.
Evaluation: test bits/dim of the discrete data, (-log p(x) + D log 256) / (D ln 2),
an upper bound on the 8-bit data's bits/dim (one dequantization sample per image), next to the
independent-sub-pixel baselines (:mod:`mpkeras.train.pixel_baselines`).
Figures: samples at temperatures 1.0 and 0.7; for super-resolution, the
low-resolution input, several samples and the ground truth.
"""

import numpy as np
import tensorflow as tf

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.data.pipelines import _cached, card, image_pairs
from mpkeras.data.transforms import _keys, _map_images, dequantize
from mpkeras.metrics import dequantized_bits_per_dim
from mpkeras.train.pixel_baselines import pixel_baselines

AUTOTUNE = tf.data.AUTOTUNE
NUM_BINS = 256


def low_resolution(image):
    """2x2 average pool of the clean image k / 255: (H, W, C) uint8 -> (H/2, W/2, C) float32 in [0, 1]."""
    x = tf.cast(image, tf.float32)[None] / 255.0
    return tf.nn.avg_pool2d(x, 2, 2, "VALID")[0]


def _static_dequantize(image, key):
    u = tf.random.stateless_uniform(tf.shape(image), seed=key, alg="philox")
    return (tf.cast(image, tf.float32) + tf.minimum(u, 1.0 - 2.0**-16)) / NUM_BINS


def _with_low_res(images, low_res):
    return {"images": images, "low_res": low_res}


def _images_only(images, low_res):
    return images


def _add_low_res(image, label):
    return image, low_resolution(image)


def dequantized_data(args, with_low_res=False):
    """``Data`` of dequantized images (B, H, W, C), or ``{"images", "low_res"}`` dicts with ``with_low_res``."""
    from mpkeras.train.recipe import Data

    splits = []
    for i, role in enumerate(catalogue.ROLES):  # each dataset's own splits (catalogue.split), labels unused
        ds = image_pairs(args.dataset, role, args.data_dir).map(_add_low_res, num_parallel_calls=AUTOTUNE)
        ds = _cached(ds, args, role)  # uint8 (H, W, C), float32 (H/2, W/2, C)
        if i == 0:
            ds = dequantize(ds, seed=args.seed)  # new noise every epoch
        else:  # fixed noise, whatever the run's seed
            ds = _cached(_map_images(ds, _static_dequantize, _keys(1000 * i, per_epoch=False)), args, role)
        splits.append(ds)
    test = list(splits[2].as_numpy_iterator())
    extras = {"test_images": np.stack([t[0] for t in test]), "test_low_res": np.stack([t[1] for t in test])}
    select = _with_low_res if with_low_res else _images_only
    batched = []
    for i, ds in enumerate(splits):
        ds = ds.map(select)
        if i == 0:
            ds = ds.shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
        batched.append(ds.batch(args.batch_size, drop_remainder=i == 0).prefetch(AUTOTUNE))
    description = card(args, pixels="8-bit, dequantized: (k + u) / 256, u ~ U[0, 1) (train: new noise each epoch; "
                                     "val/test: fixed noise)",
                       **({"conditioning": "low_res: 2x2 average pool of k / 255"} if with_low_res else {}))
    return Data(*batched, description, extras=extras)


def test_bits_per_dim(model, data, args, batch_size=250):
    """Mean test NLL (nats per image) and bits/dim of the 8-bit data."""
    n = 100 if args.smoke else None
    images, low_res = data.extras["test_images"][:n], data.extras["test_low_res"][:n]
    conditional = bool(model.condition_keys)
    log_prob = tf.function(model.log_prob, autograph=False)
    total = 0.0
    for start in range(0, len(images), batch_size):
        batch = [images[start:start + batch_size]]
        if conditional:
            batch.append(low_res[start:start + batch_size])
        total += float(np.sum(log_prob(*batch)["log_prob"]))
    nll = -total / len(images)
    d = images[0].size
    return {"test_nll_nats": nll, "test_bits_per_dim": dequantized_bits_per_dim(nll, d, levels=NUM_BINS),
            "test_images": len(images), "dequantization": "one uniform sample per test image (fixed noise)",
            "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            **pixel_baselines(args)}  # what the flow gains over sub-pixels modelled independently


def sample_figures(model, args, fig_dir, temperatures=(1.0, 0.7)):
    from mpkeras.train import figures as figs

    sample = tf.function(model.sample, autograph=False)
    n = 10 if args.smoke else 40
    paths = {}
    for t in temperatures:
        images = sample(tf.constant(n), np.array([args.seed, 7], np.int32), tf.constant(t))["images"].numpy()
        paths[f"samples_t{t}"] = figs.image_grid(np.clip(images, 0, 1), f"{fig_dir}/samples_t{t}.png", ncols=10,
                                                 title=f"{type(model).__name__}: samples at temperature {t}")
    return paths


def super_resolution_figure(model, data, args, fig_dir, num_inputs=8, num_samples=4, temperature=0.7):
    """Rows: the low-resolution input (upsampled), ``num_samples`` 28x28 samples, the ground truth."""
    from mpkeras.train import figures as figs

    sample = tf.function(model.sample_conditional, autograph=False)
    low_res = data.extras["test_low_res"][:num_inputs]
    truth = data.extras["test_images"][:num_inputs]
    rows = [np.repeat(np.repeat(low_res, 2, axis=1), 2, axis=2)]
    for k in range(num_samples):
        seed = np.array([args.seed, 100 + k], np.int32)
        rows.append(sample(low_res, seed, tf.constant(temperature))["images"].numpy())
    rows.append(truth)
    path = f"{fig_dir}/super_resolution.png"
    labels = ["14x14 input", *[f"sample {k + 1}" for k in range(num_samples)], "truth"]
    return {"super_resolution": figs.image_grid(np.clip(np.concatenate(rows), 0, 1), path, ncols=num_inputs,
                                                row_labels=labels,
                                                title=f"{type(model).__name__}: 14x14 -> 28x28 (T = {temperature})")}


def add_glow_arguments(p):
    p.add_argument("--levels", type=flags.positive_int, default=2, help="L scales (28x28 allows at most 2)")
    p.add_argument("--steps", type=flags.positive_int, default=8, help="K flow steps per level")
    p.add_argument("--hidden-units", type=flags.positive_int, default=64, help="width of the coupling networks")
    p.add_argument("--preprocessing", choices=("logit", "shift"), default="logit")
