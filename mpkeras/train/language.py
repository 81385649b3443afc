"""The recipe shape the character language models share (``recipes/char_lstm.py``, ``recipes/transformer_lm.py``).

Data: ``pydoc_text`` (CPython's documentation text, embedded) or the TFDS catalogue's
``tiny_shakespeare``, as next-character windows of ``--context`` characters
(:func:`mpkeras.data.pipelines.text_data`; the vocabulary is the train split's characters).
Evaluation: bits per character on the whole test text, every character but
the first predicted exactly once from the characters before it in its window
(windows of ``context`` predictions overlapping by one character, the last one
shorter), plus samples from the ``generate`` path after the prompts of :func:`sample_prompts`.

Example:
    >>> RECIPE = language_model_recipe("char_lstm", build=lambda args, vocabulary: CharLSTM(vocabulary),
    ...                                add_arguments=None, epochs=30)
"""

import math

import numpy as np

from mpkeras import flags
from mpkeras.train.recipe import Recipe

PROMPTS = ("The ", "def ", "if x")
"""The prompts of the report's samples, where the vocabulary spells them (:func:`sample_prompts`)."""


def add_text_arguments(p):
    p.add_argument("--context", type=flags.positive_int, default=128, help="characters per training window")
    p.add_argument("--sample-length", type=flags.positive_int, default=300,
                   help="characters generated per prompt for the report")
    p.add_argument("--temperature", type=flags.positive_float, default=0.8,
                   help="sampling temperature of the report's samples")


def test_bits_per_char(model, ids, context, batch_size=32):
    """Bits per character over ``ids``: windows of ``context + 1`` ids overlapping by one (the last shorter).

    Returns (bits per character, number of predicted characters).
    """
    import tensorflow as tf

    ids = np.asarray(ids, np.int32)
    starts = list(range(0, len(ids) - 1, context))
    full = [s for s in starts if s + context + 1 <= len(ids)]
    nats, count = 0.0, 0

    def score(windows):
        logits = model(tf.constant(windows[:, :-1]), training=False)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=windows[:, 1:], logits=tf.cast(logits, tf.float32))
        return float(tf.reduce_sum(tf.cast(ce, tf.float64))), windows[:, 1:].size

    for i in range(0, len(full), batch_size):
        windows = np.stack([ids[s:s + context + 1] for s in full[i:i + batch_size]])
        n, c = score(windows)
        nats, count = nats + n, count + c
    if len(full) < len(starts):  # the remainder, shorter than a window
        n, c = score(ids[starts[-1]:][None])
        nats, count = nats + n, count + c
    assert count == len(ids) - 1
    return nats / count / math.log(2.0), count


def sample_prompts(vocabulary, train_ids):
    """The report's prompts: each of :data:`PROMPTS` the vocabulary spells, else the train text's characters at
    an evenly spaced position (prompt i of n starts at i/n of the text), of the same length."""
    prompts = []
    for i, prompt in enumerate(PROMPTS):
        if vocabulary.unknown(prompt):
            start = i * (len(train_ids) - len(prompt)) // len(PROMPTS)
            prompt = vocabulary.decode(train_ids[start:start + len(prompt)])
        prompts.append(prompt)
    return prompts


def make_model_factory(build):
    def make_model(args, data):
        return build(args, data.extras["vocabulary"].chars)

    return make_model


def evaluate(model, data, args):
    import tensorflow as tf

    test_ids = data.extras["test_ids"][:4 * args.context + 1] if args.smoke else data.extras["test_ids"]
    bits, count = test_bits_per_char(model, test_ids, args.context)
    val_bits, _ = test_bits_per_char(model, data.extras["val_ids"][:4 * args.context + 1] if args.smoke
                                     else data.extras["val_ids"], args.context)
    metrics = {"test_bits_per_char": bits, "test_characters": count, "val_bits_per_char": val_bits,
               "parameters": int(model.count_params())}
    length = min(args.sample_length, (getattr(model, "max_length", None) or 10**9) - 4)
    for i, prompt in enumerate(sample_prompts(data.extras["vocabulary"], data.extras["train_ids"])):
        out = model.generate(tf.constant([prompt]), length, args.temperature, tf.constant([args.seed, i]))
        metrics[f"sample_{i}"] = prompt + out["text"].numpy()[0].decode("utf-8")
    return metrics


def language_model_recipe(model, build, add_arguments=None, figures=None, **defaults):
    """A :class:`Recipe` for a character language model.

    Args:
        model: registry name.
        build: ``(args, vocabulary) -> model``, with the vocabulary as one string.
        add_arguments: adds the model's own flags.
        figures: the recipe's figures function, if any.
        **defaults: :class:`Recipe` defaults (epochs, batch_size, learning_rate, ...).
    """
    from mpkeras.data import pipelines

    def arguments(p):
        add_text_arguments(p)
        if add_arguments:
            add_arguments(p)

    return Recipe(model=model, make_data=pipelines.text_data, make_model=make_model_factory(build), evaluate=evaluate,
                  figures=figures, add_arguments=arguments, **defaults)
