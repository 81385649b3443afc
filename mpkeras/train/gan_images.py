"""Shared recipe code of the GANs on images (mnist5k): data, FD-mnist5k evaluation, sample grids over training.

Evaluation (:func:`evaluate`) scores ``NUM_SAMPLES`` generated images against
the ``NUM_SAMPLES`` first test images with FD-mnist5k (the Fréchet distance in
the features of our mnist5k LeNet, :mod:`mpkeras.metrics.sample_quality`; not
FID), and puts two references next to it: an untrained generator (a fresh
model of the same config and seed, i.e. the trained model's initial weights)
and the floor, the first ``NUM_SAMPLES`` *train* images. A generator that
learnt anything lands far below the first and approaches the second.
"""

import os

import keras
import numpy as np

from mpkeras import flags
from mpkeras.train.gan import compile_kwargs  # noqa: F401  (one Adam per network; re-exported for the recipes)

NUM_SAMPLES = 1000  # = the size of the mnist5k test split; FD is biased upwards for small sets, so compare at equal N
SMOKE_SAMPLES = 200  # --smoke: fewer, for speed (their FDs are not comparable with those of 1,000)
GRID_SEED = (0, 1)  # fixed z of every sample grid


# === Flags, data, model and optimizers ===


def add_arguments(p, latent_dim=64, filters=(32, 64), shared=True):
    """Image flags (--filters, --grid-every, --classifier); with ``shared`` also those that the ring8 recipes get
    from :func:`mpkeras.train.gan.add_arguments` (--latent-dim, --discriminator-steps, --beta-1, --beta-2)."""
    from mpkeras.train import reference_classifier

    if shared:
        p.add_argument("--latent-dim", type=flags.positive_int, default=latent_dim)
        p.add_argument("--discriminator-steps", type=flags.positive_int, default=1,
                       help="discriminator updates per generator update")
        p.add_argument("--beta-1", type=flags.rate, default=0.5, help="Adam beta_1 of both networks (DCGAN: 0.5)")
        p.add_argument("--beta-2", type=flags.rate, default=0.999, help="Adam beta_2 of both networks")
    p.add_argument("--filters", type=flags.int_tuple, default=filters,
                   help="conv widths of the discriminator from its input up; the generator uses them reversed")
    p.add_argument("--grid-every", type=flags.positive_int, default=5,
                   help="save a grid of fixed-z samples every N epochs")
    reference_classifier.add_arguments(p)


def is_image_dataset(args):
    """Whether ``args.dataset``'s examples are images (H, W, C), as opposed to vectors such as ring8's points."""
    from mpkeras.data import load

    return len(load(args.dataset, "test", data_dir=args.data_dir).element_spec[0].shape) == 3


def _images_only(x, y):
    del y
    return x


def image_data(args, labels=False):
    """``Data`` of images in [0, 1] (uint8 / 255): all 4,000 mnist5k train images (GANs use no validation split).

    Batches are images (B, H, W, C), or (images, labels (B,) int32) with ``labels``. ``extras`` hold the test
    images and labels and the first ``NUM_SAMPLES`` train images (the FD floor), as numpy arrays.
    """
    import tensorflow as tf

    from mpkeras.data import load, to_float
    from mpkeras.data.caching import cache_if_small
    from mpkeras.data.pipelines import first_numpy
    from mpkeras.train.recipe import Data

    def split(name):
        ds = load(args.dataset, name, data_dir=args.data_dir)
        ds = ds.map(lambda x, y: (to_float(x), tf.cast(y, tf.int32)), num_parallel_calls=tf.data.AUTOTUNE)
        return cache_if_small(ds, args.dataset, name, args.data_dir)

    train, test = split("train"), split("test")
    test_images, test_labels = (np.stack(a) for a in zip(*[(x.numpy(), y.numpy()) for x, y in test]))
    train_images = np.stack([x for x, _ in first_numpy(train, NUM_SAMPLES)])  # reads all: the cache completes
    if not labels:
        train, test = train.map(_images_only), test.map(_images_only)
    train = train.shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
    train = train.batch(args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    test = test.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    card = {"dataset": args.dataset, "splits": {"train": "train", "test": "test"},
            "pixels": "[0, 1] (uint8 / 255); the networks map to and from tanh's [-1, 1] inside",
            "labels": "class ids (cgan)" if labels else "unused"}
    extras = {"test_images": test_images, "test_labels": test_labels, "train_images": train_images}
    return Data(train, None, test, card, extras=extras)


def model_kwargs(args, data):
    return dict(input_shape=data.extras["test_images"].shape[1:], latent_dim=args.latent_dim, filters=args.filters,
                discriminator_steps=args.discriminator_steps, seed=args.seed)


# === Sampling ===


def conditional(model):
    return hasattr(model, "num_classes")


def grid_labels(model, per_class=10):
    """Labels of a class grid: one row per class, ``per_class`` columns."""
    return np.repeat(np.arange(model.num_classes, dtype=np.int32), per_class)


def samples(model, num, seed):
    """``num`` images of ``model.sample`` from ``seed``; for a cGAN with labels 0, 1, ..., K-1, 0, 1, ... ."""
    seed = np.asarray(seed, np.int32)
    if conditional(model):
        labels = (np.arange(num) % model.num_classes).astype(np.int32)
        return np.asarray(model.sample(labels, seed)["samples"]), labels
    return np.asarray(model.sample(num, seed)["samples"]), None


def fixed_grid(model, num=64):
    """The images of the fixed-z grid (cGAN: one row per class, the same 10 codes in every row)."""
    import tensorflow as tf

    if conditional(model):
        labels = grid_labels(model)
        z = tf.random.stateless_normal((10, model.latent_dim), seed=GRID_SEED, alg="philox")
        z = tf.tile(z, [model.num_classes, 1])  # (10 K, latent_dim): row k = class k
        return np.asarray(model.generate(z, labels)["samples"]), 10
    return np.asarray(model.sample(num, np.array(GRID_SEED, np.int32))["samples"]), 8


# === Evaluation ===


def _untrained(make_model, args, data):
    """A fresh model of the same config and seed: the trained model's initial weights (the recipe runner seeds so)."""
    keras.utils.set_random_seed(args.seed)
    model = make_model(args, data)
    model.build_from_data(None)
    return model


def evaluate(model, data, args, make_model):
    """FD-mnist5k (trained, untrained generator, train-set floor), classifier scores, and for a cGAN the
    reference classifier's accuracy on samples of requested classes; plus the mean test discriminator loss."""
    from mpkeras.metrics.sample_quality import classifier_score, fd_mnist5k
    from mpkeras.train.reference_classifier import reference_classifier

    clf = reference_classifier(args.classifier, smoke=args.smoke)
    n = min(SMOKE_SAMPLES if args.smoke else NUM_SAMPLES, len(data.extras["test_images"]))
    test, train = data.extras["test_images"][:n], data.extras["train_images"][:n]
    seed = (args.seed, 1)
    generated, labels = samples(model, n, seed)
    untrained, _ = samples(_untrained(make_model, args, data), n, seed)
    metrics = {
        "fd_mnist5k": fd_mnist5k(generated, test, clf),
        "fd_mnist5k_untrained": fd_mnist5k(untrained, test, clf),
        "fd_mnist5k_train_floor": fd_mnist5k(train, test, clf),
        "classifier_score": classifier_score(generated, clf),
        "classifier_score_untrained": classifier_score(untrained, clf),
        "classifier_score_test": classifier_score(test, clf),
        "num_samples": n,
        "test_d_loss": model.evaluate(data.test, verbose=0, return_dict=True)["d_loss"],
    }
    if labels is not None:
        predicted = clf.probabilities(generated).argmax(axis=1)
        metrics["label_accuracy"] = float(np.mean(predicted == labels))  # does G honour y?
        metrics["label_accuracy_test"] = float(np.mean(clf.probabilities(test).argmax(axis=1)
                                                       == data.extras["test_labels"][:n]))
    return metrics


# === Figures ===


def figures(model, data, args, fig_dir):
    """The final model's fixed-z sample grid (cGAN: one row per class) next to real test images."""
    from mpkeras.train import figures as figs

    images, ncols = fixed_grid(model)
    name = type(model).__name__
    rows = [str(k) for k in range(model.num_classes)] if conditional(model) else None
    title = (f"{name}: G(z, y), row = class y, column = z (seed {args.seed})" if rows
             else f"{name}: samples, fixed z (seed {args.seed})")
    return {"samples": figs.image_grid(images, os.path.join(fig_dir, "samples.png"), ncols=ncols, row_labels=rows,
                                       title=title),
            "test_images": figs.image_grid(data.extras["test_images"][:len(images)],
                                           os.path.join(fig_dir, "test_images.png"), ncols=ncols,
                                           title="mnist5k test images")}


def sample_grid_callback(args, data, run_dir):
    """[SampleGrids] saving fixed-z grids every ``--grid-every`` epochs to ``<run_dir>/figures/training``."""
    del data
    return [SampleGrids(os.path.join(run_dir, "figures"), every=max(1, args.grid_every))]


class SampleGrids(keras.callbacks.Callback):
    """Saves a grid of fixed-z samples every ``every`` epochs, and at the end a montage of them over training.

    Grids go to ``<fig_dir>/training/epoch_<k>.png``; the montage, ``<fig_dir>/training.png``, has one row per
    saved epoch (the first ``columns`` images of each grid; cGAN: one per class), the first row before training.
    """

    def __init__(self, fig_dir, every=5, columns=10):
        super().__init__()
        self.fig_dir, self.every, self.columns = fig_dir, every, columns
        self.rows, self.row_labels = [], []

    def _save(self, epoch):
        from mpkeras.train import figures as figs

        images, ncols = fixed_grid(self.model)
        figs.image_grid(images, os.path.join(self.fig_dir, "training", f"epoch_{epoch:03d}.png"), ncols=ncols,
                        title=f"{type(self.model).__name__}: fixed-z samples after {epoch} epochs")
        pick = np.arange(self.columns) * ncols if conditional(self.model) else np.arange(self.columns)
        self.rows.append(images[pick[pick < len(images)]])
        self.row_labels.append(f"epoch {epoch}")

    def on_train_begin(self, logs=None):
        self._save(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.params.get("epochs"):
            self._save(epoch + 1)

    def on_train_end(self, logs=None):
        from mpkeras.train import figures as figs

        if self.row_labels[-1] != "epoch 0":
            figs.image_grid(np.concatenate(self.rows), os.path.join(self.fig_dir, "training.png"),
                            ncols=self.columns, row_labels=self.row_labels,
                            title=f"{type(self.model).__name__}: the same z over training")
