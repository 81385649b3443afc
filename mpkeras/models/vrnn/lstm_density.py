"""An autoregressive LSTM over sequences of binary vectors: the exact-likelihood baseline of the VRNN."""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, with_regularization
from mpkeras.models.vrnn.inputs import _SequenceInputs
from mpkeras.registry import register_model


@register_model("lstm_density", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class LSTMDensity(_SequenceInputs, keras.Model):
    """Autoregressive LSTM over sequences of binary vectors, the exact-likelihood baseline of :class:`VRNN`.

        h_t = LSTM(x_{t-1}, h_{t-1}),  x_0 = 0
        p(x_t | x_<t) = prod_d Bernoulli(x_td; sigmoid(W h_t + b)_d)
        log p(x) = sum_t log p(x_t | x_<t)

    The D numbers of one step are independent given the past (the row's pixels, for
    digits read row by row): the gap to the VRNN, whose z_t can correlate them.
    The loss is -log p(x) in nats per sequence, averaged over the batch.

    Args:
        input_shape: (T, D).
        units: LSTM state size.
        num_layers: stacked LSTM layers.

    Example:
        >>> model = LSTMDensity(input_shape=(28, 28), units=256)
        >>> model.compile(optimizer="adam")
        >>> model.fit(binary_row_sequences, epochs=50)
        >>> model.log_prob(x_test)["log_prob"]           # (B,) nats, exact

    Reference:
        Hochreiter and Schmidhuber, "Long short-term memory", 1997; Graves, "Generating
        Sequences With Recurrent Neural Networks", 2013 (an LSTM as an autoregressive density).
    """

    num_classes = 0

    def __init__(self, input_shape=(28, 28), units=256, num_layers=1, **kwargs):
        super().__init__(**kwargs)
        if len(tuple(input_shape)) != 2:
            raise ValueError(f"input_shape must be (steps, numbers per step), e.g. (28, 28); got {input_shape}.")
        if int(num_layers) < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}.")
        # === Config ===
        self.input_shape = tuple(int(s) for s in input_shape)
        self.units = int(units)
        self.num_layers = int(num_layers)
        # === Layers ===
        self.lstms = [keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i}") for i in range(num_layers)]
        self.readout = keras.layers.Dense(self.input_shape[1], dtype="float32", name="readout")

    def build(self, input_shape):
        self.call(tf.zeros((1, *self.input_shape)))
        super().build(input_shape)

    def call(self, inputs, training=False):
        x, _ = self._split(inputs)
        shifted = ops.pad(x, [[0, 0], [1, 0], [0, 0]])[:, :-1]  # x_0 = 0, x_1..x_{T-1}: (B, T, D)
        h = shifted
        for lstm in self.lstms:
            h = lstm(h)  # (B, T, units)
        return self.readout(h)  # logits of p(x_t | x_<t), (B, T, D)

    def _log_prob(self, sequences, logits):
        x = ops.cast(sequences, "float32")
        return ops.sum(x * logits - ops.softplus(logits), axis=(1, 2))  # (B,)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return with_regularization(average_loss(-self._log_prob(x, y_pred)), self.losses)

    def log_prob(self, sequences):
        """Exact ``log_prob`` (B,) in nats and ``bits_per_dim`` (B,) of binary sequences (B, T, D)."""
        x = self._checked_binary(sequences)
        log_prob = self._log_prob(x, self(x, training=False))
        return {"log_prob": log_prob, "bits_per_dim": -log_prob / (math.prod(self.input_shape) * np.log(2.0))}

    def generate(self, num_samples, seed):
        """``sequences`` (N, T, D) in {0, 1} and their ``probabilities``, drawn step by step inside ``tf.scan``."""
        steps, dim = self.input_shape
        num_samples = tf.cast(num_samples, tf.int32)
        u = tf.random.stateless_uniform((steps, num_samples, dim), tf.cast(seed, tf.int32), alg="philox")
        states = [[tf.zeros((num_samples, self.units))] * 2 for _ in self.lstms]

        def body(carry, u_t):
            x_prev, _, states = carry
            h, new_states = x_prev, []
            for lstm, s in zip(self.lstms, states):
                h, s = lstm.cell(h, s)
                new_states.append([tf.cast(t, tf.float32) for t in s])  # the cells may compute in float16
            probabilities = tf.sigmoid(self.readout(h))
            return tf.cast(u_t < probabilities, tf.float32), probabilities, new_states

        zeros = tf.zeros((num_samples, dim))
        x, probabilities, _ = tf.scan(body, u, initializer=(zeros, zeros, states))  # (T, N, D)
        return {"sequences": tf.transpose(x, (1, 0, 2)), "probabilities": tf.transpose(probabilities, (1, 0, 2))}

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="sequences")
        log_prob = (self.log_prob, [x])
        return {"serving_default": log_prob, "log_prob": log_prob,
                "generate": (self.generate, [tf.TensorSpec((), tf.int32, name="num_samples"),
                                             tf.TensorSpec((2,), tf.int32, name="seed")])}

    def serving_examples(self):
        x = (np.random.default_rng(0).uniform(size=(2, *self.input_shape)) < 0.3).astype(np.float32)
        return {"serving_default": [x], "log_prob": [x]}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "units": self.units,
                "num_layers": self.num_layers}
