"""Train learned gradient descent for SMPL-format joint fitting on the generated body; compare with plain GD.

    python recipes/smpl.py [--fit-steps 20] [--model-path SMPL_NEUTRAL.npz] [--smoke] [--out DIR]

Episodes: target joints of random bodies (betas ~ N(0, 1), joint rotations ~ N(0, 0.3^2) rad per axis-angle
component, root 0.2). The metric is the mean per-joint error (mm) after N fitting steps from the mean body.
"""

import numpy as np
import tensorflow as tf

from mpkeras import flags
from mpkeras.errors import UsageError
from mpkeras.train import Recipe
from mpkeras.train.recipe import Data

PLAIN_GD_RATES = (0.5, 0.75, 1.0, 1.25, 1.5)  # plain GD is reported at its best step size on the test set


def add_arguments(p):
    p.add_argument("--model-path", type=flags.existing_file, default=None,
                   help="SMPL/MANO-format .npz (default: the generated body)")
    p.add_argument("--fit-steps", type=flags.positive_int, default=20)
    p.add_argument("--fit-learning-rate", type=flags.positive_float, default=1.0)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(128, 128))
    p.add_argument("--num-train", type=flags.positive_int, default=4096)


def _model(args):
    from mpkeras.models.body import SMPL

    return SMPL(model_path=args.model_path, fit_steps=args.fit_steps, fit_learning_rate=args.fit_learning_rate,
                hidden_units=args.hidden_units)


def make_data(args):
    from mpkeras.models.body import sample_bodies

    if args.dataset != "generated_body":
        raise UsageError(f"The smpl recipe fits generated bodies of its model file; --dataset {args.dataset!r} is "
                         "not offered. Use --dataset generated_body and --model-path for another SMPL/MANO file.")
    body = _model(args)
    n_train, n_eval = (64, 32) if args.smoke else (args.num_train, 512)
    splits = {name: sample_bodies(body, n, seed=args.seed * 10 + i)
              for i, (name, n) in enumerate((("train", n_train), ("val", n_eval), ("test", n_eval)))}
    batch = lambda s: tf.data.Dataset.from_tensor_slices(s["joints"]).batch(args.batch_size)  # noqa: E731
    train = tf.data.Dataset.from_tensor_slices(splits["train"]["joints"]).shuffle(n_train, seed=args.seed)
    card = {"dataset": "generated_body", "model_path": args.model_path or "mpkeras.data.body_model (generated)",
            "splits": {k: len(v["joints"]) for k, v in splits.items()},
            "sampling": "betas ~ N(0,1); pose ~ N(0, 0.3^2) per axis-angle component, root N(0, 0.2^2)"}
    return Data(train=train.batch(args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE),
                val=batch(splits["val"]), test=batch(splits["test"]), card=card, extras={"test": splits["test"]})


def make_model(args, data):
    return _model(args)


def _error_curve(model, targets, learned, rate=None):
    """Mean per-joint error (mm) after 0..N steps of one N-step trajectory."""
    saved = model.fit_learning_rate
    if rate is not None:
        model.fit_learning_rate = rate
    curve = [1000 * float(np.mean(model.fit_joints(targets, learned=learned, num_steps=n)["error"]))
             for n in range(model.fit_steps + 1)]
    model.fit_learning_rate = saved
    return curve


def evaluate(model, data, args):
    targets = tf.constant(data.extras["test"]["joints"])
    learned = 1000 * float(np.mean(model.fit_joints(targets, learned=True)["error"]))
    plain = {r: 1000 * float(np.mean(_plain(model, targets, r))) for r in PLAIN_GD_RATES}
    best = min(plain, key=plain.get)
    return {"learned_gd_joint_error_mm": learned, "plain_gd_joint_error_mm": plain[best], "plain_gd_best_rate": best,
            "plain_gd_error_at_default_rate_mm": plain.get(args.fit_learning_rate, float("nan")),
            "fit_steps": model.fit_steps}


def _plain(model, targets, rate):
    saved = model.fit_learning_rate
    model.fit_learning_rate = rate
    error = model.fit_joints(targets, learned=False)["error"]
    model.fit_learning_rate = saved
    return error


def figures(model, data, args, fig_dir):
    from mpkeras.train import figures as figs

    plt = figs.plt

    test = data.extras["test"]
    targets = tf.constant(test["joints"][:128])
    fig, (ax, ax3) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [1.2, 1]})
    ax3.remove()
    for rate in (args.fit_learning_rate, max(PLAIN_GD_RATES)):
        ax.plot(_error_curve(model, targets, False, rate), label=f"plain GD (eta={rate})")
    ax.plot(_error_curve(model, targets, True), label="learned GD", lw=2)
    ax.set(xlabel="fitting step", ylabel="mean per-joint error (mm)", yscale="log", title="Fitting 24 joints")
    ax.legend()
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    out = model.forward(test["betas"][:1], test["pose"][:1])
    v, j = out["vertices"].numpy()[0], out["joints"].numpy()[0]
    ax3.plot_trisurf(v[:, 0], v[:, 2], v[:, 1], triangles=model.faces, color="lightsteelblue", alpha=0.6, lw=0.1)
    ax3.scatter(j[:, 0], j[:, 2], j[:, 1], c="crimson", s=12)
    for k, p in enumerate(model.parents):
        if p >= 0:
            ax3.plot(*zip(j[p][[0, 2, 1]], j[k][[0, 2, 1]]), c="crimson", lw=1)
    ax3.set(xlim=(-0.9, 0.9), ylim=(-0.9, 0.9), zlim=(0, 1.8), title="a posed test body")
    ax3.set_box_aspect((1, 1, 1))
    path = f"{fig_dir}/fitting.png"
    figs.save(fig, path)
    return {"fitting": path}


RECIPE = Recipe(model="smpl", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=30, batch_size=64, learning_rate=1e-3, patience=5, jit=False)

if __name__ == "__main__":
    RECIPE.main()
