"""Multilayer perceptron with a likelihood-derived loss."""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.layers import ACTIVATIONS, RandomAffine, get_activation
from mpkeras.models.common import check_input
from mpkeras.registry import register_model

# Each likelihood p(y | x) gives the loss -log p(y | x) (up to constants).
LIKELIHOODS = {
    "categorical": "cross-entropy over num_outputs classes (softmax)",
    "bernoulli": "binary cross-entropy per output (sigmoid)",
    "gaussian": "mean squared error (unit-variance Gaussian)",
    "laplace": "mean absolute error (unit-scale Laplace)",
}


@register_model("mlp", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class MLP(keras.Model):
    """A fully connected network f(x) = W_L s(... s(W_1 x + b_1) ...) + b_L.

    The loss is the negative log-likelihood of the chosen output model:
    categorical -> cross-entropy, bernoulli -> binary cross-entropy,
    gaussian -> MSE, laplace -> L1. ``weight_decay`` > 0 turns maximum
    likelihood into MAP estimation under a Gaussian prior on the weights,
    i.e. an L2 penalty (weight_decay * ||W||^2).

    Args:
        input_shape: shape of one example, e.g. ``(28, 28, 1)``; it is flattened.
        hidden_units: widths of the hidden layers.
        activation: ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu`` or ``rrelu``
            (randomized leaky ReLU: slope ~ U(1/8, 1/3) in training, the mean at test).
        num_outputs: classes (categorical) or output dimensions.
        likelihood: one of ``categorical``, ``bernoulli``, ``gaussian``, ``laplace``.
        dropout: dropout rate after each hidden layer.
        weight_decay: L2 coefficient on the kernels (MAP with a Gaussian prior).
        input_mean, input_std: training-set statistics; the model standardizes
            its input, (x - mean) / std, so callers and servers send raw pixels.
        augment_shift: random translation in training, as a fraction of height
            and width; 0 disables it.
        augment_rotation: random rotation in training, as a fraction of 2 pi;
            0 disables it. Both are one ``mpkeras.layers.RandomAffine`` warp (the
            ranges of Keras's RandomTranslation and RandomRotation). Augmentation sits in
            the model, active only when ``training=True``, so its random state
            advances once per step (reproducible, checkpointed, XLA-compatible)
            and the exported model is unaffected.
        seed: seed for the randomized parts (dropout, rrelu, augmentation).

    Example:
        >>> model = MLP(input_shape=(28, 28, 1), hidden_units=(256, 128))
        >>> model.compile(optimizer="adam", metrics=["accuracy"])  # loss from the likelihood
        >>> model.fit(images, labels, epochs=10)
        >>> model.serving_endpoints()["serving_default"]  # probabilities, class_id

    Reference:
        Rumelhart, Hinton and Williams, "Learning representations by
        back-propagating errors", Nature 1986; Goodfellow, Bengio and
        Courville, "Deep Learning", ch. 6, 2016.
    """

    def __init__(
        self,
        input_shape=(28, 28, 1),
        hidden_units=(256, 128),
        activation="relu",
        num_outputs=10,
        likelihood="categorical",
        dropout=0.0,
        weight_decay=0.0,
        input_mean=0.0,
        input_std=1.0,
        augment_shift=0.0,
        augment_rotation=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}.")
        if (augment_shift or augment_rotation) and len(input_shape) != 3:
            raise ValueError(f"Augmentation needs image inputs (H, W, C); input_shape is {tuple(input_shape)}.")
        # === Layers ===
        self.augmentation = []
        if augment_rotation or augment_shift:  # one bilinear warp that XLA compiles (Keras's layers do not)
            self.augmentation.append(RandomAffine(augment_shift, augment_rotation, seed=seed))
        regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
        self.flatten = keras.layers.Flatten()
        self.hidden = []
        for i, units in enumerate(hidden_units):
            self.hidden.append(keras.layers.Dense(units, kernel_regularizer=regularizer, name=f"dense_{i}"))
            self.hidden.append(get_activation(activation, seed=seed))
            if dropout:
                self.hidden.append(keras.layers.Dropout(dropout, seed=seed))
        # float32 head: logits stay float32 under a mixed_float16 policy.
        self.head = keras.layers.Dense(num_outputs, kernel_regularizer=regularizer, dtype="float32", name="head")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.hidden_units = tuple(hidden_units)
        self.activation = activation
        self.num_outputs = num_outputs
        self.likelihood = likelihood
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.input_mean = float(input_mean)
        self.input_std = float(input_std)
        self.augment_shift = augment_shift
        self.augment_rotation = augment_rotation
        self.seed = seed

    def build(self, input_shape):
        shape = (None, math.prod(input_shape[1:]))
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head.build(shape)
        super().build(input_shape)

    def call(self, x, training=False):
        if training:  # images only: labels are untouched by construction
            for layer in self.augmentation:
                x = layer(x, training=True)
        h = self.flatten((x - self.input_mean) / self.input_std)  # (B, D)
        for layer in self.hidden:
            h = layer(h, training=training)
        return self.head(h)  # (B, num_outputs): logits, or the mean for regression

    # --- Training -----------------------------------------------------------
    def likelihood_loss(self):
        """The Keras loss equal to -log p(y | x) for this model's likelihood."""
        return {
            "categorical": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "bernoulli": keras.losses.BinaryCrossentropy(from_logits=True),
            "gaussian": keras.losses.MeanSquaredError(),
            "laplace": keras.losses.MeanAbsoluteError(),
        }[self.likelihood]

    def compile(self, optimizer="adam", loss=None, **kwargs):
        """``keras.Model.compile``; ``loss`` defaults to the likelihood's loss."""
        super().compile(optimizer=optimizer, loss=loss or self.likelihood_loss(), **kwargs)
        for layer in self.augmentation:  # XLA cannot compile Keras's fused warp; RandomAffine has a form it can
            if isinstance(layer, RandomAffine):
                layer.xla = bool(self.jit_compile)

    # --- Serving ------------------------------------------------------------
    def predict_outputs(self, x):
        """Named outputs: probabilities and class_id, or the regression prediction."""
        x = check_input(x, self.input_shape, "x")
        out = self(x, training=False)
        if self.likelihood == "categorical":
            probabilities = ops.softmax(out, axis=-1)
            return {"probabilities": probabilities, "class_id": ops.cast(ops.argmax(out, axis=-1), "int32")}
        if self.likelihood == "bernoulli":
            probabilities = ops.sigmoid(out)
            return {"probabilities": probabilities, "class_id": ops.cast(probabilities > 0.5, "int32")}
        return {"prediction": out}

    def serving_endpoints(self):
        spec = [tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")]
        return {"serving_default": (self.predict_outputs, spec)}

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.input_shape,
            "hidden_units": self.hidden_units,
            "activation": self.activation,
            "num_outputs": self.num_outputs,
            "likelihood": self.likelihood,
            "dropout": self.dropout,
            "weight_decay": self.weight_decay,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
            "augment_shift": self.augment_shift,
            "augment_rotation": self.augment_rotation,
            "seed": self.seed,
        }
