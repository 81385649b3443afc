"""Train the VAE on binarized mnist5k, report test NLL in nats, and export it.

    python recipes/vae.py [--latent-dim 16] [--prior mixture] [--smoke] [--out DIR]
"""

from mpkeras.data import pipelines
from mpkeras.metrics import dataset_elbo, iwae_nll
from mpkeras.models import VAE
from mpkeras.train import Data, Recipe
from mpkeras.train import figures as figs


def add_arguments(p):
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--hidden-units", type=lambda s: tuple(int(u) for u in s.split(",")), default=(512, 256))
    p.add_argument("--prior", choices=("normal", "mixture"), default="normal")
    p.add_argument("--binarization", choices=("dynamic", "static"), default="dynamic",
                   help="of the train split; val/test are always statically binarized")
    p.add_argument("--iwae-samples", type=int, default=1000, help="k of the importance-sampled test NLL")


def make_data(args):
    train, val, test, test_images, test_labels = pipelines.binarized_images(args, args.binarization)
    card = pipelines.card(args, binarization={"train": args.binarization, "val": "static", "test": "static"})
    return Data(train, val, test, card, extras={"test_images": test_images, "test_labels": test_labels})


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


RECIPE = Recipe(model="vae", make_data=make_data, make_model=make_model, evaluate=evaluate, figures=figures,
                add_arguments=add_arguments, epochs=150, batch_size=100, learning_rate=1e-3, patience=20)

if __name__ == "__main__":
    RECIPE.main()
