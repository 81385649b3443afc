"""PNG figures for run directories (matplotlib, headless)."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path, dpi=80):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}.png"
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def image_grid(images, path, ncols=10, titles=None, row_labels=None, title=None, cmap="gray"):
    """Saves a grid of images, (N, H, W) or (N, H, W, C) in [0, 1], as one PNG."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 0.9 + (0.4 if title else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            if titles is not None:
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
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6), squeeze=False)
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
def reconstructions(model, images, path, n=10):
    """Row 1: inputs; row 2: ``model.reconstruct`` probabilities."""
    recon = np.asarray(model.reconstruct(images[:n])["probabilities"])
    return image_grid(np.concatenate([images[:n], recon]), path, ncols=n, row_labels=["input", "recon"],
                      title="reconstructions (posterior mean)")


def prior_samples(model, path, n=40, seed=(0, 1)):
    """Mean images p(x|z) for z ~ p(z), drawn with ``model.sample``."""
    out = model.sample(n, np.array(seed, np.int32))
    return image_grid(np.asarray(out["probabilities"]), path, ncols=10, title="samples from the prior (Bernoulli means)")


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
    decoded = np.asarray(model.decode(np.stack(codes).astype(np.float32))["probabilities"])
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
