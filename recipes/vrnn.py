"""Train the VRNN on binarized mnist5k digits read as 28 rows of 28 pixels; report the test ELBO and the
importance-sampled bound in nats per digit, and export.

    python recipes/vrnn.py [--latent-dim 16] [--units 256] [--feature-units 128] [--cell lstm|gru]
                           [--iwae-samples 100] [--epochs N] [--smoke] [--out DIR]
"""

from mpkeras.models import VRNN
from mpkeras.train.vrnn import add_vrnn_arguments, evaluate_vrnn, vrnn_kwargs, vrnn_recipe


def make_model(args, data):
    return VRNN(**vrnn_kwargs(args, data))


RECIPE = vrnn_recipe("vrnn", make_model, evaluate_vrnn, add_vrnn_arguments, epochs=60, batch_size=64,
                     learning_rate=2e-3, schedule="cosine", patience=0, clip_norm=5.0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
