"""Character language models: pydoc_text, attention patterns and equations, causality, the KV cache, bad input."""

import argparse
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli, data
from mpkeras.data import pipelines
from mpkeras.data.embedded import PydocText
from mpkeras.data.text import CharVocabulary, UnknownCharacterError
from mpkeras.layers import CausalSelfAttention, TransformerBlock, attention_pattern, pattern_row
from mpkeras.models import CharLSTM, TransformerLM
from mpkeras.train.language import sample_prompts
from mpkeras.train.language import test_bits_per_char as bits_per_char_over

VOCAB = "abcdefgh \n"
TINY = {
    "char_lstm": (CharLSTM, dict(embedding_dim=4, units=8, num_layers=2)),
    "transformer_lm": (TransformerLM, dict(context=24, width=8, num_layers=2, num_heads=2)),
    "transformer_lm_sparse": (TransformerLM, dict(context=24, width=8, num_layers=2, num_heads=2,
                                                  attention=["strided", "fixed"], stride=3, summary=2)),
    "transformer_lm_sinusoidal": (TransformerLM, dict(context=24, width=8, num_layers=1, num_heads=2,
                                                      positions="sinusoidal")),
}


def _model(key, seed=0):
    keras.utils.set_random_seed(seed)
    cls, kwargs = TINY[key]
    model = cls(VOCAB, **kwargs)
    ids = np.random.default_rng(seed).integers(0, len(VOCAB), (3, 12)).astype(np.int32)
    model(ids)
    return model, ids


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tfds"))
    data.info("pydoc_text", data_dir=path)
    return path


# === Data ===


def test_pydoc_text_splits_every_tenth_chunk_in_corpus_order(data_dir):
    corpus = PydocText.corpus()
    assert len(corpus) > 100_000 and "assert" in corpus
    args = argparse.Namespace(dataset="pydoc_text", data_dir=data_dir)
    train, test = pipelines.split_text(args, "train"), pipelines.split_text(args, "test")
    chunks = [corpus[s:s + PydocText.CHUNK] for s in range(0, len(corpus), PydocText.CHUNK)]
    assert test == "".join(c for k, c in enumerate(chunks) if k % 10 == 9)
    assert train == "".join(c for k, c in enumerate(chunks) if k % 10 != 9)
    # train[:90%] / train[90%:] are the first 90% of the train chunks and the rest, still in order.
    head, tail = pipelines.split_text(args, pipelines.TRAIN), pipelines.split_text(args, pipelines.VAL)
    assert head + tail == train and len(tail) < 0.15 * len(train)
    hashes = {e["sha256"] for e in data.load("pydoc_text", "test", data_dir=data_dir, as_supervised=False)
              .as_numpy_iterator()}
    assert len(hashes) == 1


def test_vocabulary_is_the_train_characters_and_unseen_ones_become_u_fffd():
    texts = {"train": "abca ", "val": "ab dd", "test": "xa yx"}
    vocabulary, encoded, replaced = pipelines.text_vocabulary(texts)
    assert vocabulary.chars == " abc\ufffd"  # train's characters, sorted, then the replacement character
    assert encoded == {"train": "abca ", "val": "ab \ufffd\ufffd", "test": "\ufffda \ufffd\ufffd"}
    assert replaced == {"train": 0, "val": 2, "test": 3}
    # Nothing unseen: the vocabulary is train's alone, with no id for a character that never occurs.
    vocabulary, encoded, replaced = pipelines.text_vocabulary({"train": "abc", "val": "cab", "test": "b"})
    assert vocabulary.chars == "abc" and encoded["val"] == "cab" and not any(replaced.values())
    with pytest.raises(ValueError, match="train split holds no text"):
        pipelines.text_vocabulary({"train": "", "val": "a", "test": "a"})
    # The report's prompts: the default ones the vocabulary spells, else train text of the same length.
    vocabulary = CharVocabulary("Tdefhitx ")
    assert sample_prompts(vocabulary, vocabulary.encode("the fix")) == ["The ", "def ", "if x"]
    vocabulary = CharVocabulary("abcfix ")  # spells "if x" only
    train = "abc cba abc cba abc"
    # Prompt i of 3 starts at i * (19 - 4) // 3 of the train text: 0 and 5 (the third is "if x").
    assert sample_prompts(vocabulary, vocabulary.encode(train)) == [train[0:4], train[5:9], "if x"]


def test_tiny_shakespeare_splits_join_their_examples_and_read_validation_for_val():
    import tensorflow_datasets as tfds

    args = argparse.Namespace(dataset="tiny_shakespeare", data_dir=None, context=8, batch_size=2, seed=0)
    with tfds.testing.mock_data(num_examples=3):  # 3 random texts a split; the real dataset has one
        examples = {split: [e["text"].decode() for e in data.load("tiny_shakespeare", split, as_supervised=False)
                            .as_numpy_iterator()] for split in ("train", "validation", "test")}
        result = pipelines.text_data(args)
    assert all(len(texts) == 3 for texts in examples.values())
    assert result.card["splits"] == {"train": "train", "val": "validation", "test": "test"}
    train = "".join(examples["train"])
    vocabulary = result.extras["vocabulary"]
    assert vocabulary.decode(result.extras["train_ids"]) == train and vocabulary.chars.rstrip("\ufffd") == "".join(
        sorted(set(train)))
    for role, split in (("val", "validation"), ("test", "test")):
        text = "".join(examples[split])
        assert vocabulary.decode(result.extras[f"{role}_ids"]) == "".join(c if c in train else "\ufffd" for c in text)
        assert result.card["unknown_characters"][role] == sum(c not in train for c in text)

def test_vocabulary_round_trips_and_names_unknown_characters():
    vocab = CharVocabulary.from_text("hello world")
    assert vocab.chars == " dehlorw"
    np.testing.assert_array_equal(vocab.encode("hold"), [3, 5, 4, 1])
    assert vocab.decode(vocab.encode("world hello")) == "world hello"
    with pytest.raises(UnknownCharacterError, match=r"'xz'"):
        vocab.encode("hex z")
    with pytest.raises(ValueError, match="twice"):
        CharVocabulary("abca")
    with pytest.raises(ValueError, match="0..7"):
        vocab.decode([8])


def test_char_windows_are_shifted_slices_with_fresh_offsets_each_epoch():
    ids = np.arange(1000, dtype=np.int32)
    train = pipelines.char_windows(ids, context=16, batch_size=8, seed=0)
    epochs = [np.concatenate([x.numpy() for x, _ in train]) for _ in range(2)]
    for x, y in train.take(3):
        np.testing.assert_array_equal(y.numpy()[:, :-1], x.numpy()[:, 1:])  # targets = inputs shifted by one
        np.testing.assert_array_equal(np.diff(x.numpy(), axis=1), 1)  # contiguous slices of the text
    assert not np.array_equal(np.sort(epochs[0][:, 0]), np.sort(epochs[1][:, 0]))  # new offsets next epoch
    evaluation = np.concatenate([x.numpy() for x, _ in pipelines.char_windows(ids, 16, 8)])
    np.testing.assert_array_equal(evaluation[:, 0], np.arange(len(evaluation)) * 16)  # overlap by one
    with pytest.raises(ValueError, match="context"):
        pipelines.char_windows(ids[:10], context=16, batch_size=8)


def test_bits_per_char_scores_every_character_but_the_first_once():
    model, _ = _model("transformer_lm")
    ids = np.random.default_rng(1).integers(0, len(VOCAB), 100).astype(np.int32)
    bits, count = bits_per_char_over(model, ids, context=24, batch_size=2)
    assert count == 99
    expected = 0.0
    for s in range(0, 99, 24):  # windows of 24 predictions, the last one shorter
        window = ids[s:s + 25]
        logits = model(window[None, :-1]).numpy()[0].astype(np.float64)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        expected -= logp[np.arange(len(window) - 1), window[1:]].sum()
    np.testing.assert_allclose(bits, expected / 99 / math.log(2), rtol=1e-5)


# === Attention ===


def _brute_pattern(n, pattern, l=None, c=1):
    allowed = np.zeros((n, n), bool)
    for i in range(n):
        for j in range(i + 1):
            if pattern == "dense":
                allowed[i, j] = True
            elif pattern == "strided":
                allowed[i, j] = (i - j < l) or (i - j) % l == 0
            else:
                allowed[i, j] = i // l == j // l or j % l >= l - c
    return allowed


@pytest.mark.parametrize("pattern,l,c", [("dense", None, 1), ("strided", 4, 1), ("strided", 1, 1),
                                         ("fixed", 4, 1), ("fixed", 5, 2)])
def test_attention_patterns_match_their_definitions_and_are_causal(pattern, l, c):
    n = 23
    allowed = attention_pattern(n, pattern, l, c).numpy()
    np.testing.assert_array_equal(allowed, _brute_pattern(n, pattern, l, c))
    assert not np.triu(allowed, 1).any()  # nothing above the diagonal
    assert allowed.diagonal().all()  # every row has itself: no all -inf softmax row
    for i in (0, 7, n - 1):
        np.testing.assert_array_equal(pattern_row(i, n, pattern, l, c).numpy(), allowed[i])
    dense = _brute_pattern(n, "dense")
    if pattern == "strided" and l == 1:
        np.testing.assert_array_equal(allowed, dense)  # stride 1 reaches every earlier position
    elif pattern != "dense":
        assert allowed.sum() < dense.sum()  # sparse: fewer pairs


def test_sparse_patterns_touch_order_n_sqrt_n_pairs():
    n, l = 1024, 32  # l = sqrt(n)
    dense = attention_pattern(n).numpy().sum()
    for pattern in ("strided", "fixed"):
        pairs = attention_pattern(n, pattern, l).numpy().sum()
        assert pairs < 2.1 * n * l and pairs < dense / 7, (pattern, pairs, dense)


def test_attention_pattern_arguments_are_checked():
    with pytest.raises(ValueError, match="Unknown attention pattern"):
        attention_pattern(4, "local")
    with pytest.raises(ValueError, match="stride"):
        CausalSelfAttention(2, 4, pattern="strided")
    with pytest.raises(ValueError, match="summary"):
        attention_pattern(4, "fixed", 3, 4)


@pytest.mark.parametrize("pattern", ["dense", "strided", "fixed"])
def test_attention_equals_the_equations(pattern):
    keras.utils.set_random_seed(0)
    layer = CausalSelfAttention(num_heads=2, key_dim=3, pattern=pattern, stride=3)
    x = np.random.default_rng(0).normal(size=(2, 9, 5)).astype(np.float32)
    layer(x)  # build
    layer.qkv_bias.assign(np.random.default_rng(1).normal(size=layer.qkv_bias.shape))
    y = layer(x).numpy()
    w, b = layer.qkv.numpy(), layer.qkv_bias.numpy()
    mask = np.where(_brute_pattern(9, pattern, 3), 0.0, -np.inf)
    heads = []
    for h in range(2):
        q, k, v = (x @ w[:, s, h] + b[s, h] for s in range(3))  # Q = X W_Q, K = X W_K, V = X W_V
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(3) + mask  # Q K^T / sqrt(d) + M
        a = np.exp(scores - scores.max(-1, keepdims=True))
        heads.append((a / a.sum(-1, keepdims=True)) @ v)  # softmax(...) V
    expected = np.einsum("bthd,hdc->btc", np.stack(heads, 2), layer.out.numpy()) + layer.out_bias.numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pattern", ["dense", "strided", "fixed"])
def test_attention_gradient_reaches_exactly_the_pattern(pattern):
    """d y_t / d x_t' is zero for every t' > t, and for one layer nonzero exactly where A allows."""
    keras.utils.set_random_seed(0)
    layer = CausalSelfAttention(num_heads=2, key_dim=4, pattern=pattern, stride=3)
    x = tf.constant(np.random.default_rng(0).normal(size=(1, 10, 6)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    jacobian = tape.jacobian(y, x)[0, :, :, 0, :, :]  # (t, out, t', in)
    reach = np.abs(jacobian.numpy()).sum(axis=(1, 3)) > 0  # (t, t')
    np.testing.assert_array_equal(reach, _brute_pattern(10, pattern, 3))


# === Causality of the models ===


def _embedding_jacobian_reach(model, ids):
    """(T, T') bool: does output t of the stack above the embeddings depend on embedding t'?"""
    if isinstance(model, TransformerLM):
        h0 = model._embed(tf.constant(ids), 0, False)

        def above(h):
            for block in model.blocks:
                h = block(h)
            return model.head(model.final_norm(h))
    else:
        h0 = model.embedding(tf.constant(ids))

        def above(h):
            for layer in model.recurrent:
                h = layer(h)[0]
            return model.readout(h)
    with tf.GradientTape() as tape:
        tape.watch(h0)
        logits = above(h0)
    jacobian = tape.jacobian(logits, h0)[0, :, :, 0]  # (T, V, T', D)
    return np.abs(jacobian.numpy()).sum(axis=(1, 3)) > 0


@pytest.mark.parametrize("key", list(TINY))
def test_output_at_t_has_zero_gradient_from_inputs_after_t(key):
    model, ids = _model(key)
    reach = _embedding_jacobian_reach(model, ids[:1])
    assert not np.triu(reach, 1).any()  # nothing from the future
    assert reach[np.tril_indices(len(reach))].all()  # and, two layers deep, everything from the past and present
    # The same seen from the ids: changing token t' changes no logit before t'.
    logits = model(ids).numpy()
    changed = ids.copy()
    changed[:, 7] = (changed[:, 7] + 1) % len(VOCAB)
    after = model(changed).numpy()
    np.testing.assert_allclose(after[:, :7], logits[:, :7], atol=1e-6)
    assert np.abs(after[:, 7:] - logits[:, 7:]).max() > 1e-4


# === Generation with the cache ===


@pytest.mark.parametrize("key", list(TINY))
def test_prefill_and_decode_steps_equal_the_full_forward_pass(key):
    model, ids = _model(key)
    full = model(ids).numpy()  # (B, T, V)
    logits, state = model.prefill(tf.constant(ids[:, :5]))
    np.testing.assert_allclose(logits.numpy(), full[:, 4], rtol=1e-4, atol=1e-5)
    for t in range(5, ids.shape[1]):
        logits, state = model.decode_step(tf.constant(ids[:, t]), t, state)
        np.testing.assert_allclose(logits.numpy(), full[:, t], rtol=1e-4, atol=1e-5, err_msg=f"step {t}")


@pytest.mark.parametrize("key", list(TINY))
def test_cached_generation_equals_uncached_token_for_token(key):
    model, ids = _model(key)
    sample = tf.function(model.sample, reduce_retracing=True)
    for seed, temperature in (((1, 2), 1.0), ((3, 4), 1.5), ((5, 6), 0.0)):
        cached = sample(ids[:, :4], 16, temperature, tf.constant(seed), use_cache=True).numpy()
        uncached = sample(ids[:, :4], 16, temperature, tf.constant(seed), use_cache=False).numpy()
        np.testing.assert_array_equal(cached, uncached)
        assert cached.shape == (3, 16)
    again = sample(ids[:, :4], 16, 1.0, tf.constant((1, 2)), use_cache=True).numpy()
    other = sample(ids[:, :4], 16, 1.0, tf.constant((2, 2)), use_cache=True).numpy()
    np.testing.assert_array_equal(again, model.sample(ids[:, :4], 16, 1.0, tf.constant((1, 2))).numpy())
    assert not np.array_equal(again, other)  # the seed matters


def test_temperature_zero_is_greedy_and_generate_returns_text():
    model, ids = _model("transformer_lm")
    prompt = "abc"
    out = model.generate(tf.constant([prompt]), 6, 0.0, tf.constant([0, 0]))
    tokens = list(model.encode(prompt)[0])
    for _ in range(6):  # greedy by hand: argmax of the next-character probabilities
        probabilities = model.next_char_probabilities(tf.constant([tokens]))["probabilities"].numpy()
        tokens.append(int(probabilities[0, -1].argmax()))
    np.testing.assert_array_equal(out["tokens"].numpy()[0], tokens[3:])
    assert out["text"].numpy()[0].decode() == model.decode(tokens[3:])


def test_log_prob_sums_next_character_log_probabilities_and_ignores_padding():
    model, _ = _model("char_lstm")
    texts = ["abcab h", "hg"]
    out = model.log_prob(tf.constant(texts))
    for i, text in enumerate(texts):
        ids = model.encode(text)
        logits = model(ids[:, :-1]).numpy()[0].astype(np.float64)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        expected = logp[np.arange(len(text) - 1), ids[0, 1:]].sum()
        np.testing.assert_allclose(out["log_prob"].numpy()[i], expected, rtol=1e-5)
        alone = model.log_prob(tf.constant([text]))["log_prob"].numpy()[0]
        np.testing.assert_allclose(out["log_prob"].numpy()[i], alone, rtol=1e-5)  # batch padding changes nothing
        assert out["num_predicted"].numpy()[i] == len(text) - 1
    np.testing.assert_allclose(out["bits_per_char"].numpy(),
                               -out["log_prob"].numpy() / np.array([6, 1]) / math.log(2), rtol=1e-5)


# === Bad input ===


def test_bad_input_gets_clear_errors():
    model, ids = _model("transformer_lm")  # context 24
    with pytest.raises(ValueError, match="context is 24"):
        model(np.zeros((1, 25), np.int32))
    with pytest.raises(TypeError, match="integer character ids"):
        model(ids.astype(np.float32))
    with pytest.raises(ValueError, match="rank 1"):
        model(ids[0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the 10-character vocabulary"):
        model.generate(tf.constant(["abz"]), 4, 1.0, tf.constant([0, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the"):
        model.log_prob(tf.constant(["xyz"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="longer than the model's context of 24"):
        model.generate(tf.constant(["abc"]), 22, 1.0, tf.constant([0, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same number of characters"):
        model.generate(tf.constant(["abc", "a"]), 4, 1.0, tf.constant([0, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
        model.generate(tf.constant(["abc"]), 4, -1.0, tf.constant([0, 0]))
    with pytest.raises(UnknownCharacterError, match="'z'"):
        model.encode("abz")
    with pytest.raises(ValueError, match="one per layer"):
        TransformerLM(VOCAB, num_layers=2, attention=["dense"])
    lstm, _ = _model("char_lstm")
    assert lstm(np.zeros((1, 200), np.int32)).shape == (1, 200, len(VOCAB))  # no context limit for the LSTM


def test_exported_generate_rejects_bad_requests_by_name(tmp_path):
    from mpkeras.export import export_model

    model, _ = _model("transformer_lm")
    path = export_model(model, "transformer_lm", base_dir=str(tmp_path))
    served = tf.saved_model.load(path).signatures
    out = served["generate"](prompt=tf.constant(["abc"]), length=tf.constant(4), temperature=tf.constant(0.0),
                             seed=tf.constant([0, 0]))
    np.testing.assert_array_equal(out["tokens"].numpy(), model.generate(
        tf.constant(["abc"]), 4, 0.0, tf.constant([0, 0]))["tokens"].numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the"):
        served["generate"](prompt=tf.constant(["q"]), length=tf.constant(4), temperature=tf.constant(0.0),
                           seed=tf.constant([0, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="context of 24"):
        served["log_prob"](text=tf.constant(["a" * 30]))


# === Recipes ===


@pytest.mark.parametrize("name,flags", [
    ("char_lstm", ["--units", "8", "--embedding-dim", "4"]),
    ("transformer_lm", ["--width", "8", "--num-layers", "2", "--num-heads", "2", "--attention", "strided,fixed",
                        "--stride", "4"]),
])
def test_recipe_smoke_end_to_end(name, flags, tmp_path, data_dir):
    report = cli.load_recipe(name).main(["--smoke", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0",
                                         "--context", "32", "--sample-length", "20", *flags])
    test = report["test"]
    assert 0 < test["test_bits_per_char"] < 10 and test["test_characters"] == 4 * 32
    assert all(test[f"sample_{i}"].startswith(p) and len(test[f"sample_{i}"]) == len(p) + 20
               for i, p in enumerate(("The ", "def ", "if x")))
    card = json.loads((tmp_path / "exported" / name / "1" / "assets.extra" / "model_card.json").read_text())
    assert card["dataset"] == "pydoc_text" and card["vocabulary_size"] == len(card["config"]["vocabulary"])
    assert set(card["signatures"]) >= {"serving_default", "log_prob", "generate"}
    if name == "transformer_lm":
        assert (tmp_path / "runs" / name / "figures" / "attention.png").exists()
