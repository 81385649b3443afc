"""Train U-Net on mnist_seg (multi-digit canvases, 11 per-pixel classes) or oxford_iiit_pet (pet, background,
border; resized to --image-size, 128 by default) and export it.

    python recipes/unet.py [--dataset oxford_iiit_pet] [--epochs 8] [--filters 8,16,32,64] [--smoke] [--out DIR]

Data, flags, budget and evaluation are shared with recipes/fcn.py (mpkeras.train.segmentation).
"""

from mpkeras.models import UNet
from mpkeras.train.segmentation import segmenter_recipe

RECIPE = segmenter_recipe("unet", UNet, title=lambda args: f"U-Net on {args.dataset} test images")

if __name__ == "__main__":
    RECIPE.main()
