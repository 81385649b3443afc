"""Keras 3 flow layers and their stateless ``tfb.Bijector`` views.

Keras 3 does not track variables that live inside a TFP bijector, so every
learnable part of a flow is a Keras layer that owns its weights
(:class:`FlowLayer`), and :meth:`FlowLayer.bijector` returns a thin, stateless
``tfb.Bijector`` (:class:`LayerBijector`) whose ``_forward``, ``_inverse`` and
log-det methods call the layer. Build the facades (and any ``tfb.Chain`` of
them) afresh on each call; take variables from the Keras model, never from the
bijector.

Direction. A layer's ``forward`` is the direction its equation is written in the
papers, data -> latent (the normalizing direction, x -> z in RealNVP and Glow).
A ``tfd.TransformedDistribution`` wants latent -> data, so a flow model wraps its
chain in ``tfb.Invert``.

The layer protocol (what a :class:`FlowLayer` subclass implements):

* ``forward(x, **kwargs) -> (y, log_det)``, log_det = log|det dy/dx|, shape (B,);
* ``inverse(y, **kwargs) -> (x, log_det)``, log_det = log|det dx/dy|, shape (B,);
* ``forward_shape(shape)`` / ``inverse_shape(shape)``: event shapes (identity by default);
* ``event_ndims``: 1 for vectors (B, D), 3 for images (B, H, W, C).

``kwargs`` carry conditioning inputs (e.g. ``conditions=`` a feature map) and
``training`` (ActNorm's data-dependent initialization runs on the first
training batch); layers ignore keywords they do not use.
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors


class FlowLayer(keras.layers.Layer):
    """Base of the invertible layers; see the module docstring for the protocol.

    Args:
        event_ndims: 1 for vectors (B, D), 3 for images (B, H, W, C).
    """

    def __init__(self, event_ndims=3, **kwargs):
        super().__init__(**kwargs)
        if event_ndims not in (1, 3):
            raise ValueError(f"event_ndims must be 1 (vectors) or 3 (images), got {event_ndims}.")
        self.event_ndims = event_ndims

    def forward(self, x, **kwargs):
        raise NotImplementedError

    def inverse(self, y, **kwargs):
        raise NotImplementedError

    def forward_shape(self, shape):
        """Event shape of y given the event shape of x (a tuple or TensorShape)."""
        return shape

    def inverse_shape(self, shape):
        return shape

    def call(self, x, **kwargs):
        return self.forward(x, **kwargs)[0]

    def bijector(self, passthrough=0, **kwargs):
        """A stateless ``tfb.Bijector`` view of this layer, with ``kwargs`` bound to every call.

        Args:
            passthrough: the last ``passthrough`` channels are left unchanged (the
                factored-out latents of a multi-scale flow); the layer sees the rest.
        """
        return LayerBijector(self, passthrough=passthrough, **kwargs)

    def spatial_size(self, x):
        """H * W of an image batch (1 for vectors), the multiplier of per-channel log-dets."""
        if self.event_ndims == 1:
            return tf.ones((), x.dtype)
        shape = tf.shape(x)
        return tf.cast(shape[1] * shape[2], x.dtype)

    def get_config(self):
        return {**super().get_config(), "event_ndims": self.event_ndims}


class LayerBijector(tfb.Bijector):
    """``tfb.Bijector`` facade of a :class:`FlowLayer`: forward, inverse and log-dets call the layer.

    The facade holds no variables. It memoizes the layer's (output, log-det)
    pair per input tensor, so ``forward`` followed by
    ``forward_log_det_jacobian`` of the same tensor (what a ``tfb.Chain`` and
    ``TransformedDistribution.log_prob`` do) runs the layer once.

    Args:
        layer: the :class:`FlowLayer`.
        passthrough: number of trailing channels passed through unchanged.
        **kwargs: bound to every layer call (conditioning inputs, ``training``).
    """

    def __init__(self, layer, passthrough=0, **kwargs):
        self._layer = layer
        self._passthrough = int(passthrough)
        self._kwargs = kwargs
        self._memo = {}
        super().__init__(forward_min_event_ndims=layer.event_ndims, is_constant_jacobian=False,
                         validate_args=False, name=layer.name, parameters={})

    def _get_parameterization(self):
        # Every facade is its own cache key: TFP's bijector cache would otherwise mix up facades with equal
        # (empty) parameters.
        return id(self)

    @property
    def layer(self):
        return self._layer

    def _run(self, direction, x):
        key = (direction, id(x))
        if key not in self._memo:
            fn = self._layer.forward if direction == "forward" else self._layer.inverse
            if self._passthrough:
                active, rest = tf.split(x, [tf.shape(x)[-1] - self._passthrough, self._passthrough], axis=-1)
                y, log_det = fn(active, **self._kwargs)
                y = tf.concat([y, rest], axis=-1)
            else:
                y, log_det = fn(x, **self._kwargs)
            self._memo[key] = (x, y, log_det)  # x is kept so its id is not reused
        return self._memo[key][1:]

    def _forward(self, x):
        return self._run("forward", x)[0]

    def _inverse(self, y):
        return self._run("inverse", y)[0]

    def _forward_log_det_jacobian(self, x):
        return self._run("forward", x)[1]

    def _inverse_log_det_jacobian(self, y):
        return self._run("inverse", y)[1]

    def _shape(self, fn, shape):
        shape = tf.TensorShape(shape)
        if shape.rank is None:
            return shape
        if not self._passthrough:
            return tf.TensorShape(fn(tuple(shape)))
        *spatial, channels = tuple(shape)
        active = fn((*spatial, None if channels is None else channels - self._passthrough))
        passed = fn((*spatial, self._passthrough))  # the passthrough part changes shape like the rest (Squeeze)
        return tf.TensorShape((*active[:-1], None if active[-1] is None else active[-1] + passed[-1]))

    def _forward_event_shape(self, shape):
        return self._shape(self._layer.forward_shape, shape)

    def _inverse_event_shape(self, shape):
        return self._shape(self._layer.inverse_shape, shape)

    def _forward_event_shape_tensor(self, shape):
        return tf.constant(self._forward_event_shape(tf.TensorShape(tf.get_static_value(shape))).as_list(), tf.int32)

    def _inverse_event_shape_tensor(self, shape):
        return tf.constant(self._inverse_event_shape(tf.TensorShape(tf.get_static_value(shape))).as_list(), tf.int32)
