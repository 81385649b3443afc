"""Train a beta-VAE (penalty or KL-constrained form) on binarized mnist5k or on 8-bit colour photographs, and
export it.

    python recipes/beta_vae.py [--beta 4] [--constraint kl --kl-threshold 15] [--smoke] [--out DIR]
    python recipes/beta_vae.py --dataset photos32    # Gaussian likelihood of y = (k + u) / 256

The likelihood, data and evaluation follow :mod:`mpkeras.train.vae` (colour photographs select
``--likelihood gaussian``).
"""

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.models import BetaVAE
from mpkeras.train import Recipe
from mpkeras.train import figures as figs
from mpkeras.train import vae as kit


def add_arguments(p):
    kit.add_model_arguments(p, latent_dim=10)
    p.add_argument("--beta", type=flags.nonnegative_float, default=4.0)
    p.add_argument("--constraint", choices=("kl",), default=None, help="constrained form: KL <= --kl-threshold")
    p.add_argument("--kl-threshold", type=flags.nonnegative_float, default=15.0, help="delta, nats per example")
    kit.add_likelihood_arguments(p)


def make_model(args, data):
    return BetaVAE(beta=args.beta, constraint=args.constraint, kl_threshold=args.kl_threshold,
                   input_shape=data.extras["test_images"].shape[1:], latent_dim=args.latent_dim,
                   hidden_units=args.hidden_units, likelihood=args.likelihood, conv_filters=args.conv_filters,
                   seed=args.seed)


def evaluate(model, data, args):
    return {**kit.likelihood_metrics(model, data, args), "lagrange_multiplier": float(model.lagrange_multiplier())}


def figures(model, data, args, fig_dir):
    images = data.extras["test_images"]
    return {
        "latent_traversals": figs.latent_traversals(model, images[0], f"{fig_dir}/latent_traversals.png"),
        "reconstructions": figs.reconstructions(model, images, f"{fig_dir}/reconstructions.png"),
    }


RECIPE = Recipe(model="beta_vae", make_data=kit.vae_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, dataset_defaults=kit.likelihood_defaults,
                datasets=catalogue.BINARY_IMAGES + catalogue.COLOUR_IMAGES, epochs=150, batch_size=100,
                learning_rate=1e-3, patience=20,
                jit=False)  # benchmarks/train_throughput.py: XLA gives no speed-up for the VAE (0.96-0.98x)

if __name__ == "__main__":
    RECIPE.main()
