"""Train the fully visible sigmoid belief network on binarized mnist5k; report the exact test NLL and export.

    python recipes/fvsbn.py [--binarization dynamic|static] [--epochs 100] [--smoke] [--out DIR]
"""

from mpkeras.models import FVSBN
from mpkeras.train.autoregressive import binary_autoregressive_recipe


def make_model(args, data):
    return FVSBN(input_shape=data.extras["test_images"].shape[1:], seed=args.seed)


RECIPE = binary_autoregressive_recipe("fvsbn", make_model, epochs=100, batch_size=100, learning_rate=1e-3,
                                      patience=10, jit=False)

if __name__ == "__main__":
    RECIPE.main()
