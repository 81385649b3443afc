"""Masked autoencoder for distribution estimation."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.layers.masked import MaskedDense, made_degrees, made_masks
from mpkeras.models.autoregressive.base import AutoregressiveImageModel
from mpkeras.registry import register_model


@register_model("made", dataset="mnist5k", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class MADE(AutoregressiveImageModel):
    """An autoencoder whose weight masks make output d a function of the inputs before d in an ordering.

    h^l = relu(h^{l-1} (W^l * M^l) + b^l), logits = h^L (V * M^V) + c, with the
    masks from the degree rule (:func:`~mpkeras.layers.made_masks`), so one pass
    gives every conditional p(x_d | x_<d) and log p(x) = sum_d log p(x_d | x_<d).

    Connectivity resampling: with ``num_masks`` = K > 1 the model holds K mask
    sets (new hidden degrees each; with ``ordering="random"`` a new input
    ordering each, i.e. order-agnostic training) and every training step uses
    one drawn at random. At test time ``log_prob`` uses mask set 0 (the single
    ordering NLL) and ``log_prob_ensemble`` averages the K models' probabilities,
    log (1/K) sum_k p_k(x). Sampling follows mask set 0's ordering.

    Args:
        input_shape: (H, W, C) of the binary images.
        hidden_units: widths of the masked hidden layers.
        ordering: ``natural`` or ``random`` (see :func:`~mpkeras.layers.made_degrees`).
        num_masks: K, the number of mask sets.
        num_classes: number of class labels to condition on (0: unconditional); inputs become
            ``{"images", "labels"}``.
        seed: seed of the orderings, degrees and mask choice.

    Example:
        >>> model = MADE(input_shape=(28, 28, 1), hidden_units=(500,))
        >>> model.compile(optimizer="adam")
        >>> model.fit(binary_images, epochs=100)
        >>> model.log_prob(binary_images)["log_prob"]   # (B,) nats

    Reference:
        Germain, Gregor, Murray and Larochelle, "MADE: Masked autoencoder for
        distribution estimation", ICML 2015.
    """

    supports_labels = True

    def __init__(self, input_shape=(28, 28, 1), hidden_units=(500,), ordering="natural", num_masks=1, seed=0,
                 num_classes=0, **kwargs):
        super().__init__(input_shape, seed, num_classes=num_classes, **kwargs)
        if num_masks < 1:
            raise ValueError(f"num_masks must be at least 1, got {num_masks}.")
        degrees = [made_degrees(self.num_inputs, hidden_units, ordering, seed=seed + k) for k in range(num_masks)]
        self._input_degrees = [d[0] for d in degrees]  # per mask set: the ordering's degrees 1..D
        sets = [made_masks(d) for d in degrees]
        # === Layers ===
        self.hidden = [MaskedDense(units, mask=np.stack([s[l] for s in sets]), name=f"hidden_{l}")
                       for l, units in enumerate(hidden_units)]
        self.output_layer = MaskedDense(self.num_inputs, mask=np.stack([s[-1] for s in sets]), dtype="float32",
                                        name="output")
        # U^l y for a one-hot y is a row lookup: one embedding per conditioned layer (hidden layers, then the output).
        self.label_inputs = [keras.layers.Embedding(self.num_classes, units, embeddings_initializer="zeros",
                                                    name=f"label_to_{l}")
                             for l, units in enumerate((*hidden_units, self.num_inputs))] if self.num_classes else []
        self.seed_generator = keras.random.SeedGenerator(seed)
        # === Config ===
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.ordering = ordering
        self.num_masks = int(num_masks)

    @property
    def order(self):
        return self.mask_order(0)

    def mask_order(self, mask_index):
        """The ordering of mask set ``mask_index``: pixel indices (D,), degree 1 first."""
        return np.argsort(self._input_degrees[mask_index])

    def logits(self, x, training=False, labels=None, mask_index=0):
        if training and self.num_masks > 1:
            mask_index = keras.random.randint((), 0, self.num_masks, seed=self.seed_generator)
        conditioned = [0.0] * (len(self.hidden) + 1)
        if self.num_classes:
            conditioned = [ops.cast(embed(labels), x.dtype) for embed in self.label_inputs]  # U^l y, (B, H_l)
        h = x
        for layer, u in zip(self.hidden, conditioned):
            h = ops.relu(layer(h, mask_index=mask_index) + u)  # (B, H_l)
        return self.output_layer(h, mask_index=mask_index) + conditioned[-1]  # (B, D)

    def log_prob_ensemble(self, images, labels=None):
        """``log_prob`` (B,) of the K-mask ensemble, log (1/K) sum_k p_k(x), in nats."""
        flat = ops.reshape(self._checked(images), (-1, self.num_inputs))
        per_mask = tf.stack([self._log_prob(flat, self.logits(flat, labels=labels, mask_index=k))
                             for k in range(self.num_masks)], axis=0)  # (K, B)
        return {"log_prob": tf.reduce_logsumexp(per_mask, axis=0) - np.log(self.num_masks)}

    def serving_endpoints(self):
        endpoints = super().serving_endpoints()
        endpoints["log_prob_ensemble"] = (self.log_prob_ensemble, endpoints["log_prob"][1])
        return endpoints

    def serving_examples(self):
        examples = super().serving_examples()
        examples["log_prob_ensemble"] = examples["log_prob"]
        return examples

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "ordering": self.ordering,
                "num_masks": self.num_masks}
