"""Linear, denoising and sparse autoencoders: the :class:`Autoencoder` base with one hook changed each."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.autoencoders.base import CORRUPTIONS, PENALTIES, Autoencoder, checked, choose
from mpkeras.models.common import FixedArguments
from mpkeras.registry import register_model


@register_model("linear_ae", dataset="mnist5k", metric="test_mse")
@keras.saving.register_keras_serializable(package="mpkeras")
class LinearAutoencoder(FixedArguments, Autoencoder):
    """Linear autoencoder: x_hat = W_d (W_e x + b_e) + b_d with the squared-error loss.

    With a k-dimensional code, the minimum of (1/D) E||x - x_hat||^2 is reached
    when the columns of W_d span the top-k principal subspace of the centred
    data (the biases absorb the mean); the error then equals PCA's. The
    autoencoder recovers that subspace but not the principal axes themselves:
    any invertible A gives the same fit with W_d A^-1 and A W_e.

    Args:
        input_shape: shape of one example.
        code_dim: k, the size of the code.
        seed: unused (no training-time randomness); kept for a uniform signature.
        **kwargs: other :class:`Autoencoder` arguments except ``hidden_units``,
            ``code_activation`` and ``reconstruction_loss``, which are fixed
            ((), None, ``gaussian``).

    Example:
        >>> ae = LinearAutoencoder(input_shape=(28, 28, 1), code_dim=16)
        >>> ae.compile(optimizer="adam"); ae.fit(images, epochs=100)
        >>> decoder_kernel = ae.decoder.layers[0].kernel   # (16, 784): rows span PCA's top-16 subspace

    Reference:
        Baldi and Hornik, "Neural Networks and Principal Component Analysis:
        Learning from Examples Without Local Minima", Neural Networks 2(1), 1989.
    """

    FIXED = {"hidden_units": (), "code_activation": None, "reconstruction_loss": "gaussian"}

    def decoder_basis(self):
        """The decoder's weight rows as columns, (D, code_dim): they span the learned subspace."""
        return ops.transpose(self.decoder.layers[0].kernel)


@register_model("denoising_ae", dataset="mnist5k", metric="test_denoised_mse")
@keras.saving.register_keras_serializable(package="mpkeras")
class DenoisingAutoencoder(Autoencoder):
    """Denoising autoencoder: reconstruct the clean x from a corrupted copy x_tilde ~ q(x_tilde | x).

    The loss is L(x, g(f(x_tilde))), so even an overcomplete code (the default,
    1000 > 784 units) cannot learn the identity. Corruptions, applied in
    training only (evaluation and the ``reconstruct`` endpoint see clean
    inputs):

        gaussian:         x_tilde = clip(x + noise_level * eps, 0, 1),  eps ~ N(0, I)
        salt_and_pepper:  each pixel, with probability noise_level, is set to 0 or 1 (equally likely)

    Training noise comes from Keras random ops with a ``SeedGenerator``; the
    exported ``corrupt`` endpoint draws the same corruption statelessly from an
    explicit seed (philox), for reproducible before/after comparisons.

    Args:
        corruption: ``gaussian`` or ``salt_and_pepper``.
        noise_level: the Gaussian standard deviation, or the salt-and-pepper pixel fraction.
        code_dim, hidden_units, code_activation: as for :class:`Autoencoder`
            (defaults: one overcomplete sigmoid layer of 1000 units, as in the paper).
        **kwargs: other :class:`Autoencoder` arguments.

    Example:
        >>> dae = DenoisingAutoencoder(corruption="salt_and_pepper", noise_level=0.25)
        >>> dae.compile(optimizer="adam"); dae.fit(images, epochs=50)
        >>> noisy = dae.corrupt(images, seed=[1, 2])["corrupted"]
        >>> dae.reconstruct(noisy)["reconstruction"]   # denoised

    Reference:
        Vincent, Larochelle, Bengio and Manzagol, "Extracting and Composing
        Robust Features with Denoising Autoencoders", ICML 2008.
    """

    def __init__(self, corruption="gaussian", noise_level=0.5, code_dim=1000, hidden_units=(),
                 code_activation="sigmoid", **kwargs):
        super().__init__(code_dim=code_dim, hidden_units=hidden_units, code_activation=code_activation, **kwargs)
        choose(corruption, CORRUPTIONS, "corruption")
        if not noise_level >= 0:
            raise ValueError(f"noise_level must be >= 0, got {noise_level}.")
        # === Config ===
        self.corruption = corruption
        self.noise_level = noise_level
        # === Layers === (none beyond the base's)

    def apply_corruption(self, x, normal, uniform):
        """x_tilde from x, with noise drawn by ``normal(shape)`` / ``uniform(shape)`` (either RNG style)."""
        shape = ops.shape(x)
        if self.corruption == "gaussian":
            return ops.clip(x + self.noise_level * normal(shape), 0.0, 1.0)
        hit = uniform(shape) < self.noise_level  # salt and pepper
        salt = ops.cast(uniform(shape) < 0.5, x.dtype)
        return ops.where(hit, salt, x)

    def corrupt_for_training(self, x):
        return self.apply_corruption(
            x, lambda s: keras.random.normal(s, seed=self.seed_generator),
            lambda s: keras.random.uniform(s, seed=self.seed_generator))

    def corrupt(self, x, seed):
        """{"corrupted": (B, *input_shape)}, drawn statelessly from ``seed`` (int32 (2,))."""
        x = checked(x, self.input_shape)
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)
        draws = iter(range(2))
        normal = lambda s: tf.random.stateless_normal(s, seed=seeds[next(draws)], alg="philox")  # noqa: E731
        uniform = lambda s: tf.random.stateless_uniform(s, seed=seeds[next(draws)], alg="philox")  # noqa: E731
        return {"corrupted": self.apply_corruption(x, normal, uniform)}

    def serving_endpoints(self):
        endpoints = super().serving_endpoints()
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")
        endpoints["corrupt"] = (self.corrupt, [x, tf.TensorSpec((2,), tf.int32, name="seed")])
        return endpoints

    def get_config(self):
        return {**super().get_config(), "corruption": self.corruption, "noise_level": self.noise_level}


@register_model("sparse_ae", dataset="mnist5k", metric="test_active_fraction")
@keras.saving.register_keras_serializable(package="mpkeras")
class SparseAutoencoder(Autoencoder):
    """Sparse autoencoder: the reconstruction loss plus a sparsity penalty on the code z.

        l1:  beta * sum_j |z_j|                      per example (ReLU code by default)
        kl:  beta * sum_j KL(rho || rho_hat_j),      rho_hat_j = mean over the batch of z_j
             KL(rho || r) = rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r))

    The KL form is Ng's: sigmoid codes whose average activation over the data
    is pushed towards a small target rho, so each unit fires for few inputs.

    Args:
        penalty: ``kl`` or ``l1``.
        sparsity_weight: beta.
        sparsity_target: rho, the target mean activation (``kl`` only).
        code_dim, hidden_units: as for :class:`Autoencoder` (default: one layer of 256 units).
        code_activation: None picks ``sigmoid`` for ``kl`` (which needs codes in (0, 1)) and ``relu`` for ``l1``.
        **kwargs: other :class:`Autoencoder` arguments.

    Example:
        >>> sae = SparseAutoencoder(penalty="kl", sparsity_target=0.05, sparsity_weight=3.0)
        >>> sae.compile(optimizer="adam"); sae.fit(images, epochs=50)
        >>> sae.encode(images)["code"].numpy().mean()   # close to 0.05

    Reference:
        Ng, "Sparse autoencoder", CS294A lecture notes, Stanford, 2011;
        Ranzato, Poultney, Chopra and LeCun, "Efficient Learning of Sparse
        Representations with an Energy-Based Model", NIPS 2006.
    """

    def __init__(self, penalty="kl", sparsity_weight=3.0, sparsity_target=0.05, code_dim=256, hidden_units=(),
                 code_activation=None, **kwargs):
        choose(penalty, PENALTIES, "penalty")
        if code_activation is None:
            code_activation = "sigmoid" if penalty == "kl" else "relu"
        if penalty == "kl" and code_activation != "sigmoid":
            raise ValueError(f"penalty='kl' needs codes in (0, 1): use code_activation='sigmoid', not "
                             f"{code_activation!r} (or penalty='l1').")
        if penalty == "kl" and not 0 < sparsity_target < 1:
            raise ValueError(f"sparsity_target must lie in (0, 1), got {sparsity_target}.")
        super().__init__(code_dim=code_dim, hidden_units=hidden_units, code_activation=code_activation, **kwargs)
        # === Config ===
        self.penalty = penalty
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        # === Layers === (none beyond the base's)

    def code_penalty(self, code):
        if self.penalty == "l1":
            return self.sparsity_weight * ops.sum(ops.abs(code), axis=-1)  # (B,)
        rho = self.sparsity_target
        rho_hat = ops.clip(ops.mean(code, axis=0), 1e-6, 1.0 - 1e-6)  # (code_dim,)
        kl = rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))
        return self.sparsity_weight * ops.sum(kl)  # a batch term, ()

    def get_config(self):
        return {**super().get_config(), "penalty": self.penalty, "sparsity_weight": self.sparsity_weight,
                "sparsity_target": self.sparsity_target}
