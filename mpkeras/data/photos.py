"""32x32 colour patches of the photographs that scikit-image and scikit-learn ship (embedded TFDS builder ``photos32``).

The only colour photographs installed on an offline machine are the dozen that ``skimage/data`` and
``sklearn/datasets/images`` hold. This builder cuts them into 32x32x3 uint8 patches, the size of CIFAR-10, so that
the colour models (PixelCNN and Gated PixelCNN with R -> G -> B masks, Glow, the image GANs, a colour VAE) have
real 8-bit photographs to learn and a held-out test set to be measured on.

Train and test come from **different photographs** (:data:`TRAIN_PHOTOS`, :data:`TEST_PHOTOS`), so a test
patch never overlaps a train patch and the test figure measures generalisation to new scenes, not to new
crops of scenes already seen. The stereo pair ``motorcycle_left`` / ``motorcycle_right`` shows one scene and is
one source, in train.

Each photograph is first resized (anti-aliased, ``skimage.transform.resize``) to each of :data:`SCALES` (its
shorter side in pixels), so a patch shows anything from a whole object to a texture. A split then draws the same
number of patches from each of its sources: a scale, then a position, uniformly, from
``numpy.random.default_rng(SEEDS[split])``. Patches whose pixel standard deviation is below :data:`MIN_STD`
(out of 255; flat sky, the black of the Hubble field and the retina's border) and windows drawn before are drawn
again, so the set is about the photographs' content and holds no window twice. Example keys are draw indices, so every build is identical.

Features: ``image`` (32, 32, 3) uint8; ``photo``: the source photograph (a ``ClassLabel`` over all of them).
There are no ``supervised_keys``: the photograph is not a class to learn (train and test photographs are
disjoint), and :func:`mpkeras.data.load` serves ``(image, NO_LABEL)`` pairs.

Example:
    >>> from mpkeras import data
    >>> image, label = next(iter(data.load("photos32", "train")))   # uint8 (32, 32, 3), -1
"""

import os

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.embedded import _EmbeddedBuilder

SIZE = 32
"""Height and width of a patch (CIFAR-10's)."""

TRAIN_PHOTOS = ("astronaut", "coffee", "motorcycle_left", "motorcycle_right", "hubble_deep_field", "retina", "ihc",
                "china")
"""Photographs of the train split (the motorcycle stereo pair counts as one source)."""

TEST_PHOTOS = ("chelsea", "rocket", "flower")
"""Photographs of the test split: a cat, a launch pad under sky, a flower; none of them in train."""

_SOURCES = {"train": (("astronaut",), ("coffee",), ("motorcycle_left", "motorcycle_right"), ("hubble_deep_field",),
                      ("retina",), ("ihc",), ("china",)),
            "test": (("chelsea",), ("rocket",), ("flower",))}
"""Each split's sources; a source's patches come from its photographs in turn."""

SCALES = (64, 96, 128, 192, 256)
"""The shorter side, in pixels, of the resized copies of every photograph that patches are cut from."""

MIN_STD = 8.0
"""Least pixel standard deviation (of the 0..255 values over the patch's 3072 sub-pixels) of a kept patch."""

SIZES = {"train": 7000, "test": 1500}
SEEDS = {"train": 0, "test": 1}

_SKLEARN = ("china", "flower")


def read_photo(name):
    """The photograph ``name`` as uint8 (H, W, 3), read from the file its package installs."""
    if name in _SKLEARN:
        from sklearn.datasets import load_sample_image  # pylint: disable=g-import-not-at-top

        return np.asarray(load_sample_image(f"{name}.jpg"), np.uint8)
    import skimage  # pylint: disable=g-import-not-at-top
    import skimage.io  # pylint: disable=g-import-not-at-top

    folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    path = next(os.path.join(folder, f) for f in sorted(os.listdir(folder)) if os.path.splitext(f)[0] == name)
    image = skimage.io.imread(path)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{path}: expected an RGB photograph, got shape {image.shape}")
    return image.astype(np.uint8)


def pyramid(image):
    """Copies of ``image`` (H, W, 3) uint8 resized so that the shorter side is each of :data:`SCALES`."""
    from skimage.transform import resize  # pylint: disable=g-import-not-at-top

    height, width = image.shape[:2]
    out = []
    for short in SCALES:
        factor = short / min(height, width)
        size = (max(SIZE, round(height * factor)), max(SIZE, round(width * factor)))
        resized = resize(image, size, anti_aliasing=True, preserve_range=True)  # (h, w, 3) float
        out.append(np.clip(np.round(resized), 0, 255).astype(np.uint8))
    return out


def draw_patches(split):
    """``(patches (N, 32, 32, 3) uint8, photo names (N,))`` of ``split``, N = ``SIZES[split]``, in draw order."""
    rng = np.random.default_rng(SEEDS[split])
    sources = _SOURCES[split]
    pyramids = {name: pyramid(read_photo(name)) for source in sources for name in source}
    patches, names, drawn = [], [], set()
    for k in range(SIZES[split]):
        source = sources[k % len(sources)]  # the same number of patches from every source
        while True:
            name, scale = source[rng.integers(len(source))], rng.integers(len(SCALES))
            image = pyramids[name][scale]
            top = rng.integers(image.shape[0] - SIZE + 1)
            left = rng.integers(image.shape[1] - SIZE + 1)
            patch = image[top:top + SIZE, left:left + SIZE]  # (32, 32, 3)
            if (name, scale, top, left) not in drawn and patch.std() >= MIN_STD:
                break
        drawn.add((name, scale, top, left))
        patches.append(patch)
        names.append(name)
    return np.stack(patches), np.array(names)


class Photos32(_EmbeddedBuilder):
    """32x32x3 uint8 patches of the colour photographs of scikit-image and scikit-learn; train and test photographs
    are disjoint (see :mod:`mpkeras.data.photos` for the photographs, scales, draws and seeds)."""

    name = "photos32"
    SHAPE = (SIZE, SIZE, 3)
    HOMEPAGE = "https://scikit-image.org/docs/stable/api/skimage.data.html"
    CITATION = """\
@article{van2014scikit,
  title={scikit-image: image processing in {P}ython},
  author={van der Walt, St{\\'e}fan and Sch{\\"o}nberger, Johannes L. and Nunez-Iglesias, Juan and others},
  journal={PeerJ}, volume={2}, pages={e453}, year={2014}
}"""
    SUPERVISED_KEYS = None

    def _features(self) -> dict:
        return {
            "image": tfds.features.Image(shape=self.SHAPE, dtype=np.uint8),
            "photo": tfds.features.ClassLabel(names=TRAIN_PHOTOS + TEST_PHOTOS),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in ("train", "test")}

    def _generate_examples(self, split):
        patches, names = draw_patches(split)
        for k, (patch, name) in enumerate(zip(patches, names)):
            yield k, {"image": patch, "photo": str(name)}
