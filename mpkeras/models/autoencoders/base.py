"""Deterministic autoencoders: the shared base, linear, deep, denoising and sparse autoencoders.

An autoencoder learns an encoder f and a decoder g so that g(f(x)) ~ x. The
base class :class:`Autoencoder` owns the training loop hooks (``compute_loss``
-> :meth:`Autoencoder.reconstruction_error` + :meth:`Autoencoder.code_penalty`) and
the exported endpoints ``reconstruct`` (serving_default), ``encode`` and
``decode``; the variants override networks, the input corruption or the
penalty.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_input, with_regularization
from mpkeras.registry import register_model

RECONSTRUCTION_LOSSES = ("bernoulli", "gaussian")
CORRUPTIONS = ("gaussian", "salt_and_pepper")
PENALTIES = ("l1", "kl")


def choose(value, choices, what):
    """Returns ``value`` if it is one of ``choices``, else raises a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"Unknown {what} {value!r}; choose one of {', '.join(map(repr, choices))}.")
    return value


def check_finite(x, name="x"):
    """Fails with a clear message (no apostrophes: it may be served) if ``x`` holds NaN or inf."""
    return tf.debugging.check_numerics(x, f"{name} contains NaN or inf; clean the input before calling the model")


def checked(x, shape, name="x"):
    """``check_input`` (dtype and per-example shape) plus a NaN/inf check, for eager and graph tensors."""
    if isinstance(x, keras.KerasTensor):  # symbolic build: only the static shape can be checked
        expected = (None, *shape)
        if len(x.shape) != len(expected) or any(e is not None and s is not None and e != s
                                                for e, s in zip(expected, x.shape)):
            raise ValueError(f"{name} has shape {tuple(x.shape)}, expected (batch, {', '.join(map(str, shape))}). "
                             "Reshape the batch, or build the model with a matching input_shape.")
        return x
    return check_finite(check_input(x, shape, name), name)


@register_model("autoencoder", dataset="mnist5k", metric="test_mse")
@keras.saving.register_keras_serializable(package="mpkeras")
class Autoencoder(keras.Model):
    """A (deep) autoencoder with a Bernoulli or Gaussian reconstruction loss.

    Encoder z = f(x): Flatten, ``hidden_units`` dense layers, then a dense code
    layer of ``code_dim`` units. Decoder x_hat = g(z): the hidden layers
    mirrored, then a dense layer to every pixel. The code is undercomplete for
    ``code_dim`` < dim(x) and overcomplete otherwise; a deep (stacked)
    autoencoder is ``hidden_units=(512, 256)``, trained end to end. The loss per
    example is

        Bernoulli:  -sum_i [x_i log x_hat_i + (1 - x_i) log(1 - x_hat_i)],
                    x_hat = sigmoid(g(z))       (nats per image; x in [0, 1])
        Gaussian:   (1/D) sum_i (x_i - x_hat_i)^2,  x_hat = g(z)  (MSE per pixel)

    plus :meth:`code_penalty` (zero here). Reported trackers: ``reconstruction``
    (that loss) and ``mse`` (per-pixel squared error of x_hat).

    Subclassing: override :meth:`build_encoder` (x -> (B, code_dim)) or
    :meth:`build_decoder` (z -> (B, *input_shape) pre-activations), the input
    corruption :meth:`corrupt_for_training`, or the loss hooks
    :meth:`reconstruction_error` / :meth:`code_penalty`; the subclass still trains
    with ``fit`` and exports ``reconstruct``, ``encode`` and ``decode``.

    Args:
        input_shape: shape of one example (pixel values in [0, 1] for the Bernoulli loss).
        code_dim: size of the code z.
        hidden_units: encoder hidden widths (the decoder mirrors them); () for one layer each way.
        activation: activation of the hidden layers.
        code_activation: activation of the code layer (None: linear code).
        reconstruction_loss: ``bernoulli`` (cross-entropy, sigmoid output) or ``gaussian`` (MSE, linear output).
        seed: seed of training-time randomness (corruption in subclasses).

    Example:
        >>> ae = Autoencoder(input_shape=(28, 28, 1), code_dim=32, hidden_units=(512, 256))
        >>> ae.compile(optimizer="adam")
        >>> ae.fit(images, epochs=50)
        >>> ae.reconstruct(images)["reconstruction"]     # (B, 28, 28, 1)

    Reference:
        Hinton and Salakhutdinov, "Reducing the Dimensionality of Data with
        Neural Networks", Science 313, 2006; Bengio, Lamblin, Popovici and
        Larochelle, "Greedy Layer-Wise Training of Deep Networks", NIPS 2006.
    """

    def __init__(self, input_shape=(28, 28, 1), code_dim=32, hidden_units=(512, 256), activation="relu",
                 code_activation=None, reconstruction_loss="bernoulli", seed=None, **kwargs):
        super().__init__(**kwargs)
        choose(reconstruction_loss, RECONSTRUCTION_LOSSES, "reconstruction_loss")
        if code_dim < 1:
            raise ValueError(f"code_dim must be a positive integer, got {code_dim}.")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.code_dim = code_dim
        self.hidden_units = tuple(hidden_units)
        self.activation = activation
        self.code_activation = code_activation
        self.reconstruction_loss = reconstruction_loss
        self.seed = seed
        # === Layers ===
        self.encoder = self.build_encoder()
        self.decoder = self.build_decoder()
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.penalty_tracker = keras.metrics.Mean(name="penalty")
        self.mse_tracker = keras.metrics.Mean(name="mse")

    @property
    def num_inputs(self):
        return math.prod(self.input_shape)

    # --- Networks (override these to change the architecture) -------------
    def build_encoder(self):
        """x (B, *input_shape) -> code (B, code_dim)."""
        layers = [keras.layers.Flatten()]
        layers += [keras.layers.Dense(u, activation=self.activation) for u in self.hidden_units]
        layers += [keras.layers.Dense(self.code_dim, activation=self.code_activation, name="code")]
        return keras.Sequential(layers, name="encoder")

    def build_decoder(self):
        """code (B, code_dim) -> pre-activations (B, *input_shape): logits (Bernoulli) or means (Gaussian)."""
        layers = [keras.layers.Dense(u, activation=self.activation) for u in reversed(self.hidden_units)]
        layers += [keras.layers.Dense(self.num_inputs), keras.layers.Reshape(self.input_shape)]
        return keras.Sequential(layers, name="decoder")

    def build(self, input_shape):
        if not self.encoder.built:  # encode() may have built it already
            self.encoder.build(input_shape)
        if not self.decoder.built:
            self.decoder.build((None, self.code_dim))
        super().build(input_shape)

    # --- Forward pass -------------------------------------------------------
    def corrupt_for_training(self, x):
        """The input the encoder sees in training (identity here; denoising autoencoders corrupt it)."""
        return x

    def output_activation(self, outputs):
        """Decoder pre-activations -> reconstruction: sigmoid (Bernoulli) or identity (Gaussian)."""
        return ops.sigmoid(outputs) if self.reconstruction_loss == "bernoulli" else outputs

    def call(self, x, training=False):
        x = checked(x, self.input_shape)
        inputs = self.corrupt_for_training(x) if training else x
        code = ops.cast(self.encoder(inputs), "float32")  # (B, code_dim); float32 under mixed precision
        outputs = ops.cast(self.decoder(code), "float32")  # (B, *input_shape)
        return {"code": code, "outputs": outputs, "reconstruction": self.output_activation(outputs)}

    # --- Loss hooks ---------------------------------------------------------
    def reconstruction_error(self, x, outputs):
        """Per-example reconstruction loss (B,) from the decoder pre-activations."""
        x = ops.reshape(ops.cast(x, "float32"), (-1, self.num_inputs))
        outputs = ops.reshape(outputs, (-1, self.num_inputs))
        if self.reconstruction_loss == "bernoulli":  # nats per image
            return ops.sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=outputs), axis=-1)
        return ops.mean(ops.square(x - outputs), axis=-1)  # per-pixel MSE

    def code_penalty(self, code):
        """Regularizer on the code: per-example (B,) or a scalar batch term. Zero for the plain autoencoder."""
        return ops.zeros_like(code[:, 0])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction = self.reconstruction_error(x, y_pred["outputs"])  # (B,)
        penalty = self.code_penalty(y_pred["code"])  # (B,) or ()
        squared = ops.square(ops.cast(x, "float32") - y_pred["reconstruction"])
        self.reconstruction_tracker.update_state(reconstruction)
        self.penalty_tracker.update_state(penalty)
        self.mse_tracker.update_state(ops.mean(ops.reshape(squared, (-1, self.num_inputs)), axis=-1))
        if len(penalty.shape):  # per example
            return with_regularization(average_loss(reconstruction) + average_loss(penalty), self.losses)
        # A penalty of the whole batch (e.g. on its mean activations) is added once per replica, like weight decay.
        return with_regularization(average_loss(reconstruction), [penalty, *self.losses])

    # --- Tensor-valued methods (exported) -----------------------------------
    def encode(self, x):
        """{"code": (B, code_dim)} of clean inputs."""
        return {"code": ops.cast(self.encoder(checked(x, self.input_shape)), "float32")}

    def decode(self, code):
        """{"reconstruction": (B, *input_shape)} from codes."""
        code = checked(code, (self.code_dim,), "code")
        return {"reconstruction": self.output_activation(ops.cast(self.decoder(code), "float32"))}

    def reconstruct(self, x):
        """{"reconstruction": (B, *input_shape), "code": (B, code_dim)}: g(f(x)) of clean inputs."""
        code = self.encode(x)["code"]
        return {"reconstruction": self.decode(code)["reconstruction"], "code": code}

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")
        code = tf.TensorSpec((None, self.code_dim), tf.float32, name="code")
        return {"reconstruct": (self.reconstruct, [x]), "encode": (self.encode, [x]), "decode": (self.decode, [code])}

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.input_shape,
            "code_dim": self.code_dim,
            "hidden_units": self.hidden_units,
            "activation": self.activation,
            "code_activation": self.code_activation,
            "reconstruction_loss": self.reconstruction_loss,
            "seed": self.seed,
        }
