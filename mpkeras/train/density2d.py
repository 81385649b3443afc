"""Shared recipe code of density models on 2-D points (two moons): data, test NLL, and the density figure."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from mpkeras.data import load
from mpkeras.data.pipelines import TEST, TRAIN, VAL, _batch, card
from mpkeras.errors import UsageError
from mpkeras.train.errors import NonFiniteDataError

tfd = tfp.distributions


def _points(args, split):
    """(N, 2) float32 points and (N,) labels of a split, checked for NaNs."""
    ds = load(args.dataset, split, data_dir=args.data_dir)
    if len(ds.element_spec[0].shape) != 1 or ds.element_spec[0].shape[0] != 2:
        raise UsageError(f"Dataset {args.dataset!r} yields {ds.element_spec[0]}, not 2-D points; use a dataset of "
                         "(point (2,), label) pairs such as two_moons.")
    points, labels = (np.stack(a) for a in zip(*ds.as_numpy_iterator()))
    if not np.all(np.isfinite(points)):
        raise NonFiniteDataError(f"Dataset {args.dataset!r}, split {split!r}: non-finite coordinates.")
    return points.astype(np.float32), labels


def points_data(args):
    """``Data`` of 2-D points: batches of (B, 2) float32; train is the first 90% of ``train``."""
    from mpkeras.train.recipe import Data

    arrays = {name: _points(args, split) for name, split in (("train", TRAIN), ("val", VAL), ("test", TEST))}
    if args.smoke:  # a few batches end to end
        arrays = {k: (p[:4 * args.batch_size], y[:4 * args.batch_size]) for k, (p, y) in arrays.items()}
    train, val, test = (_batch(tf.data.Dataset.from_tensor_slices(arrays[k][0]).cache(), args, train=k == "train")
                        for k in ("train", "val", "test"))
    extras = {"train_points": arrays["train"][0], "test_points": arrays["test"][0], "test_labels": arrays["test"][1]}
    return Data(train, val, test, card(args, points="2-D float32, as generated"), extras=extras)


def gaussian_nll(train_points, test_points):
    """Mean test NLL (nats) of the maximum-likelihood full-covariance Gaussian fitted to the train points."""
    train_points = train_points.astype(np.float64)
    mean = train_points.mean(axis=0)
    cov = np.cov(train_points, rowvar=False, bias=True)
    gaussian = tfd.MultivariateNormalTriL(loc=mean, scale_tril=np.linalg.cholesky(cov))
    return float(-tf.reduce_mean(gaussian.log_prob(test_points.astype(np.float64))))


def test_nll(model, points, batch_size=1000):
    """Mean -log p(x) in nats over ``points`` (N, 2), from the model's ``log_prob``."""
    log_prob = [model.log_prob(points[i:i + batch_size])["log_prob"] for i in range(0, len(points), batch_size)]
    return float(-np.mean(np.concatenate([np.asarray(lp) for lp in log_prob])))


def evaluate(model, data, args):
    points = data.extras["test_points"]
    return {"test_nll_nats": test_nll(model, points),
            "gaussian_test_nll_nats": gaussian_nll(data.extras["train_points"], points)}


def density_figure(model, data, path, grid=200, num_samples=2000, seed=(0, 1)):
    """Three panels: test points, the model's density exp(log_prob) on a grid, and model samples."""
    from mpkeras.train import figures

    plt = figures.plt
    points = data.extras["test_points"]
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs, ys = np.linspace(low[0], high[0], grid), np.linspace(low[1], high[1], grid)
    mesh = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    log_prob = np.concatenate([np.asarray(model.log_prob(mesh[i:i + 10_000])["log_prob"])
                               for i in range(0, len(mesh), 10_000)])
    samples = np.asarray(model.sample(num_samples, np.array(seed, np.int32))[model.data_key])
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2), sharex=True, sharey=True)
    axes[0].scatter(points[:, 0], points[:, 1], s=2, c=data.extras["test_labels"], cmap="coolwarm")
    axes[0].set_title("test data", fontsize=9)
    axes[1].contourf(xs, ys, np.exp(log_prob).reshape(grid, grid), levels=30, cmap="viridis")
    axes[1].set_title("model density p(x)", fontsize=9)
    axes[2].scatter(samples[:, 0], samples[:, 1], s=2, c="k")
    axes[2].set_title(f"{num_samples} model samples", fontsize=9)
    for ax in axes:
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return figures.save(fig, path)
