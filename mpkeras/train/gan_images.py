"""Shared recipe code of the GANs on images: data, feature-space Fréchet distances, sample grids over training.

Evaluation (:func:`evaluate`) scores ``NUM_SAMPLES`` generated images against
the ``NUM_SAMPLES`` first test images with a Fréchet distance in a feature
space that fits the data (:func:`feature_space`; :mod:`mpkeras.metrics.sample_quality`;
none of them is FID):

* ``fd_mnist5k`` on MNIST digits (mnist5k, mnist): the features of our mnist5k LeNet;
* ``fd_<dataset>`` on other labelled datasets (``fd_fashion_mnist``, ``fd_cifar10``): the features of a LeNet
  trained on that dataset's train split (``mpkeras train lenet --dataset <dataset>``, cached);
* ``fd_random_conv`` on data without class labels (celeb_a): the features of a fixed, seeded, untrained conv net
  (:class:`~mpkeras.metrics.RandomConvFeatures`).

Next to each it puts two references: an untrained generator (``<key>_untrained``: a fresh model of the same
config and seed, i.e. the trained model's initial weights) and the floor (``<key>_train_floor``), the first
``NUM_SAMPLES`` *train* images. A generator that learnt anything lands far below the first and approaches the
second. With a classifier it also reports the classifier score (and, for a cGAN, the label accuracy).
"""

import os

import keras
import numpy as np

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.errors import UsageError
from mpkeras.train.gan import compile_kwargs  # noqa: F401  (one Adam per network; re-exported for the recipes)
from mpkeras.train.recipe import Data

NUM_SAMPLES = 1000  # = the size of the mnist5k test split; FD is biased upwards for small sets, so compare at equal N
SMOKE_SAMPLES = 200  # --smoke: fewer, for speed (their FDs are not comparable with those of 1,000)
GRID_SEED = (0, 1)  # fixed z of every sample grid
SMOKE_GRID = {"num": 16, "per_class": 2}  # --smoke: small grids (matplotlib draws one axes per image)
DIGITS = ("mnist5k", "mnist")
"""28x28x1 MNIST digits, scored in the features of the mnist5k LeNet (FD-mnist5k)."""
RANDOM_CONV = "random_conv"
"""The feature space of data without class labels: :class:`~mpkeras.metrics.RandomConvFeatures` (seed 0)."""


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
                   help="conv widths of the discriminator from its input up; the generator uses them reversed "
                        "(n entries need H and W divisible by 2**n)")
    p.add_argument("--grid-every", type=flags.positive_int, default=5,
                   help="save a grid of fixed-z samples every N epochs")
    reference_classifier.add_arguments(p)


def is_image_dataset(args):
    """Whether ``args.dataset``'s examples are images (H, W, C), as opposed to vectors such as ring8's points."""
    from mpkeras.data import load

    test = load(args.dataset, catalogue.split(args.dataset, "test"), data_dir=args.data_dir)
    return len(test.element_spec[0].shape) == 3


def _labelled_choices():
    return ", ".join(("mnist5k",) + tuple(d for d in catalogue.GAN_IMAGES if catalogue.has_labels(d)))


def _arrays(ds):
    """Images (N, H, W, C) and labels (N,) of a finite dataset of pairs, as numpy."""
    pairs = [(x.numpy(), y.numpy()) for x, y in ds]
    return np.stack([x for x, _ in pairs]), np.array([y for _, y in pairs], np.int32)


def _images_only(x, y):
    del y
    return x


def image_data(args, labels=False):
    """``Data`` of images in [0, 1] (uint8 / 255): train on the train and val splits together (``"train+val"`` of
    :mod:`mpkeras.data.catalogue`: all 4,000 mnist5k train images), since a GAN's losses pick no epoch and stop
    nothing; test for the evaluation.

    Batches are images (B, H, W, C), or (images, labels (B,) int32) with ``labels``. ``extras`` hold the first
    ``NUM_SAMPLES`` test images and labels, the first ``NUM_SAMPLES`` train images and labels (the FD floor),
    as numpy arrays, and ``num_classes`` (None for data without labels).

    Raises:
        UsageError: ``labels`` on a dataset without class labels (celeb_a).
    """
    import tensorflow as tf

    from mpkeras.data import load, num_classes, to_float
    from mpkeras.data.caching import cache_if_small
    from mpkeras.data.pipelines import card

    classes = num_classes(args.dataset, data_dir=args.data_dir)
    if labels and not classes:
        raise UsageError(f"--dataset {args.dataset}: a class-conditional GAN needs class labels, and {args.dataset} "
                         f"has none. Use a labelled dataset: {_labelled_choices()}.")

    def pairs(role):
        ds = load(args.dataset, catalogue.split(args.dataset, role), data_dir=args.data_dir)
        return ds.map(lambda x, y: (to_float(x), tf.cast(y, tf.int32)), num_parallel_calls=tf.data.AUTOTUNE)

    train_images, train_labels = _arrays(pairs("train+val").take(NUM_SAMPLES))  # (N, H, W, C), (N,)
    test_images, test_labels = _arrays(pairs("test").take(NUM_SAMPLES))
    train, test = (cache_if_small(pairs(role), args.dataset, catalogue.split(args.dataset, role), args.data_dir)
                   for role in ("train+val", "test"))
    if not labels:
        train, test = train.map(_images_only), test.map(_images_only)
    train = train.shuffle(10_000, seed=args.seed, reshuffle_each_iteration=True)
    train = train.batch(args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    test = test.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    transform = catalogue.image_transform(args.dataset)
    description = card(args, pixels="[0, 1] (uint8 / 255); the networks map to and from tanh's [-1, 1] inside",
                       labels="class ids (cgan)" if labels else "unused",
                       feature_space=feature_space(args.dataset))
    description["splits"] = {"train": catalogue.split(args.dataset, "train+val"),
                             "test": catalogue.split(args.dataset, "test")}
    if transform:
        description["images"] = "centre crop {}x{}, resized to {}x{}".format(*transform["crop"], *transform["size"])
    extras = {"test_images": test_images, "test_labels": test_labels, "train_images": train_images,
              "train_labels": train_labels, "num_classes": classes}
    return Data(train, None, test, description, extras=extras)


def model_kwargs(args, data):
    """The DCGAN arguments of the run: the image shape from the data, the rest from the flags."""
    from mpkeras.models.dcgan import max_stride2_layers

    shape = data.extras["test_images"].shape[1:]  # (H, W, C)
    most = max_stride2_layers(*shape[:2])
    if len(args.filters) > most:
        raise UsageError(f"--filters {','.join(map(str, args.filters))}: {len(args.filters)} stride-2 convs need H "
                         f"and W divisible by {2 ** len(args.filters)}, and the {args.dataset} images are "
                         f"{shape[0]}x{shape[1]}x{shape[2]}; give at most {most} widths (e.g. --filters "
                         f"{','.join(str(32 * 2 ** i) for i in range(max(most, 1)))}).")
    return dict(input_shape=shape, latent_dim=args.latent_dim, filters=args.filters,
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


def fixed_grid(model, num=64, per_class=10):
    """The images of the fixed-z grid and its number of columns (cGAN: one row per class, the same ``per_class``
    codes in every row)."""
    import tensorflow as tf

    if conditional(model):
        labels = grid_labels(model, per_class)
        z = tf.random.stateless_normal((per_class, model.latent_dim), seed=GRID_SEED, alg="philox")
        z = tf.tile(z, [model.num_classes, 1])  # (per_class K, latent_dim): row k = class k
        return np.asarray(model.generate(z, labels)["samples"]), per_class
    return np.asarray(model.sample(num, np.array(GRID_SEED, np.int32))["samples"]), 8


# === Evaluation ===


def feature_space(dataset):
    """The feature space that scores samples of ``dataset``: ``"mnist5k"`` (MNIST digits, :data:`DIGITS`), the
    dataset's own name (a LeNet trained on its labels), or :data:`RANDOM_CONV` (no class labels)."""
    base = catalogue.base_name(dataset)
    if base in DIGITS:
        return "mnist5k"
    return base if catalogue.has_labels(base) else RANDOM_CONV


def _smoke_classifier(data):
    """--smoke without --classifier: a tiny LeNet fitted in process for two epochs on the run's first train images
    (a child process would not see tfds.testing.mock_data; the numbers it gives check the code path only)."""
    from mpkeras.metrics.sample_quality import ClassifierFeatures
    from mpkeras.models import LeNet

    images, labels = data.extras["train_images"], data.extras["train_labels"]  # (N, H, W, C), (N,)
    model = LeNet(filters=(4, 8), units=(24, 16), input_shape=images.shape[1:], num_classes=data.extras["num_classes"],
                  input_mean=float(images.mean()), input_std=float(images.std()) or 1.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), run_eagerly=True,  # a few tiny steps: tracing costs more
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, batch_size=100, epochs=2, verbose=0)
    return ClassifierFeatures(model)


def feature_extractor(args, data):
    """``(feature space name, extractor, classifier or None)`` for the run (:func:`feature_space`).

    The classifier is ``--classifier`` if given (it must take the data's image shape), else the cached LeNet of
    :mod:`mpkeras.train.reference_classifier` (``--smoke``: a throwaway one fitted in process).
    """
    from mpkeras.metrics.sample_quality import ClassifierFeatures, RandomConvFeatures
    from mpkeras.train.reference_classifier import reference_classifier

    space, shape = feature_space(args.dataset), data.extras["test_images"].shape[1:]
    if space == RANDOM_CONV:
        return space, RandomConvFeatures(shape, seed=0), None
    if args.classifier:
        clf = ClassifierFeatures(args.classifier)
        built_for = tuple(getattr(clf.model, "input_shape", shape))[-3:]  # (H, W, C)
        if built_for != tuple(shape):
            raise UsageError(f"--classifier {args.classifier}: it takes {built_for} images, and the {args.dataset} "
                             f"images are {tuple(shape)}. Pass a classifier trained on {space} (`mpkeras train lenet"
                             f" --dataset {'mnist5k' if space == 'mnist5k' else args.dataset}`) or drop --classifier.")
    elif args.smoke:
        clf = _smoke_classifier(data)
    elif space == "mnist5k":
        clf = reference_classifier()
    else:
        clf = reference_classifier(dataset=args.dataset, data_dir=args.data_dir)
    return space, clf, clf


def _untrained(make_model, args, data):
    """A fresh model of the same config and seed: the trained model's initial weights (the recipe runner seeds so)."""
    keras.utils.set_random_seed(args.seed)
    model = make_model(args, data)
    model.build_from_data(None)
    return model


def evaluate(model, data, args, make_model):
    """``fd_<space>`` (trained, untrained generator, train-set floor; :func:`feature_space`), classifier scores where
    a classifier gives the features, and for a cGAN the classifier's accuracy on samples of requested classes; plus
    the mean test discriminator loss."""
    from mpkeras.metrics.sample_quality import (
        classifier_score,
        feature_frechet_distance,
    )

    space, extractor, clf = feature_extractor(args, data)
    n = min(SMOKE_SAMPLES if args.smoke else NUM_SAMPLES, len(data.extras["test_images"]))
    test, train = data.extras["test_images"][:n], data.extras["train_images"][:n]
    seed = (args.seed, 1)
    generated, labels = samples(model, n, seed)
    untrained, _ = samples(_untrained(make_model, args, data), n, seed)
    key = f"fd_{space}"
    metrics = {
        key: feature_frechet_distance(generated, test, extractor),
        f"{key}_untrained": feature_frechet_distance(untrained, test, extractor),
        f"{key}_train_floor": feature_frechet_distance(train, test, extractor),
        "num_samples": n,
        "test_d_loss": model.evaluate(data.test, verbose=0, return_dict=True)["d_loss"],
    }
    if clf is not None:
        metrics.update(classifier_score=classifier_score(generated, clf),
                       classifier_score_untrained=classifier_score(untrained, clf),
                       classifier_score_test=classifier_score(test, clf))
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

    images, ncols = fixed_grid(model, **(SMOKE_GRID if args.smoke else {}))
    name = type(model).__name__
    rows = [str(k) for k in range(model.num_classes)] if conditional(model) else None
    title = (f"{name}: G(z, y), row = class y, column = z (seed {args.seed})" if rows
             else f"{name}: samples, fixed z (seed {args.seed})")
    return {"samples": figs.image_grid(images, os.path.join(fig_dir, "samples.png"), ncols=ncols, row_labels=rows,
                                       title=title),
            "test_images": figs.image_grid(data.extras["test_images"][:len(images)],
                                           os.path.join(fig_dir, "test_images.png"), ncols=ncols,
                                           title=f"{args.dataset} test images")}


def sample_grid_callback(args, data, run_dir):
    """[SampleGrids] saving fixed-z grids every ``--grid-every`` epochs to ``<run_dir>/figures/training``."""
    del data
    return [SampleGrids(os.path.join(run_dir, "figures"), every=max(1, args.grid_every),
                        grid=SMOKE_GRID if args.smoke else None)]


class SampleGrids(keras.callbacks.Callback):
    """Saves a grid of fixed-z samples every ``every`` epochs, and at the end a montage of them over training.

    Grids go to ``<fig_dir>/training/epoch_<k>.png``; the montage, ``<fig_dir>/training.png``, has one row per
    saved epoch (the first ``columns`` images of each grid; cGAN: one per class), the first row before training.
    ``grid``: arguments of :func:`fixed_grid` (e.g. :data:`SMOKE_GRID`).
    """

    def __init__(self, fig_dir, every=5, columns=10, grid=None):
        super().__init__()
        self.fig_dir, self.every, self.columns, self.grid = fig_dir, every, columns, grid or {}
        self.rows, self.row_labels = [], []

    def _save(self, epoch):
        from mpkeras.train import figures as figs

        images, ncols = fixed_grid(self.model, **self.grid)
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
