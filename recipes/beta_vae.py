"""Train a beta-VAE (penalty or KL-constrained form) on binarized mnist5k and export it.

    python recipes/beta_vae.py [--beta 4] [--constraint kl --kl-threshold 15] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.data import catalogue, pipelines
from mpkeras.metrics import dataset_elbo, iwae_nll
from mpkeras.models import BetaVAE
from mpkeras.train import Recipe
from mpkeras.train import figures as figs


def add_arguments(p):
    p.add_argument("--latent-dim", type=flags.positive_int, default=10)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(512, 256))
    p.add_argument("--beta", type=flags.nonnegative_float, default=4.0)
    p.add_argument("--constraint", choices=("kl",), default=None, help="constrained form: KL <= --kl-threshold")
    p.add_argument("--kl-threshold", type=flags.nonnegative_float, default=15.0, help="delta, nats per example")
    pipelines.add_binarization_arguments(p)


def make_model(args, data):
    return BetaVAE(beta=args.beta, constraint=args.constraint, kl_threshold=args.kl_threshold,
                   input_shape=data.extras["test_images"].shape[1:], latent_dim=args.latent_dim,
                   hidden_units=args.hidden_units, seed=args.seed)


def evaluate(model, data, args):
    images = data.extras["test_images"]
    elbo = dataset_elbo(model, images)
    return {
        "test_kl_nats": elbo["kl"],
        "test_reconstruction_nats": elbo["reconstruction"],
        "test_elbo_nats": elbo["elbo"],
        "test_nll_nats": iwae_nll(model, images, num_samples=10 if args.smoke else args.iwae_samples),
        "lagrange_multiplier": float(model.lagrange_multiplier()),
    }


def figures(model, data, args, fig_dir):
    images = data.extras["test_images"]
    return {
        "latent_traversals": figs.latent_traversals(model, images[0], f"{fig_dir}/latent_traversals.png"),
        "reconstructions": figs.reconstructions(model, images, f"{fig_dir}/reconstructions.png"),
    }


RECIPE = Recipe(model="beta_vae", make_data=pipelines.binarized_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, datasets=catalogue.BINARY_IMAGES, epochs=150, batch_size=100, learning_rate=1e-3, patience=20,
                jit=False)  # benchmarks/train_throughput.py: XLA gives no speed-up for the VAE (0.96-0.98x)

if __name__ == "__main__":
    RECIPE.main()
