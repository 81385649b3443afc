"""Train the ConvLSTM next-frame predictor on moving_mnist5k (or TFDS moving_mnist) and export it.

    python recipes/convlstm.py [--dataset moving_mnist] [--epochs 3] [--filters 32] [--patch-size 4] [--smoke]

Data: one-step-ahead pairs (frames[:-1], frames[1:]) of 20-frame Moving MNIST
sequences (mpkeras.data.pipelines.next_frame). TFDS's moving_mnist has a test split
only (10,000 sequences): the recipe trains on its first 80%, validates on the next 10%
and tests on the last 10% (mpkeras.data.catalogue). The model takes the frame size and
channels from the data, and the rollout context defaults to half the sequence length.
Evaluation, in nats per pixel and
squared error per pixel, on the test split:

* ``test_bce`` / ``test_mse``: one-step predictions of frames 2..20, each from
  the true frames before it;
* ``copy_last_test_bce`` / ``copy_last_test_mse``: the copy-last-frame baseline, which
  predicts frame t+1 to be frame t, as probabilities clipped to
  [eps, 1 - eps] (``--baseline-eps``; a 0/1 guess would cost unbounded nats);
* ``test_rollout_*`` and ``copy_last_test_rollout_*``: the same for frames
  ``context+1..20`` predicted closed loop from the first ``context`` frames
  (the model feeds its own predictions back; the baseline repeats frame ``context``).

The BCE uses grey values as soft targets, so even a perfect prediction costs the
targets' entropy (> 0 at anti-aliased digit edges); compare numbers with each other.
"""

import numpy as np

from mpkeras import flags
from mpkeras.data import catalogue, pipelines
from mpkeras.errors import UsageError
from mpkeras.models import ConvLSTMPredictor
from mpkeras.train.recipe import Recipe


def add_arguments(p):
    p.add_argument("--filters", type=flags.int_tuple, default=(32,), help="channels of each ConvLSTM layer")
    p.add_argument("--kernel-size", type=flags.positive_int, default=3)
    p.add_argument("--patch-size", type=flags.positive_int, default=4,
                   help="side of the pixel patch one ConvLSTM cell stands for")
    p.add_argument("--patch-filters", type=flags.positive_int, default=16)
    p.add_argument("--train-sequences", type=flags.positive_int, default=None,
                   help="use only the first N train sequences")
    p.add_argument("--context", type=flags.positive_int, default=None,
                   help="true frames before the closed-loop rollout (default: half the sequence, 10 of 20)")
    p.add_argument("--baseline-eps", type=flags.float_range(0, 0.5, low_open=True, high_open=True), default=0.01,
                   help="clip of the copy-last-frame probabilities")


def rollout_context(args, num_frames):
    """The true frames before the closed-loop rollout: ``--context``, or half of the ``num_frames``-frame sequence.

    Raises:
        UsageError: the context leaves no frame to predict.
    """
    context = args.context or num_frames // 2
    if not 1 <= context < num_frames:
        raise UsageError(f"--context {context}: the sequences of {args.dataset} have {num_frames} frames, so the "
                         f"rollout has nothing to predict. Use a --context from 1 to {num_frames - 1}.")
    return context


def make_model(args, data):
    frames = data.extras["test_frames"]  # (N, T, H, W, C)
    rollout_context(args, frames.shape[1])  # refuse a bad --context before training
    return ConvLSTMPredictor(frame_shape=frames.shape[2:], filters=args.filters,
                             kernel_size=args.kernel_size, patch_size=args.patch_size,
                             patch_filters=args.patch_filters)


def _bce(target, probabilities, eps=1e-7):
    """Per-pixel binary cross-entropy in nats, summed (float64)."""
    p = np.clip(probabilities.astype(np.float64), eps, 1.0 - eps)
    t = target.astype(np.float64)
    return float(-(t * np.log(p) + (1.0 - t) * np.log1p(-p)).sum())


def _sq(target, prediction):
    return float(((target.astype(np.float64) - prediction) ** 2).sum())


def evaluate(model, data, args):
    import tensorflow as tf

    eps = args.baseline_eps
    test = data.test.take(2) if args.smoke else data.test
    sums = dict.fromkeys(("bce", "mse", "baseline_bce", "baseline_mse", "rollout_bce", "rollout_mse",
                          "baseline_rollout_bce", "baseline_rollout_mse"), 0.0)
    pixels = rollout_pixels = 0
    context = rollout_context(args, data.extras["test_frames"].shape[1])
    for x, y in test:  # x: frames 1..T-1, y: frames 2..T, each (B, T-1, H, W, C)
        x, y = x.numpy(), y.numpy()
        p = model.predict_frames(x)["next_frames"].numpy()
        copy = np.clip(x, eps, 1.0 - eps)
        sums["bce"] += _bce(y, p)
        sums["mse"] += _sq(y, p)
        sums["baseline_bce"] += _bce(y, copy)
        sums["baseline_mse"] += _sq(y, copy)
        pixels += y.size
        # Closed loop: frames context+1..T from frames 1..context.
        truth = y[:, context - 1:]  # frames context+1..T
        rolled = model.rollout(tf.constant(x[:, :context]), truth.shape[1])["frames"].numpy()
        repeat = np.repeat(copy[:, context - 1:context], truth.shape[1], axis=1)
        sums["rollout_bce"] += _bce(truth, rolled)
        sums["rollout_mse"] += _sq(truth, rolled)
        sums["baseline_rollout_bce"] += _bce(truth, repeat)
        sums["baseline_rollout_mse"] += _sq(truth, repeat)
        rollout_pixels += truth.size
    # test_bce, test_mse, ...; the baseline's as copy_last_test_bce, copy_last_test_mse, ...
    metrics = {(f"copy_last_test_{key[9:]}" if key.startswith("baseline_") else f"test_{key}"):
               total / (rollout_pixels if "rollout" in key else pixels) for key, total in sums.items()}
    metrics["parameters"] = int(model.count_params())
    metrics["rollout_context"] = context
    return metrics


def figures(model, data, args, fig_dir):
    from mpkeras.train import figures as figs

    frames = data.extras["test_frames"][:3]  # (3, T, H, W, 1)
    num_frames = frames.shape[1]
    c = rollout_context(args, num_frames)
    one_step = model.predict_frames(frames[:, :-1])["next_frames"].numpy()  # frames 2..T
    rolled = model.rollout(frames[:, :c], num_frames - c)["frames"].numpy()  # frames c+1..T
    rows, labels = [], []
    for i in range(len(frames)):
        rows += [frames[i, c:], one_step[i, c - 1:], rolled[i]]
        labels += [f"#{i} truth", "one step", "rollout"]
    titles = [f"t={t + 1}" for t in range(c, num_frames)] + [""] * (len(rows) - 1) * (num_frames - c)
    path = figs.image_grid(np.concatenate(rows), f"{fig_dir}/predictions.png", ncols=num_frames - c, titles=titles,
                           row_labels=labels,
                           title=f"ConvLSTM on {args.dataset} test sequences: frames {c + 1}..{num_frames} "
                                 f"(rollout from frames 1..{c})")
    return {"predictions": path}


RECIPE = Recipe(
    model="convlstm",
    make_data=pipelines.next_frame_data,
    make_model=make_model,
    evaluate=evaluate,
    figures=figures,
    add_arguments=add_arguments,
    datasets=catalogue.VIDEO,
    epochs=3,
    batch_size=16,
    learning_rate=3e-3,
    patience=0,
    schedule="cosine",
    jit=False,  # XLA made a ConvLSTM step ~40x slower on CPU (measured)
)

if __name__ == "__main__":
    RECIPE.main()
