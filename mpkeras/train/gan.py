"""Shared recipe code of the GANs on 2-D points (ring8): flags, optimizers, mode coverage and the sample figure."""

import numpy as np
from mpkeras import flags
from mpkeras.train.density2d import points_data  # noqa: F401  (re-exported for the recipes)

NUM_SAMPLES = 2500  # samples scored by mode_coverage, as in Srivastava et al. 2017


def add_arguments(p, latent_dim=8, beta_1=0.5, beta_2=0.999, discriminator_steps=1):
    p.add_argument("--latent-dim", type=flags.positive_int, default=latent_dim)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(128, 128, 128))
    p.add_argument("--discriminator-steps", type=flags.positive_int, default=discriminator_steps,
                   help="discriminator (critic) updates per generator update")
    p.add_argument("--beta-1", type=flags.rate, default=beta_1, help="Adam beta_1 of both networks")
    p.add_argument("--beta-2", type=flags.rate, default=beta_2, help="Adam beta_2 of both networks")


def compile_kwargs(args):
    """One Adam(--learning-rate, --beta-1, --beta-2) per network; Keras's own optimizer is unused by GANs."""
    import keras

    def adam():
        return keras.optimizers.Adam(args.learning_rate, beta_1=args.beta_1, beta_2=args.beta_2)

    return {"generator_optimizer": adam(), "discriminator_optimizer": adam()}


def model_kwargs(args, data):
    return dict(input_shape=data.extras["test_points"].shape[1:], latent_dim=args.latent_dim,
                hidden_units=args.hidden_units, discriminator_steps=args.discriminator_steps, seed=args.seed)


def samples(model, args, num_samples=NUM_SAMPLES):
    return np.asarray(model.sample(num_samples, np.array([args.seed, 1], np.int32))["samples"])


def evaluate(model, data, args):
    """Modes covered and high-quality fraction of 2,500 samples (ring8), plus the mean test discriminator loss."""
    from mpkeras.data.embedded import Ring8
    from mpkeras.metrics.sample_quality import mode_coverage

    metrics = {"test_d_loss": model.evaluate(data.test, verbose=0, return_dict=True)["d_loss"]}
    if args.dataset != "ring8":
        return metrics
    coverage = mode_coverage(samples(model, args), Ring8.centers(), Ring8.STD)
    return {"modes_covered": coverage["modes_covered"], "high_quality_fraction": coverage["high_quality_fraction"],
            "num_samples": NUM_SAMPLES, **metrics}


def figures(model, data, args, fig_dir):
    """Model samples (dots) over the test points (or ring8's centers, crosses)."""
    import os

    from mpkeras.data.embedded import Ring8
    from mpkeras.train import figures as figs

    plt = figs.plt
    x = samples(model, args)
    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    if args.dataset == "ring8":
        centers = Ring8.centers()
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=60, c="tab:red", label="ring8 centers", zorder=3)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    else:
        test = data.extras["test_points"]
        ax.scatter(test[:, 0], test[:, 1], s=2, c="tab:red", label="test points")
    ax.scatter(x[:, 0], x[:, 1], s=2, c="k", alpha=0.4, label=f"{len(x)} samples")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"{type(model).__name__}: samples, seed {args.seed}", fontsize=9)
    ax.tick_params(labelsize=7)
    return {"samples": figs.save(fig, os.path.join(fig_dir, "samples.png"))}
