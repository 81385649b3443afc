"""Fully visible sigmoid belief network."""

import keras
import numpy as np

from mpkeras.layers.masked import MaskedDense
from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.registry import register_model


@register_model("fvsbn", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class FVSBN(AutoregressiveImageModel):
    """One logistic regression per pixel on the pixels before it: p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j<i} W_ij x_j).

    W is strictly lower triangular (a :class:`~mpkeras.layers.MaskedDense` whose
    mask keeps j < i), so the model has D(D - 1)/2 + D parameters that matter,
    O(D^2): 307,720 for 28x28 images (the full D x D kernel is stored; the
    masked half never receives a gradient).

    Args:
        input_shape: (H, W, C) of the binary images.
        seed: unused by the natural ordering; kept for the shared interface.

    Example:
        >>> model = FVSBN(input_shape=(28, 28, 1))
        >>> model.compile(optimizer="adam")                   # loss: NLL in nats per image
        >>> model.fit(binary_images, epochs=50)
        >>> model.log_prob(binary_images)["log_prob"]          # (B,) nats
        >>> model.sample(16, tf.constant([0, 1]))["samples"]   # (16, 28, 28, 1)

    Reference:
        Neal, "Connectionist learning of belief networks", Artificial Intelligence 56, 1992;
        Frey, "Graphical models for machine learning and digital communication", 1998.
    """

    def __init__(self, input_shape=(28, 28, 1), seed=0, **kwargs):
        super().__init__(input_shape, seed, **kwargs)
        d = self.num_inputs
        # === Layers ===
        # kernel[j, i] = W_ij acts on x_j for output i: keep j < i.
        self.regression = MaskedDense(d, mask=np.triu(np.ones((d, d), np.float32), k=1), name="logistic")

    def logits(self, x, training=False, labels=None):
        return self.regression(x)  # (B, D)
