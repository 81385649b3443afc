"""The variational RNN (VRNN) and its class-conditional form (CVRNN)."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from mpkeras.models.common import average_loss, with_regularization
from mpkeras.models.vrnn.cell import VRNNCell
from mpkeras.models.vrnn.inputs import _SequenceInputs
from mpkeras.registry import register_model

tfd = tfp.distributions


@register_model("vrnn", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class VRNN(_SequenceInputs, keras.Model):
    """Variational RNN: a VAE at every step of a recurrent network, with a learned prior that depends on the past.

    At step t, with h_{t-1} the state of the recurrence (see :class:`VRNNCell`),

        p(z_t | x_<t, z_<t) = N(mu_0t, diag sigma_0t^2),  [mu_0t, sigma_0t] = phi_prior(h_{t-1})
        q(z_t | x_<=t, z_<t) = N(mu_zt, diag sigma_zt^2),  [mu_zt, sigma_zt] = phi_enc(phi_x(x_t), h_{t-1})
        p(x_t | z_<=t, x_<t) = Bernoulli(phi_dec(phi_z(z_t), h_{t-1}))
        h_t = f(phi_x(x_t), phi_z(z_t), h_{t-1})

    and training maximizes the sequence ELBO (Chung et al., eq. 10)

        ELBO(x) = E_q [ sum_t log p(x_t | z_<=t, x_<t) - KL(q(z_t | .) || p(z_t | .)) ] <= log p(x_1..x_T),

    with the per-step KL in closed form between the two TFP ``MultivariateNormalDiag``s
    and the expectation estimated with one posterior trajectory. The loss is
    -ELBO in nats per sequence, averaged over the batch; ``elbo``, ``kl`` and
    ``reconstruction`` are reported through Mean trackers. :meth:`log_prob_bound`
    gives the importance-sampled bound log (1/k) sum_j p(x, z^j) / q(z^j | x) over k
    independent posterior trajectories, which tightens towards log p(x) as k grows.

    With ``num_classes`` > 0 (see :class:`CVRNN`) a one-hot label y is fed to the
    prior, encoder and decoder, and inputs are ``{"sequences", "labels"}`` dicts.

    Args:
        input_shape: (T, D): steps and numbers per step (28 rows of 28 pixels for a digit).
        latent_dim: Z, size of each z_t.
        units: size of the recurrent state h_t.
        feature_units: width of the feature extractors phi_x, phi_z and of the hidden layers of
            the prior, encoder and decoder networks.
        cell: ``lstm`` or ``gru`` for the recurrence f.
        num_classes: number of class labels to condition on (0: unconditional).
        seed: seed of the training-time posterior noise.

    Example:
        >>> model = VRNN(input_shape=(28, 28), latent_dim=16, units=256)
        >>> model.compile(optimizer="adam")
        >>> model.fit(binary_row_sequences, epochs=50)          # maximizes the ELBO
        >>> model.log_prob_bound(x_test, 100, seed=[1, 2])       # {"log_prob_bound": (B,)} nats
        >>> model.generate(16, seed=[3, 4])["sequences"]         # (16, 28, 28) in {0, 1}

    Reference:
        Chung, Kastner, Dinh, Goel, Courville and Bengio, "A Recurrent Latent Variable Model for
        Sequential Data", NeurIPS 2015; Burda, Grosse and Salakhutdinov, "Importance Weighted
        Autoencoders", ICLR 2016 (the importance-sampled bound).
    """

    def __init__(self, input_shape=(28, 28), latent_dim=16, units=256, feature_units=128, cell="lstm",
                 num_classes=0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if len(tuple(input_shape)) != 2:
            raise ValueError(f"input_shape must be (steps, numbers per step), e.g. (28, 28); got {input_shape}.")
        if int(num_classes) < 0:
            raise ValueError(f"num_classes must be 0 (unconditional) or a positive class count, got {num_classes}.")
        # === Config ===
        self.input_shape = tuple(int(s) for s in input_shape)
        self.latent_dim = int(latent_dim)
        self.units = int(units)
        self.feature_units = int(feature_units)
        self.cell = cell
        self.num_classes = int(num_classes)
        self.seed = seed
        # === Layers ===
        self.step = VRNNCell(self.input_shape[1], latent_dim, units, feature_units, cell, num_classes, name="vrnn_cell")
        self.rnn = keras.layers.RNN(self.step, return_sequences=True, name="rnn")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")

    def build(self, input_shape):
        sequences = tf.zeros((1, *self.input_shape))  # a concrete call builds every sub-layer
        self.call({"sequences": sequences, "labels": tf.zeros((1,), tf.int32)} if self.num_classes else sequences)
        super().build(input_shape)

    # --- The recurrence with given noise --------------------------------------
    def _one_hot(self, labels):
        return None if labels is None else tf.one_hot(self._checked_labels(labels), self.num_classes)

    def forward(self, sequences, noise, labels=None):
        """Runs the cell over time with posterior noise ``noise`` (B, T, Z); deterministic given the noise.

        Returns a dict of (B, T, Z) ``prior_mean``, ``prior_stddev``, ``mean``, ``stddev``, ``z``
        and (B, T, D) ``logits``.
        """
        x = tf.cast(sequences, tf.float32)
        parts = [x, tf.cast(noise, tf.float32)]
        y = self._one_hot(labels)
        if y is not None:
            parts.append(tf.tile(y[:, None], [1, self.input_shape[0], 1]))  # (B, T, C)
        out = self.rnn(tf.concat(parts, axis=-1))  # (B, T, 5Z + D)
        z = self.latent_dim
        keys = ("prior_mean", "prior_stddev", "mean", "stddev", "z", "logits")
        return dict(zip(keys, tf.split(tf.cast(out, tf.float32), [z] * 5 + [self.input_shape[1]], axis=-1)))

    def call(self, inputs, training=False):
        sequences, labels = self._split(inputs)
        shape = (tf.shape(sequences)[0], self.input_shape[0], self.latent_dim)
        # Training: a posterior trajectory; otherwise the posterior means (deterministic outputs).
        noise = keras.random.normal(shape, seed=self.seed_generator) if training else tf.zeros(shape)
        return self.forward(sequences, noise, labels)

    # --- The objective ----------------------------------------------------------
    def step_distributions(self, outputs):
        """The per-step posterior q(z_t | .) and prior p(z_t | .) as TFP Gaussians of batch shape (B, T)."""
        q = tfd.MultivariateNormalDiag(loc=outputs["mean"], scale_diag=outputs["stddev"])
        p = tfd.MultivariateNormalDiag(loc=outputs["prior_mean"], scale_diag=outputs["prior_stddev"])
        return q, p

    def elbo_terms(self, sequences, outputs):
        """Per-sequence terms in nats (B,): reconstruction sum_t log p(x_t | .), kl sum_t KL(q || p), elbo."""
        x = tf.cast(sequences, tf.float32)
        reconstruction = tfd.Independent(tfd.Bernoulli(logits=outputs["logits"]), 1).log_prob(x)  # (B, T)
        q, p = self.step_distributions(outputs)
        kl = tfd.kl_divergence(q, p)  # closed form, (B, T)
        reconstruction, kl = tf.reduce_sum(reconstruction, axis=1), tf.reduce_sum(kl, axis=1)
        return {"reconstruction": reconstruction, "kl": kl, "elbo": reconstruction - kl}

    def log_weights(self, sequences, outputs):
        """log p(x, z) - log q(z | x) of the trajectories in ``outputs``, summed over steps, (B,)."""
        x = tf.cast(sequences, tf.float32)
        q, p = self.step_distributions(outputs)
        z = outputs["z"]
        per_step = tfd.Independent(tfd.Bernoulli(logits=outputs["logits"]), 1).log_prob(x) + p.log_prob(z) - q.log_prob(z)
        return tf.reduce_sum(per_step, axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        sequences, labels = self._split(x)
        if not training:  # call() used the posterior means; the ELBO needs a posterior trajectory.
            noise = keras.random.normal(ops.shape(y_pred["z"]), seed=self.seed_generator)
            y_pred = self.forward(sequences, noise, labels)
        terms = self.elbo_terms(sequences, y_pred)
        self.elbo_tracker.update_state(terms["elbo"])
        self.kl_tracker.update_state(terms["kl"])
        self.reconstruction_tracker.update_state(terms["reconstruction"])
        return with_regularization(average_loss(-terms["elbo"]), self.losses)

    # --- Tensor-valued methods (exported) ----------------------------------------
    def _noise(self, batch, seed):
        return tf.random.stateless_normal((batch, self.input_shape[0], self.latent_dim), tf.cast(seed, tf.int32),
                                          alg="philox")

    def _labels(self, labels):
        if self.num_classes and labels is None:
            raise ValueError(f"{type(self).__name__} is class-conditional; pass labels (B,) int32.")
        if not self.num_classes and labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional; do not pass labels.")
        return labels

    def elbo(self, sequences, seed, labels=None):
        """Per-sequence ``elbo``, ``kl`` and ``reconstruction`` (B,) in nats, one posterior trajectory from ``seed``."""
        x, labels = self._checked_binary(sequences), self._labels(labels)
        return self.elbo_terms(x, self.forward(x, self._noise(tf.shape(x)[0], seed), labels))

    def log_prob_bound(self, sequences, num_samples, seed, labels=None):
        """``log_prob_bound`` (B,): log (1/k) sum_j p(x, z^j) / q(z^j | x) over k = ``num_samples`` trajectories.

        A lower bound on log p(x) (nats) that grows with k in expectation; k = 1 is an unbiased ELBO estimate.
        """
        x, labels = self._checked_binary(sequences), self._labels(labels)
        k, batch = tf.cast(num_samples, tf.int32), tf.shape(x)[0]
        tiled = tf.reshape(tf.tile(x[None], [k, 1, 1, 1]), (-1, *self.input_shape))  # (k B, T, D)
        tiled_labels = None if labels is None else tf.reshape(tf.tile(labels[None], [k, 1]), (-1,))
        log_w = self.log_weights(tiled, self.forward(tiled, self._noise(k * batch, seed), tiled_labels))
        log_w = tf.reshape(log_w, (k, batch))
        return {"log_prob_bound": tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(tf.cast(k, tf.float32))}

    def reconstruct(self, sequences, labels=None):
        """Decodes the posterior-mean trajectory: ``probabilities`` (B, T, D) and ``z`` (B, T, Z)."""
        x, labels = self._check_sequences(tf.convert_to_tensor(sequences, tf.float32)), self._labels(labels)
        out = self.forward(x, tf.zeros((tf.shape(x)[0], self.input_shape[0], self.latent_dim)), labels)
        return {"probabilities": tf.sigmoid(out["logits"]), "z": out["mean"]}

    def _generate(self, num_samples, seed, labels=None):
        steps, dim = self.input_shape
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)
        eps = tf.random.stateless_normal((steps, num_samples, self.latent_dim), seeds[0], alg="philox")  # (T, N, Z)
        u = tf.random.stateless_uniform((steps, num_samples, dim), seeds[1], alg="philox")  # (T, N, D)
        y = self._one_hot(labels)
        states = [tf.zeros((num_samples, size)) for size in tf.nest.flatten(self.step.state_size)]

        def body(carry, noise):
            x, probabilities, new_states = self.step.generate_step(carry[2], noise[0], noise[1], y)
            return x, probabilities, [tf.cast(s, tf.float32) for s in new_states]  # the cell may compute in float16

        zeros = tf.zeros((num_samples, dim))
        x, probabilities, _ = tf.scan(body, (eps, u), initializer=(zeros, zeros, states))  # (T, N, D) each
        return {"sequences": tf.transpose(x, (1, 0, 2)), "probabilities": tf.transpose(probabilities, (1, 0, 2))}

    def generate(self, num_samples, seed):
        """Ancestral sampling inside the graph: z_t ~ p(z_t | h_{t-1}), x_t ~ p(x_t | z_t, h_{t-1}), t = 1..T.

        Returns ``sequences`` (N, T, D) in {0, 1} and their Bernoulli ``probabilities``; the same
        int32 (2,) ``seed`` gives the same samples.
        """
        if self.num_classes:
            raise ValueError(f"{type(self).__name__} is class-conditional; use generate_conditional(labels, seed).")
        return self._generate(tf.cast(num_samples, tf.int32), seed)

    def generate_conditional(self, labels, seed):
        """Like :meth:`generate`, one sequence per class id in ``labels`` (N,)."""
        labels = self._checked_labels(labels)
        return self._generate(tf.shape(labels)[0], seed, labels)

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="sequences")
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        num = tf.TensorSpec((), tf.int32, name="num_samples")
        if self.num_classes:
            labels = tf.TensorSpec((None,), tf.int32, name="labels")
            return {
                "generate": (self.generate_conditional, [labels, seed]),
                "elbo": (lambda s, y, seed: self.elbo(s, seed, y), [x, labels, seed]),
                "log_prob_bound": (lambda s, y, n, seed: self.log_prob_bound(s, n, seed, y), [x, labels, num, seed]),
                "reconstruct": (self.reconstruct, [x, labels]),
            }
        return {
            "generate": (self.generate, [num, seed]),
            "elbo": (self.elbo, [x, seed]),
            "log_prob_bound": (self.log_prob_bound, [x, num, seed]),
            "reconstruct": (self.reconstruct, [x]),
        }

    def serving_ranges(self):
        """Class ids in [0, num_classes) for a conditional model (counts follow the exporter's rule)."""
        return {endpoint: {"labels": (0, self.num_classes - 1)}
                for endpoint in self.serving_endpoints()} if self.num_classes else {}

    def serving_examples(self):
        """Binary sequences (the generated uniform ones are not valid for ``elbo`` and ``log_prob_bound``)."""
        x = (np.random.default_rng(0).uniform(size=(2, *self.input_shape)) < 0.3).astype(np.float32)
        seed, num = np.array([1, 2], np.int32), np.int32(3)
        if self.num_classes:
            labels = np.array([0, self.num_classes - 1], np.int32)
            return {"generate": [labels, seed], "elbo": [x, labels, seed],
                    "log_prob_bound": [x, labels, num, seed], "reconstruct": [x, labels]}
        return {"generate": [num, seed], "elbo": [x, seed], "log_prob_bound": [x, num, seed], "reconstruct": [x]}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "latent_dim": self.latent_dim,
                "units": self.units, "feature_units": self.feature_units, "cell": self.cell,
                "num_classes": self.num_classes, "seed": self.seed}


@register_model("cvrnn", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class CVRNN(VRNN):
    """Class-conditional VRNN: the :class:`VRNN` with a one-hot label y fed to the prior, encoder and decoder,

        p(z_t | h_{t-1}, y),  q(z_t | x_t, h_{t-1}, y),  p(x_t | z_t, h_{t-1}, y),

    so the ELBO bounds log p(x | y) and :meth:`generate_conditional` draws digits of a chosen
    class. Inputs are ``{"sequences": (B, T, D), "labels": (B,) int}``.

    Args:
        num_classes: number of classes (10 digits), at least 1.
        **kwargs: the :class:`VRNN` arguments.

    Example:
        >>> model = CVRNN(input_shape=(28, 28), num_classes=10)
        >>> model.compile(optimizer="adam")
        >>> model.fit(dataset_of_sequences_and_labels, epochs=50)
        >>> model.generate_conditional(tf.range(10), seed=[1, 2])["sequences"]  # one digit of each class

    Reference:
        Chung et al., "A Recurrent Latent Variable Model for Sequential Data", NeurIPS 2015;
        Sohn, Lee and Yan, "Learning Structured Output Representation using Deep Conditional
        Generative Models", NeurIPS 2015 (conditioning the prior, encoder and decoder on y).
    """

    def __init__(self, num_classes=10, **kwargs):
        if int(num_classes) < 1:
            raise ValueError(f"CVRNN needs num_classes >= 1, got {num_classes}; use VRNN for unconditional models.")
        super().__init__(num_classes=num_classes, **kwargs)
