"""Recipe code of pix2pix on paired images (mnist5k_inpaint): data, flags, test L1 and FD-mnist5k, panels.

Evaluation (:func:`evaluate`) translates the 1,000 test inputs and reports

* ``test_l1``: mean absolute error per pixel, [0, 1] scale, over whole images
  (``test_l1_hole``: inside the occluder only, where ``box`` says it is);
* ``test_fd_mnist5k``: FD-mnist5k of the 1,000 outputs vs the 1,000 test targets,
  with the reference LeNet (:mod:`mpkeras.train.reference_classifier`);
* ``test_output_accuracy``: how often that LeNet reads the output as the target's label;
* ``test_midtone_hole``: the fraction of pixels in the hole with values in (0.25, 0.75),
  a blur measure (``target_midtone_hole``: the same for the real digits' antialiased edges);
* the same three for the masked inputs themselves (``input_*``) as context, and
  ``train_vs_test_fd_mnist5k``: FD-mnist5k of 1,000 real train digits vs the test
  targets, the value a perfect generator would be near.
"""

import argparse
import os

import numpy as np

from mpkeras import flags

NUM_PANELS = 10


def add_arguments(p):
    from mpkeras.train import reference_classifier

    p.add_argument("--filters", type=flags.int_tuple, default=(16, 32, 64), help="U-Net widths per level")
    p.add_argument("--convs-per-block", type=flags.positive_int, default=2)
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--dropout", type=flags.rate, default=0.5, help="U-Net bottleneck dropout (the generator's noise)")
    p.add_argument("--discriminator-filters", type=flags.int_tuple, default=(32, 64),
                   help="widths of PatchGAN's 4x4 stride-2 convs")
    p.add_argument("--l1-weight", type=flags.nonnegative_float, default=10.0,
                   help="lambda, the weight of the L1 term (10: lowest FD-mnist5k of 10 and 100 on 28x28, seed 0)")
    p.add_argument("--gan-weight", type=flags.nonnegative_float, default=1.0,
                   help="weight of the adversarial term; 0: L1 alone")
    p.add_argument("--beta-1", type=flags.rate, default=0.5, help="Adam beta_1 of both networks")
    reference_classifier.add_arguments(p)


def paired_data(args):
    """``Data``: (input, target) float32 batches in [0, 1]; extras hold the test split as arrays."""
    from mpkeras.data import load, to_float
    from mpkeras.data.caching import cache_if_small
    from mpkeras.data.pipelines import AUTOTUNE, TEST, TRAIN, VAL, card
    from mpkeras.train.recipe import Data

    def split(name):
        ds = load(args.dataset, name, data_dir=args.data_dir, as_supervised=False)
        ds = ds.map(lambda e: {"input": to_float(e["input"]), "target": to_float(e["target"]), "label": e["label"],
                               "box": e["box"]}, num_parallel_calls=AUTOTUNE)
        return cache_if_small(ds, args.dataset, name, args.data_dir)

    def pairs(ds):
        return ds.map(lambda e: (e["input"], e["target"]), num_parallel_calls=AUTOTUNE)

    train, val, test = split(TRAIN), split(VAL), split(TEST)
    arrays = {k: np.stack([e[k].numpy() for e in test]) for k in ("input", "target", "label", "box")}
    train_targets = np.stack([e["target"].numpy() for e in split("train").take(len(arrays["target"]))])
    train_batches = pairs(train).shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
    train_batches = train_batches.batch(args.batch_size, drop_remainder=True).prefetch(AUTOTUNE)
    val_batches, test_batches = (pairs(s).batch(args.batch_size).prefetch(AUTOTUNE) for s in (val, test))
    extras = {"test_inputs": arrays["input"], "test_targets": arrays["target"], "test_labels": arrays["label"],
              "test_boxes": arrays["box"], "train_targets": train_targets}
    description = card(args, preprocessing="input and target pixels in [0, 1]")
    return Data(train_batches, val_batches, test_batches, description, extras=extras)


def compile_kwargs(args):
    """One Adam(--learning-rate, --beta-1) per network; Keras's own optimizer is unused."""
    import keras

    return {f"{net}_optimizer": keras.optimizers.Adam(args.learning_rate, beta_1=args.beta_1)
            for net in ("generator", "discriminator")}


def model_kwargs(args, data):
    inputs, targets = data.extras["test_inputs"], data.extras["test_targets"]
    return dict(input_shape=inputs.shape[1:], output_channels=targets.shape[-1], filters=args.filters,
                convs_per_block=args.convs_per_block, batch_norm=args.batch_norm, dropout=args.dropout,
                discriminator_filters=args.discriminator_filters, l1_weight=args.l1_weight,
                gan_weight=args.gan_weight, seed=args.seed)


def translate(model, inputs, batch_size=250):
    """G(x) of numpy inputs (N, H, W, C) in batches: numpy (N, H, W, C_out)."""
    return np.concatenate([np.asarray(model.translate(inputs[i:i + batch_size])["outputs"])
                           for i in range(0, len(inputs), batch_size)])


def hole_mask(boxes, shape):
    """(N, H, W, 1) bool, True inside each (top, left, height, width) box."""
    mask = np.zeros((len(boxes), *shape[:2], 1), bool)
    for m, (top, left, height, width) in zip(mask, boxes):
        m[top:top + height, left:left + width] = True
    return mask


def midtone_fraction(images, mask, low=0.25, high=0.75):
    """Fraction of the masked pixels with low < value < high: a blur measure (sharp strokes are near 0 or 1)."""
    values = images[mask]
    return float(((values > low) & (values < high)).mean())


def image_scores(images, data, classifier):
    """L1 (whole image and inside the hole), FD-mnist5k and LeNet accuracy of images vs the test targets."""
    from mpkeras.metrics.sample_quality import fd_mnist5k

    targets, labels = data.extras["test_targets"], data.extras["test_labels"]
    errors = np.abs(images - targets)
    hole = hole_mask(data.extras["test_boxes"], targets.shape[1:])
    return {"l1": float(errors.mean()), "l1_hole": float(errors[hole].mean()),
            "midtone_hole": midtone_fraction(images, hole),
            "fd_mnist5k": fd_mnist5k(images, targets, classifier),
            "output_accuracy": float((classifier.probabilities(images).argmax(-1) == labels).mean())}


def evaluate(model, data, args):
    from mpkeras.metrics.sample_quality import fd_mnist5k
    from mpkeras.train.reference_classifier import reference_classifier

    classifier = reference_classifier(args.classifier, smoke=args.smoke)
    outputs = translate(model, data.extras["test_inputs"])
    metrics = {f"test_{k}": v for k, v in image_scores(outputs, data, classifier).items()}
    metrics.update({f"input_{k}": v for k, v in image_scores(data.extras["test_inputs"], data, classifier).items()})
    metrics["train_vs_test_fd_mnist5k"] = fd_mnist5k(data.extras["train_targets"], data.extras["test_targets"],
                                                     classifier)
    hole = hole_mask(data.extras["test_boxes"], outputs.shape[1:])
    metrics["target_midtone_hole"] = midtone_fraction(data.extras["test_targets"], hole)
    metrics["num_test"] = len(outputs)
    return metrics


def panels(rows, labels, path, n=NUM_PANELS, title=None):
    """One row per image set (e.g. input / output / target), ``n`` test examples per row."""
    from mpkeras.train import figures as figs

    return figs.image_grid(np.concatenate([r[:n] for r in rows]), path, ncols=n, row_labels=labels, title=title)


def figures(model, data, args, fig_dir):
    inputs, targets = data.extras["test_inputs"], data.extras["test_targets"]
    outputs = translate(model, inputs[:NUM_PANELS])
    name = "L1 only" if model.gan_weight == 0 else f"pix2pix (lambda {model.l1_weight:g})"
    return {"panels": panels([inputs, outputs, targets], ["input", "output", "target"],
                             os.path.join(fig_dir, "panels.png"), title=f"{name}: test examples")}


def comparison_figure(models, names, data, path, n=NUM_PANELS):
    """Rows: input, each model's output on the same test inputs, target."""
    inputs, targets = data.extras["test_inputs"], data.extras["test_targets"]
    rows = [inputs] + [translate(m, inputs[:n]) for m in models] + [targets]
    return panels(rows, ["input", *names, "target"], path, n=n, title="test inputs: L1 only vs pix2pix")
