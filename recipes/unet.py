"""Train U-Net on mnist_seg (multi-digit canvases, 11 per-pixel classes) and export it.

    python recipes/unet.py [--epochs 8] [--filters 8,16,32,64] [--upsampling transposed] [--smoke] [--out DIR]

Data, flags, budget and evaluation are shared with recipes/fcn.py (mpkeras.train.segmentation).
"""

from mpkeras.models import UNet
from mpkeras.train.segmentation import segmenter_recipe

RECIPE = segmenter_recipe("unet", UNet, title=lambda args: "U-Net on test canvases")

if __name__ == "__main__":
    RECIPE.main()
