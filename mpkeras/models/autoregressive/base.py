"""The shared shape of autoregressive models of binary images: logits in an ordering, log_prob, in-graph sampling.

    log p(x) = sum_i log Bernoulli(x_{o(i)} | sigmoid(logit_{o(i)}(x_{o(1)}, ..., x_{o(i-1)})))

A subclass implements :meth:`BinaryAutoregressive.logits` ((B, D) flat pixels
-> (B, D) logits, where logit d depends only on pixels earlier than d in the
ordering ``self.order``). The base class supplies the loss (the NLL in nats
per image), ``log_prob``, ancestral ``sample`` inside a ``tf.while_loop``,
input checks and the serving endpoints.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.models.common import check_images


class BinaryAutoregressive(keras.Model):
    """Base of :class:`FVSBN`, :class:`NADE` and :class:`MADE`; see the module docstring.

    Args:
        input_shape: (H, W, C) of the binary images.
        seed: seed of random orderings and masks.
    """

    def __init__(self, input_shape=(28, 28, 1), seed=0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_inputs = int(np.prod(self.input_shape))
        self.seed = seed

    @property
    def order(self):
        """Pixel indices (D,) in sampling order: order[i] is the i-th pixel generated. Natural by default."""
        return np.arange(self.num_inputs)

    def build(self, input_shape):
        self.call(keras.KerasTensor((None, *self.input_shape)))
        super().build(input_shape)

    def logits(self, x, training=False):
        """Flat pixels (B, D) -> Bernoulli logits (B, D) in natural pixel order."""
        raise NotImplementedError

    def call(self, x, training=False):
        check_images(x, self.input_shape, "images")
        flat = ops.reshape(x, (-1, self.num_inputs))
        return ops.reshape(self.logits(flat, training=training), (-1, *self.input_shape))  # (B, H, W, C)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean over the batch of -log p(x) in nats (a sum of per-pixel binary cross-entropies)."""
        nll = -self._log_prob(x, y_pred)
        return ops.mean(nll) + ops.sum(self.losses) if self.losses else ops.mean(nll)

    def _log_prob(self, x, logits):
        x = ops.reshape(ops.cast(x, "float32"), (-1, self.num_inputs))
        logits = ops.reshape(ops.cast(logits, "float32"), (-1, self.num_inputs))
        # log Bernoulli(x | sigmoid(l)) = x l - softplus(l)
        return ops.sum(x * logits - ops.softplus(logits), axis=-1)  # (B,)

    # --- Serving ---------------------------------------------------------------
    def log_prob(self, images):
        """``log_prob`` (B,) in nats of binary images (B, H, W, C) in {0, 1}; other values are an error."""
        binary = tf.debugging.assert_equal(
            tf.reduce_all((images == 0.0) | (images == 1.0)), True,
            message="images must be binary (every pixel 0 or 1); binarize them first with mpkeras.data.binarize")
        with tf.control_dependencies([binary]):
            images = tf.identity(images)
        return {"log_prob": self._log_prob(images, self(images, training=False))}

    def sample(self, num_samples, seed):
        """``samples`` (N, H, W, C) drawn pixel by pixel in ``order`` inside a ``tf.while_loop``.

        Step i recomputes the logits of the current canvas and draws pixel
        order[i] with philox uniforms from ``seed``; earlier pixels are final.
        """
        num_samples = tf.convert_to_tensor(num_samples, tf.int32)
        u = tf.random.stateless_uniform((num_samples, self.num_inputs), seed, alg="philox")  # (N, D)
        order = tf.constant(self.order, tf.int32)

        def body(i, canvas):
            logits = tf.cast(self.logits(canvas), tf.float32)  # (N, D)
            pixel = order[i]
            value = tf.cast(u[:, pixel] < tf.sigmoid(logits[:, pixel]), canvas.dtype)  # (N,)
            one_hot = tf.one_hot(pixel, self.num_inputs, dtype=canvas.dtype)[None]  # (1, D)
            return i + 1, canvas * (1 - one_hot) + value[:, None] * one_hot

        canvas = tf.zeros((num_samples, self.num_inputs), self.compute_dtype)
        _, canvas = tf.while_loop(lambda i, _: i < self.num_inputs, body, (0, canvas))
        return {"samples": tf.reshape(tf.cast(canvas, tf.float32), (-1, *self.input_shape))}

    def serving_endpoints(self):
        images = tf.TensorSpec((None, *self.input_shape), tf.float32, name="images")
        return {"serving_default": (self.log_prob, [images]),
                "sample": (self.sample, [tf.TensorSpec((), tf.int32, name="num_samples"),
                                         tf.TensorSpec((2,), tf.int32, name="seed")])}

    def serving_examples(self):
        """Binary example images for every endpoint that takes only ``images`` (the generated ones are not binary)."""
        images = (np.random.default_rng(0).uniform(size=(2, *self.input_shape)) < 0.5).astype(np.float32)
        return {name: [images] for name, (_, specs) in self.serving_endpoints().items()
                if [spec.name for spec in specs] == ["images"]}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "seed": self.seed}
