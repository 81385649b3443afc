"""Activation layers that Keras does not ship."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mpkeras")
class RandomizedLeakyReLU(keras.layers.Layer):
    """Randomized leaky ReLU (RReLU): f(x) = x for x >= 0, alpha * x otherwise.

    In training every element draws its own slope alpha ~ U(lower, upper); at
    inference the slope is the mean (lower + upper) / 2, so inference is
    deterministic.

    Args:
        lower: smallest negative slope, 0 <= lower <= upper.
        upper: largest negative slope.
        seed: seed of the layer's SeedGenerator.

    Example:
        >>> y = RandomizedLeakyReLU(1 / 8, 1 / 3)(x, training=True)

    Reference:
        Xu et al., "Empirical Evaluation of Rectified Activations in
        Convolutional Network", 2015.
    """

    def __init__(self, lower=1.0 / 8.0, upper=1.0 / 3.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= lower <= upper:
            raise ValueError(f"RandomizedLeakyReLU needs 0 <= lower <= upper, got lower={lower}, upper={upper}.")
        self.lower = float(lower)
        self.upper = float(upper)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if training:
            alpha = keras.random.uniform(
                ops.shape(x), self.lower, self.upper, dtype=x.dtype, seed=self.seed_generator
            )
        else:
            alpha = ops.cast((self.lower + self.upper) / 2.0, x.dtype)
        return ops.where(x >= 0, x, alpha * x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper, "seed": self.seed}


def get_activation(name, seed=None):
    """Returns a fresh activation layer for ``name``.

    Args:
        name: one of ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``rrelu``.
        seed: seed for the randomized activation.
    """
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.01)
    if name == "rrelu":
        return RandomizedLeakyReLU(seed=seed)
    if name in ("sigmoid", "tanh", "relu"):
        return keras.layers.Activation(name)
    raise ValueError(
        f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}."
    )


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "rrelu")
