"""Audio for the WaveNet recipe: mu-law companding, waveform checks and TFDS audio pipelines.

mu-law (ITU-T G.711; van den Oord et al. 2016, eq. 1) compresses a waveform
x in [-1, 1] before quantizing it to K = mu + 1 levels (mu = 255: 256 levels):

    f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu)                      (in [-1, 1])
    level = round((f(x) + 1) / 2 * mu)                              (in 0..mu)
    decode(level) = sign(f) ((1 + mu)^|f| - 1) / mu,  f = 2 level / mu - 1

Quiet samples get fine steps (about 1.7e-4 near 0 for mu = 255) and loud
ones coarse steps (about 0.02 near full scale), as in telephone audio. Level
``K // 2`` is silence (the level of x = 0).

Datasets (:data:`AUDIO_SOURCES`): ``tones16k`` (embedded, builds offline),
``speech_commands`` and ``nsynth`` (TFDS catalogue; they need a prepared
``data_dir`` or network access).

Example:
    >>> from mpkeras.data import audio
    >>> levels = audio.mulaw_encode(tf.constant([[-1.0, 0.0, 0.5]]))     # [[0, 128, 239]]
    >>> audio.mulaw_decode(levels)                                        # ~[[-1.0, 8.6e-05, 0.4965]]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import tensorflow as tf

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.errors import UsageError

AUTOTUNE = tf.data.AUTOTUNE

AUDIO_SOURCES = {
    # name: (feature path of the label, samples per example, sample rate)
    "tones16k": (("label",), 8000, 16000),
    "speech_commands": (("label",), 16000, 16000),  # clips of up to 1 s; shorter ones are zero-padded
    "nsynth": (("instrument", "family"), 16000, 16000),  # the first second of each 4-s note
}
"""Audio datasets the WaveNet recipe reads, with the label it conditions on and the clip length it uses."""


# === mu-law =================================================================


def mulaw_encode(x, num_levels=256):
    """Waveform values in [-1, 1] (any shape, float) -> mu-law levels (same shape) int32 in 0..num_levels - 1.

    Values outside [-1, 1] are clipped; the models check their inputs before encoding.
    """
    mu = float(num_levels - 1)
    x = tf.clip_by_value(tf.cast(x, tf.float32), -1.0, 1.0)
    f = tf.sign(x) * tf.math.log1p(mu * tf.abs(x)) / math.log1p(mu)
    return tf.cast(tf.round((f + 1.0) / 2.0 * mu), tf.int32)


def mulaw_decode(levels, num_levels=256):
    """mu-law levels (any shape, int) -> waveform values float32 in [-1, 1]; the inverse of :func:`mulaw_encode`
    on its levels, and within half a level step of the original value otherwise."""
    mu = float(num_levels - 1)
    f = 2.0 * tf.cast(levels, tf.float32) / mu - 1.0
    return tf.sign(f) * (tf.pow(1.0 + mu, tf.abs(f)) - 1.0) / mu


def silence_level(num_levels=256):
    """The level of x = 0 (128 of 256)."""
    return num_levels // 2


def to_float(audio) -> tf.Tensor:
    """int16 PCM (-32768..32767) -> float32 in [-1, 1) (divided by 32768); float audio is only cast."""
    audio = tf.convert_to_tensor(audio)
    if audio.dtype.is_floating:
        return tf.cast(audio, tf.float32)
    if audio.dtype not in (tf.int16, tf.int32, tf.int64):
        raise TypeError(f"to_float expects int16 PCM or floating audio, got {audio.dtype.name}.")
    return tf.cast(audio, tf.float32) / 32768.0


# === Checks =================================================================


def check_waveform(x, name="waveform"):
    """Static checks of a waveform batch: floating dtype and rank 2 (batch, time). Returns ``x``.

    Works on tensors, arrays and symbolic ``KerasTensor``s, so models call it first.
    """
    dtype = tf.as_dtype(getattr(x, "dtype", None) or tf.float32)
    if not dtype.is_floating:
        raise TypeError(f"{name} has dtype {dtype.name}; the model reads floating-point samples in [-1, 1]. "
                        "Convert int16 PCM with mpkeras.data.audio.to_float (x / 32768) or tf.cast(x, tf.float32) "
                        "/ 32768.")
    shape = tuple(getattr(x, "shape", np.shape(x)))
    if len(shape) != 2:
        hint = ("Drop the channel axis of mono audio (x[..., 0]) or average the channels of stereo audio."
                if len(shape) == 3 else "Add the batch axis (x[None]) for one clip.")
        raise ValueError(f"{name} has rank {len(shape)} (shape {shape}); expected (batch, time) mono samples in "
                         f"[-1, 1]. {hint}")
    return x


def assert_waveform_values(x, name="waveform"):
    """``x`` behind graph assertions that it holds no NaN/inf and lies in [-1, 1] (served graphs check too)."""
    finite = tf.debugging.assert_equal(
        tf.reduce_all(tf.math.is_finite(x)), True,
        message=f"{name} holds NaN or inf values; clean or re-decode the audio before scoring it")
    with tf.control_dependencies([finite]):
        in_range = tf.debugging.assert_less_equal(
            tf.reduce_max(tf.abs(x)), tf.constant(1.0, x.dtype),
            message=(f"{name} values must lie in [-1, 1]; scale int16 PCM by 1/32768 "
                     "(mpkeras.data.audio.to_float) and normalize or clip louder audio"))
    with tf.control_dependencies([finite, in_range]):
        return tf.identity(x)


# === Pipelines ==============================================================


def add_audio_arguments(p):
    p.add_argument("--crop", type=flags.positive_int, default=None,
                   help="train on random crops of this many samples, redrawn every epoch (default: whole clips)")
    p.add_argument("--max-train-clips", type=flags.positive_int, default=None, help="use at most this many train clips")
    p.add_argument("--max-eval-clips", type=flags.positive_int, default=None,
                   help="score at most this many validation and test clips (default: all)")
    p.add_argument("--conditional", action=argparse.BooleanOptionalAction, default=True,
                   help="condition on the clip's class label (global conditioning)")


def _label_of(features, path):
    for key in path:
        features = features[key]
    return features


def audio_clips(name, split, data_dir=None, length=None):
    """A split of an audio dataset as ``(waveform float32 (length,) in [-1, 1], label int32)`` pairs.

    Clips longer than ``length`` (default: the dataset's in :data:`AUDIO_SOURCES`)
    are cut to their first ``length`` samples, shorter ones zero-padded at the end.
    """
    from mpkeras.data.loading import _base_name, load

    base = _base_name(name)
    if base not in AUDIO_SOURCES:
        raise UsageError(f"{name!r} is not an audio dataset the WaveNet recipe knows; choose one of "
                         f"{', '.join(AUDIO_SOURCES)} (tones16k builds offline).")
    label_path, default_length, _ = AUDIO_SOURCES[base]
    length = length or default_length
    ds = load(name, split, data_dir=data_dir, as_supervised=False)

    def convert(features):
        wave = to_float(features["audio"])[:length]
        wave = tf.pad(wave, [[0, length - tf.shape(wave)[0]]])
        return tf.ensure_shape(wave, [length]), tf.cast(_label_of(features, label_path), tf.int32)

    return ds.map(convert, num_parallel_calls=AUTOTUNE)


def _to_numpy(ds):
    waves, labels = zip(*ds.as_numpy_iterator())
    return np.stack(waves), np.asarray(labels, np.int32)


def _inputs(conditional):
    if conditional:
        return lambda w, y: {"waveform": w, "labels": y}
    return lambda w, y: w


def waveform_batches(clips, batch_size, conditional, crop=None, seed=None, shuffle_buffer=2000):
    """Batches of model inputs from a dataset of ``(waveform (T,), label)`` clips: ``waveform`` (B, T) or
    ``{"waveform", "labels"}``.

    Training (``seed`` given): shuffled every epoch (buffer ``shuffle_buffer``), full
    batches only, and with ``crop`` a random window of ``crop`` samples per clip,
    redrawn every epoch. Evaluation (``seed=None``): every clip whole, in order.
    """
    if seed is not None:
        clips = clips.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        length = clips.element_spec[0].shape[0]
        if crop and crop < length:
            shifts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            span = length - crop + 1
            clips = tf.data.Dataset.zip(clips, shifts).map(
                lambda pair, r: (tf.ensure_shape(pair[0][r % span:r % span + crop], [crop]), pair[1]))
    ds = clips.map(_inputs(conditional), num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=seed is not None).prefetch(AUTOTUNE)


def unigram_baseline(train, test, num_levels=256):
    """Trivial baselines in nats per sample, from the mu-law levels of ``train`` and ``test`` waveforms.

    Returns:
        ``unigram_entropy_train``: H(p) of the train level frequencies p;
        ``unigram_test_nats``: -mean log p(level) over test samples with p from
        train (add-1/2 smoothing), i.e. an i.i.d. model of the samples;
        ``bigram_test_nats``: -mean log p(level_t | level_{t-1}) over test, counts
        from train (add-1/2 smoothing; the first sample of a clip conditions on
        silence), a first-order Markov chain.
    """
    train_levels = mulaw_encode(np.asarray(train), num_levels).numpy()
    test_levels = mulaw_encode(np.asarray(test), num_levels).numpy()
    counts = np.bincount(train_levels.ravel(), minlength=num_levels).astype(np.float64)
    p = counts / counts.sum()
    entropy = -np.sum(p[p > 0] * np.log(p[p > 0]))
    smoothed = (counts + 0.5) / (counts.sum() + 0.5 * num_levels)
    unigram = -np.mean(np.log(smoothed[test_levels]))

    def pairs(levels):
        previous = np.concatenate([np.full((len(levels), 1), silence_level(num_levels)), levels[:, :-1]], axis=1)
        return previous.ravel(), levels.ravel()

    a, b = pairs(train_levels)
    transitions = np.zeros((num_levels, num_levels))
    np.add.at(transitions, (a, b), 1.0)
    transitions = (transitions + 0.5) / (transitions.sum(axis=1, keepdims=True) + 0.5 * num_levels)
    a, b = pairs(test_levels)
    bigram = -np.mean(np.log(transitions[a, b]))
    return {"unigram_entropy_train": float(entropy), "unigram_test_nats": float(unigram),
            "bigram_test_nats": float(bigram)}


def noise_floor(clean, noise, num_levels=256):
    """Mean entropy in nats per sample of the mu-law level of int16(round(32767 (s + n))), n ~ N(0, noise^2),
    given the clean signal s (N, T) (e.g. ``Tones16k.synthesize(..., clean=True)``).

    No model of the noisy clips can score below it on average: H(q_t | q_<t) >=
    H(q_t | q_<t, s) = H(q_t | s_t), as the noise is independent over time.
    """
    # The int16 values where the level changes: level k holds the int16 codes lo_k..hi_k.
    codes = np.arange(-32768, 32768)
    levels = mulaw_encode(codes / 32767.0, num_levels).numpy()
    starts = np.flatnonzero(np.diff(levels)) + 1  # first code of each level after the lowest
    edges = np.concatenate([[-np.inf], (codes[starts] - 0.5) / 32767.0, [np.inf]])  # (K + 1,) in x
    total, count = 0.0, 0
    for chunk in np.array_split(np.asarray(clean, np.float64).ravel(), max(1, np.size(clean) // 20_000)):
        z = (edges[None, :] - chunk[:, None]) / noise
        cdf = 0.5 * tf.math.erfc(-z / math.sqrt(2.0)).numpy()  # (n, K + 1) normal CDF
        p = np.diff(cdf, axis=1)
        total += -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0))
        count += len(chunk)
    return total / count


def audio_data(args):
    """``Data`` for WaveNet: the train, val and test splits of :func:`mpkeras.data.catalogue.split` (tones16k:
    ``train[:90%]``, ``train[90%:]``, ``test``; speech_commands and nsynth: their own validation split), train as
    crops if ``args.crop``.

    Inputs are ``waveform`` (B, T) float32 in [-1, 1], or with ``args.conditional``
    ``{"waveform", "labels"}``. Train clips stream from TFDS (so large sets such as
    nsynth fit); validation and test clips are also kept as numpy arrays, at most
    ``args.max_eval_clips`` of each. ``extras``: ``test_waveforms``/``test_labels``,
    ``val_waveforms``/``val_labels`` (whole clips), ``train_waveforms`` (the first
    1,000 train clips at most, for the baselines), ``num_classes``, ``label_names``,
    ``sample_rate``. ``args``: ``dataset``, ``data_dir``, ``batch_size``, ``seed``,
    ``crop``, ``max_train_clips``, ``max_eval_clips``, ``conditional``.
    """
    from mpkeras.data.loading import _base_name, info
    from mpkeras.train.recipe import Data

    clips = {role: audio_clips(args.dataset, catalogue.split(args.dataset, role), data_dir=args.data_dir)
             for role in catalogue.ROLES}
    if args.max_train_clips:
        clips["train"] = clips["train"].take(args.max_train_clips)
    if args.max_eval_clips:
        clips = {k: v.take(args.max_eval_clips) if k != "train" else v for k, v in clips.items()}
    arrays = {"train": _to_numpy(clips["train"].take(1000)), "val": _to_numpy(clips["val"]),
              "test": _to_numpy(clips["test"])}
    label_path, length, rate = AUDIO_SOURCES[_base_name(args.dataset)]
    feature = info(args.dataset, data_dir=args.data_dir).features
    for key in label_path:
        feature = feature[key]
    names = list(feature.names)
    train = waveform_batches(clips["train"], args.batch_size, args.conditional, crop=args.crop, seed=args.seed)
    val = waveform_batches(tf.data.Dataset.from_tensor_slices(arrays["val"]), args.batch_size, args.conditional)
    test = waveform_batches(tf.data.Dataset.from_tensor_slices(arrays["test"]), args.batch_size, args.conditional)
    card = {"dataset": args.dataset, "splits": catalogue.splits(args.dataset),
            "sample_rate": rate, "clip_samples": length, "train_crop": args.crop,
            "clips": {"train": int(clips["train"].cardinality()), "val": len(arrays["val"][0]),
                      "test": len(arrays["test"][0])},
            "conditioning": {"labels": "/".join(label_path), "names": names} if args.conditional else None,
            "preprocessing": "int16 PCM / 32768 (float audio as it is) -> [-1, 1]; mu-law (mu = 255) to 256 "
                             "levels inside the model"}
    extras = {"num_classes": len(names), "label_names": names, "sample_rate": rate,
              **{f"{k}_waveforms": v[0] for k, v in arrays.items()}, **{f"{k}_labels": v[1] for k, v in arrays.items()}}
    return Data(train, val, test, card, extras=extras)
