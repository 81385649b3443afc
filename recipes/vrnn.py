"""Train the VRNN on binarized mnist5k digits read as 28 rows of 28 pixels; report the test ELBO and the
importance-sampled bound in nats per digit, and export.

    python recipes/vrnn.py [--latent-dim 16] [--units 256] [--feature-units 128] [--cell lstm|gru]
                           [--iwae-samples 100] [--epochs N] [--smoke] [--out DIR]
"""

from mpkeras.models import VRNN
from mpkeras.train.vrnn import evaluate_vrnn, vrnn_recipe


def add_arguments(p):
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--feature-units", type=int, default=128)
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm")


def make_model(args, data):
    return VRNN(input_shape=data.extras["test_sequences"].shape[1:], latent_dim=args.latent_dim, units=args.units,
                feature_units=args.feature_units, cell=args.cell, seed=args.seed)


RECIPE = vrnn_recipe("vrnn", make_model, evaluate_vrnn, add_arguments, epochs=60, batch_size=64, learning_rate=2e-3,
                     schedule="cosine", patience=0, clip_norm=5.0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
