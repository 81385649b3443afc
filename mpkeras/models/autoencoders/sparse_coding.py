"""Sparse coding with ISTA inference, and predictive sparse decomposition (PSD)."""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.autoencoders.base import checked
from mpkeras.models.common import average_loss, split_dtype_policy, with_regularization
from mpkeras.registry import register_model


def soft_threshold(v, threshold):
    """The proximal map of threshold * ||.||_1: sign(v) max(|v| - threshold, 0)."""
    return tf.sign(v) * tf.nn.relu(tf.abs(v) - threshold)


@tf.function(autograph=False, reduce_retracing=True)
def _ista_loop(x, d, z0, prior, prior_weight, sparsity, steps):
    """``steps`` ISTA iterations from z0; a graph even when called eagerly (an eager while_loop is a slow Python loop).

    Smooth part 1/2 ||x - D z||^2 + prior_weight/2 ||z - prior||^2, Lipschitz constant
    L = largest eigenvalue of D^T D (= that of D D^T, the smaller matrix) + prior_weight.
    """
    lipschitz = tf.linalg.eigvalsh(tf.matmul(d, d, transpose_b=True))[-1] + prior_weight
    step, threshold = 1.0 / lipschitz, sparsity / lipschitz

    def body(i, z):
        gradient = tf.matmul(tf.matmul(z, d, transpose_b=True) - x, d) + prior_weight * (z - prior)  # (B, K)
        return i + 1, soft_threshold(z - step * gradient, threshold)

    return tf.while_loop(lambda i, z: i < steps, body, (tf.constant(0), z0))[1]


@keras.saving.register_keras_serializable(package="mpkeras")
class Dictionary(keras.layers.Layer):
    """The linear decoder x = D z of sparse coding, D (num_inputs, num_atoms) with unit-norm columns (atoms).

    The columns start as normalized Gaussian vectors and a ``UnitNorm(axis=0)``
    constraint re-projects them onto the unit sphere after every optimizer
    update, so the L1 penalty cannot be dodged by growing D and shrinking z.

    Args:
        num_inputs: n, the dimension of x.
        num_atoms: K, the number of atoms (K > n: overcomplete).
    """

    def __init__(self, num_inputs, num_atoms, **kwargs):
        super().__init__(**kwargs)
        self.num_inputs = num_inputs
        self.num_atoms = num_atoms
        self.kernel = self.add_weight(shape=(num_inputs, num_atoms), initializer="random_normal", name="atoms",
                                      constraint=keras.constraints.UnitNorm(axis=0))
        self.kernel.assign(self.kernel.constraint(self.kernel))

    def call(self, code):
        return ops.matmul(code, ops.transpose(self.kernel))  # (B, K) -> (B, n)

    def get_config(self):
        return {**super().get_config(), "num_inputs": self.num_inputs, "num_atoms": self.num_atoms}


@register_model("sparse_coding", dataset="mnist5k", metric="test_patch_mse")
@keras.saving.register_keras_serializable(package="mpkeras")
class SparseCoding(keras.Model):
    """Sparse coding: a learned dictionary D and codes inferred by ISTA.

    Inference (the encoder) solves the lasso problem for each input x,

        z* = argmin_z E(x, z),   E(x, z) = 1/2 ||x - D z||^2 + lambda ||z||_1,

    with ``ista_steps`` iterations of ISTA from z = 0 (inside the graph, a
    ``tf.while_loop``):

        z <- soft_threshold(z + (1/L) D^T (x - D z), lambda / L),   L = largest eigenvalue of D^T D,

    which decreases E monotonically. Learning takes gradient steps on
    1/2 ||x - D z*||^2 with z* held fixed (stop_gradient) and re-projects each
    atom onto the unit sphere (:class:`Dictionary`). The loss reported is E
    (nats-free squared-error units) averaged over the batch.

    Args:
        input_shape: shape of one patch, e.g. (8, 8, 1) (contrast-normalized, any real values).
        num_atoms: K, the number of dictionary atoms (K > n: overcomplete).
        sparsity: lambda, the L1 weight.
        ista_steps: ISTA iterations of inference.

    Example:
        >>> sc = SparseCoding(input_shape=(8, 8, 1), num_atoms=128, sparsity=0.5)
        >>> sc.compile(optimizer=keras.optimizers.Adam(1e-3)); sc.fit(patches, epochs=20)
        >>> sc.encode(patches)["code"]   # sparse (B, 128) lasso codes

    Reference:
        Olshausen and Field, "Emergence of simple-cell receptive field
        properties by learning a sparse code for natural images", Nature 381,
        1996; Beck and Teboulle, "A Fast Iterative Shrinkage-Thresholding
        Algorithm for Linear Inverse Problems", SIAM J. Imaging Sciences, 2009 (ISTA).
    """

    def __init__(self, input_shape=(8, 8, 1), num_atoms=128, sparsity=0.5, ista_steps=100, **kwargs):
        # ISTA is an optimization of the codes: float32 whatever the policy; encoders (PSD) use the policy.
        self.network_dtype_policy = split_dtype_policy(kwargs)
        super().__init__(**kwargs)
        if ista_steps < 1 or num_atoms < 1:
            raise ValueError(f"ista_steps and num_atoms must be positive, got {ista_steps} and {num_atoms}.")
        if sparsity < 0:
            raise ValueError(f"sparsity (lambda) must be >= 0, got {sparsity}.")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.num_atoms = num_atoms
        self.sparsity = sparsity
        self.ista_steps = ista_steps
        # === Layers ===
        self.decoder = self.build_decoder()
        self.energy_tracker = keras.metrics.Mean(name="energy")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.mse_tracker = keras.metrics.Mean(name="mse")
        self.nonzero_tracker = keras.metrics.Mean(name="nonzeros")

    @property
    def num_inputs(self):
        return math.prod(self.input_shape)

    def build_decoder(self):
        """The dictionary: code (B, K) -> x (B, n); must expose ``kernel`` (n, K) for ISTA."""
        return Dictionary(self.num_inputs, self.num_atoms, name="dictionary", dtype=self.dtype_policy)

    # --- Inference ----------------------------------------------------------
    def ista(self, x, num_steps=None, init=None, prior=None, prior_weight=0.0):
        """ISTA codes (B, K) of flat inputs x (B, n), no gradient to D.

        With ``prior`` p (B, K) and weight alpha > 0 the smooth part gains
        alpha/2 ||z - p||^2 (PSD's inference energy) and L grows by alpha.

        Args:
            x: (B, n) float32.
            num_steps: iterations (int or int32 scalar); default ``ista_steps``.
            init: starting codes (B, K); default zeros.
            prior, prior_weight: optional quadratic pull towards ``prior``.
        """
        d = tf.stop_gradient(tf.convert_to_tensor(self.decoder.kernel))  # (n, K)
        x = tf.stop_gradient(tf.cast(x, tf.float32))
        z0 = tf.zeros([tf.shape(x)[0], self.num_atoms]) if init is None else tf.stop_gradient(init)
        prior = tf.zeros_like(z0) if prior is None else tf.stop_gradient(prior)  # weight 0: no pull
        steps = self.ista_steps if num_steps is None else num_steps
        return tf.stop_gradient(_ista_loop(x, d, z0, prior, tf.constant(prior_weight, tf.float32), self.sparsity,
                                           tf.cast(steps, tf.int32)))

    def energy(self, x, code):
        """E(x, z) = 1/2 ||x - D z||^2 + lambda ||z||_1 per example, (B,)."""
        x = tf.reshape(tf.cast(x, tf.float32), (-1, self.num_inputs))
        residual = x - self.decoder(code)
        return 0.5 * tf.reduce_sum(tf.square(residual), -1) + self.sparsity * tf.reduce_sum(tf.abs(code), -1)

    def infer(self, x):
        """Codes of flat inputs (B, n) -> dict with "code" (B, K). PSD adds its fast codes."""
        return {"code": self.ista(x)}

    def call(self, x, training=False):
        x = checked(x, self.input_shape)
        codes = self.infer(tf.reshape(x, (-1, self.num_inputs)))
        reconstruction = tf.reshape(self.decoder(codes["code"]), (-1, *self.input_shape))  # gradient reaches D
        return {**codes, "reconstruction": reconstruction}

    # --- Loss ---------------------------------------------------------------
    def extra_loss(self, x, y_pred):
        """Per-example terms added to the energy (B,); zero for plain sparse coding."""
        return tf.zeros_like(y_pred["code"][:, 0])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        code = y_pred["code"]
        x = tf.reshape(tf.cast(x, tf.float32), (-1, self.num_inputs))
        squared = tf.square(x - tf.reshape(y_pred["reconstruction"], (-1, self.num_inputs)))
        reconstruction = 0.5 * tf.reduce_sum(squared, -1)  # (B,)
        energy = reconstruction + self.sparsity * tf.reduce_sum(tf.abs(code), -1)
        self.energy_tracker.update_state(energy)
        self.reconstruction_tracker.update_state(reconstruction)
        self.mse_tracker.update_state(tf.reduce_mean(squared, -1))
        self.nonzero_tracker.update_state(tf.reduce_sum(tf.cast(code != 0, tf.float32), -1))
        return with_regularization(average_loss(energy + self.extra_loss(x, y_pred)), self.losses)

    # --- Tensor-valued methods (exported) -----------------------------------
    def encode(self, x):
        """{"code": (B, K)} ISTA codes (PSD adds "fast_code")."""
        return self.infer(tf.reshape(checked(x, self.input_shape), (-1, self.num_inputs)))

    def decode(self, code):
        """{"reconstruction": (B, *input_shape)} = D z."""
        code = checked(code, (self.num_atoms,), "code")
        return {"reconstruction": tf.reshape(self.decoder(code), (-1, *self.input_shape))}

    def reconstruct(self, x):
        """{"reconstruction", "code"}: D z* for the ISTA codes z*."""
        codes = self.encode(x)
        return {"reconstruction": self.decode(codes["code"])["reconstruction"], "code": codes["code"]}

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")
        code = tf.TensorSpec((None, self.num_atoms), tf.float32, name="code")
        return {"reconstruct": (self.reconstruct, [x]), "encode": (self.encode, [x]), "decode": (self.decode, [code])}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "num_atoms": self.num_atoms,
                "sparsity": self.sparsity, "ista_steps": self.ista_steps}


@register_model("psd", dataset="mnist5k", metric="test_fast_patch_mse")
@keras.saving.register_keras_serializable(package="mpkeras")
class PSD(SparseCoding):
    """Predictive sparse decomposition: sparse coding plus a fast encoder that predicts the codes.

    The fast encoder is F(x) = G tanh(W x + b) with a learned diagonal gain
    G. The energy of the paper is

        E(x, z) = 1/2 ||x - D z||^2 + lambda ||z||_1 + alpha/2 ||z - F(x)||^2.

    Inference minimizes E over z by ISTA started at F(x) (the quadratic pull to
    F(x) joins the smooth part, so L = ||D||_2^2 + alpha); learning takes
    gradient steps on E at the fixed z*: D learns from the first term, F from
    the last. After training F(x) alone gives approximate sparse codes in one
    feed-forward pass; ``encode`` returns both.

    Args:
        prediction_weight: alpha.
        **kwargs: the :class:`SparseCoding` arguments.

    Example:
        >>> psd = PSD(input_shape=(8, 8, 1), num_atoms=128, sparsity=0.5, prediction_weight=1.0)
        >>> psd.compile(optimizer="adam"); psd.fit(patches, epochs=20)
        >>> psd.encode(patches)["fast_code"]   # one pass, no ISTA

    Reference:
        Kavukcuoglu, Ranzato and LeCun, "Fast Inference in Sparse Coding
        Algorithms with Applications to Object Recognition", Tech. Report
        CBLL-TR-2008-12-01, NYU, 2008 (arXiv:1010.3467).
    """

    def __init__(self, prediction_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if prediction_weight <= 0:
            raise ValueError(f"prediction_weight (alpha) must be > 0, got {prediction_weight}.")
        # === Config ===
        self.prediction_weight = prediction_weight
        # === Layers ===
        self.encoder = self.build_encoder()
        self.gain = self.add_weight(shape=(self.num_atoms,), initializer="ones", name="gain")  # G (diagonal)
        self.prediction_tracker = keras.metrics.Mean(name="prediction")

    def build_encoder(self):
        """x (B, n) -> tanh(W x + b) (B, K); the gain G multiplies it."""
        return keras.Sequential([keras.layers.Dense(self.num_atoms, activation="tanh", dtype=self.network_dtype_policy)],
                                name="fast_encoder")

    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build((None, self.num_inputs))
        super().build(input_shape)

    def fast_codes(self, x):
        """F(x) = G tanh(W x + b) for flat x (B, n)."""
        return self.gain * tf.cast(self.encoder(x), tf.float32)

    def infer(self, x):
        fast = self.fast_codes(x)
        code = self.ista(x, init=fast, prior=fast, prior_weight=self.prediction_weight)
        return {"code": code, "fast_code": fast}

    def extra_loss(self, x, y_pred):
        prediction = 0.5 * self.prediction_weight * tf.reduce_sum(tf.square(y_pred["code"] - y_pred["fast_code"]), -1)
        self.prediction_tracker.update_state(prediction)
        return prediction

    def reconstruct(self, x):
        """{"reconstruction", "code", "fast_reconstruction", "fast_code"}: D z* and D F(x)."""
        codes = self.encode(x)
        return {"reconstruction": self.decode(codes["code"])["reconstruction"], "code": codes["code"],
                "fast_reconstruction": self.decode(codes["fast_code"])["reconstruction"],
                "fast_code": codes["fast_code"]}

    def get_config(self):
        return {**super().get_config(), "prediction_weight": self.prediction_weight}
