"""The recipe shape of autoregressive models of binary images (``recipes/fvsbn.py``, ``recipes/made.py``).

Data: binarized mnist5k (:func:`mpkeras.data.pipelines.binarized_data`; train
binarization from ``--binarization``, val and test always static with fixed
seeds). Evaluation: exact test NLL in nats per image (and bits/dim) on the
statically binarized test split. Figures: 40 samples drawn in the graph.
"""

import numpy as np

from mpkeras.train.recipe import Recipe


def test_nll(log_prob, images, batch_size=250):
    """-mean log p(x) in nats over ``images`` with ``log_prob(batch) -> {"log_prob": (B,)}``."""
    total = 0.0
    for start in range(0, len(images), batch_size):
        total += float(np.sum(log_prob(images[start:start + batch_size])["log_prob"]))
    return -total / len(images)


def evaluate(model, data, args):
    from mpkeras.metrics import bits_per_dim

    images = data.extras["test_images"][:100] if args.smoke else data.extras["test_images"]
    nll = test_nll(model.log_prob, images)
    metrics = {"test_nll_nats": nll, "test_bits_per_dim": bits_per_dim(nll, images[0].size),
               "binarization": args.binarization,
               "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights))}  # masks excluded
    if getattr(model, "num_masks", 1) > 1:
        metrics["test_nll_nats_ensemble"] = test_nll(model.log_prob_ensemble, images)
    return metrics


def figures(model, data, args, fig_dir):
    from mpkeras.train import figures as figs

    samples = model.sample(40, np.array([args.seed, 7], np.int32))["samples"].numpy()
    return {"samples": figs.image_grid(samples, f"{fig_dir}/samples.png",
                                       title=f"{type(model).__name__}: samples (pixel by pixel, in the graph)")}


def binary_autoregressive_recipe(model, make_model, add_arguments=None, **defaults):
    """A :class:`Recipe` for a :class:`~mpkeras.models.BinaryAutoregressive` model."""
    from mpkeras.data import pipelines

    def arguments(p):
        pipelines.add_binarization_arguments(p)
        if add_arguments:
            add_arguments(p)

    return Recipe(model=model, make_data=pipelines.binarized_data, make_model=make_model, evaluate=evaluate,
                  figures=figures, add_arguments=arguments, **defaults)
