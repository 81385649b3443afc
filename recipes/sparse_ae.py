"""Train a sparse autoencoder on mnist5k; report the fraction of active code units and the test error.

    python recipes/sparse_ae.py [--penalty kl|l1] [--sparsity-weight 3] [--sparsity-target 0.05] [--smoke] [--out DIR]
"""

import numpy as np

from mpkeras import flags
from mpkeras.models import SparseAutoencoder
from mpkeras.train import autoencoders as ae
from mpkeras.train import figures as figs

ACTIVE = 0.1  # a code unit counts as active when z_j > 0.1


def add_arguments(p):
    ae.add_image_arguments(p, code_dim=256, hidden_units=(0,))
    p.add_argument("--penalty", choices=("kl", "l1"), default="kl")
    p.add_argument("--sparsity-weight", type=flags.nonnegative_float, default=3.0)
    p.add_argument("--sparsity-target", type=flags.float_range(0, 1, low_open=True, high_open=True), default=0.05)


def make_model(args, data):
    return SparseAutoencoder(input_shape=data.extras["test_images"].shape[1:], penalty=args.penalty,
                             sparsity_weight=args.sparsity_weight, sparsity_target=args.sparsity_target,
                             code_dim=args.code_dim, hidden_units=ae.hidden(args),
                             reconstruction_loss=args.reconstruction_loss, seed=args.seed)


def evaluate(model, data, args):
    codes = ae.predict(model.encode, data.extras["test_images"], "code")
    return {"test_active_fraction": float(np.mean(codes > ACTIVE)), "test_mean_activation": float(np.mean(codes)),
            "active_threshold": ACTIVE}


def figures(model, data, args, fig_dir):
    """The decoder's weight vectors of the first units: what each code unit draws."""
    if model.hidden_units:
        return {}
    kernel = np.asarray(model.decoder.layers[0].kernel)[:50]  # (units, pixels)
    return {"features": figs.image_grid(ae.scaled(kernel.reshape(-1, *model.input_shape)), f"{fig_dir}/features.png",
                                        title="decoder weights of 50 code units (each scaled to [0, 1])")}


RECIPE = ae.image_recipe("sparse_ae", make_model, add_arguments, evaluate=evaluate, figures=figures, epochs=40,
                         batch_size=100, learning_rate=1e-3, patience=10)

if __name__ == "__main__":
    RECIPE.main()
