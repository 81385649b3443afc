"""Train pix2pix (U-Net + PatchGAN, L_cGAN + lambda L1) on mnist5k_inpaint; report test L1 and FD-mnist5k; export.

    python recipes/pix2pix.py [--gan-weight 1] [--l1-weight 10] [--epochs N] [--seed 0] [--classifier PATH]
                              [--smoke] [--out DIR]

``--gan-weight 0`` trains the same U-Net with L1 alone (the baseline of the bar).
"""

from mpkeras.models import Pix2Pix
from mpkeras.train import Recipe
from mpkeras.train import pix2pix


def make_model(args, data):
    return Pix2Pix(**pix2pix.model_kwargs(args, data))


# patience 0: neither the adversarial loss nor early stopping of only one of the two runs makes a fair comparison.
RECIPE = Recipe(model="pix2pix", make_data=pix2pix.paired_data, make_model=make_model, evaluate=pix2pix.evaluate,
                figures=pix2pix.figures, add_arguments=pix2pix.add_arguments, compile_kwargs=pix2pix.compile_kwargs,
                epochs=30, batch_size=64, learning_rate=5e-4, patience=0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
