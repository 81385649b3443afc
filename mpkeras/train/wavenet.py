"""The WaveNet recipe's evaluation and figures (``recipes/wavenet.py``).

Evaluation: the exact test NLL of whole clips, in nats and bits per sample
(each clip scored from silence, every sample predicted once from the samples
before it), next to two trivial baselines fitted on the train clips: the
unigram model of mu-law levels (i.i.d. samples) and a first-order Markov chain
of levels (:func:`mpkeras.data.audio.unigram_baseline`). On tones16k also the
noise floor: the entropy the generator's noise alone leaves in the mu-law
levels given the clean signal, a lower bound no model can beat on average
(:func:`mpkeras.data.audio.noise_floor`). Figures: clips generated from
silence (one per class when conditional), continuations of real test clips
and the real clips, as waveform and spectrogram PNGs plus 16-bit WAV files.
"""

import math
import os
import time
import wave

import numpy as np

from mpkeras import flags
from mpkeras.train.recipe import Recipe


def test_nll(model, waveforms, labels=None, batch_size=10):
    """Mean -log p over all samples of ``waveforms`` (N, T), in nats per sample (labels (N,) if conditional)."""
    import tensorflow as tf

    # No autograph (as the exporter traces endpoints): the code has no Python control flow on tensors, and
    # autograph would re-read the source files, which may have changed on disk since the run started.
    fn = tf.function(model.log_prob, reduce_retracing=True, autograph=False)
    total = 0.0
    for start in range(0, len(waveforms), batch_size):
        args = [waveforms[start:start + batch_size]]
        if model.num_classes:
            args.append(labels[start:start + batch_size])
        total -= float(np.sum(fn(*[tf.constant(a) for a in args])["log_prob"].numpy().astype(np.float64)))
    return total / waveforms.size


def generate_clips(model, labels, num_samples, length, seed, prompt=None, temperature=1.0):
    """Clips (N, length) from the queues inside one ``tf.function``: drawn from silence, or continuing
    ``prompt`` (N, P) waveforms. Returns (clips, samples/s of the generation, tracing excluded)."""
    import tensorflow as tf

    labels = None if not model.num_classes else tf.constant(labels, tf.int32)
    if prompt is not None:
        fn = tf.function(lambda n: model.generate(tf.constant(prompt, tf.float32), n, temperature,
                                                  tf.constant(seed, tf.int32), labels), autograph=False)
    elif model.num_classes:
        fn = tf.function(lambda n: model.sample_conditional(labels, n, tf.constant(seed, tf.int32)), autograph=False)
    else:
        fn = tf.function(lambda n: model.sample(num_samples, n, tf.constant(seed, tf.int32)), autograph=False)
    fn(tf.constant(2))  # trace
    start = time.perf_counter()
    clips = fn(tf.constant(length))["waveform"].numpy()
    return clips, clips.size / (time.perf_counter() - start)


def evaluate(model, data, args):
    from mpkeras.data.audio import noise_floor, unigram_baseline
    from mpkeras.data.embedded import Tones16k
    from mpkeras.data.loading import _base_name

    extras = data.extras
    n = 4 if args.smoke else None
    test, test_labels = extras["test_waveforms"][:n], extras["test_labels"][:n]
    nats = test_nll(model, test, test_labels)
    val_nats = test_nll(model, extras["val_waveforms"][:n], extras["val_labels"][:n])
    baseline = unigram_baseline(extras["train_waveforms"], test, model.num_levels)
    ln2 = math.log(2.0)
    floor = {}
    if _base_name(args.dataset) == "tones16k" and model.num_levels == 256:
        # The generator's test clips before noise: the entropy of the noise alone, after quantization.
        clean = Tones16k.synthesize(Tones16k.SIZES["test"], Tones16k.SEEDS["test"], clean=True)[3][:n]
        floor = {"noise_floor_bits_per_sample": noise_floor(clean, Tones16k.NOISE) / ln2}
    return {
        "test_nll_nats_per_sample": nats,
        "test_bits_per_sample": nats / ln2,
        "val_bits_per_sample": val_nats / ln2,
        "baseline_unigram_bits_per_sample": baseline["unigram_test_nats"] / ln2,
        "baseline_bigram_bits_per_sample": baseline["bigram_test_nats"] / ln2,
        "unigram_entropy_train_bits": baseline["unigram_entropy_train"] / ln2,
        **floor,
        "test_samples": int(test.size),
        "conditional": "labels" if model.num_classes else "none",
        "receptive_field": model.receptive_field,
        "parameters": int(model.count_params()),
    }


def write_wav(path, waveform, sample_rate):
    """Writes a mono float waveform in [-1, 1] as 16-bit PCM WAV (standard library ``wave``)."""
    pcm = np.round(np.clip(waveform, -1.0, 1.0) * 32767).astype("<i2")
    tmp = f"{path}.tmp-{os.getpid()}"
    with wave.open(tmp, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())
    os.replace(tmp, path)
    return path


def audio_figure(clips, titles, sample_rate, path, title=None):
    """One row per clip: the waveform and its spectrogram (256-point STFT, log power)."""
    import matplotlib.pyplot as plt

    from mpkeras.train import figures as figs

    fig, axes = plt.subplots(len(clips), 2, figsize=(10, 1.7 * len(clips)), squeeze=False)
    for (ax_wave, ax_spec), clip, name in zip(axes, clips, titles):
        t = np.arange(len(clip)) / sample_rate
        ax_wave.plot(t, clip, linewidth=0.4)
        ax_wave.set_ylim(-1, 1)
        ax_wave.set_ylabel(name, fontsize=8)
        ax_wave.tick_params(labelsize=7)
        ax_spec.specgram(clip, NFFT=256, Fs=sample_rate, noverlap=192, cmap="magma", vmin=-150)
        ax_spec.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("time (s)", fontsize=8)
    axes[-1, 1].set_xlabel("time (s); frequency (Hz) up", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return figs.save(fig, path)


def figures(model, data, args, fig_dir):
    extras = data.extras
    rate, names = extras["sample_rate"], extras["label_names"]
    length = 400 if args.smoke else int(args.sample_seconds * rate)
    count = model.num_classes or 4
    if args.smoke:
        count = min(count, 4)  # the first 4 classes: drawing 12 rows of audio cost a smoke run more than training
    labels = np.arange(count, dtype=np.int32) if model.num_classes else None
    clips, speed = generate_clips(model, labels, count, length, [args.seed, 11])
    sample_titles = [f"sample: {names[i]}" if model.num_classes else f"sample {i}" for i in range(count)]
    # One real test clip per class (the first of each), for comparison, and its continuation from a prompt.
    test, test_labels = extras["test_waveforms"], extras["test_labels"]
    real = [int(np.flatnonzero(test_labels == c)[0]) for c in np.unique(test_labels)][:count]
    prompt = min(int(args.prompt_seconds * rate), test.shape[1] - 1, length // 2)
    continued, _ = generate_clips(model, test_labels[real], len(real), min(length, test.shape[1]) - prompt,
                                  [args.seed, 12], prompt=test[real, :prompt])
    continued = np.concatenate([test[real, :prompt], continued], axis=1)
    wav_dir = os.path.join(fig_dir, "wav")
    os.makedirs(wav_dir, exist_ok=True)
    paths = {
        "samples": audio_figure(clips, sample_titles, rate, f"{fig_dir}/samples.png",
                                title=f"WaveNet samples from silence ({length / rate:.2f} s at {rate} Hz, "
                                      f"T = 1; fast queue generation, {speed:.0f} samples/s)"),
        "continuations": audio_figure(continued, [f"cont.: {names[test_labels[i]]}" for i in real], rate,
                                      f"{fig_dir}/continuations.png",
                                      title=f"continuations of the first {prompt / rate:.3f} s of test clips (T = 1)"),
        "test_clips": audio_figure(test[real, :length], [f"test: {names[test_labels[i]]}" for i in real], rate,
                                   f"{fig_dir}/test_clips.png", title="real test clips"),
    }
    for i, clip in enumerate(clips):
        tag = names[i] if model.num_classes else str(i)
        paths[f"wav_sample_{tag}"] = write_wav(os.path.join(wav_dir, f"sample_{i}_{tag}.wav"), clip, rate)
    for clip, i in zip(continued, real):
        name = names[test_labels[i]]
        paths[f"wav_continuation_{i}"] = write_wav(os.path.join(wav_dir, f"continuation_{i}_{name}.wav"), clip, rate)
        paths[f"wav_test_{i}"] = write_wav(os.path.join(wav_dir, f"test_{i}_{name}.wav"), test[i], rate)
    return paths


def wavenet_recipe(model, make_model, add_arguments=None, **defaults):
    """A :class:`Recipe` for WaveNet on an audio dataset (:func:`mpkeras.data.audio.audio_data`)."""
    from mpkeras.data import audio

    def arguments(p):
        audio.add_audio_arguments(p)
        p.add_argument("--sample-seconds", type=flags.positive_float, default=0.5, help="length of the generated clips")
        p.add_argument("--prompt-seconds", type=flags.positive_float, default=0.05,
                       help="test audio the continuations figure starts from")
        if add_arguments:
            add_arguments(p)

    return Recipe(model=model, make_data=audio.audio_data, make_model=make_model, evaluate=evaluate, figures=figures,
                  add_arguments=arguments, **defaults)
