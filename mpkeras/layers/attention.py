"""Causal self-attention written from its equations, with dense and sparse (strided, fixed) patterns.

    Q = X W_Q,  K = X W_K,  V = X W_V               (per head, d = key_dim)
    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V,   M_ij = 0 if j in A_i else -inf

A_i, the set of positions row i may attend to, always lies in {0..i}
(causality). ``dense`` attends to all of it; the Sparse Transformer's patterns
attend to O(sqrt(n)) of it (see :func:`attention_pattern`).

:class:`CausalSelfAttention` runs over a whole sequence (training, scoring) or
one position at a time against a key/value cache (generation).

Example:
    >>> attention = CausalSelfAttention(num_heads=4, key_dim=16, pattern="strided", stride=8)
    >>> y = attention(x)                                   # (B, T, D), y_t sees x_0..x_t only
    >>> cache = attention.empty_cache(batch=2, length=64)  # keys and values (2, 4, 64, 16)
    >>> y_t, cache = attention.step(x_t, t, cache)          # x_t (B, 1, D) at position t
"""

import math

import keras
import tensorflow as tf
from keras import ops

PATTERNS = ("dense", "strided", "fixed")


def attention_pattern(length, pattern="dense", stride=None, summary=1):
    """The boolean (length, length) matrix A with A[i, j] = row i may attend to column j.

    Every pattern is causal (j <= i). With stride l (Child et al., 2019, Sec. 4.2;
    both halves of the factorization merged into one head):

    * ``dense``:   j <= i.
    * ``strided``: i - j < l (the previous l positions) or (i - j) mod l = 0
      (every l-th position back); suits data with period l, like image rows.
    * ``fixed``:   floor(j / l) = floor(i / l) (the own block of l) or
      j mod l >= l - c (the last c = ``summary`` "summary" positions of every
      block), with j <= i; suits text.

    Args:
        length: the sequence length n (a Python int or a scalar tensor).
        pattern: one of :data:`PATTERNS`.
        stride: l, required by the sparse patterns.
        summary: c of the ``fixed`` pattern, 1 <= c <= l.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"Unknown attention pattern {pattern!r}; choose one of {', '.join(PATTERNS)}.")
    if pattern != "dense" and not (stride and stride >= 1):
        raise ValueError(f"The {pattern!r} pattern needs stride >= 1, got {stride!r}.")
    if pattern == "fixed" and not 1 <= summary <= stride:
        raise ValueError(f"The fixed pattern needs 1 <= summary <= stride, got summary={summary}, stride={stride}.")
    positions = tf.range(length)
    return _allowed(positions[:, None], positions[None, :], pattern, stride, summary)  # (n, n)


def pattern_row(position, length, pattern="dense", stride=None, summary=1):
    """Row ``position`` of :func:`attention_pattern` (length,), without building the whole matrix."""
    return _allowed(position, tf.range(length), pattern, stride, summary)


def _allowed(i, j, pattern, stride, summary):
    """A[i, j] for broadcastable query positions i and key positions j."""
    causal = j <= i
    if pattern == "dense":
        return causal
    if pattern == "strided":
        return causal & ((i - j < stride) | ((i - j) % stride == 0))
    return causal & ((i // stride == j // stride) | (j % stride >= stride - summary))


def additive_mask(allowed):
    """M = 0 where attention is allowed and -inf elsewhere (float32)."""
    return tf.where(allowed, 0.0, -math.inf)


@keras.saving.register_keras_serializable(package="mpkeras")
class CausalSelfAttention(keras.layers.Layer):
    """Multi-head causal self-attention, softmax(Q K^T / sqrt(d) + M) V per head.

    The h heads attend in parallel on their own d-dimensional projections and
    their outputs are concatenated and projected back: y = [head_1..head_h] W_O.
    The scores and softmax run in float32 under mixed precision. Every row has
    at least itself to attend to, so no row of the softmax is all -inf.

    Args:
        num_heads: h.
        key_dim: d, the size of each head's queries, keys and values.
        pattern: which positions attend to which (:func:`attention_pattern`).
        stride, summary: the sparse patterns' l and c.
        dropout: dropout rate on the attention weights.
        seed: seed of that dropout.

    Example:
        >>> layer = CausalSelfAttention(num_heads=4, key_dim=16)
        >>> layer(np.zeros((2, 10, 64), "float32")).shape
        (2, 10, 64)

    Reference:
        Vaswani et al., "Attention is all you need", NeurIPS 2017; Child, Gray,
        Radford and Sutskever, "Generating long sequences with sparse
        transformers", arXiv:1904.10509, 2019.
    """

    def __init__(self, num_heads, key_dim, pattern="dense", stride=None, summary=1, dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        attention_pattern(1, pattern, stride, summary)  # validates the pattern arguments
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.pattern = pattern
        self.stride = stride
        self.summary = summary
        self.dropout = dropout
        self.seed = seed
        self.weights_dropout = keras.layers.Dropout(dropout, seed=seed)

    def build(self, input_shape):
        width = input_shape[-1]
        h, d = self.num_heads, self.key_dim
        # W_Q, W_K, W_V stacked: (D, 3, h, d); W_O: (h, d, D).
        self.qkv = self.add_weight(shape=(width, 3, h, d), initializer="glorot_uniform", name="qkv_kernel")
        self.qkv_bias = self.add_weight(shape=(3, h, d), initializer="zeros", name="qkv_bias")
        self.out = self.add_weight(shape=(h, d, width), initializer="glorot_uniform", name="output_kernel")
        self.out_bias = self.add_weight(shape=(width,), initializer="zeros", name="output_bias")

    def _project(self, x):
        """Q, K, V, each (B, h, T, d), from x (B, T, D)."""
        qkv = ops.einsum("btc,cshd->sbhtd", x, ops.cast(self.qkv, x.dtype))
        qkv = qkv + ops.cast(self.qkv_bias, x.dtype)[:, None, :, None, :]
        return qkv[0], qkv[1], qkv[2]

    def _attend(self, q, k, v, mask, training):
        """softmax(Q K^T / sqrt(d) + M) V, heads merged and projected: (B, T_q, D)."""
        scores = ops.einsum("bhqd,bhkd->bhqk", ops.cast(q, "float32"), ops.cast(k, "float32"))
        scores = scores / math.sqrt(self.key_dim) + mask  # (B, h, T_q, T_k)
        weights = tf.nn.softmax(scores, axis=-1)  # (tf.nn: keras warns on the 1-key rows of a 1-token prompt)
        weights = self.weights_dropout(weights, training=training)
        heads = ops.einsum("bhqk,bhkd->bhqd", ops.cast(weights, v.dtype), v)  # (B, h, T_q, d)
        y = ops.einsum("bhqd,hdc->bqc", heads, ops.cast(self.out, v.dtype))
        return y + ops.cast(self.out_bias, y.dtype)

    def call(self, x, training=False):
        """x (B, T, D) -> y (B, T, D), y_t a function of x_0..x_t."""
        q, k, v = self._project(x)
        mask = additive_mask(attention_pattern(tf.shape(x)[1], self.pattern, self.stride, self.summary))
        return self._attend(q, k, v, mask, training)

    # --- Generation with a key/value cache ----------------------------------
    def empty_cache(self, batch, length, dtype="float32"):
        """Zero keys and values for ``length`` positions: a dict of two (B, h, length, d) tensors."""
        shape = (batch, self.num_heads, length, self.key_dim)
        return {"keys": tf.zeros(shape, dtype), "values": tf.zeros(shape, dtype)}

    def prefill(self, x, cache):
        """Runs a prompt x (B, P, D) like :meth:`call` and writes its keys and values into ``cache[:, :, :P]``."""
        q, k, v = self._project(x)
        length = tf.shape(x)[1]
        mask = additive_mask(attention_pattern(length, self.pattern, self.stride, self.summary))
        size = tf.shape(cache["keys"])[2]
        pad = [[0, 0], [0, 0], [0, size - length], [0, 0]]
        cache = {"keys": tf.pad(tf.cast(k, cache["keys"].dtype), pad),
                 "values": tf.pad(tf.cast(v, cache["values"].dtype), pad)}
        return self._attend(q, k, v, mask, training=False), cache

    def step(self, x, position, cache):
        """One position: x (B, 1, D) at index ``position``; returns y (B, 1, D) and the updated cache.

        Its key and value go into slot ``position`` of the cache; the query
        attends to slots j in A_position (which are all <= position, so the
        empty slots after it never count). Per step this costs O(length * d)
        instead of recomputing the whole prefix.
        """
        q, k, v = self._project(x)  # (B, h, 1, d) each
        size = tf.shape(cache["keys"])[2]
        slot = tf.cast(tf.one_hot(position, size), cache["keys"].dtype)[None, None, :, None]  # (1, 1, L, 1)
        keys = cache["keys"] * (1.0 - slot) + tf.cast(k, slot.dtype) * slot
        values = cache["values"] * (1.0 - slot) + tf.cast(v, slot.dtype) * slot
        row = pattern_row(position, size, self.pattern, self.stride, self.summary)  # (L,)
        y = self._attend(q, ops.cast(keys, q.dtype), ops.cast(values, q.dtype), additive_mask(row)[None, :], False)
        return y, {"keys": keys, "values": values}

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "pattern": self.pattern, "stride": self.stride, "summary": self.summary, "dropout": self.dropout,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="mpkeras")
class SinusoidalPositions(keras.layers.Layer):
    """Fixed positional encodings PE(t, 2k) = sin(t / 10000^(2k/D)), PE(t, 2k+1) = cos(t / 10000^(2k/D)).

    ``call(positions)`` maps integer positions (any shape) to (..., D) vectors;
    no weights, so any position has an encoding.

    Args:
        width: D (even).

    Reference:
        Vaswani et al., "Attention is all you need", NeurIPS 2017, Sec. 3.5.
    """

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        if width % 2:
            raise ValueError(f"Sinusoidal positions need an even width, got {width}.")
        self.width = width

    def call(self, positions):
        k = tf.range(self.width // 2, dtype=tf.float32)
        angles = tf.cast(positions, tf.float32)[..., None] / tf.pow(10000.0, 2.0 * k / self.width)  # (..., D/2)
        pe = tf.stack([tf.sin(angles), tf.cos(angles)], axis=-1)  # (..., D/2, 2): sin, cos interleaved
        return ops.cast(tf.reshape(pe, tf.concat([tf.shape(angles)[:-1], [self.width]], 0)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.width)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="mpkeras")
class TransformerBlock(keras.layers.Layer):
    """Pre-norm decoder block: x <- x + Attn(LN(x)); x <- x + MLP(LN(x)), MLP(u) = W_2 gelu(W_1 u).

    Normalizing before each sub-layer (rather than after the residual sum)
    keeps an identity path from input to output, so deep stacks train without
    learning-rate warm-up (Xiong et al., 2020).

    Args:
        width: D, the model width.
        num_heads: attention heads; each has key_dim = D / num_heads.
        mlp_ratio: the MLP's hidden width is mlp_ratio * D.
        pattern, stride, summary: the attention pattern (:func:`attention_pattern`).
        dropout: dropout on the attention weights and on each sub-layer's output.
        seed: seed of the dropout.

    Reference:
        Vaswani et al., "Attention is all you need", NeurIPS 2017; Radford et al.,
        "Language models are unsupervised multitask learners" (GPT-2), 2019;
        Xiong et al., "On layer normalization in the Transformer architecture", ICML 2020.
    """

    def __init__(self, width, num_heads, mlp_ratio=4, pattern="dense", stride=None, summary=1, dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if width % num_heads:
            raise ValueError(f"width {width} is not a multiple of num_heads {num_heads}.")
        self.width = width
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.pattern = pattern
        self.stride = stride
        self.summary = summary
        self.dropout = dropout
        self.seed = seed
        self.norm_1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_1")
        self.attention = CausalSelfAttention(num_heads, width // num_heads, pattern, stride, summary, dropout,
                                             seed=seed, name="attention")
        self.norm_2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_2")
        self.hidden = keras.layers.Dense(mlp_ratio * width, activation="gelu", name="mlp_hidden")
        self.project = keras.layers.Dense(width, name="mlp_output")
        self.drop = keras.layers.Dropout(dropout, seed=None if seed is None else seed + 1)

    def build(self, input_shape):
        for layer in (self.norm_1, self.attention, self.norm_2):
            layer.build(input_shape)
        self.hidden.build(input_shape)
        self.project.build((*input_shape[:-1], self.mlp_ratio * self.width))

    def _mlp(self, x, training):
        return self.drop(self.project(self.hidden(self.norm_2(x))), training=training)

    def call(self, x, training=False):
        x = x + self.drop(self.attention(self.norm_1(x), training=training), training=training)  # (B, T, D)
        return x + self._mlp(x, training)

    def prefill(self, x, cache):
        """:meth:`call` on a prompt (B, P, D), filling the attention cache."""
        y, cache = self.attention.prefill(self.norm_1(x), cache)
        x = x + y
        return x + self._mlp(x, False), cache

    def step(self, x, position, cache):
        """One position x (B, 1, D) against the cache."""
        y, cache = self.attention.step(self.norm_1(x), position, cache)
        x = x + y
        return x + self._mlp(x, False), cache

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "width": self.width, "num_heads": self.num_heads,
                "mlp_ratio": self.mlp_ratio, "pattern": self.pattern, "stride": self.stride,
                "summary": self.summary, "dropout": self.dropout, "seed": self.seed}
