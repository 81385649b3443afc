"""Train a denoising autoencoder on mnist5k; report the test MSE of corrupted vs denoised digits.

    python recipes/denoising_ae.py [--corruption gaussian|salt_and_pepper] [--noise-level 0.5] [--smoke] [--out DIR]
"""

import numpy as np

from mpkeras import flags
from mpkeras.models import DenoisingAutoencoder
from mpkeras.train import autoencoders as ae
from mpkeras.train import figures as figs

TEST_SEED = np.array([2008, 7], np.int32)  # fixed test corruption, whatever the run's seed


def add_arguments(p):
    ae.add_image_arguments(p, code_dim=1000, hidden_units=(0,))
    p.add_argument("--corruption", choices=("gaussian", "salt_and_pepper"), default="gaussian")
    p.add_argument("--noise-level", type=flags.nonnegative_float, default=0.5,
                   help="Gaussian stddev or salt-and-pepper fraction")


def make_model(args, data):
    return DenoisingAutoencoder(input_shape=data.extras["test_images"].shape[1:], corruption=args.corruption,
                                noise_level=args.noise_level, code_dim=args.code_dim, hidden_units=ae.hidden(args),
                                reconstruction_loss=args.reconstruction_loss, seed=args.seed)


def corrupted_and_denoised(model, images):
    corrupted = np.asarray(model.corrupt(images, TEST_SEED)["corrupted"])
    return corrupted, ae.predict(model.reconstruct, corrupted, "reconstruction")


def evaluate(model, data, args):
    images = data.extras["test_images"]
    corrupted, denoised = corrupted_and_denoised(model, images)
    return {"test_corrupted_mse": float(np.mean((corrupted - images) ** 2)),
            "test_denoised_mse": float(np.mean((np.clip(denoised, 0, 1) - images) ** 2))}


def figures(model, data, args, fig_dir):
    images = data.extras["test_images"][:10]
    corrupted, denoised = corrupted_and_denoised(model, images)
    return {"denoising": figs.image_grid(np.concatenate([images, corrupted, np.clip(denoised, 0, 1)]),
                                         f"{fig_dir}/denoising.png", row_labels=["clean", "corrupted", "denoised"],
                                         title=f"denoising ({model.corruption}, {model.noise_level:g})")}


RECIPE = ae.image_recipe("denoising_ae", make_model, add_arguments, evaluate=evaluate, figures=figures, epochs=40,
                         batch_size=100, learning_rate=1e-3, patience=10)

if __name__ == "__main__":
    RECIPE.main()
