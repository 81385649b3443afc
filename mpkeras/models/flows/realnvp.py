"""RealNVP on vectors: a stack of dense affine couplings with alternating masks (e.g. 2-D toy densities)."""

import keras
import tensorflow as tf

from mpkeras.bijectors import ActNorm, AffineCoupling
from mpkeras.models.common import check_input
from mpkeras.models.flows.base import FlowModel
from mpkeras.registry import register_model


@register_model("realnvp", dataset="two_moons", metric="test_nll_nats")
@keras.saving.register_keras_serializable(package="mpkeras")
class RealNVP(FlowModel):
    """RealNVP for vectors x in R^D: z = f(x), log p(x) = log N(f(x); 0, I) + log|det df/dx|.

    f is ``num_couplings`` affine couplings (:class:`~mpkeras.bijectors.AffineCoupling`):

        y_b = x_b,   y_a = x_a * exp(s(x_b)) + t(x_b),   log|det dy/dx| = sum_a s(x_b),

    with the kept part b alternating between the even and the odd coordinates,
    so every coordinate is transformed by every second layer. s and t come from
    a dense network that is never inverted; s = scale * tanh(raw) keeps the
    log-scale bounded. With ``actnorm`` an :class:`~mpkeras.bijectors.ActNorm`
    (data-initialized per-dimension affine map) precedes every coupling, in the
    place of RealNVP's batch normalization.

    Inputs: points (B, D), float32. ``call`` returns ``{"log_prob"}`` (B,) in nats.

    Subclassing: override :meth:`build_coupling` to change the coupling layers
    (e.g. their conditioner network via ``AffineCoupling.build_conditioner``).

    Args:
        input_shape: (D,), D >= 2.
        num_couplings: number of coupling layers.
        hidden_units: width of each conditioner's hidden layers.
        num_hidden: hidden layers per conditioner.
        actnorm: put an ActNorm before every coupling.

    Example:
        >>> flow = RealNVP(input_shape=(2,), num_couplings=8, hidden_units=128)
        >>> flow.compile(optimizer="adam")
        >>> flow.fit(points, epochs=200)                  # minimizes -log p(x)
        >>> flow.log_prob(points)["log_prob"]; flow.sample(1000, [0, 1])["points"]

    Reference:
        Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    data_key = "points"

    def __init__(self, input_shape=(2,), num_couplings=8, hidden_units=128, num_hidden=2, actnorm=True, **kwargs):
        kwargs.pop("num_bins", None)  # continuous data: no bits/dim
        super().__init__(input_shape=input_shape, num_bins=None, **kwargs)
        if len(self.input_shape) != 1 or self.input_shape[0] < 2:
            raise ValueError(f"RealNVP models vectors of 2 or more dimensions, got input_shape={self.input_shape}; "
                             "use Glow for images.")
        # === Config ===
        self.num_couplings = int(num_couplings)
        self.hidden_units = int(hidden_units)
        self.num_hidden = int(num_hidden)
        self.actnorm = bool(actnorm)
        # === Layers ===
        kw = dict(event_ndims=1, dtype=self.dtype_policy)
        self.norms = [ActNorm(name=f"actnorm_{i}", **kw) for i in range(self.num_couplings)] if self.actnorm else []
        self.couplings = [self.build_coupling(i) for i in range(self.num_couplings)]

    def build_coupling(self, index):
        """Coupling layer ``index``: keeps the even coordinates when ``index`` is even, else the odd ones."""
        return AffineCoupling(mask="alternate", reverse=bool(index % 2), hidden_units=self.hidden_units,
                              num_hidden=self.num_hidden, event_ndims=1, name=f"coupling_{index}",
                              dtype=self.network_dtype_policy)

    def flow_bijectors(self, conditions, training=False):
        bijectors = []
        for i, coupling in enumerate(self.couplings):
            if self.actnorm:
                bijectors.append(self.norms[i].bijector(training=training))
            bijectors.append(coupling.bijector())
        return bijectors

    def _check(self, x):
        if isinstance(x, keras.KerasTensor):
            return x
        return check_input(x, self.input_shape, self.data_key, dtype=tf.as_dtype(self.flow_dtype))

    def _checked(self, x):
        """``x`` behind a graph assertion that it is finite (served graphs check too)."""
        x = self._check(x)
        finite = tf.reduce_all(tf.math.is_finite(x))
        message = f"{self.data_key} must be finite; drop or impute NaN and inf coordinates first"
        with tf.control_dependencies([tf.debugging.assert_equal(finite, True, message=message)]):
            return tf.identity(x)

    def get_config(self):
        config = super().get_config()
        config.pop("num_bins", None)
        return {**config, "num_couplings": self.num_couplings, "hidden_units": self.hidden_units,
                "num_hidden": self.num_hidden, "actnorm": self.actnorm}
