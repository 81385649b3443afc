"""Train the class-conditional VRNN on binarized mnist5k row sequences with their digit labels; report the test
ELBO and the importance-sampled bound of log p(x | y) in nats per digit, draw digits of each class, and export.

    python recipes/cvrnn.py [--latent-dim 16] [--units 256] [--feature-units 128] [--cell lstm|gru]
                            [--iwae-samples 100] [--epochs N] [--smoke] [--out DIR]
"""

from mpkeras.models import CVRNN
from mpkeras.train.vrnn import add_vrnn_arguments, evaluate_vrnn, vrnn_kwargs, vrnn_recipe


def add_arguments(p):
    add_vrnn_arguments(p)
    p.set_defaults(conditional=True)  # {"sequences", "labels"} batches


def make_model(args, data):
    return CVRNN(num_classes=10, **vrnn_kwargs(args, data))


RECIPE = vrnn_recipe("cvrnn", make_model, evaluate_vrnn, add_arguments, epochs=60, batch_size=64, learning_rate=2e-3,
                     schedule="cosine", patience=0, clip_norm=5.0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
