"""The recipe shape every image classifier of the CNN zoo shares.

A zoo recipe (``recipes/lenet.py``, ...) adds its architecture flags and a
``build(args, common)`` function; this module supplies the data (with
train-only standardization statistics and a train+val set for retraining),
the regularization flags, evaluation and figures.

Example:
    >>> RECIPE = image_classifier_recipe(
    ...     "lenet", build=lambda args, common: LeNet(activation=args.activation, **common),
    ...     add_arguments=lambda p: p.add_argument("--activation", default="relu"), epochs=30)
"""

import numpy as np

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.train.recipe import Data, Recipe


def add_regularization_arguments(p, shift=0.1, rotation=0.03, flip=False, weight_decay=5e-4):
    """The regularization toolkit's flags; batch norm and dropout are architecture flags of each recipe."""
    import argparse

    p.add_argument("--shift", type=flags.probability, default=shift,
                   help="random-translation augmentation, fraction of size")
    p.add_argument("--rotation", type=flags.probability, default=rotation,
                   help="random-rotation augmentation, fraction of 2 pi")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=flip, help="random horizontal flips")
    p.add_argument("--weight-decay", type=flags.nonnegative_float, default=weight_decay,
                   help="L2 coefficient on the kernels")


def make_data(args):
    """(image in [0, 1], label) batches plus per-channel train statistics and a train+val set."""
    from mpkeras.data import Standardizer, num_classes, pipelines

    train, val, test, test_images, test_labels = pipelines.classification(args)
    standardizer = Standardizer.fit(pipelines.train_split(args))  # per channel, train split only
    classes = num_classes(args.dataset, data_dir=args.data_dir)
    card = pipelines.card(
        args, preprocessing="pixels in [0, 1], standardized per channel inside the model with train-split statistics",
        num_classes=classes,
    )
    extras = {"test_images": test_images, "test_labels": test_labels, "standardizer": standardizer,
              "num_classes": classes}
    return Data(train, val, test, card, extras=extras, train_full=pipelines.train_and_val(args))


def common_kwargs(args, data):
    """The :class:`~mpkeras.models.cnn.ImageClassifier` arguments a recipe derives from its data and flags."""
    standardizer = data.extras["standardizer"]
    return dict(
        input_shape=data.extras["test_images"].shape[1:],
        num_classes=data.extras["num_classes"],
        input_mean=standardizer.mean.tolist(),
        input_std=standardizer.std.tolist(),
        augment_shift=args.shift,
        augment_rotation=args.rotation,
        augment_flip=args.flip,
        weight_decay=args.weight_decay,
        seed=args.seed,
    )


def compile_kwargs(args):
    return {"metrics": ["accuracy"]}


def evaluate(model, data, args):
    result = model.evaluate(data.test, return_dict=True, verbose=0)
    # The loss includes the L2 penalty; the NLL is the cross-entropy alone.
    probabilities = np.asarray(model.predict_outputs(data.extras["test_images"])["probabilities"])
    labels = data.extras["test_labels"]
    nll = -np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12)))
    return {"test_accuracy": result["accuracy"], "test_nll_nats": nll, "parameters": int(model.count_params())}


def figures(model, data, args, fig_dir):
    from mpkeras.train import figures as figs

    images, labels = data.extras["test_images"][:40], data.extras["test_labels"][:40]
    pred = np.asarray(model.predict_outputs(images)["class_id"])
    titles = [f"{p}" + ("" if p == t else f" (true {t})") for p, t in zip(pred, labels)]
    path = figs.image_grid(images, f"{fig_dir}/predictions.png", titles=titles,
                           title=f"{type(model).__name__}: predicted class on test images")
    return {"predictions": path}


def image_classifier_recipe(model, build, add_arguments=None, regularization=None, extra_figures=None, **defaults):
    """A :class:`Recipe` for an image classifier.

    Args:
        model: registry name.
        build: ``(args, common) -> keras.Model``; ``common`` holds the
            :func:`common_kwargs` to pass on.
        add_arguments: adds the architecture's flags.
        regularization: defaults of :func:`add_regularization_arguments`.
        extra_figures: ``(model, data, args, fig_dir) -> dict`` of more figures, besides the predictions.
        **defaults: :class:`Recipe` defaults (epochs, batch_size, learning_rate, ...).
    """

    def arguments(p):
        add_regularization_arguments(p, **(regularization or {}))
        if add_arguments:
            add_arguments(p)

    def all_figures(model, data, args, fig_dir):
        paths = figures(model, data, args, fig_dir)
        return {**paths, **extra_figures(model, data, args, fig_dir)} if extra_figures else paths

    defaults.setdefault("datasets", catalogue.CLASSIFICATION)
    return Recipe(
        model=model,
        make_data=make_data,
        make_model=lambda args, data: build(args, common_kwargs(args, data)),
        evaluate=evaluate,
        figures=all_figures,
        add_arguments=arguments,
        compile_kwargs=compile_kwargs,
        **defaults,
    )


def bptt_figure(model, data, args, fig_dir):
    """The BPTT study of a recurrent classifier (:func:`mpkeras.train.figures.bptt_study`)."""
    from mpkeras.train import figures as figs

    return {"bptt": figs.bptt_study(model, data.extras["test_images"][:32], f"{fig_dir}/bptt.png")}


def recurrent_classifier_recipe(model, cls):
    """The sequential-MNIST recipe of a :class:`~mpkeras.models.RecurrentClassifier` subclass ``cls``.

    Flags ``--units``, ``--num-layers``, ``--dropout``; no rotation or weight decay;
    30 epochs of batch 64 with a cosine schedule and global-norm clipping at 1;
    figures: predictions and the BPTT study.
    """

    def add_arguments(p):
        p.add_argument("--units", type=flags.positive_int, default=128)
        p.add_argument("--num-layers", type=flags.positive_int, default=1)
        p.add_argument("--dropout", type=flags.rate, default=0.1)

    def build(args, common):
        return cls(units=args.units, num_layers=args.num_layers, dropout=args.dropout, **common)

    return image_classifier_recipe(model, build, add_arguments, regularization=dict(rotation=0.0, weight_decay=0.0),
                                   epochs=30, batch_size=64, learning_rate=2e-3, patience=0, schedule="cosine",
                                   clip_norm=1.0, monitor="val_accuracy", extra_figures=bptt_figure)
