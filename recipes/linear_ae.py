"""Train a linear autoencoder on mnist5k and compare its test MSE with PCA's at the same k.

    python recipes/linear_ae.py [--code-dim 16] [--smoke] [--out DIR]
"""

import numpy as np

from mpkeras import flags
from mpkeras.models import LinearAutoencoder
from mpkeras.train import autoencoders as ae


def add_arguments(p):
    p.add_argument("--code-dim", type=flags.positive_int, default=16)


def make_model(args, data):
    return LinearAutoencoder(input_shape=data.extras["test_images"].shape[1:], code_dim=args.code_dim, seed=args.seed)


def evaluate(model, data, args):
    """PCA (optimal for a linear code) fitted on the same train images; principal angles to its subspace."""
    from scipy.linalg import subspace_angles
    from sklearn.decomposition import PCA

    train, test = (data.extras[k].reshape(len(data.extras[k]), -1) for k in ("train_images", "test_images"))
    pca = PCA(n_components=args.code_dim).fit(train)
    pca_mse = float(np.mean((test - pca.inverse_transform(pca.transform(test))) ** 2))
    angles = np.degrees(subspace_angles(np.asarray(model.decoder_basis()), pca.components_.T))
    return {"pca_test_mse": pca_mse, "max_principal_angle_deg": float(angles.max()),
            "mean_principal_angle_deg": float(angles.mean())}


RECIPE = ae.image_recipe("linear_ae", make_model, add_arguments, evaluate=evaluate, epochs=100, batch_size=100,
                         learning_rate=3e-3, patience=10, schedule="cosine")

if __name__ == "__main__":
    RECIPE.main()
