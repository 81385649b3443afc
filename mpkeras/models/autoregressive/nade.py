"""Neural autoregressive distribution estimator."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.registry import register_model


@register_model("nade", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class NADE(AutoregressiveImageModel):
    """NADE: one hidden layer whose weights W are shared by all conditionals.

        a_1 = c,   a_{i+1} = a_i + W_{:,i} x_i,   h_i = sigmoid(a_i),   p(x_i = 1 | x_<i) = sigmoid(b_i + V_i . h_i)

    Training is teacher-forced: all a_i at once as c plus an exclusive
    cumulative sum of W_{:,j} x_j, O(D H) per image. Sampling is ancestral
    inside a ``tf.while_loop`` that carries a_i, so a whole sample also costs
    O(D H) instead of D full passes.

    Args:
        input_shape: (H, W, C) of the binary images (pixels in raster order).
        hidden_units: H, the size of h_i.
        seed: kept for the shared interface.

    Example:
        >>> model = NADE(input_shape=(28, 28, 1), hidden_units=500)
        >>> model.compile(optimizer="adam")
        >>> model.fit(binary_images, epochs=100)
        >>> model.sample(16, tf.constant([0, 1]))["samples"]   # (16, 28, 28, 1)

    Reference:
        Larochelle and Murray, "The neural autoregressive distribution estimator", AISTATS 2011.
    """

    def __init__(self, input_shape=(28, 28, 1), hidden_units=500, seed=0, **kwargs):
        super().__init__(input_shape, seed, **kwargs)
        d, h = self.num_inputs, int(hidden_units)
        # === Layers === (weights live on the model: the recursion shares them across all D conditionals)
        self.w = self.add_weight(shape=(d, h), initializer="glorot_uniform", name="W")  # row i: W_{:,i}
        self.c = self.add_weight(shape=(h,), initializer="zeros", name="c")
        self.v = self.add_weight(shape=(d, h), initializer="glorot_uniform", name="V")
        self.b = self.add_weight(shape=(d,), initializer="zeros", name="b")
        # === Config ===
        self.hidden_units = h

    def logits(self, x, training=False, labels=None):
        contributions = x[:, :, None] * ops.cast(self.w, x.dtype)[None]  # (B, D, H): W_{:,j} x_j
        a = ops.cast(self.c, x.dtype) + ops.cumsum(contributions, axis=1) - contributions  # exclusive: j < i
        return ops.einsum("bdh,dh->bd", ops.sigmoid(a), ops.cast(self.v, x.dtype)) + ops.cast(self.b, x.dtype)

    def sample(self, num_samples, seed):
        """``samples`` (N, H, W, C) by ancestral sampling, carrying a_i through a ``tf.while_loop``."""
        num_samples = tf.convert_to_tensor(num_samples, tf.int32)
        u = tf.random.stateless_uniform((num_samples, self.num_inputs), seed, alg="philox")  # (N, D)
        w, v, b = (tf.cast(t, tf.float32) for t in (self.w, self.v, self.b))

        def body(i, a, pixels):
            p = tf.sigmoid(b[i] + tf.linalg.matvec(tf.sigmoid(a), v[i]))  # (N,)
            x_i = tf.cast(u[:, i] < p, tf.float32)
            return i + 1, a + x_i[:, None] * w[i][None], pixels.write(i, x_i)

        a = tf.tile(tf.cast(self.c, tf.float32)[None], [num_samples, 1])  # (N, H)
        pixels = tf.TensorArray(tf.float32, size=self.num_inputs)
        _, _, pixels = tf.while_loop(lambda i, *_: i < self.num_inputs, body, (0, a, pixels))
        return {"samples": tf.reshape(tf.transpose(pixels.stack()), (-1, *self.input_shape))}

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units}
