"""The VRNN step: prior, encoder, decoder and recurrence of one time step, an RNN cell for ``keras.layers.RNN``."""

import keras
import tensorflow as tf

RECURRENT_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}


def _mlp(units, outputs, name):
    """One ReLU hidden layer, then a linear layer of ``outputs`` (or a ReLU feature layer when ``outputs`` is None)."""
    if outputs is None:
        return keras.layers.Dense(units, activation="relu", name=name)
    return keras.Sequential([keras.layers.Dense(units, activation="relu"), keras.layers.Dense(outputs)], name=name)


def _gaussian(params):
    """(mean, stddev) from raw network outputs (..., 2Z): stddev = softplus(raw) + 1e-4."""
    mean, raw = tf.split(tf.cast(params, tf.float32), 2, axis=-1)
    return mean, tf.nn.softplus(raw) + 1e-4


@keras.saving.register_keras_serializable(package="mpkeras")
class VRNNCell(keras.layers.Layer):
    """One VRNN step, an RNN cell for ``keras.layers.RNN``.

    With h_{t-1} the recurrent state (the LSTM's h, or the GRU's state) and y an
    optional one-hot label:

        prior    p(z_t | h_{t-1})        = N(mu_0t, diag sigma_0t^2),  [mu_0t, sigma_0t] = phi_prior(h_{t-1}, y)
        encoder  q(z_t | x_t, h_{t-1})   = N(mu_zt, diag sigma_zt^2),  [mu_zt, sigma_zt] = phi_enc(phi_x(x_t), h_{t-1}, y)
        sample   z_t = mu_zt + sigma_zt * eps_t                        (eps_t is an input)
        decoder  p(x_t | z_t, h_{t-1})   = Bernoulli(sigmoid(phi_dec(phi_z(z_t), h_{t-1}, y)))
        update   h_t = f(phi_x(x_t), phi_z(z_t), h_{t-1})               (LSTM or GRU cell)

    Inputs per step: [x_t (D), eps_t (Z), y (C)] concatenated; output per step:
    [mu_0t, sigma_0t, mu_zt, sigma_zt, z_t (Z each), decoder logits (D)].

    Args:
        input_dim: D, numbers per step.
        latent_dim: Z.
        units: size of the recurrent state.
        feature_units: width of phi_x, phi_z and of the hidden layers of the prior, encoder and decoder.
        cell: ``lstm`` or ``gru``.
        num_classes: C (0: unconditional).
    """

    def __init__(self, input_dim, latent_dim, units, feature_units, cell="lstm", num_classes=0, **kwargs):
        super().__init__(**kwargs)
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"Unknown cell {cell!r}; choose one of {', '.join(RECURRENT_CELLS)}.")
        # === Config ===
        self.input_dim, self.latent_dim, self.units = int(input_dim), int(latent_dim), int(units)
        self.feature_units, self.cell, self.num_classes = int(feature_units), cell, int(num_classes)
        # === Layers ===
        self.phi_x = _mlp(feature_units, None, "phi_x")
        self.phi_z = _mlp(feature_units, None, "phi_z")
        self.prior_net = _mlp(feature_units, 2 * latent_dim, "prior")
        self.encoder_net = _mlp(feature_units, 2 * latent_dim, "encoder")
        self.decoder_net = _mlp(feature_units, input_dim, "decoder")
        self.recurrent = RECURRENT_CELLS[cell](units, name=cell)
        self.state_size = self.recurrent.state_size
        self.output_size = 5 * latent_dim + input_dim

    def build(self, input_shape):
        f, h, c = self.feature_units, self.units, self.num_classes
        self.phi_x.build((None, self.input_dim))
        self.phi_z.build((None, self.latent_dim))
        self.prior_net.build((None, h + c))
        self.encoder_net.build((None, f + h + c))
        self.decoder_net.build((None, f + h + c))
        self.recurrent.build((None, 2 * f))
        super().build(input_shape)

    def _with_label(self, parts, y):
        # One dtype for the networks' input: the cell's compute dtype (float16 under mixed precision),
        # whatever the parts came as (features from the networks, float32 states, one-hot labels).
        parts = parts + ([y] if y is not None else [])
        return tf.concat([tf.cast(p, self.compute_dtype) for p in parts], axis=-1)

    def prior_params(self, h, y=None):
        """(mu_0, sigma_0) of p(z_t | h_{t-1}), each (B, Z)."""
        return _gaussian(self.prior_net(self._with_label([h], y)))

    def posterior_params(self, features_x, h, y=None):
        """(mu_z, sigma_z) of q(z_t | x_t, h_{t-1}) from phi_x(x_t), each (B, Z)."""
        return _gaussian(self.encoder_net(self._with_label([features_x, h], y)))

    def decoder_logits(self, features_z, h, y=None):
        """Bernoulli logits of p(x_t | z_t, h_{t-1}) from phi_z(z_t), (B, D)."""
        return tf.cast(self.decoder_net(self._with_label([features_z, h], y)), tf.float32)

    def update(self, features_x, features_z, states):
        """h_t = f(phi_x(x_t), phi_z(z_t), h_{t-1}): the new states (a list)."""
        features = tf.concat([tf.cast(features_x, self.compute_dtype), tf.cast(features_z, self.compute_dtype)], -1)
        _, new_states = self.recurrent(features, list(states))
        return list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]

    def call(self, inputs, states, training=False):
        sizes = [self.input_dim, self.latent_dim] + ([self.num_classes] if self.num_classes else [])
        x, eps, *rest = tf.split(inputs, sizes, axis=-1)  # (B, D), (B, Z)[, (B, C)]
        y = rest[0] if rest else None
        h = states[0]  # (B, units)
        prior_mean, prior_stddev = self.prior_params(h, y)
        features_x = self.phi_x(x)  # (B, F)
        mean, stddev = self.posterior_params(features_x, h, y)
        z = mean + stddev * tf.cast(eps, tf.float32)  # reparameterization
        features_z = self.phi_z(z)
        logits = self.decoder_logits(features_z, h, y)
        output = tf.concat([prior_mean, prior_stddev, mean, stddev, z, logits], axis=-1)  # (B, 5Z + D)
        return output, self.update(features_x, features_z, states)

    def generate_step(self, states, eps, u, y=None):
        """One step of ancestral sampling: z_t ~ p(z_t | h_{t-1}) (noise eps), x_t ~ p(x_t | z_t, h_{t-1}) (uniforms u).

        Returns (x_t (B, D) in {0, 1}, probabilities (B, D), new states).
        """
        h = states[0]
        prior_mean, prior_stddev = self.prior_params(h, y)
        z = prior_mean + prior_stddev * eps
        features_z = self.phi_z(z)
        probabilities = tf.sigmoid(self.decoder_logits(features_z, h, y))
        x = tf.cast(u < probabilities, tf.float32)
        return x, probabilities, self.update(self.phi_x(x), features_z, states)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "latent_dim": self.latent_dim,
                "units": self.units, "feature_units": self.feature_units, "cell": self.cell,
                "num_classes": self.num_classes}
