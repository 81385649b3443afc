"""The recipe shape the segmenters (FCN, U-Net) share: same data, flags, budget and evaluation,
so their runs differ only in the architecture."""

import argparse

import numpy as np

from mpkeras import flags
from mpkeras.data import catalogue, pipelines
from mpkeras.train.recipe import Recipe


def add_arguments(p):
    from mpkeras.layers import UPSAMPLING_KINDS

    p.add_argument("--filters", type=flags.int_tuple, default=(8, 16, 32, 64), help="conv widths per level")
    p.add_argument("--convs-per-block", type=flags.positive_int, default=2)
    p.add_argument("--upsampling", choices=UPSAMPLING_KINDS, default="transposed")
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--dropout", type=flags.rate, default=0.0, help="on the bottleneck features")
    pipelines.add_segmentation_arguments(p)


def compile_kwargs(args):
    from mpkeras.metrics import mean_iou_metric

    num_classes = len(pipelines.segmentation_classes(args.dataset))
    return {"metrics": ["accuracy", mean_iou_metric(num_classes)]}


def evaluate(model, data, args):
    from mpkeras.metrics import segmentation_scores

    names = data.extras["class_names"]
    scores = segmentation_scores(model, data.test, len(names))
    per_class = {f"test_iou_{name}": iou for name, iou in zip(names, scores["per_class_iou"])}
    return {"test_mean_iou": scores["mean_iou"], "test_pixel_accuracy": scores["pixel_accuracy"],
            "parameters": int(model.count_params()), **per_class}


def segmenter_recipe(model, cls, title):
    """A :class:`Recipe` that trains ``cls`` (a :class:`~mpkeras.models.FCN` subclass) on segmentation data.

    Args:
        model: registry name.
        cls: the model class; it takes the FCN constructor arguments.
        title: ``(args) -> str``, the title of the prediction panels.
    """

    def make_model(args, data):
        standardizer = data.extras["standardizer"]
        return cls(
            input_shape=data.extras["test_images"].shape[1:],
            num_classes=len(data.extras["class_names"]),
            filters=args.filters,
            convs_per_block=args.convs_per_block,
            upsampling=args.upsampling,
            batch_norm=args.batch_norm,
            dropout=args.dropout,
            input_mean=standardizer.mean.tolist(),  # per channel, train split only
            input_std=standardizer.std.tolist(),
            seed=args.seed,
        )

    def figures(model, data, args, fig_dir):
        from mpkeras.train import figures as figs

        images, masks = data.extras["test_images"][:10], data.extras["test_masks"][:10]
        predicted = np.asarray(model.predict_outputs(images)["class_map"])
        names = data.extras["class_names"]
        path = figs.segmentation_panels(images, masks, predicted, f"{fig_dir}/predictions.png", names,
                                        background=names.index("background") if "background" in names else None,
                                        title=title(args))
        return {"predictions": path}

    return Recipe(
        model=model,
        make_data=pipelines.segmentation_data,
        make_model=make_model,
        evaluate=evaluate,
        figures=figures,
        add_arguments=add_arguments,
        compile_kwargs=compile_kwargs,
        datasets=catalogue.SEGMENTATION,
        epochs=8,
        batch_size=16,
        learning_rate=3e-3,
        patience=0,
        schedule="cosine",
        jit=False,
    )
