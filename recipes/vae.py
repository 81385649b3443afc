"""Train the VAE on binarized mnist5k (Bernoulli) or on 8-bit colour photographs (Gaussian), report test NLL, and
export it.

    python recipes/vae.py [--latent-dim 16] [--prior mixture] [--smoke] [--out DIR]
    python recipes/vae.py --dataset photos32       # Gaussian likelihood of y = (k + u) / 256; nats and bits/dim

Colour photographs (photos32, cifar10, downsampled_imagenet/32x32) select ``--likelihood gaussian`` and the
defaults of :data:`mpkeras.train.vae.COLOUR_DEFAULTS`; ``--likelihood gaussian`` on mnist5k / mnist models its
dequantized 8-bit digits. See :mod:`mpkeras.train.vae`.
"""

from mpkeras.data import catalogue
from mpkeras.models import VAE
from mpkeras.train import Recipe
from mpkeras.train import figures as figs
from mpkeras.train import vae as kit


def add_arguments(p):
    kit.add_model_arguments(p, latent_dim=16)
    p.add_argument("--prior", choices=("normal", "mixture"), default="normal")
    kit.add_likelihood_arguments(p)


def make_model(args, data):
    return VAE(input_shape=data.extras["test_images"].shape[1:], latent_dim=args.latent_dim,
               hidden_units=args.hidden_units, prior=args.prior, likelihood=args.likelihood,
               conv_filters=args.conv_filters, seed=args.seed)


def figures(model, data, args, fig_dir):
    images = data.extras["test_images"]
    out = {
        "reconstructions": figs.reconstructions(model, images, f"{fig_dir}/reconstructions.png"),
        "samples": figs.prior_samples(model, f"{fig_dir}/samples.png"),
    }
    if model.latent_dim == 2 and "test_labels" in data.extras:
        out["latent_map"] = figs.latent_map(model, images, data.extras["test_labels"], f"{fig_dir}/latent_map.png")
    return out


RECIPE = Recipe(model="vae", make_data=kit.vae_data, make_model=make_model, evaluate=kit.likelihood_metrics,
                figures=figures, add_arguments=add_arguments, dataset_defaults=kit.likelihood_defaults,
                datasets=catalogue.BINARY_IMAGES + catalogue.COLOUR_IMAGES, epochs=150, batch_size=100,
                learning_rate=1e-3, patience=20,
                jit=False)  # benchmarks/train_throughput.py: XLA gives no speed-up for the VAE (0.96-0.98x)

if __name__ == "__main__":
    RECIPE.main()
