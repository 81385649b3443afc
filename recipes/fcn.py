"""Train an FCN without skip connections on mnist_seg (11 per-pixel classes) or oxford_iiit_pet (3) and export it.

Same encoder, decoder, budget and defaults as recipes/unet.py, minus the skips,
so the two runs compare skip connections and nothing else.

    python recipes/fcn.py [--upsampling max_unpool] [--filters 8,16,32,64] [--smoke] [--out DIR]
"""

from mpkeras.models import FCN
from mpkeras.train.segmentation import segmenter_recipe

RECIPE = segmenter_recipe(
    "fcn", FCN, title=lambda args: f"FCN ({args.upsampling} upsampling, no skips) on {args.dataset} test images")

if __name__ == "__main__":
    RECIPE.main()
