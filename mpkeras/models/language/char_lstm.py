"""Character-level LSTM language model."""

import keras
import tensorflow as tf

from mpkeras.models.language.base import CharLanguageModel
from mpkeras.registry import register_model


@register_model("char_lstm", dataset="pydoc_text", metric="test_bits_per_char")
@keras.saving.register_keras_serializable(package="mpkeras")
class CharLSTM(CharLanguageModel):
    """Stacked-LSTM character model: e_t = E[x_t], h^l_t = LSTM(h^{l-1}_t, h^l_{t-1}),
    p(x_{t+1} | x_0..x_t) = softmax(W_y h^L_t + b_y).

    The recurrence is Keras's ``keras.layers.LSTM`` (the fused cuDNN kernel on a
    GPU; it equals :class:`~mpkeras.layers.LSTMCell` for equal weights, tested in
    ``tests/test_recurrent.py``). Generation carries each layer's (h, c) from
    step to step, so a token costs one cell update per layer whatever the
    position; there is no context limit.

    Args:
        vocabulary: the alphabet as one string.
        embedding_dim: size of the character embedding E.
        units: hidden size of every LSTM layer.
        num_layers: stacked LSTM layers.
        dropout: dropout between layers and before the read-out.
        seed: seed of the dropout.

    Example:
        >>> model = CharLSTM(vocabulary=vocab.chars, units=512)
        >>> model.compile(optimizer="adam")              # cross-entropy; reports bits_per_char
        >>> model.fit(windows, epochs=20)                # (ids[:-1], ids[1:]) pairs, (B, T) int32
        >>> model.generate(tf.constant(["def "]), 80, 0.8, tf.constant([0, 1]))["text"]

    Reference:
        Hochreiter and Schmidhuber, "Long short-term memory", 1997; Graves,
        "Generating sequences with recurrent neural networks", arXiv:1308.0850, 2013;
        Karpathy, Johnson and Fei-Fei, "Visualizing and understanding recurrent
        networks", arXiv:1506.02078, 2015.
    """

    def __init__(self, vocabulary, embedding_dim=64, units=512, num_layers=1, dropout=0.1, seed=None, **kwargs):
        super().__init__(vocabulary, seed=seed, **kwargs)
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}.")
        # === Layers ===
        self.embedding = keras.layers.Embedding(self.vocabulary_size, embedding_dim, name="embedding")
        self.recurrent = [keras.layers.LSTM(units, return_sequences=True, return_state=True, name=f"lstm_{i}")
                          for i in range(num_layers)]
        self.drop = keras.layers.Dropout(dropout, seed=seed)
        self.readout = keras.layers.Dense(self.vocabulary_size, dtype="float32", name="readout")
        # === Config ===
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout

    def call(self, tokens, training=False):
        logits, _ = self._run(self.check_tokens(tokens), None, training)
        return logits  # (B, T, V)

    def _run(self, tokens, states, training):
        h = self.embedding(tokens)  # (B, T, E)
        final = []
        for i, layer in enumerate(self.recurrent):
            h = self.drop(h, training=training) if i else h
            h, state_h, state_c = layer(h, initial_state=None if states is None else states[i], training=training)
            final.append([state_h, state_c])  # (B, units) each
        return self.readout(self.drop(h, training=training)), final  # (B, T, V)

    def prefill(self, tokens):
        logits, states = self._run(tokens, None, False)
        return logits[:, -1], states

    def decode_step(self, token, position, state):
        del position  # the state already says where we are
        h = self.embedding(token)  # (B, E)
        new = []
        for layer, (state_h, state_c) in zip(self.recurrent, state):
            h, (state_h, state_c) = layer.cell(h, [state_h, state_c], training=False)  # one step of the LSTM
            new.append([state_h, state_c])
        return tf.cast(self.readout(h), tf.float32), new  # (B, V)

    def get_config(self):
        return {**super().get_config(), "embedding_dim": self.embedding_dim, "units": self.units,
                "num_layers": self.num_layers, "dropout": self.dropout}
