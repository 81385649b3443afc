"""Recurrent image classifiers: an image read row by row as a sequence (sequential MNIST)."""

import keras
from keras import ops

from mpkeras.layers import ElmanCell, LSTMCell
from mpkeras.models.cnn.base import ImageClassifier
from mpkeras.models.common import FixedArguments
from mpkeras.registry import register_model

CELLS = {"elman": ElmanCell, "lstm": LSTMCell}


@keras.saving.register_keras_serializable(package="mpkeras")
class RecurrentClassifier(ImageClassifier):
    """Many-to-one recurrent classifier: x_t is row t of the image (W * C numbers), t = 1..H;
    stacked recurrent layers run over the rows and y_hat = softmax(W_y h_H + b_y).

    The cells are mpkeras's own, written from their equations
    (:class:`~mpkeras.layers.ElmanCell`, :class:`~mpkeras.layers.LSTMCell`) inside
    ``keras.layers.RNN``; every layer but the last returns its whole sequence, so
    the next one reads h_1..h_H. Standardization, augmentation, the loss and the
    serving outputs (``probabilities``, ``class_id``) are the image classifiers'.

    Args:
        cell: ``elman`` or ``lstm``.
        units: hidden size of every recurrent layer.
        num_layers: how many recurrent layers are stacked.
        dropout: dropout rate on the last hidden state.
        **kwargs: the :class:`~mpkeras.models.ImageClassifier` arguments.

    Example:
        >>> model = RecurrentClassifier(cell="lstm", units=128, input_shape=(28, 28, 1))
        >>> model.compile(optimizer="adam", metrics=["accuracy"])
        >>> model.fit(images, labels, epochs=20)   # 28 steps of 28 pixels each

    Reference:
        Elman, "Finding structure in time", 1990; Hochreiter and Schmidhuber,
        "Long short-term memory", 1997; Le, Jaitly and Hinton, "A simple way to
        initialize recurrent networks of rectified linear units", 2015 (sequential MNIST).
    """

    def __init__(self, cell="lstm", units=128, num_layers=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}; choose one of {', '.join(CELLS)}.")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}.")
        # === Layers ===
        self.recurrent = [
            keras.layers.RNN(CELLS[cell](units), return_sequences=i < num_layers - 1, name=f"{cell}_{i}")
            for i in range(num_layers)
        ]
        self.drop = keras.layers.Dropout(dropout, seed=self.seed)
        self.readout = keras.layers.Dense(self.num_classes, kernel_regularizer=self.regularizer(), dtype="float32",
                                          name="readout")  # W_y
        # === Config ===
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout

    def forward(self, x, training=False):
        h, w, c = self.input_shape
        h_seq = ops.reshape(x, (-1, h, w * c))  # (B, T=H, W*C): one row per step
        for layer in self.recurrent:
            h_seq = layer(h_seq, training=training)  # (B, T, units), the last: (B, units) = h_T
        return self.readout(self.drop(h_seq, training=training))  # (B, num_classes)

    def get_config(self):
        return {**super().get_config(), "cell": self.cell, "units": self.units, "num_layers": self.num_layers,
                "dropout": self.dropout}


@register_model("rnn_classifier", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class RNNClassifier(FixedArguments, RecurrentClassifier):
    """:class:`RecurrentClassifier` with Elman cells, h_t = tanh(W_h h_{t-1} + W_x x_t + b).

    Args:
        **kwargs: the :class:`RecurrentClassifier` arguments except ``cell``.

    Example:
        >>> model = RNNClassifier(units=128, input_shape=(28, 28, 1))

    Reference:
        Elman, "Finding structure in time", Cognitive Science 14(2), 1990.
    """

    FIXED = {"cell": "elman"}


@register_model("lstm_classifier", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class LSTMClassifier(FixedArguments, RecurrentClassifier):
    """:class:`RecurrentClassifier` with LSTM cells (gated memory c_t = f c_{t-1} + i g).

    Args:
        **kwargs: the :class:`RecurrentClassifier` arguments except ``cell``.

    Example:
        >>> model = LSTMClassifier(units=128, input_shape=(28, 28, 1))

    Reference:
        Hochreiter and Schmidhuber, "Long short-term memory", Neural Computation 9(8), 1997.
    """

    FIXED = {"cell": "lstm"}
