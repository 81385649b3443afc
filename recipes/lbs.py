"""Learn LBS skinning weights from posed examples of the generated body (or an SMPL/MANO-format file).

    python recipes/lbs.py [--model-path SMPL_NEUTRAL.npz] [--smoke] [--out DIR]

Examples: random poses (N(0, 0.3^2) per axis-angle component, root 0.2) of the body at its mean shape, posed
by the full SMPL forward model (so the targets include the pose correctives that plain LBS cannot express).
Reports the test vertex error (mm) and the skinning-weight error against the file's own weights.
"""

import numpy as np
import tensorflow as tf

from mpkeras import flags
from mpkeras.errors import UsageError
from mpkeras.train.recipe import Data, Recipe


def add_arguments(p):
    p.add_argument("--model-path", type=flags.existing_file, default=None,
                   help="SMPL/MANO-format .npz (default: the generated body)")
    p.add_argument("--num-train", type=flags.positive_int, default=2048)


def make_data(args):
    from mpkeras.models.body import SMPL, sample_bodies

    if args.dataset != "generated_body":
        raise UsageError(f"The lbs recipe learns from posed examples of its model file; --dataset {args.dataset!r} "
                         "is not offered. Use --dataset generated_body and --model-path for another SMPL/MANO file.")
    body = SMPL(model_path=args.model_path, hidden_units=(4,))
    n_train, n_eval = (64, 32) if args.smoke else (args.num_train, 256)
    splits = {}
    for i, (name, n) in enumerate((("train", n_train), ("val", n_eval), ("test", n_eval))):
        pose = sample_bodies(body, n, seed=args.seed * 10 + i)["pose"]
        splits[name] = (pose, body.forward(np.zeros((n, body.betas_dim), np.float32), pose)["vertices"].numpy())
    ds = lambda s: tf.data.Dataset.from_tensor_slices(s)  # noqa: E731
    card = {"dataset": "generated_body", "model_path": args.model_path or "mpkeras.data.body_model (generated)",
            "splits": {k: len(v[0]) for k, v in splits.items()},
            "sampling": "mean shape; pose ~ N(0, 0.3^2) per axis-angle component, root N(0, 0.2^2)"}
    return Data(train=ds(splits["train"]).shuffle(n_train, seed=args.seed).batch(args.batch_size, drop_remainder=True),
                val=ds(splits["val"]).batch(args.batch_size), test=ds(splits["test"]).batch(args.batch_size),
                card=card, extras={"test": splits["test"], "true_weights": body.skinning_weights.numpy()})


def make_model(args, data):
    from mpkeras.models.body import LBS

    return LBS(model_path=args.model_path)


def _vertex_error_mm(model, pose, vertices, weights=None):
    if weights is not None:
        saved = model.weight_logits.numpy()
        model.weight_logits.assign(np.log(np.maximum(weights, 1e-9)))
    error = 1000 * float(np.mean(np.linalg.norm(model(pose).numpy() - vertices, axis=-1)))
    if weights is not None:
        model.weight_logits.assign(saved)
    return error


def evaluate(model, data, args):
    pose, vertices = data.extras["test"]
    truth = data.extras["true_weights"]
    learned = model.skinning_weights().numpy()
    uniform = np.full_like(truth, 1.0 / truth.shape[1])
    return {
        "test_vertex_error_mm": _vertex_error_mm(model, pose, vertices),
        "uniform_weights_vertex_error_mm": _vertex_error_mm(model, pose, vertices, uniform),
        "true_weights_vertex_error_mm": _vertex_error_mm(model, pose, vertices, truth),  # floor: no pose correctives
        "weight_mean_abs_error": float(np.mean(np.abs(learned - truth))),
        "weight_rows_sum_max_deviation": float(np.max(np.abs(learned.sum(1) - 1))),
    }


def figures(model, data, args, fig_dir):
    from mpkeras.models.body import body_arrays
    from mpkeras.train import figures as figs

    plt = figs.plt
    pose, vertices = data.extras["test"]
    faces = body_arrays(args.model_path)["f"]  # (F, 3)
    fig = plt.figure(figsize=(10, 4.5))
    panels = (("target (SMPL forward)", vertices[0]), ("learned LBS", model(pose[:1]).numpy()[0]))
    for i, (title, v) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1, projection="3d")
        ax.plot_trisurf(v[:, 0], v[:, 2], v[:, 1], triangles=faces, color="lightsteelblue", alpha=0.7, lw=0.1)
        ax.set(xlim=(-0.9, 0.9), ylim=(-0.9, 0.9), zlim=(0, 1.8), title=title)
    ax = fig.add_subplot(1, 3, 3)
    ax.imshow(model.skinning_weights().numpy()[::4].T, aspect="auto", cmap="viridis")
    ax.set(xlabel="vertex / 4", ylabel="joint", title="learned skinning weights")
    path = f"{fig_dir}/lbs.png"
    figs.save(fig, path)
    return {"lbs": path}


RECIPE = Recipe(model="lbs", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=40, batch_size=64, learning_rate=0.05, patience=5, jit=False)

if __name__ == "__main__":
    RECIPE.main()
