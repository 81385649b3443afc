"""Train the VAE on binarized mnist5k, report test NLL in nats, and export it.

    python recipes/vae.py [--latent-dim 16] [--prior mixture] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.data import catalogue, pipelines
from mpkeras.metrics import dataset_elbo, iwae_nll
from mpkeras.models import VAE
from mpkeras.train import Recipe
from mpkeras.train import figures as figs


def add_arguments(p):
    p.add_argument("--latent-dim", type=flags.positive_int, default=16)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(512, 256))
    p.add_argument("--prior", choices=("normal", "mixture"), default="normal")
    pipelines.add_binarization_arguments(p)


def make_model(args, data):
    return VAE(input_shape=data.extras["test_images"].shape[1:], latent_dim=args.latent_dim,
               hidden_units=args.hidden_units, prior=args.prior, seed=args.seed)


def evaluate(model, data, args):
    images = data.extras["test_images"]
    k = 10 if args.smoke else args.iwae_samples
    elbo = dataset_elbo(model, images)
    return {
        "test_nll_nats": iwae_nll(model, images, num_samples=k),
        "test_elbo_nats": elbo["elbo"],
        "test_kl_nats": elbo["kl"],
        "test_reconstruction_nats": elbo["reconstruction"],
        "iwae_samples": k,
    }


def figures(model, data, args, fig_dir):
    images, labels = data.extras["test_images"], data.extras["test_labels"]
    out = {
        "reconstructions": figs.reconstructions(model, images, f"{fig_dir}/reconstructions.png"),
        "samples": figs.prior_samples(model, f"{fig_dir}/samples.png"),
    }
    if model.latent_dim == 2:
        out["latent_map"] = figs.latent_map(model, images, labels, f"{fig_dir}/latent_map.png")
    return out


RECIPE = Recipe(model="vae", make_data=pipelines.binarized_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, datasets=catalogue.BINARY_IMAGES, epochs=150, batch_size=100, learning_rate=1e-3, patience=20,
                jit=False)  # benchmarks/train_throughput.py: XLA gives no speed-up for the VAE (0.96-0.98x)

if __name__ == "__main__":
    RECIPE.main()
