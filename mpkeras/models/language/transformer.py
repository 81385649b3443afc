"""Decoder-only Transformer character language model with a key/value cache for generation."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.layers.attention import PATTERNS, SinusoidalPositions, TransformerBlock
from mpkeras.models.language.base import CharLanguageModel
from mpkeras.registry import register_model

POSITIONS = ("learned", "sinusoidal")


@register_model("transformer_lm", dataset="pydoc_text", metric="test_bits_per_char")
@keras.saving.register_keras_serializable(package="mpkeras")
class TransformerLM(CharLanguageModel):
    """Causal Transformer: h^0_t = E[x_t] + P[t]; h^l = Block_l(h^{l-1}); p(x_{t+1} | x_0..x_t) = softmax(W LN(h^L_t)).

    Each :class:`~mpkeras.layers.TransformerBlock` is pre-norm multi-head causal
    self-attention, softmax(Q K^T / sqrt(d) + M) V with M = -inf above the
    diagonal (or outside a sparse pattern), followed by an MLP. Positions are
    learned vectors P[t] (t < ``context``) or fixed sinusoids.

    Generation caches every layer's keys and values ((B, h, context, d) each):
    the prompt runs once in parallel (:meth:`prefill`), then each new token
    runs through the stack alone and attends to the cached keys and values
    (:meth:`decode_step`), instead of recomputing the whole prefix per token.

    Args:
        vocabulary: the alphabet as one string.
        context: the longest sequence (positions 0..context-1); longer inputs are an error.
        width: D, the model width.
        num_layers: Transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width / D.
        positions: ``learned`` or ``sinusoidal``.
        attention: the attention pattern of every block (``dense``, ``strided``,
            ``fixed``), or a list with one per block, e.g. ``("strided", "fixed")``
            to alternate the Sparse Transformer's factorized patterns.
        stride: l of the sparse patterns; summary: c of ``fixed``.
        dropout: dropout in the blocks and on the embeddings.
        seed: seed of the dropout.

    Example:
        >>> model = TransformerLM(vocabulary=vocab.chars, context=256, width=128, num_layers=4, num_heads=4)
        >>> model.compile(optimizer="adam")
        >>> model.fit(windows, epochs=20)
        >>> model.generate(tf.constant(["def "]), 80, 0.8, tf.constant([0, 1]))["text"]

    Reference:
        Vaswani et al., "Attention is all you need", NeurIPS 2017; Radford et al.,
        "Language models are unsupervised multitask learners", 2019; Child, Gray,
        Radford and Sutskever, "Generating long sequences with sparse transformers",
        arXiv:1904.10509, 2019.
    """

    def __init__(self, vocabulary, context=256, width=128, num_layers=4, num_heads=4, mlp_ratio=4,
                 positions="learned", attention="dense", stride=None, summary=1, dropout=0.1, seed=None,
                 **kwargs):
        super().__init__(vocabulary, seed=seed, **kwargs)
        if positions not in POSITIONS:
            raise ValueError(f"Unknown positions {positions!r}; choose one of {', '.join(POSITIONS)}.")
        patterns = (attention,) * num_layers if isinstance(attention, str) else tuple(attention)
        if len(patterns) != num_layers:
            raise ValueError(f"attention lists {len(patterns)} patterns for {num_layers} layers; give one per "
                             f"layer or a single name ({', '.join(PATTERNS)}).")
        # === Layers ===
        self.token_embedding = keras.layers.Embedding(self.vocabulary_size, width, name="token_embedding")
        if positions == "learned":
            self.position_embedding = keras.layers.Embedding(context, width, name="position_embedding")
        else:
            self.position_embedding = SinusoidalPositions(width, name="position_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, seed=seed)
        self.blocks = [
            TransformerBlock(width, num_heads, mlp_ratio, pattern, stride, summary, dropout,
                             seed=None if seed is None else seed + 2 * (i + 1), name=f"block_{i}")
            for i, pattern in enumerate(patterns)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.head = keras.layers.Dense(self.vocabulary_size, dtype="float32", name="head")
        # === Config ===
        self.context = context
        self.width = width
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.positions = positions
        self.attention = attention if isinstance(attention, str) else list(attention)
        self.stride = stride
        self.summary = summary
        self.dropout = dropout

    @property
    def max_length(self):
        return self.context

    def _embed(self, tokens, start, training):
        positions = start + ops.arange(ops.shape(tokens)[1])  # (T,)
        h = self.token_embedding(tokens) + self.position_embedding(positions)[None]  # (B, T, D)
        return self.embedding_dropout(h, training=training)

    def call(self, tokens, training=False):
        h = self._embed(self.check_tokens(tokens), 0, training)
        for block in self.blocks:
            h = block(h, training=training)
        return self.head(self.final_norm(h))  # (B, T, V) logits

    def prefill(self, tokens):
        h = self._embed(tokens, 0, False)
        caches = []
        for block in self.blocks:
            cache = block.attention.empty_cache(tf.shape(tokens)[0], self.context, self.compute_dtype)
            h, cache = block.prefill(h, cache)
            caches.append(cache)
        return tf.cast(self.head(self.final_norm(h[:, -1])), tf.float32), caches

    def decode_step(self, token, position, state):
        h = self._embed(token[:, None], position, False)  # (B, 1, D)
        caches = []
        for block, cache in zip(self.blocks, state):
            h, cache = block.step(h, position, cache)
            caches.append(cache)
        return tf.cast(self.head(self.final_norm(h[:, 0])), tf.float32), caches  # (B, V)

    def get_config(self):
        return {**super().get_config(), "context": self.context, "width": self.width,
                "num_layers": self.num_layers, "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio,
                "positions": self.positions, "attention": self.attention, "stride": self.stride,
                "summary": self.summary, "dropout": self.dropout}
