"""Recurrent cells written from their equations, usable in ``keras.layers.RNN``.

Both cells keep Keras's weight layout (``kernel`` acts on x_t, ``recurrent_kernel``
on h_{t-1}, row-vector convention x W), so weights copy one-to-one between them
and ``keras.layers.SimpleRNNCell`` / ``keras.layers.LSTMCell``, which the tests use
as the reference.

Example:
    >>> rnn = keras.layers.RNN(LSTMCell(64), return_sequences=True)   # many-to-many
    >>> h = rnn(x)                                                      # (B, T, 64)
    >>> stacked = keras.layers.RNN([ElmanCell(32), ElmanCell(32)])     # stacked, many-to-one
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mpkeras")
class ElmanCell(keras.layers.Layer):
    """Elman's simple recurrent cell: h_t = tanh(W_h h_{t-1} + W_x x_t + b).

    The cell outputs h_t; the read-out y_hat_t = W_y h_t is a ``Dense`` layer on
    top (per step for many-to-many, on the last state for many-to-one), as in
    the models of :mod:`mpkeras.models.rnn`.

    Backpropagation through time multiplies the Jacobians
    dh_t/dh_{t-1} = diag(tanh'(a_t)) W_h, so ||dh_t/dh_k|| <= (gamma sigma_max(W_h))^(t-k)
    with gamma = max |tanh'| = 1: the gradient vanishes when the largest singular
    value of W_h is below 1/gamma, and can explode above it.

    Args:
        units: size of h.
        activation: the squashing function (``tanh`` in Elman's network).
        kernel_initializer, recurrent_initializer: initializers of W_x and W_h.

    Example:
        >>> layer = keras.layers.RNN(ElmanCell(16))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape   # (2, 16): h_T
        (2, 16)

    Reference:
        Elman, "Finding structure in time", Cognitive Science 14(2), 1990;
        Pascanu, Mikolov and Bengio, "On the difficulty of training recurrent
        neural networks", ICML 2013.
    """

    def __init__(self, units, activation="tanh", kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      name="kernel")  # W_x
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer=self.recurrent_initializer,
                                                name="recurrent_kernel")  # W_h
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states  # (B, units)
        a = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        h = keras.activations.get(self.activation)(a)  # (B, units)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer, "recurrent_initializer": self.recurrent_initializer}


@keras.saving.register_keras_serializable(package="mpkeras")
class LSTMCell(keras.layers.Layer):
    """Long short-term memory cell:

        i_t = sigma(x_t W_i + h_{t-1} U_i + b_i)        input gate
        f_t = sigma(x_t W_f + h_{t-1} U_f + b_f)        forget gate
        g_t = tanh(x_t W_g + h_{t-1} U_g + b_g)         candidate
        o_t = sigma(x_t W_o + h_{t-1} U_o + b_o)        output gate
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    The four gates' weights are stored side by side in the order i, f, g, o
    (Keras's layout). Along the cell state dc_t/dc_{t-1} = diag(f_t), whose
    entries are at most 1, so the memory path neither explodes nor, while
    f_t is near 1, vanishes. The forget-gate bias starts at 1.

    Args:
        units: size of h and c.
        kernel_initializer, recurrent_initializer: initializers of W and U.
        unit_forget_bias: start b_f at 1 (Jozefowicz et al. 2015), else 0.

    Example:
        >>> layer = keras.layers.RNN(LSTMCell(16), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)

    Reference:
        Hochreiter and Schmidhuber, "Long short-term memory", Neural Computation
        9(8), 1997; Gers, Schmidhuber and Cummins, "Learning to forget", 2000.
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 unit_forget_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]  # h, c
        self.output_size = units

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * u), initializer=self.kernel_initializer,
                                      name="kernel")  # [W_i W_f W_g W_o]
        self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), initializer=self.recurrent_initializer,
                                                name="recurrent_kernel")  # [U_i U_f U_g U_o]
        forget = 1.0 if self.unit_forget_bias else 0.0
        init = lambda shape, dtype=None: ops.concatenate(  # noqa: E731
            [ops.zeros((u,)), ops.full((u,), forget), ops.zeros((2 * u,))])
        self.bias = self.add_weight(shape=(4 * u,), initializer=init, name="bias")

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states  # (B, units) each
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias  # (B, 4 units)
        zi, zf, zg, zo = ops.split(z, 4, axis=-1)
        i, f, g, o = ops.sigmoid(zi), ops.sigmoid(zf), ops.tanh(zg), ops.sigmoid(zo)
        c = f * c_prev + i * g  # (B, units)
        h = o * ops.tanh(c)  # (B, units)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_initializer": self.kernel_initializer,
                "recurrent_initializer": self.recurrent_initializer, "unit_forget_bias": self.unit_forget_bias}


def state_jacobian_norms(cell, inputs, initial_state=None):
    """The BPTT factor ||d h_T / d h_k||_2 for k = 0..T, by unrolling ``cell`` over ``inputs`` (B, T, F).

    h_0 is the initial state (zeros by default) and h_k the hidden state after
    step k, so entry k measures how much the last state still depends on the
    state k steps in. With s_t the whole state ((h_t) for Elman, (h_t, c_t) for
    an LSTM), d s_T / d s_k = prod_{t=k}^{T-1} d s_{t+1} / d s_t: each one-step
    Jacobian is taken once with ``batch_jacobian`` and the products are formed
    backwards in float64; the h-to-h block of the product is the factor whose
    norm the vanishing/exploding analysis bounds (for the LSTM it includes the
    path through the cell state c, which is what keeps its gradient alive).

    Args:
        cell: a built recurrent cell (``ElmanCell``, ``LSTMCell`` or a Keras cell).
        inputs: (B, T, F) float inputs.
        initial_state: the cell's state list, or None for zeros.

    Returns:
        float64 array (B, T + 1): the spectral norm per example and k (entry T is 1).
    """
    import numpy as np
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs, tf.float32)
    batch, steps = inputs.shape[0], inputs.shape[1]
    sizes = list(cell.state_size) if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    state = tf.concat(list(initial_state), -1) if initial_state is not None else tf.zeros((batch, sum(sizes)))

    @tf.function  # one trace, reused for every step
    def step(x, state):
        with tf.GradientTape() as tape:
            tape.watch(state)
            _, new = cell(x, tf.split(state, sizes, axis=-1))
            new = tf.concat(list(new) if isinstance(new, (list, tuple)) else [new], -1)  # s_{t+1}
        return new, tape.batch_jacobian(new, state)  # (B, S), (B, S, S)

    jacobians = []
    for t in range(steps):
        state, jacobian = step(inputs[:, t], state)
        jacobians.append(jacobian.numpy().astype(np.float64))
    units = sizes[0]
    norms = np.ones((batch, steps + 1))
    product = np.broadcast_to(np.eye(sum(sizes)), (batch, sum(sizes), sum(sizes)))
    for k in range(steps - 1, -1, -1):
        product = product @ jacobians[k]  # d s_T / d s_k
        norms[:, k] = np.linalg.norm(product[:, :units, :units], 2, axis=(1, 2))
    return norms
