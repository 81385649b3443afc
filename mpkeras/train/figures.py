"""PNG figures for run directories (matplotlib, headless)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mpkeras.atomic import atomic_write  # noqa: E402


def save(fig, path, dpi=80):
    """Saves ``fig`` as a PNG at ``path`` atomically and closes it; returns ``path``."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))
    plt.close(fig)
    return path


def tile(images, ncols, gap=1, fill=1.0):
    """Tiles (N, H, W) or (N, H, W, C) images row by row into one montage, ``gap`` pixels of ``fill`` apart.

    Returns an array (rows (H + gap) - gap, ncols (W + gap) - gap[, C]); cells after the N-th are ``fill``.
    """
    images = np.asarray(images, np.float32)
    n, h, w = images.shape[:3]
    nrows = int(np.ceil(n / ncols))
    cells = np.full((nrows * ncols, h + gap, w + gap, *images.shape[3:]), fill, np.float32)
    cells[:n, :h, :w] = images
    cells = cells.reshape(nrows, ncols, h + gap, w + gap, *images.shape[3:])
    montage = cells.swapaxes(1, 2).reshape(nrows * (h + gap), ncols * (w + gap), *images.shape[3:])
    return montage[:nrows * (h + gap) - gap, :ncols * (w + gap) - gap]


def image_grid(images, path, ncols=10, titles=None, row_labels=None, title=None, cmap="gray"):
    """Saves a grid of images, (N, H, W) or (N, H, W, C) in [0, 1], as one PNG.

    Without per-image ``titles`` the grid is drawn as one montage (:func:`tile`) in one axes: matplotlib's cost
    grows with the number of axes, and a sample grid of 64 axes cost a smoke run more than its training.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    figsize = (ncols * 0.9, nrows * 0.9 + (0.4 if title else 0))
    if titles is None:
        fig, ax = plt.subplots(figsize=figsize)
        ax.imshow(tile(np.clip(images, 0.0, 1.0), ncols), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if row_labels is not None:
            step = images.shape[1] + 1  # one row of cells and its gap
            ax.set_yticks([r * step + (step - 2) / 2 for r in range(len(row_labels))],
                          [str(label) for label in row_labels], fontsize=8)
            ax.tick_params(axis="y", length=0)
        if title:
            fig.suptitle(title, fontsize=10)
        return save(fig, path)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_title(str(titles[i]), fontsize=7, pad=2)
    if row_labels is not None:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)


def learning_curves(history, path, title=None):
    """Plots every metric of a ``keras.callbacks.History`` dict, train next to val."""
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    columns = max(len(names), 1)
    fig, axes = plt.subplots(1, columns, figsize=(3.2 * columns, 2.6), squeeze=False)
    if not names:  # no epoch trained in this process (e.g. a resumed run that had already finished)
        axes[0, 0].text(0.5, 0.5, "no epochs trained", ha="center", va="center")
        axes[0, 0].set_axis_off()
    for ax, name in zip(axes[0], names):
        ax.plot(history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(history[f"val_{name}"], label="val")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


# --- Latent-variable models (use only the exported-style methods) ---------
def decoded_images(out):
    """The images of a VAE's decode / reconstruct / sample output: Bernoulli probabilities or Gaussian means,
    clipped to [0, 1]."""
    return np.clip(np.asarray(out["probabilities"] if "probabilities" in out else out["mean"]), 0.0, 1.0)


def reconstructions(model, images, path, n=10):
    """Row 1: inputs; row 2: ``model.reconstruct`` (Bernoulli probabilities or Gaussian means)."""
    recon = decoded_images(model.reconstruct(images[:n]))
    return image_grid(np.concatenate([images[:n], recon]), path, ncols=n, row_labels=["input", "recon"],
                      title="reconstructions (posterior mean)")


def prior_samples(model, path, n=40, seed=(0, 1)):
    """Mean images E[x|z] for z ~ p(z), drawn with ``model.sample``."""
    out = model.sample(n, np.array(seed, np.int32))
    kind = "Bernoulli" if "probabilities" in out else "Gaussian"
    return image_grid(decoded_images(out), path, ncols=10, title=f"samples from the prior ({kind} means)")


def latent_traversals(model, image, path, dims=None, values=np.linspace(-3, 3, 9)):
    """One row per latent dimension: decode the posterior mean with that dimension swept over ``values``."""
    mean = np.asarray(model.encode(image[None])["mean"])[0]
    dims = range(len(mean)) if dims is None else dims
    codes = []
    for d in dims:
        for v in values:
            z = mean.copy()
            z[d] = v
            codes.append(z)
    decoded = decoded_images(model.decode(np.stack(codes).astype(np.float32)))
    return image_grid(decoded, path, ncols=len(values), row_labels=[f"z{d}" for d in dims],
                      title=f"latent traversals, z_d from {values[0]:g} to {values[-1]:g}")


def latent_map(model, images, labels, path, grid=15, span=3.0):
    """For a 2-D latent space: test codes coloured by label, and the decoded manifold."""
    means = np.asarray(model.encode(images)["mean"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.6))
    sc = ax1.scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=4)
    fig.colorbar(sc, ax=ax1, ticks=range(10))
    ax1.set_title("posterior means of test digits", fontsize=9)
    axis = np.linspace(-span, span, grid)
    zz = np.array([[x, y] for y in axis[::-1] for x in axis], np.float32)
    tiles = np.asarray(model.decode(zz)["probabilities"])[..., 0]
    h, w = tiles.shape[1:3]
    canvas = tiles.reshape(grid, grid, h, w).transpose(0, 2, 1, 3).reshape(grid * h, grid * w)
    ax2.imshow(canvas, cmap="gray", extent=[-span, span, -span, span])
    ax2.set_title("decoded z on a grid", fontsize=9)
    return save(fig, path)


# --- Segmentation -----------------------------------------------------------
def class_colors(num_classes, background=None):
    """RGB colours (K, 3) for class maps: tab10 / tab20 hues, black for the ``background`` class."""
    cmap = plt.get_cmap("tab10" if num_classes <= 11 else "tab20")
    colors = np.array([cmap(i % cmap.N)[:3] for i in range(num_classes)])
    if background is not None:
        others = [k for k in range(num_classes) if k != background]
        colors[others] = [cmap(i % cmap.N)[:3] for i in range(len(others))]
        colors[background] = 0.0
    return colors


def segmentation_panels(images, truth, prediction, path, class_names, background=None, title=None):
    """One column per example; rows: input, true class map, predicted class map, wrong pixels (white).

    Args:
        images: (N, H, W, C) in [0, 1] (C = 1 or 3).
        truth, prediction: (N, H, W) integer class maps.
        path: PNG path.
        class_names: names of the K classes, for the legend.
        background: index of the background class (drawn black), or None.
        title: figure title.
    """
    from matplotlib.patches import Patch  # noqa: PLC0415

    images, truth, prediction = np.asarray(images), np.asarray(truth), np.asarray(prediction)
    if images.shape[-1] == 1:
        images = images[..., 0]
    colors = class_colors(len(class_names), background)
    n = len(images)
    rows = ("input", "truth", "prediction", "errors")
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 1.1, len(rows) * 1.1 + 0.8), squeeze=False)
    for i in range(n):
        wrong = truth[i] != prediction[i]
        panels = (images[i], colors[truth[i]], colors[prediction[i]], wrong.astype(np.float32))
        for r, panel in enumerate(panels):
            ax = axes[r, i]
            ax.imshow(panel, cmap="gray" if panel.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[3, i].set_xlabel(f"{100 * (1 - wrong.mean()):.1f}% right", fontsize=7)
    for r, label in enumerate(rows):
        axes[r, 0].set_ylabel(label, fontsize=8)
    handles = [Patch(color=colors[k], label=name) for k, name in enumerate(class_names)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 11), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(bottom=0.13, top=0.9, wspace=0.05, hspace=0.08)
    return save(fig, path)


# --- 2-D classifiers --------------------------------------------------------
def decision_regions(panels, points, labels, path, title=None, resolution=200, margin=0.5):
    """Side-by-side decision regions of 2-D classifiers, with the labelled points on top.

    Args:
        panels: list of ``(title, predict)``; ``predict`` maps a float32 (N, 2)
            array to (N,) integer class ids (e.g. ``lambda g: model.predict_outputs(g)["class_id"]``).
        points: (M, 2) data points; the plotted square spans them plus ``margin``.
        labels: (M,) their integer classes.
        path: PNG path.
        title: figure title.
        resolution: grid points per axis.
        margin: extra space around the points.
    """
    points, labels = np.asarray(points, np.float32), np.asarray(labels).astype(int)
    lo, hi = points.min(0) - margin, points.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], -1).astype(np.float32)  # (resolution^2, 2)
    num_classes = int(max(labels.max(), 1)) + 1
    levels = np.arange(num_classes + 1) - 0.5
    cmap = plt.get_cmap("coolwarm", num_classes)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.4), squeeze=False)
    for ax, (panel_title, predict) in zip(axes[0], panels):
        regions = np.asarray(predict(grid)).reshape(gx.shape)
        ax.contourf(gx, gy, regions, levels=levels, cmap=cmap, alpha=0.35)
        ax.contour(gx, gy, regions, levels=levels[1:-1], colors="k", linewidths=0.8)
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=num_classes - 0.5, s=90,
                   edgecolors="k", linewidths=1.0, zorder=3)
        ax.set_title(panel_title, fontsize=9)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def bptt_study(model, images, path, scales=(0.5, 0.9, 1.0, 1.1, 1.5), steps=40, units=32):
    """The vanishing/exploding-gradient figure of a recurrent classifier's recipe.

    Left: ||d h_T / d h_k|| against T - k for an Elman cell and an LSTM cell
    whose recurrent matrix is s Q (Q orthogonal, so sigma_max = s) on zero
    inputs, where tanh' = 1 and the Elman factor is exactly s^(T-k). Right: the
    same factor in the trained model's first recurrent layer over the rows of
    test ``images`` (median and quartiles over the images).
    """
    from mpkeras.layers import ElmanCell, LSTMCell, state_jacobian_norms

    q = np.linalg.qr(np.random.default_rng(0).normal(size=(units, units)))[0].astype(np.float32)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(scales)))
    for scale, color in zip(scales, colors):
        for cls, style in ((ElmanCell, "-"), (LSTMCell, "--")):
            cell = cls(units)
            cell.build((1, 1))
            kernel = cell.recurrent_kernel
            kernel.assign(np.tile(scale * q, (1, kernel.shape[1] // units)))
            norms = state_jacobian_norms(cell, np.zeros((1, steps, 1), np.float32))[0]  # k = 0..T
            left.semilogy(np.arange(steps, -1, -1), norms, style, color=color,
                          label=f"{'Elman' if cls is ElmanCell else 'LSTM'}, sigma_max={scale}")
    left.set_xlabel("T - k (steps back in time)")
    left.set_ylabel("||d h_T / d h_k||")
    left.set_title("W_h = sigma_max Q, zero inputs (Elman: sigma_max^(T-k))", fontsize=9)
    left.legend(fontsize=6, ncol=2)

    h, w, c = model.input_shape
    x = (images - np.asarray(model.input_mean, np.float32)) / np.asarray(model.input_std, np.float32)
    rows = x.reshape(len(images), h, w * c).astype(np.float32)  # the sequence the model reads
    norms = state_jacobian_norms(model.recurrent[0].cell, rows)  # (N, H + 1)
    lag = np.arange(h, -1, -1)
    low, mid, high = np.percentile(norms, [25, 50, 75], axis=0)
    right.semilogy(lag, mid, color="C3", label="median")
    right.fill_between(lag, low, high, color="C3", alpha=0.3, label="quartiles")
    right.set_xlabel("T - k (rows back)")
    right.set_ylabel("||d h_T / d h_k||")
    right.set_title(f"trained {type(model).__name__} ({model.cell} cell), {len(images)} test images", fontsize=9)
    right.legend(fontsize=7)
    return save(fig, path)
