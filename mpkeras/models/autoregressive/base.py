"""The shared shape of autoregressive image models: logits in an ordering, log_prob, in-graph sampling.

    log p(x | y) = sum_i log p(x_{o(i)} | x_{o(1)}, ..., x_{o(i-1)}, y)

A subclass implements :meth:`AutoregressiveImageModel.logits`: flat pixels
(B, D) in [0, 1] -> logits in natural pixel order, where the logits of pixel d
depend only on pixels earlier than d in the ordering ``self.order`` (and on the
optional class label y). With ``num_levels`` = 2 the pixels are binary and the
logits (B, D) are Bernoulli; with ``num_levels`` = K > 2 (e.g. 256 for 8-bit
images) pixel values are k / (K - 1) and the logits (B, D, K) are categorical.
The base class supplies the loss (the NLL in nats per image), ``log_prob``,
ancestral ``sample`` and ``complete`` inside a ``tf.while_loop``, input checks
and the serving endpoints.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_images, with_regularization


class AutoregressiveImageModel(keras.Model):
    """Base of :class:`FVSBN`, :class:`NADE`, :class:`MADE`, :class:`PixelCNN` and kin; see the module docstring.

    Inputs are images (B, H, W, C) in [0, 1], or with ``num_classes`` > 0 a dict
    ``{"images": (B, H, W, C), "labels": (B,) int}``.

    Args:
        input_shape: (H, W, C) of the images.
        seed: seed of random orderings and masks.
        num_levels: K values per pixel: 2 (binary, Bernoulli) or more (categorical, e.g. 256).
        num_classes: number of class labels to condition on (0: unconditional).
    """

    supports_levels = False
    """Whether the subclass models more than 2 levels per pixel (set by subclasses that do)."""
    supports_labels = False
    """Whether the subclass conditions on class labels (set by subclasses that do)."""

    def __init__(self, input_shape=(28, 28, 1), seed=0, num_levels=2, num_classes=0, **kwargs):
        super().__init__(**kwargs)
        if int(num_levels) < 2:
            raise ValueError(f"num_levels must be at least 2 (2 for binary images, 256 for 8-bit), got {num_levels}.")
        if int(num_levels) != 2 and not self.supports_levels:
            raise ValueError(f"{type(self).__name__} models binary images only (num_levels=2), got num_levels="
                             f"{num_levels}; use PixelCNN or GatedPixelCNN for 8-bit images.")
        if int(num_classes) and not self.supports_labels:
            raise ValueError(f"{type(self).__name__} has no class-conditional form (num_classes=0), got "
                             f"num_classes={num_classes}; use MADE or GatedPixelCNN.")
        # === Config ===
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_inputs = int(np.prod(self.input_shape))
        self.seed = seed
        self.num_levels = int(num_levels)
        self.num_classes = int(num_classes)

    @property
    def binary(self):
        return self.num_levels == 2

    @property
    def order(self):
        """Pixel indices (D,) in sampling order: order[i] is the i-th pixel generated. Natural by default."""
        return np.arange(self.num_inputs)

    def build(self, input_shape):
        images = keras.KerasTensor((None, *self.input_shape))
        self.call({"images": images, "labels": keras.KerasTensor((None,), "int32")} if self.num_classes else images)
        super().build(input_shape)

    def logits(self, x, training=False, labels=None):
        """Flat pixels (B, D) in [0, 1] -> logits (B, D) (binary) or (B, D, K) in natural pixel order."""
        raise NotImplementedError

    def pixel_logits(self, x, pixel, labels=None):
        """The logits (B,) or (B, K) of the one sub-pixel ``pixel`` (an index into D) of flat pixels x (B, D).

        Sampling draws one sub-pixel a step and calls this; subclasses override it where one sub-pixel's logits
        cost less than all of them.
        """
        return tf.gather(self.logits(x, labels=labels), pixel, axis=1)

    def _split(self, inputs):
        """(images, labels or None) from the model's inputs, with a clear error when labels are missing or extra."""
        if isinstance(inputs, dict):
            if not self.num_classes:
                raise ValueError(f"{type(self).__name__} is unconditional (num_classes=0) but got a dict of inputs "
                                 f"{sorted(inputs)}; pass the images alone, or build it with num_classes=N.")
            if "labels" not in inputs or "images" not in inputs:
                raise ValueError(f"A class-conditional {type(self).__name__} takes {{'images', 'labels'}}, "
                                 f"got keys {sorted(inputs)}.")
            return inputs["images"], inputs["labels"]
        if self.num_classes:
            raise ValueError(f"{type(self).__name__} is class-conditional (num_classes={self.num_classes}); pass "
                             "{'images': images, 'labels': labels}.")
        return inputs, None

    def call(self, inputs, training=False):
        images, labels = self._split(inputs)
        check_images(images, self.input_shape, "images")
        flat = ops.reshape(images, (-1, self.num_inputs))
        logits = self.logits(flat, training=training, labels=labels)
        levels = () if self.binary else (self.num_levels,)
        return ops.reshape(logits, (-1, *self.input_shape, *levels))  # (B, H, W, C[, K])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean over the batch of -log p(x) in nats (a sum of per-pixel cross-entropies)."""
        return with_regularization(average_loss(-self._log_prob(self._split(x)[0], y_pred)), self.losses)

    def _log_prob(self, images, logits):
        x = ops.reshape(ops.cast(images, "float32"), (-1, self.num_inputs))
        if self.binary:
            logits = ops.reshape(ops.cast(logits, "float32"), (-1, self.num_inputs))
            return ops.sum(x * logits - ops.softplus(logits), axis=-1)  # log Bernoulli(x | sigmoid(l)), (B,)
        logits = ops.reshape(ops.cast(logits, "float32"), (-1, self.num_inputs, self.num_levels))
        ids = ops.cast(ops.round(x * (self.num_levels - 1)), "int32")  # (B, D)
        log_p = ops.take_along_axis(ops.log_softmax(logits, axis=-1), ids[..., None], axis=-1)[..., 0]
        return ops.sum(log_p, axis=-1)  # (B,)

    # --- Serving ---------------------------------------------------------------
    def _checked(self, images):
        """``images`` behind a graph assertion that they are valid pixel values (served graphs check too)."""
        if self.binary:
            valid = tf.reduce_all((images == 0.0) | (images == 1.0))
            message = "images must be binary (every pixel 0 or 1); binarize them first with mpkeras.data.binarize"
        else:
            valid = tf.reduce_all((images >= 0.0) & (images <= 1.0))  # False for NaN
            message = (f"images must hold pixel values in [0, 1] (level k is k/{self.num_levels - 1}); "
                       "scale 8-bit images with mpkeras.data.to_float")
        with tf.control_dependencies([tf.debugging.assert_equal(valid, True, message=message)]):
            return tf.identity(images)

    def _inputs(self, images, labels):
        return {"images": images, "labels": labels} if self.num_classes else images

    def log_prob(self, images, labels=None):
        """``log_prob`` (B,) in nats and ``bits_per_dim`` (B,) of images (B, H, W, C) (and labels (B,) if conditional)."""
        images = self._checked(images)
        log_prob = self._log_prob(images, self(self._inputs(images, labels), training=False))
        return {"log_prob": log_prob, "bits_per_dim": -log_prob / (self.num_inputs * np.log(2.0))}

    def _draw(self, logits, noise):
        """Pixel values (N,) from logits (N,) or (N, K) with uniform (N,) or Gumbel (N, K) noise."""
        if self.binary:
            return tf.cast(noise < tf.sigmoid(logits), tf.float32)
        return tf.cast(tf.argmax(logits + noise, axis=-1), tf.float32) / (self.num_levels - 1)  # Gumbel-max

    def _noise(self, n, seed):
        """The sampling noise of ``seed``, one draw per pixel: philox uniforms (N, D) or Gumbels (N, D, K)."""
        if self.binary:
            return tf.random.stateless_uniform((n, self.num_inputs), seed, alg="philox")
        u = tf.random.stateless_uniform((n, self.num_inputs, self.num_levels), seed, minval=1e-7, maxval=1.0,
                                        alg="philox")
        return -tf.math.log(-tf.math.log(u))

    def _sample(self, canvas, start, seed, labels=None):
        """Completes ``canvas`` (N, D): pixels order[start:] are drawn one by one; earlier ones are kept.

        Step i recomputes the logits of pixel order[i] from the current canvas (:meth:`pixel_logits`) and
        draws it with philox noise from ``seed``; earlier pixels are final.
        """
        noise = self._noise(tf.shape(canvas)[0], seed)
        order = tf.constant(self.order, tf.int32)

        def body(i, canvas):
            pixel = order[i]
            logits = tf.cast(self.pixel_logits(tf.cast(canvas, self.compute_dtype), pixel, labels), tf.float32)
            value = self._draw(logits, tf.gather(noise, pixel, axis=1))  # (N,)
            one_hot = tf.one_hot(pixel, self.num_inputs)[None]  # (1, D)
            return i + 1, canvas * (1 - one_hot) + value[:, None] * one_hot

        _, canvas = tf.while_loop(lambda i, _: i < self.num_inputs, body, (tf.cast(start, tf.int32), canvas))
        return {"samples": tf.reshape(canvas, (-1, *self.input_shape))}

    def sample(self, num_samples, seed):
        """``samples`` (N, H, W, C) drawn pixel by pixel in ``order`` inside a ``tf.while_loop``."""
        return self._sample(tf.zeros((num_samples, self.num_inputs)), 0, seed)

    def sample_conditional(self, labels, seed):
        """``samples`` (N, H, W, C) of the classes ``labels`` (N,) int, one image per label."""
        labels = self._checked_labels(labels)
        return self._sample(tf.zeros((tf.shape(labels)[0], self.num_inputs)), 0, seed, labels)

    def complete(self, images, num_known, seed, labels=None):
        """``samples``: ``images`` with their first ``num_known`` pixels in ``order`` kept and the rest sampled.

        With the natural ordering, num_known = rows * W * C keeps the top ``rows``
        rows, e.g. the top half of a digit.
        """
        images = self._checked(images)
        labels = None if labels is None else self._checked_labels(labels)
        known = tf.debugging.assert_less_equal(num_known, self.num_inputs,
                                               message=f"num_known must be at most the pixel count {self.num_inputs}")
        with tf.control_dependencies([known]):
            canvas = tf.reshape(tf.cast(images, tf.float32), (-1, self.num_inputs))
        return self._sample(canvas, num_known, seed, labels)

    def _checked_labels(self, labels):
        valid = tf.reduce_all((labels >= 0) & (labels < self.num_classes))
        with tf.control_dependencies([tf.debugging.assert_equal(
                valid, True, message=f"labels must be class ids in [0, {self.num_classes})")]):
            return tf.identity(labels)

    def serving_endpoints(self):
        images = tf.TensorSpec((None, *self.input_shape), tf.float32, name="images")
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        num_known = tf.TensorSpec((), tf.int32, name="num_known")
        if self.num_classes:
            labels = tf.TensorSpec((None,), tf.int32, name="labels")
            log_prob = (self.log_prob, [images, labels])
            return {"serving_default": log_prob, "log_prob": log_prob,
                    "sample": (self.sample_conditional, [labels, seed]),
                    "complete": (self.complete, [images, num_known, seed, labels])}
        log_prob = (self.log_prob, [images])
        return {"serving_default": log_prob, "log_prob": log_prob,
                "sample": (self.sample, [tf.TensorSpec((), tf.int32, name="num_samples"), seed]),
                "complete": (self.complete, [images, num_known, seed])}

    def serving_ranges(self):
        """Integer inputs beyond the exporter's rule: ``num_known`` in [0, pixels] (0 samples every pixel), class ids."""
        ranges = {"complete": {"num_known": (0, self.num_inputs)}}
        if self.num_classes:
            for endpoint in self.serving_endpoints():
                ranges.setdefault(endpoint, {})["labels"] = (0, self.num_classes - 1)
        return ranges

    def serving_examples(self):
        """Valid examples (binary or on the K levels) for every endpoint; the generated ones would not be."""
        rng = np.random.default_rng(0)
        images = (rng.integers(0, self.num_levels, size=(2, *self.input_shape)) / (self.num_levels - 1))
        images = images.astype(np.float32)
        labels = np.array([0, self.num_classes - 1], np.int32)
        seed = np.array([1, 2], np.int32)
        num_known = np.int32(self.num_inputs - min(3, self.num_inputs))  # a cheap completion: the last 3 pixels
        conditional = [labels] if self.num_classes else []
        examples = {"serving_default": [images, *conditional], "log_prob": [images, *conditional],
                    "complete": [images, num_known, seed, *conditional]}
        if self.num_classes:
            examples["sample"] = [labels, seed]
        return examples

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "seed": self.seed,
                "num_levels": self.num_levels, "num_classes": self.num_classes}
