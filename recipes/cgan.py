"""Train the class-conditional GAN on mnist5k (or mnist, fashion_mnist, cifar10: labelled data only); report the
feature-space Fréchet distance (FD-mnist5k or FD-<dataset>), the label accuracy of its samples, and export.

    python recipes/cgan.py [--dataset mnist5k] [--latent-dim 64] [--filters 32,64] [--epochs N] [--seed 0]
                           [--classifier LENET.keras] [--smoke] [--out DIR]

label_accuracy: the reference classifier's accuracy on samples generated for requested labels (does G honour y?).
"""

from mpkeras.data import catalogue
from mpkeras.models import CGAN
from mpkeras.train import Recipe
from mpkeras.train import gan_images


def add_arguments(p):
    gan_images.add_arguments(p, latent_dim=64, filters=(32, 64))


def make_data(args):
    return gan_images.image_data(args, labels=True)


def make_model(args, data):
    return CGAN(num_classes=data.extras["num_classes"], **gan_images.model_kwargs(args, data))


def evaluate(model, data, args):
    return gan_images.evaluate(model, data, args, make_model)


# patience 0, Adam(2e-4, beta_1 0.5), batch 64: as dcgan (~16 steps/s on 2 CPU cores).
# Labelled datasets only: celeb_a has attributes, no class label (make_data refuses it too).
LABELLED = tuple(name for name in catalogue.GAN_IMAGES if catalogue.has_labels(name))

RECIPE = Recipe(model="cgan", make_data=make_data, make_model=make_model, evaluate=evaluate, datasets=LABELLED,
                figures=gan_images.figures, add_arguments=add_arguments, compile_kwargs=gan_images.compile_kwargs,
                callbacks=gan_images.sample_grid_callback, epochs=60, batch_size=64, learning_rate=2e-4, patience=0,
                jit=False)

if __name__ == "__main__":
    RECIPE.main()
