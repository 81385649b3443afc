"""The recipe shape of the variational RNN family (``recipes/vrnn.py``, ``recipes/cvrnn.py``, ``recipes/lstm_density.py``).

Data: binarized mnist5k digits read as sequences of 28 rows of 28 pixels
(:func:`mpkeras.data.pipelines.binarized_images`: train binarization from
``--binarization``, val and test always static with fixed seeds), as
``{"sequences", "labels"}`` dicts for the class-conditional CVRNN.

Evaluation, in nats per sequence (= per digit) on the test split: for the VRNNs
the ELBO (one posterior trajectory per digit) and the importance-sampled bound
with k = ``--iwae-samples`` trajectories, reported as ``test_nll_nats`` = -bound
(an upper bound on the NLL); for the LSTM the exact NLL. Figures: generated
digits, a class-by-class grid for the CVRNN, and reconstructions.
"""

import numpy as np

from mpkeras import flags
from mpkeras.train.recipe import Data, Recipe


def _to_sequences(batch):
    """Image batches (B, H, W, 1), or {"images", "labels"}, -> row sequences (B, H, W) (or {"sequences", "labels"})."""
    import tensorflow as tf

    if isinstance(batch, dict):
        images = batch["images"]
        return {"sequences": tf.reshape(images, (-1, *images.shape[1:3])), "labels": batch["labels"]}
    return tf.reshape(batch, (-1, *batch.shape[1:3]))


def row_sequences(args):
    """``Data`` of binarized digits as row sequences; ``extras``: ``test_sequences`` (N, 28, 28), ``test_labels``."""
    from mpkeras.data import pipelines

    conditional = getattr(args, "conditional", False)
    train, val, test, test_images, test_labels = pipelines.binarized_images(args, args.binarization,
                                                                            with_labels=conditional)
    train, val, test = (ds.map(_to_sequences) for ds in (train, val, test))
    description = pipelines.card(args, binarization={"train": args.binarization, "val": "static", "test": "static"},
                                 sequences="each digit read as 28 steps (rows) of 28 binary pixels")
    extras = {"test_sequences": test_images[..., 0], "test_labels": test_labels.astype(np.int32)}
    return Data(train, val, test, description, extras=extras)


def add_arguments(p, iwae_samples=100):
    from mpkeras.data import pipelines

    pipelines.add_binarization_arguments(p)
    p.set_defaults(iwae_samples=iwae_samples)


def add_vrnn_arguments(p):
    """The VRNN and CVRNN recipes' architecture flags."""
    p.add_argument("--latent-dim", type=flags.positive_int, default=16)
    p.add_argument("--units", type=flags.positive_int, default=256)
    p.add_argument("--feature-units", type=flags.positive_int, default=128)
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm")


def vrnn_kwargs(args, data):
    """Constructor arguments shared by the VRNN and CVRNN recipes."""
    return dict(input_shape=data.extras["test_sequences"].shape[1:], latent_dim=args.latent_dim, units=args.units,
                feature_units=args.feature_units, cell=args.cell, seed=args.seed)


def _batched(fn, arrays, batch_size):
    """Concatenates ``fn(*batch)`` dict outputs over batches of ``arrays`` (numpy)."""
    out = {}
    for i, start in enumerate(range(0, len(arrays[0]), batch_size)):
        result = fn(i, *(a[start:start + batch_size] for a in arrays))
        for k, v in result.items():
            out.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in out.items()}


def _test_arrays(model, data, args):
    n = 100 if args.smoke else None
    arrays = [data.extras["test_sequences"][:n]]
    if model.num_classes:
        arrays.append(data.extras["test_labels"][:n])
    return arrays


def evaluate_vrnn(model, data, args):
    """Test ELBO terms (one trajectory) and the k-trajectory importance-sampled bound, nats per sequence."""
    import tensorflow as tf

    arrays = _test_arrays(model, data, args)
    k = 10 if args.smoke else args.iwae_samples
    elbo = tf.function(lambda x, seed, *y: model.elbo(x, seed, *y), autograph=False, reduce_retracing=True)
    bound = tf.function(lambda x, seed, *y: model.log_prob_bound(x, tf.constant(k), seed, *y), autograph=False,
                        reduce_retracing=True)
    terms = _batched(lambda i, x, *y: elbo(x, tf.constant([args.seed, i]), *y), arrays, 250)
    bounds = _batched(lambda i, x, *y: bound(x, tf.constant([args.seed + 1, i]), *y), arrays, max(1, 5000 // k))
    return {
        "test_nll_nats": -float(np.mean(bounds["log_prob_bound"])),
        "test_elbo_nats": float(np.mean(terms["elbo"])),
        "test_kl_nats": float(np.mean(terms["kl"])),
        "test_reconstruction_nats": float(np.mean(terms["reconstruction"])),
        "iwae_samples": k,
        "binarization": args.binarization,
        "conditional": "log p(x | y), given the digit label" if model.num_classes else "no",
        "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
    }


def evaluate_lstm(model, data, args):
    """Exact test NLL, nats per sequence."""
    import tensorflow as tf

    log_prob = tf.function(model.log_prob, autograph=False, reduce_retracing=True)
    out = _batched(lambda i, x: log_prob(x), _test_arrays(model, data, args), 250)
    return {"test_nll_nats": -float(np.mean(out["log_prob"])), "binarization": args.binarization,
            "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights))}


def figures(model, data, args, fig_dir):
    """Generated digits (a class grid, rows = digits 0-9, for the CVRNN) and, for the VRNNs, reconstructions."""
    import tensorflow as tf

    from mpkeras.train import figures as figs

    name = type(model).__name__
    seed = np.array([args.seed, 7], np.int32)
    paths = {}
    if model.num_classes:
        per_class = 10
        labels = np.repeat(np.arange(model.num_classes, dtype=np.int32), per_class)  # rows = classes
        out = tf.function(model.generate_conditional, autograph=False)(labels, seed)
        paths["samples"] = figs.image_grid(
            np.asarray(out["probabilities"]), f"{fig_dir}/samples.png", ncols=per_class,
            row_labels=[str(c) for c in range(model.num_classes)],
            title=f"{name}: generated digits, one row per class (Bernoulli means)")
    else:
        out = tf.function(model.generate, autograph=False)(np.int32(40), seed)
        paths["samples"] = figs.image_grid(np.asarray(out["probabilities"]), f"{fig_dir}/samples.png", ncols=10,
                                           title=f"{name}: generated digits, row by row (Bernoulli means)")
    if hasattr(model, "reconstruct"):
        arrays = [a[:10] for a in _test_arrays(model, data, args)]
        recon = model.reconstruct(*arrays)["probabilities"]
        paths["reconstructions"] = figs.image_grid(
            np.concatenate([arrays[0], np.asarray(recon)]), f"{fig_dir}/reconstructions.png", ncols=10,
            row_labels=["input", "recon"], title=f"{name}: reconstructions (posterior-mean trajectory)")
    return paths


def vrnn_recipe(model, make_model, evaluate, add_model_arguments=None, **defaults):
    """A :class:`Recipe` on binarized mnist5k row sequences."""

    def arguments(p):
        add_arguments(p)
        if add_model_arguments:
            add_model_arguments(p)

    return Recipe(model=model, make_data=row_sequences, make_model=make_model, evaluate=evaluate, figures=figures,
                  add_arguments=arguments, **defaults)
