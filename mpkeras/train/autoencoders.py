"""The recipe shape of the autoencoder family (``recipes/linear_ae.py`` ... ``recipes/psd.py``).

Data: mnist5k images as floats in [0, 1] (:func:`image_data`), or contrast-
normalized 8x8 patches of them for sparse coding and PSD (:func:`patch_data`;
train patches come from the train images, val from val, test from test).
Evaluation: test reconstruction error, as per-pixel MSE and (for images) BCE
nats per image. Figures: reconstructions, a code scatter for 2-D codes,
denoising before/after, dictionary atoms.
"""

import numpy as np

from mpkeras import flags
from mpkeras.train.recipe import Data, Recipe

PATCH_SPLITS = {"train": 20_000, "val": 2_000, "test": 5_000}


def _numpy_images(args, split):
    from mpkeras.data import load, to_float

    ds = load(args.dataset, split, data_dir=args.data_dir).batch(4096)
    batches = [(to_float(x).numpy(), y.numpy()) for x, y in ds]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def _batches(array, args, train):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(array)
    if train:
        ds = ds.shuffle(len(array), seed=args.seed, reshuffle_each_iteration=True)
    return ds.batch(args.batch_size, drop_remainder=train).prefetch(tf.data.AUTOTUNE)


def image_data(args):
    """``Data`` of image batches (no labels) in [0, 1]; extras: test images and labels, train images."""
    from mpkeras.data import pipelines

    (train, _), (val, _), (test, test_labels) = (_numpy_images(args, s) for s in (pipelines.TRAIN, pipelines.VAL,
                                                                                    pipelines.TEST))
    return Data(_batches(train, args, True), _batches(val, args, False), _batches(test, args, False),
                pipelines.card(args, pixels="float in [0, 1] (not binarized)"),
                extras={"test_images": test, "test_labels": test_labels, "train_images": train})


def patch_data(args):
    """``Data`` of contrast-normalized ``args.patch_size`` patches (mean 0, std 1 per patch) of the images."""
    from mpkeras.data import pipelines
    from mpkeras.data.patches import extract_patches, normalize_patches

    sizes = {k: (min(n, 3 * args.batch_size) if args.smoke else n) for k, n in PATCH_SPLITS.items()}
    patches = {}
    for i, (name, split) in enumerate((("train", pipelines.TRAIN), ("val", pipelines.VAL), ("test", pipelines.TEST))):
        images, _ = _numpy_images(args, split)
        seed = args.seed if i == 0 else 101 * i  # val/test patches are fixed, whatever the run's seed
        raw = extract_patches(images, args.patch_size, sizes[name], seed=seed)
        patches[name] = normalize_patches(raw)
    description = pipelines.card(args, patches=f"{args.patch_size}x{args.patch_size}, std >= 0.1 (non-blank), "
                                 "per-patch mean removed and divided by its std", patch_counts=sizes)
    return Data(_batches(patches["train"], args, True), _batches(patches["val"], args, False),
                _batches(patches["test"], args, False), description, extras={"test_patches": patches["test"]})


def add_patch_arguments(p):
    p.add_argument("--patch-size", type=flags.positive_int, default=8)
    p.add_argument("--num-atoms", type=flags.positive_int, default=128)
    p.add_argument("--sparsity", type=flags.nonnegative_float, default=0.5,
                   help="lambda, the L1 weight of the lasso energy")
    p.add_argument("--ista-steps", type=flags.positive_int, default=100)


def add_image_arguments(p, code_dim=32, hidden_units=(512, 256), loss="bernoulli"):

    p.add_argument("--code-dim", type=flags.positive_int, default=code_dim)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=hidden_units,
                   help="encoder widths, mirrored in the decoder (0: no hidden layer)")
    p.add_argument("--reconstruction-loss", choices=("bernoulli", "gaussian"), default=loss)


def hidden(args):
    """``--hidden-units 0`` means no hidden layer."""
    return tuple(u for u in args.hidden_units if u > 0)


def predict(fn, array, key, batch_size=500):
    """Concatenates ``fn(batch)[key]`` over ``array`` in batches."""
    return np.concatenate([np.asarray(fn(array[i:i + batch_size])[key]) for i in range(0, len(array), batch_size)])


def reconstruction_errors(clean, reconstruction):
    """Per-pixel MSE and BCE nats per image of reconstructions in [0, 1] against clean images."""
    r = np.clip(reconstruction, 1e-7, 1 - 1e-7)
    bce = -(clean * np.log(r) + (1 - clean) * np.log(1 - r)).reshape(len(clean), -1).sum(1)
    return {"test_mse": float(np.mean((clean - reconstruction) ** 2)), "test_bce_nats": float(bce.mean())}


def evaluate_images(model, data, args):
    images = data.extras["test_images"]
    out = reconstruction_errors(images, predict(model.reconstruct, images, "reconstruction"))
    if model.reconstruction_loss == "gaussian":
        del out["test_bce_nats"]  # the Gaussian decoder's outputs are not probabilities
    return out


def figures_images(model, data, args, fig_dir):
    from mpkeras.train import figures as figs

    images, labels = data.extras["test_images"], data.extras["test_labels"]
    recon = np.clip(predict(model.reconstruct, images[:10], "reconstruction"), 0, 1)
    paths = {"reconstructions": figs.image_grid(np.concatenate([images[:10], recon]), f"{fig_dir}/reconstructions.png",
                                                row_labels=["input", "output"],
                                                title=f"{type(model).__name__}: test reconstructions")}
    if model.code_dim == 2:
        paths["code_scatter"] = code_scatter(predict(model.encode, images, "code"), labels,
                                             f"{fig_dir}/code_scatter.png", f"{type(model).__name__}: 2-D codes")
    return paths


def code_scatter(codes, labels, path, title):
    """2-D codes of test digits coloured by label."""
    from mpkeras.train.figures import plt, save

    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    sc = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=4)
    fig.colorbar(sc, ax=ax, ticks=range(10))
    ax.set_title(title, fontsize=9)
    return save(fig, path)


def scaled(images):
    """Each image min-max scaled to [0, 1], for showing atoms and normalized patches."""
    flat = images.reshape(len(images), -1)
    lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
    return ((flat - lo) / np.maximum(hi - lo, 1e-8)).reshape(images.shape)


def evaluate_patches(model, data, args):
    """Test patch MSE (per pixel, on patches of unit variance) and non-zeros per ISTA code; PSD: its fast codes too."""
    patches = data.extras["test_patches"]
    out = {name: np.concatenate([np.asarray(v) for v in vals]) for name, vals in _collect(model.reconstruct, patches)}
    metrics = {"test_patch_mse": float(np.mean((patches - out["reconstruction"]) ** 2)),
               "test_nonzeros_per_code": float(np.mean(np.sum(out["code"] != 0, axis=1))),
               "num_atoms": model.num_atoms, "patch_dim": int(np.prod(patches.shape[1:]))}
    if "fast_code" in out:
        code, fast = out["code"], out["fast_code"]
        metrics["test_fast_patch_mse"] = float(np.mean((patches - out["fast_reconstruction"]) ** 2))
        metrics["test_fast_code_relative_error"] = float(np.sum((fast - code) ** 2) / np.sum(code ** 2))
        metrics["test_ista_patch_mse"] = metrics["test_patch_mse"]
    return metrics


def _collect(fn, array, batch_size=500):
    results = [fn(array[i:i + batch_size]) for i in range(0, len(array), batch_size)]
    return [(k, [r[k] for r in results]) for k in results[0]]


def figures_patches(model, data, args, fig_dir):
    from mpkeras.train import figures as figs

    atoms = np.asarray(model.decoder.kernel).T.reshape(model.num_atoms, *model.input_shape)
    paths = {"dictionary": figs.image_grid(scaled(atoms), f"{fig_dir}/dictionary.png", ncols=16,
                                           title=f"{type(model).__name__}: dictionary atoms (each scaled to [0, 1])")}
    patches = data.extras["test_patches"][:10]
    out = model.reconstruct(patches)
    rows = [patches, np.asarray(out["reconstruction"])]
    labels = ["patch", "ISTA"]
    if "fast_reconstruction" in out:
        rows.append(np.asarray(out["fast_reconstruction"]))
        labels.append("fast F(x)")
    paths["reconstructions"] = figs.image_grid(scaled(np.concatenate(rows)), f"{fig_dir}/reconstructions.png",
                                               row_labels=labels, title="test patches and reconstructions")
    return paths


def image_recipe(model, make_model, add_arguments=None, evaluate=None, figures=None, **defaults):
    """A :class:`Recipe` for an image autoencoder; ``evaluate``/``figures`` extend the shared ones."""

    def evaluate_all(m, data, args):
        return {**evaluate_images(m, data, args), **(evaluate(m, data, args) if evaluate else {})}

    def figures_all(m, data, args, fig_dir):
        return {**figures_images(m, data, args, fig_dir), **(figures(m, data, args, fig_dir) if figures else {})}

    return Recipe(model=model, make_data=image_data, make_model=make_model, evaluate=evaluate_all,
                  figures=figures_all, add_arguments=add_arguments, **defaults)


def patch_recipe(model, make_model, add_arguments=None, **defaults):
    """A :class:`Recipe` for sparse coding / PSD on mnist5k patches."""

    def arguments(p):
        add_patch_arguments(p)
        if add_arguments:
            add_arguments(p)

    return Recipe(model=model, make_data=patch_data, make_model=make_model, evaluate=evaluate_patches,
                  figures=figures_patches, add_arguments=arguments, **defaults)
