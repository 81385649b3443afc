"""Train a deep autoencoder on mnist5k and report test reconstruction error.

    python recipes/autoencoder.py [--code-dim 32] [--hidden-units 512,256] [--reconstruction-loss bernoulli]
                                  [--smoke] [--out DIR]

``--code-dim 2`` also draws the codes of the test digits coloured by class.
"""

from mpkeras.models import Autoencoder
from mpkeras.train import autoencoders as ae


def make_model(args, data):
    return Autoencoder(input_shape=data.extras["test_images"].shape[1:], code_dim=args.code_dim,
                       hidden_units=ae.hidden(args), reconstruction_loss=args.reconstruction_loss, seed=args.seed)


RECIPE = ae.image_recipe("autoencoder", make_model, ae.add_image_arguments, epochs=60, batch_size=100,
                         learning_rate=1e-3, patience=10)

if __name__ == "__main__":
    RECIPE.main()
