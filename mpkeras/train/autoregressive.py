"""The recipe shape of autoregressive image models (``recipes/fvsbn.py`` ... ``recipes/gated_pixelcnn.py``).

Data: binarized mnist5k (:func:`mpkeras.data.pipelines.binarized_data`; train
binarization from ``--binarization``, val and test always static with fixed
seeds), or 8-bit mnist5k with ``--levels 256`` for the categorical models, with
``{"images", "labels"}`` batches for class-conditional models. Evaluation: exact
test NLL in nats per image and bits/dim on the test split. Figures: samples
drawn in the graph (one row per class for conditional models) and completions
of the test digits' bottom halves. On 8-bit images the evaluation also reports the independent-sub-pixel
baselines (:mod:`mpkeras.train.pixel_baselines`).
"""

import numpy as np

from mpkeras.train.pixel_baselines import pixel_baselines
from mpkeras.train.recipe import Recipe


def test_nll(log_prob, images, labels=None, batch_size=250):
    """-mean log p(x) in nats over ``images`` with ``log_prob(batch[, labels]) -> {"log_prob": (B,)}``."""
    total = 0.0
    for start in range(0, len(images), batch_size):
        batch = [images[start:start + batch_size]]
        if labels is not None:
            batch.append(labels[start:start + batch_size].astype(np.int32))
        total += float(np.sum(log_prob(*batch)["log_prob"]))
    return -total / len(images)


def evaluate(model, data, args):
    from mpkeras.metrics import bits_per_dim

    n = 100 if args.smoke else None
    images = data.extras["test_images"][:n]
    labels = data.extras["test_labels"][:n] if model.num_classes else None
    nll = test_nll(model.log_prob, images, labels)
    metrics = {"test_nll_nats": nll, "test_bits_per_dim": bits_per_dim(nll, images[0].size),
               "pixels": "binary" if model.binary else f"{model.num_levels} levels",
               "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights))}  # masks excluded
    if model.binary:
        metrics["binarization"] = args.binarization
    else:  # 8-bit: what the model gains over sub-pixels modelled independently
        metrics.update(pixel_baselines(args))
    if getattr(model, "num_masks", 1) > 1:
        metrics["test_nll_nats_ensemble"] = test_nll(model.log_prob_ensemble, images, labels)
    return metrics


def figures(model, data, args, fig_dir):
    import tensorflow as tf

    from mpkeras.train import figures as figs

    # Graphs, not Python loops of eager steps. The loops are explicit tf.while_loops, so AutoGraph is not needed;
    # it also re-reads the source files, and fails if they were edited while the recipe ran.
    sample, sample_conditional, complete = (tf.function(f, autograph=False) for f in (
        model.sample, model.sample_conditional, model.complete))
    name = type(model).__name__
    seed = np.array([args.seed, 7], np.int32)
    # A sample is D sequential passes of the whole network: 784 on mnist, 3,072 on 32x32 colour images, where
    # 40 samples and 2 x 10 completions took over 10 minutes on 2 CPU cores (PixelCNN, 8 blocks). Above 1,024
    # dimensions the figures draw a quarter as many.
    large = model.num_inputs > 1024
    num = 2 if args.smoke else 10 if large else 40
    if model.num_classes:
        labels = np.tile(np.arange(model.num_classes, dtype=np.int32), max(1, num // model.num_classes))
        samples = sample_conditional(labels, seed)["samples"].numpy()
        title = f"{name}: class-conditional samples (column = class)"
    else:
        samples = sample(num, seed)["samples"].numpy()
        title = f"{name}: samples (pixel by pixel, in the graph)"
    paths = {"samples": figs.image_grid(samples, f"{fig_dir}/samples.png", ncols=model.num_classes or 10,
                                        title=title)}
    # Completions: keep the first half of the pixels in the ordering (the top half for raster order).
    n = 2 if args.smoke else 5 if large else 10
    images = data.extras["test_images"][:n]
    conditional = [data.extras["test_labels"][:n].astype(np.int32)] if model.num_classes else []
    half = model.num_inputs // 2
    completed = [complete(images, np.int32(half), seed + k, *conditional)["samples"].numpy() for k in range(2)]
    known = images.reshape(len(images), -1).copy()
    known[:, np.asarray(model.order)[half:]] = 0.5  # grey: the unknown pixels
    paths["completions"] = figs.image_grid(
        np.concatenate([known.reshape(images.shape), *completed, images]), f"{fig_dir}/completions.png", ncols=n,
        row_labels=["given", "sample 1", "sample 2", "truth"], title=f"{name}: completions of the second half")
    return paths


def add_level_arguments(p, conditional=True):
    """``--levels`` (2: binarized, 256: 8-bit) and, for class-conditional models, ``--conditional``."""
    p.add_argument("--levels", type=int, choices=(2, 256), default=2,
                   help="pixel values: 2 (binarized; grey images only) or 256 (8-bit, a 256-way softmax per "
                        "sub-pixel; the default on colour datasets)")
    if conditional:
        p.add_argument("--conditional", action="store_true", help="condition on the digit class")


def colour_levels(dataset):
    """Flag defaults of ``dataset``: colour photographs (:func:`mpkeras.data.catalogue.is_colour_photographs`) are
    8-bit, ``--levels 256``; binarizing them is refused (:func:`mpkeras.data.pipelines.binarized_data`)."""
    from mpkeras.data import catalogue

    return {"levels": 256} if catalogue.is_colour_photographs(dataset) else {}


def channel_multiple(n, channels):
    """``n`` rounded up to a multiple of ``channels``: one equal group of features per colour channel (R, G, B),
    so ``--filters 32`` gives 33 on RGB images (11 per channel) and stays 32 on grey ones."""
    return -(-int(n) // int(channels)) * int(channels)


def binary_autoregressive_recipe(model, make_model, add_arguments=None, **defaults):
    """A :class:`Recipe` for an :class:`~mpkeras.models.AutoregressiveImageModel`."""
    from mpkeras.data import catalogue, pipelines

    def arguments(p):
        pipelines.add_binarization_arguments(p)
        if add_arguments:
            add_arguments(p)

    defaults.setdefault("datasets", catalogue.BINARY_IMAGES)
    return Recipe(model=model, make_data=pipelines.binarized_data, make_model=make_model, evaluate=evaluate,
                  figures=figures, add_arguments=arguments, **defaults)
