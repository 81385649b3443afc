"""WaveNet: mu-law, causality and receptive field, fast (queue) generation against naive recompute, sampling,
input errors, the tones16k builder and the recipe's smoke run with the export reloaded."""

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.data import audio
from mpkeras.models import WaveNet


def _model(num_levels=16, kernel_size=2, num_classes=3, num_stacks=2, layers_per_stack=3, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = WaveNet(num_levels=num_levels, residual_channels=6, dilation_channels=5, skip_channels=7,
                    kernel_size=kernel_size, num_stacks=num_stacks, layers_per_stack=layers_per_stack,
                    num_classes=num_classes)
    model.build()
    # Random biases too (Keras starts them at 0), so no unit is trivially silent.
    rng = np.random.default_rng(seed)
    for v in model.trainable_variables:
        if "bias" in v.path:
            v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32))
    return model


def _waveforms(num_levels, batch, length, seed=0):
    """Waveforms exactly on the mu-law levels, and those levels."""
    levels = np.random.default_rng(seed).integers(0, num_levels, (batch, length)).astype(np.int32)
    return audio.mulaw_decode(levels, num_levels).numpy(), levels


def test_mulaw_round_trip():
    levels = np.arange(256)
    decoded = audio.mulaw_decode(levels).numpy()
    np.testing.assert_array_equal(audio.mulaw_encode(decoded).numpy(), levels)  # levels survive exactly
    assert np.all(np.diff(decoded) > 0) and decoded[0] == -1.0 and decoded[-1] == 1.0
    assert audio.mulaw_encode(0.0).numpy() == audio.silence_level() == 128
    # Any x comes back as one of its two neighbouring levels, the nearer one in the companded domain.
    x = np.random.default_rng(0).uniform(-1, 1, 100_000).astype(np.float32)
    back = audio.mulaw_decode(audio.mulaw_encode(x)).numpy()
    upper = np.clip(np.searchsorted(decoded, x), 1, 255)
    assert np.all((back == decoded[upper]) | (back == decoded[upper - 1]))

    def compand(v):
        return np.sign(v) * np.log1p(255 * np.abs(v)) / np.log(256)

    assert np.all(np.abs(compand(back) - compand(x)) <= 1 / 255 + 1e-6)  # half the level spacing 2 / 255
    # Steps of ~0.044 near full scale, ~2e-4 near silence: errors of at most half of that.
    assert np.abs(back - x).max() < 0.0225 and np.abs(back - x)[np.abs(x) < 0.001].max() < 1.1e-4
    np.testing.assert_array_equal(audio.mulaw_encode([-3.0, 3.0]).numpy(), [0, 255])  # clipped


@pytest.mark.parametrize("kernel_size", [2, 3])
def test_output_t_has_zero_gradient_from_samples_at_or_after_t_and_sees_its_whole_receptive_field(kernel_size):
    model = _model(kernel_size=kernel_size, num_stacks=1, layers_per_stack=3)
    field = model.receptive_field  # 1 + (k - 1)(1 + 2 + 4)
    assert field == 1 + (kernel_size - 1) * 7
    length = field + 6
    _, levels = _waveforms(16, 1, length)
    one_hot = tf.one_hot(levels, 16)
    with tf.GradientTape() as tape:
        tape.watch(one_hot)
        logits = model.logits_from_one_hot(one_hot, tf.constant([1]))
    jacobian = tape.jacobian(logits, one_hot)[0, :, :, 0].numpy()  # (t out, K, t' in, K)
    reach = np.abs(jacobian).sum(axis=(1, 3))  # (t, t')
    t, s = np.meshgrid(np.arange(length), np.arange(length), indexing="ij")
    assert np.all(reach[s >= t] == 0)  # nothing from the present or the future
    assert np.all(reach[(s < t) & (s >= t - field)] > 0)  # every sample of the receptive field counts
    assert np.all(reach[s < t - field] == 0)  # ... and nothing older
    # The one-hot path is the model's own function.
    np.testing.assert_allclose(logits.numpy(), model.logits_from_levels(levels, tf.constant([1])).numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel_size,prompt", [(2, 0), (2, 5), (3, 9)])
def test_fast_generation_equals_naive_recompute_under_a_fixed_seed(kernel_size, prompt):
    model = _model(kernel_size=kernel_size)
    labels = tf.constant([0, 2, 1])
    _, given = _waveforms(16, 3, prompt, seed=1)
    length = model.receptive_field + 12  # past the point where the window is full
    samples = {}
    for method in ("fast", "window", "prefix"):  # one graph each, as served (eager while_loops are slow)
        draw = tf.function(lambda seed, m=method: model.generate_levels(given, length, 1.0, seed, labels, method=m),
                           autograph=False)
        samples[method] = draw(tf.constant([3, 4])).numpy()
        if method == "fast":
            other = draw(tf.constant([3, 5])).numpy()
    np.testing.assert_array_equal(samples["fast"], samples["window"])
    np.testing.assert_array_equal(samples["fast"], samples["prefix"])
    assert len(np.unique(samples["fast"])) > 4  # really sampled, not stuck
    assert np.mean(other != samples["fast"]) > 0.3  # another seed, other samples


def test_queue_steps_give_the_parallel_logits():
    """Teacher-forcing the queues (after a parallel prefill) reproduces the full network's logits at every step."""
    model = _model(kernel_size=3)
    labels = tf.constant([2, 0])
    _, levels = _waveforms(16, 2, 40, seed=2)
    parallel = model.logits_from_levels(levels, labels).numpy()  # (B, T, K)
    inputs = np.concatenate([np.full((2, 1), 8), levels], axis=1)  # network input at t is level t - 1
    for prefix in (0, 7):
        queues = model.prefill(levels[:, :prefix], labels) if prefix else model.initial_state(2)
        conditions = model.conditions(labels)
        step = tf.function(model.decode_step, autograph=False)  # traced once, then one graph call per step
        for t in range(prefix, 40):
            logits, queues = step(tf.constant(inputs[:, t]), tf.constant(t), queues, conditions)
            np.testing.assert_allclose(logits.numpy(), parallel[:, t], rtol=1e-4, atol=1e-4, err_msg=f"t={t}")


def test_log_prob_is_normalized_and_sampling_follows_it():
    model = _model(num_levels=6, num_classes=0, num_stacks=1, layers_per_stack=2)
    # All 6^2 two-sample sequences: probabilities sum to 1.
    grid = np.stack(np.meshgrid(np.arange(6), np.arange(6), indexing="ij"), -1).reshape(-1, 2)
    out = model.log_prob(audio.mulaw_decode(grid, 6))
    total = np.exp(out["log_prob"].numpy().astype(np.float64)).sum()
    np.testing.assert_allclose(total, 1.0, rtol=1e-5)
    np.testing.assert_allclose(out["bits_per_sample"].numpy(), -out["log_prob"].numpy() / (2 * np.log(2)), rtol=1e-6)
    # 20,000 sampled pairs follow those probabilities (total variation near that of exact draws).
    n = 20_000
    drawn = model.sample(n, 2, tf.constant([5, 6]))
    codes = drawn["levels"].numpy() @ np.array([6, 1])
    np.testing.assert_array_equal(drawn["waveform"].numpy(), audio.mulaw_decode(drawn["levels"], 6).numpy())
    empirical = np.bincount(codes, minlength=36) / n
    exact = np.exp(out["log_prob"].numpy().astype(np.float64))
    exact /= exact.sum()
    reference = np.bincount(np.random.default_rng(0).choice(36, size=n, p=exact), minlength=36) / n
    assert 0.5 * np.abs(empirical - exact).sum() < 2 * max(0.5 * np.abs(reference - exact).sum(), 0.005)
    # Temperature 0 is greedy: the most likely first sample, always.
    greedy = model.generate_levels(tf.zeros((3, 0), tf.int32), 1, 0.0, tf.constant([1, 1])).numpy()
    first = model.logits_from_levels(tf.zeros((1, 1), tf.int32)).numpy()[0, 0]
    assert np.all(greedy == np.argmax(first))


def test_conditioning_changes_the_distribution_and_bad_inputs_get_clear_errors():
    model = _model()
    wave, levels = _waveforms(16, 2, 20)
    a = model.log_prob(wave, tf.constant([0, 0]))["log_prob"].numpy()
    b = model.log_prob(wave, tf.constant([1, 2]))["log_prob"].numpy()
    assert np.all(np.abs(a - b) > 1e-3)
    with pytest.raises(ValueError, match="rank 3"):
        model({"waveform": wave[..., None], "labels": np.zeros(2, np.int32)})
    with pytest.raises(TypeError, match="to_float"):
        model({"waveform": (wave * 32767).astype(np.int16), "labels": np.zeros(2, np.int32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must lie in \[-1, 1\]"):
        model.log_prob(wave * 1.5, tf.constant([0, 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN"):
        model.log_prob(np.where(levels == levels[0, 3], np.nan, wave).astype(np.float32), tf.constant([0, 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class ids in \[0, 3\)"):
        model.log_prob(wave, tf.constant([0, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class ids in \[0, 3\)"):
        model.sample_conditional(tf.constant([-1]), 4, tf.constant([0, 0]))
    with pytest.raises(TypeError, match="integer class ids"):
        model.log_prob(wave, tf.constant([0.0, 1.0]))
    with pytest.raises(ValueError, match="conditioned on num_classes=3"):
        model(wave)
    with pytest.raises(tf.errors.InvalidArgumentError, match="prompt values must lie"):
        model.generate(wave + 2, 4, 1.0, tf.constant([0, 0]), tf.constant([0, 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="length must be at least 1"):
        model.generate(wave, 0, 1.0, tf.constant([0, 0]), tf.constant([0, 1]))
    unconditional = _model(num_classes=0)
    with pytest.raises(ValueError, match="unconditional"):
        unconditional({"waveform": wave, "labels": np.zeros(2, np.int32)})
    with pytest.raises(ValueError, match="kernel_size"):
        WaveNet(kernel_size=1)


def test_tones16k_is_deterministic_balanced_and_split():
    from mpkeras.data.embedded import Tones16k

    train, labels, events = Tones16k.synthesize(40, seed=0)
    again, _, _ = Tones16k.synthesize(40, seed=0)
    test, _, _ = Tones16k.synthesize(40, seed=1)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, test)
    assert train.dtype == np.int16 and train.shape == (40, Tones16k.LENGTH)
    np.testing.assert_array_equal(np.bincount(labels), [10, 10, 10, 10])
    peaks = np.abs(train.astype(np.float64)).max(axis=1) / 32767
    assert np.all((peaks > 0.29) & (peaks < 0.91)) and np.all(events >= 1)

    def dominant_hz(clip, start, stop):
        spectrum = np.abs(np.fft.rfft(clip[start:stop] * np.hanning(stop - start)))
        return np.argmax(spectrum) * Tones16k.SAMPLE_RATE / (stop - start)

    # Each family is what its name says: a sweep's pitch moves, a single harmonic note's does not.
    for clip, label, count in zip(train.astype(np.float64), labels, events):
        span = Tones16k.LENGTH // count
        first, last = dominant_hz(clip, 200, 1200), dominant_hz(clip, span - 1000, span)
        if Tones16k.FAMILIES[label] == "chirp":
            assert abs(np.log(last / first)) > 0.05
        elif Tones16k.FAMILIES[label] == "harmonic" and count == 1:
            assert abs(last - first) <= 16  # one FFT bin


def test_recipe_smoke_end_to_end_with_the_conditional_export_reloaded(tmp_path_factory):
    import json

    from mpkeras import cli, data
    from mpkeras.export import verify_savedmodel

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    info = data.info("tones16k", data_dir=data_dir)
    assert {k: v.num_examples for k, v in info.splits.items()} == {"train": 400, "test": 100}
    assert info.features["label"].names == ["harmonic", "chirp", "am", "fm"]
    clip, label = next(iter(data.load("tones16k", "test", data_dir=data_dir)))
    assert clip.dtype == tf.int16 and clip.shape == (8000,) and 0 <= int(label) < 4
    out = tmp_path_factory.mktemp("wavenet")
    report = cli.load_recipe("wavenet").main([
        "--smoke", "--out", str(out), "--data-dir", data_dir, "--verbose", "0", "--residual-channels", "4",
        "--dilation-channels", "4", "--skip-channels", "8", "--num-stacks", "1", "--layers-per-stack", "4",
        "--batch-size", "2", "--crop", "600", "--max-train-clips", "8"])
    test = report["test"]
    assert 0 < test["test_bits_per_sample"] < 8.5 and test["baseline_bigram_bits_per_sample"] > 0
    assert test["conditional"] == "labels" and test["receptive_field"] == 16
    figures = out / "runs" / "wavenet" / "figures"
    assert (figures / "samples.png").exists() and (figures / "wav" / "sample_3_fm.wav").stat().st_size > 44
    path = out / "exported" / "wavenet" / "1"
    card = json.loads((path / "assets.extra" / "model_card.json").read_text())
    assert set(card["signatures"]) >= {"serving_default", "log_prob", "sample", "generate"}
    assert "labels" in card["signatures"]["generate"]["inputs"]
    result = verify_savedmodel(str(path))  # a fresh process without mpkeras replays every endpoint
    assert result["ok"], result
