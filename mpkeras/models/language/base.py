"""The shared shape of character language models: ids in, next-character logits out, in-graph sampling.

A subclass implements ``call`` (tokens (B, T) -> logits (B, T, V), output t
predicting token t+1 from tokens 0..t) plus two generation hooks:

* ``prefill(tokens) -> (logits of the last position (B, V), state)``;
* ``decode_step(token (B,), position, state) -> (logits (B, V), state)``, which
  appends one token using what earlier steps cached (LSTM states, attention keys
  and values).

The base class supplies the loss (cross-entropy in nats; ``bits_per_char`` =
nats / ln 2), text <-> id conversion inside the graph, and the serving
endpoints ``serving_default`` (next-character probabilities), ``log_prob`` and
``generate`` (a ``tf.while_loop`` over :meth:`decode_step`).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.data.text import CharVocabulary


@keras.saving.register_keras_serializable(package="mpkeras")
def bits_per_char(y_true, logits):
    """Cross-entropy of the next character in bits: -log2 p(x_{t+1} | x_0..x_t), per position."""
    nats = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
    return nats / math.log(2.0)


class CharLanguageModel(keras.Model):
    """Base of :class:`CharLSTM` and :class:`TransformerLM`; see the module docstring.

    Args:
        vocabulary: the alphabet as one string; character ``vocabulary[i]`` has id i.
        seed: seed of dropout.
    """

    max_length = None  # longest sequence the model accepts (None: any)

    def __init__(self, vocabulary, seed=None, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.vocab = CharVocabulary(vocabulary)
        self.vocabulary = vocabulary
        self.vocabulary_size = len(vocabulary)
        self.seed = seed

    def build(self, input_shape):
        # A symbolic call creates every sub-layer's weights (needed to load a .keras file).
        self.call(keras.KerasTensor((None, 2), dtype="int32"))
        super().build(input_shape)

    def compute_output_spec(self, tokens, training=False):
        self.check_tokens(tokens)
        return keras.KerasTensor((*tokens.shape, self.vocabulary_size), dtype="float32")

    # --- Input checks --------------------------------------------------------
    def check_tokens(self, tokens, name="tokens"):
        """Static checks of a batch of ids: rank 2, integer dtype, length <= :attr:`max_length`."""
        dtype = tf.as_dtype(getattr(tokens, "dtype", None) or tf.int32)
        if not dtype.is_integer:
            raise TypeError(f"{name} has dtype {dtype.name}; the model reads integer character ids. Encode text "
                            "with model.encode(text) (or model.vocab.encode).")
        shape = tuple(tokens.shape)
        if len(shape) != 2:
            raise ValueError(f"{name} has rank {len(shape)} (shape {shape}); expected (batch, time) ids. "
                             "Add the batch axis (ids[None]) for one sequence.")
        if self.max_length and shape[1] is not None and shape[1] > self.max_length:
            raise ValueError(f"{name} has {shape[1]} positions; the model's context is {self.max_length}. "
                             f"Score or generate in windows of at most {self.max_length} characters.")
        return tokens

    def encode(self, text):
        """One string -> ids (1, len) int32; raises ``UnknownCharacterError`` naming unknown characters."""
        return self.vocab.encode(text)[None]

    def decode(self, ids):
        """Ids (any shape; flattened) -> string."""
        return self.vocab.decode(ids)

    # --- Training ------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``keras.Model.compile``; the loss defaults to cross-entropy in nats, metrics to ``bits_per_char``."""
        loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.MeanMetricWrapper(bits_per_char, name="bits_per_char")] if metrics is None else metrics
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # --- Text inside the graph ----------------------------------------------
    def _text_to_ids(self, text, name):
        """Strings (B,) -> (ids (B, L) int32 padded with 0, lengths (B,) int32); asserts known characters."""
        table = np.full(max(map(ord, self.vocabulary)) + 1, -1, np.int32)
        table[[ord(c) for c in self.vocabulary]] = np.arange(self.vocabulary_size)
        table = tf.constant(table)
        codes = tf.strings.unicode_decode(text, "UTF-8")  # ragged (B, None) code points
        known = (codes.flat_values >= 0) & (codes.flat_values < table.shape[0])
        ids = tf.where(known, tf.gather(table, tf.clip_by_value(codes.flat_values, 0, table.shape[0] - 1)), -1)
        unknown = tf.boolean_mask(codes.flat_values, ids < 0)
        check = tf.debugging.Assert(tf.size(unknown) == 0, [
            f"{name} holds characters outside the {self.vocabulary_size}-character vocabulary of this model "
            "(the model card and model.vocabulary list it); remove or replace them. Unknown characters:",
            tf.strings.unicode_encode(tf.unique(unknown)[0], "UTF-8")], summarize=50)
        with tf.control_dependencies([check]):
            ids = codes.with_flat_values(tf.identity(ids))
        return ids.to_tensor(0), tf.cast(ids.row_lengths(), tf.int32)

    def _ids_to_text(self, ids):
        """Ids (B, L) -> strings (B,)."""
        codes = tf.constant([ord(c) for c in self.vocabulary], tf.int32)
        return tf.strings.unicode_encode(tf.gather(codes, ids), "UTF-8")

    def _assert_fits(self, length, what):
        """In-graph check that ``length`` positions fit the context."""
        if not self.max_length:
            return tf.no_op()
        return tf.debugging.assert_less_equal(
            length, self.max_length,
            message=f"{what} is longer than the model's context of {self.max_length} characters; shorten it.")

    # --- Serving ---------------------------------------------------------------
    def next_char_probabilities(self, tokens):
        """``probabilities`` (B, T, V): p(x_{t+1} = v | x_0..x_t) for every position t."""
        self.check_tokens(tokens)
        with tf.control_dependencies([self._assert_fits(tf.shape(tokens)[1], "tokens")]):
            logits = self(tf.identity(tokens), training=False)
        return {"probabilities": ops.softmax(ops.cast(logits, "float32"), axis=-1)}

    def log_prob(self, text):
        """Scores strings (B,): ``log_prob`` (B,) = sum_t log p(x_{t+1} | x_0..x_t) in nats over characters
        2..n (the first one conditions), ``bits_per_char`` (B,) its mean in bits, ``num_predicted`` (B,).

        Texts of different lengths may share a batch: padding sits after each
        text, and a causal model never lets it change an earlier prediction.
        """
        ids, lengths = self._text_to_ids(text, "text")
        with tf.control_dependencies([self._assert_fits(tf.shape(ids)[1], "text"),
                                      tf.debugging.assert_greater_equal(
                                          tf.reduce_min(lengths), 2,
                                          message="every text needs at least 2 characters to score")]):
            logits = tf.cast(self(ids[:, :-1], training=False), tf.float32)  # (B, L-1, V)
        targets = ids[:, 1:]  # (B, L-1)
        logp = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        predicted = tf.sequence_mask(lengths - 1, tf.shape(targets)[1], tf.float32)
        total = tf.reduce_sum(logp * predicted, axis=1)
        count = lengths - 1
        return {"log_prob": total, "bits_per_char": -total / tf.cast(count, tf.float32) / math.log(2.0),
                "num_predicted": count}

    def generate(self, prompt, length, temperature, seed):
        """Continues each prompt (B,) string by ``length`` characters.

        Sampling is Gumbel-max: token = argmax(logits + T g) with g ~ Gumbel(0, 1)
        drawn statelessly (philox) from ``seed``, which samples softmax(logits / T)
        for T > 0 and is greedy for T = 0. Prompts in one batch must have the same
        number of characters (at least one).

        Returns:
            ``text`` (B,) the continuation (without the prompt) and ``tokens`` (B, length) its ids.
        """
        ids, lengths = self._text_to_ids(prompt, "prompt")
        with tf.control_dependencies([
            tf.debugging.assert_equal(tf.reduce_min(lengths), tf.reduce_max(lengths), message=(
                "the prompts of one generate call must have the same number of characters; "
                "send prompts of different lengths in separate calls")),
            tf.debugging.assert_positive(tf.reduce_min(lengths), message="every prompt needs at least one character"),
        ]):
            ids = tf.identity(ids)
        tokens = self.sample(ids, length, temperature, seed)
        return {"text": self._ids_to_text(tokens), "tokens": tokens}

    def sample(self, prompt, length, temperature, seed, use_cache=True):
        """Samples ``length`` ids (B, length) int32 after ``prompt`` ids (B, P), P >= 1, in a ``tf.while_loop``.

        ``use_cache=True`` runs :meth:`prefill` once and then one
        :meth:`decode_step` per token; ``use_cache=False`` recomputes the whole
        sequence for every token (the reference the cache is tested against;
        both draw the same noise, so they agree token for token).
        """
        prompt = tf.convert_to_tensor(prompt, tf.int32)
        self.check_tokens(prompt, "prompt")
        length = tf.convert_to_tensor(length, tf.int32)
        temperature = tf.convert_to_tensor(temperature, tf.float32)
        batch, prompt_length = tf.shape(prompt)[0], tf.shape(prompt)[1]
        checks = [
            self._assert_fits(prompt_length + length, "the prompt plus the generated length"),
            tf.debugging.assert_positive(length, message="length must be at least 1"),
            tf.debugging.assert_non_negative(temperature, message="temperature must be >= 0 (0: greedy)"),
        ]
        with tf.control_dependencies(checks):
            u = tf.random.stateless_uniform((batch, length, self.vocabulary_size), seed, minval=1e-7, maxval=1.0,
                                            alg="philox")
        noise = temperature * -tf.math.log(-tf.math.log(u))  # T * Gumbel(0, 1), (B, length, V)

        def pick(logits, t):
            return tf.argmax(tf.cast(logits, tf.float32) + noise[:, t], axis=-1, output_type=tf.int32)  # (B,)

        out = tf.TensorArray(tf.int32, size=length)
        if use_cache:
            logits, state = self.prefill(prompt)
            first = pick(logits, 0)

            def body(t, token, state, out):
                logits, state = self.decode_step(token, prompt_length + t - 1, state)
                token = pick(logits, t)
                return t + 1, token, state, out.write(t, token)

            loop = (1, first, state, out.write(0, first))
            _, _, _, out = tf.while_loop(lambda t, *_: t < length, body, loop)
        else:
            buffer = tf.concat([prompt, tf.zeros((batch, length), tf.int32)], axis=1)  # (B, P + length)

            def body(t, buffer, out):
                logits = self(buffer[:, :prompt_length + t], training=False)[:, -1]  # all of it, every step
                token = pick(logits, t)
                buffer = tf.tensor_scatter_nd_update(
                    buffer, tf.stack([tf.range(batch), tf.fill([batch], prompt_length + t)], axis=1), token)
                return t + 1, buffer, out.write(t, token)

            _, _, out = tf.while_loop(lambda t, *_: t < length, body, (0, buffer, out))
        return tf.transpose(out.stack())  # (B, length)

    def prefill(self, tokens):
        raise NotImplementedError

    def decode_step(self, token, position, state):
        raise NotImplementedError

    def serving_endpoints(self):
        return {
            "serving_default": (self.next_char_probabilities, [tf.TensorSpec((None, None), tf.int32, name="tokens")]),
            "log_prob": (self.log_prob, [tf.TensorSpec((None,), tf.string, name="text")]),
            "generate": (self.generate, [tf.TensorSpec((None,), tf.string, name="prompt"),
                                         tf.TensorSpec((), tf.int32, name="length"),
                                         tf.TensorSpec((), tf.float32, name="temperature"),
                                         tf.TensorSpec((2,), tf.int32, name="seed")]),
        }

    def serving_ranges(self):
        """Token ids in [0, vocabulary_size); with a context, at most ``max_length - 1`` generated after a prompt."""
        ranges = {"serving_default": {"tokens": (0, self.vocabulary_size - 1)}}
        if self.max_length:
            ranges["generate"] = {"length": (1, self.max_length - 1)}
        return ranges

    def serving_examples(self):
        """Example inputs the exporter stores and ``mpkeras verify`` replays."""
        alphabet = self.vocabulary
        texts = np.array([(alphabet * 8)[:8].encode(), (alphabet[::-1] * 8)[:6].encode()], dtype=object)
        prompts = np.array([alphabet[:3].encode(), alphabet[-3:].encode()], dtype=object)
        tokens = np.arange(10, dtype=np.int32).reshape(2, 5) % self.vocabulary_size
        return {"serving_default": [tokens], "log_prob": [texts],
                "generate": [prompts, np.int32(5), np.float32(1.0), np.array([1, 2], np.int32)]}

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "seed": self.seed}
