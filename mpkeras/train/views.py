"""Training on posed views (the embedded ``scenes``): ray batches, whole-view renders and view figures.

Shared by the ray-rendering recipes (``nerf``, ``dvr``): both train on every pixel's ray of the train views
and are scored on the held-out test views.
"""

import numpy as np
import tensorflow as tf

from mpkeras.errors import UsageError
from mpkeras.train.recipe import Data


def ray_data(args, model_name, targets=("rgb",)):
    """The recipe's :class:`Data`: shuffled batches of train rays, and the test rays and views in ``extras``.

    Args:
        args: the recipe's flags (``dataset``, ``data_dir``, ``seed``, ``batch_size``, ``steps_per_epoch``, ``smoke``).
        model_name: for the error message.
        targets: per-ray targets of ``fit``: ``("rgb",)`` gives the colours (B, 3) as ``y``; more keys (e.g.
            ``("rgb", "mask")``) give a dict.

    Returns:
        ``Data`` with ``train`` batches ({"origins", "directions"} (B, 3), y) and ``extras`` ``test`` (the flat
        test rays of :func:`mpkeras.data.scenes.load_rays`; two views under ``--smoke``) and ``truth`` (the test
        views: ``rgb`` (V, H, W, 3), ``depth`` and ``mask`` (V, H, W)).
    """
    from mpkeras.data import scenes

    if args.dataset != "scenes":
        raise UsageError(f"The {model_name} recipe trains on posed views with camera rays; --dataset "
                         f"{args.dataset!r} is not offered. Use the embedded --dataset scenes.")
    train, test = scenes.load_rays("train", args.data_dir), scenes.load_rays("test", args.data_dir)
    n = len(train["rgb"])
    order = np.random.default_rng(args.seed).permutation(n)  # a first global shuffle; the pipeline reshuffles
    x = {"origins": train["origins"][order], "directions": train["directions"][order]}
    y = train["rgb"][order] if tuple(targets) == ("rgb",) else {key: train[key][order] for key in targets}
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).repeat().shuffle(65536, seed=args.seed)
          .batch(args.batch_size, drop_remainder=True).take(args.steps_per_epoch).prefetch(tf.data.AUTOTUNE))
    card = {"dataset": "scenes", "train_views": train["views"], "train_rays": n, "test_views": test["views"],
            "targets": list(targets), "near": scenes.NEAR, "far": scenes.FAR, "background": scenes.BACKGROUND}
    if args.smoke:  # evaluate on two test views only
        test = {k: (v[:2 * scenes.SIZE**2] if isinstance(v, np.ndarray) else 2) for k, v in test.items()}
    shape = (test["views"], scenes.SIZE, scenes.SIZE)
    truth = {"rgb": test["rgb"].reshape(*shape, 3), "depth": test["depth"].reshape(shape),
             "mask": test["mask"].reshape(shape)}
    return Data(train=ds, val=None, test=None, card=card, extras={"test": test, "truth": truth})


def render_views(model, test, chunk=4096):
    """Renders the test rays with ``model(rays, training=False)`` in chunks: {key: (V, H, W, ...)} numpy."""
    origins, directions, views = test["origins"], test["directions"], test["views"]
    parts = []
    for i in range(0, len(origins), chunk):
        out = model({"origins": origins[i:i + chunk], "directions": directions[i:i + chunk]}, training=False)
        parts.append({k: v.numpy() for k, v in out.items()})
    size = int(round(np.sqrt(len(origins) // views)))
    return {k: np.concatenate([p[k] for p in parts]).reshape(views, size, size, *parts[0][k].shape[1:])
            for k in parts[0]}


def view_figure(rows, path, near, far, n=5, titles=None, suptitle=None):
    """A grid of the first ``n`` views: one row per (label, images (V, H, W[, 3]), kind) in ``rows``.

    ``kind`` is ``"rgb"`` (clipped to [0, 1]), ``"mask"`` (grey) or ``"depth"`` (viridis over [near, far],
    0 = no surface drawn as far). ``titles`` (one string per view) go above the second row.
    """
    from mpkeras.train import figures as figs

    plt = figs.plt
    n = min(n, len(rows[0][1]))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.6 * n, 1.6 * len(rows)), squeeze=False)
    for r, (label, images, kind) in enumerate(rows):
        for v in range(n):
            ax = axes[r, v]
            if kind == "rgb":
                ax.imshow(np.clip(images[v], 0, 1), interpolation="nearest")
            elif kind == "mask":
                ax.imshow(np.asarray(images[v], float), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(np.where(images[v] > 0, images[v], far), cmap="viridis", vmin=near, vmax=far,
                          interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if titles is not None and r == 1:
                ax.set_title(titles[v], fontsize=7, pad=2)
        axes[r, 0].set_ylabel(label, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return figs.save(fig, path)
