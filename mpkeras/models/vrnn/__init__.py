"""Variational recurrent neural networks (VRNN, class-conditional VRNN) and an LSTM density baseline.

A sequence x_1..x_T (e.g. the 28 rows of a binarized digit, 28 pixels each) is
modelled with one latent vector z_t per step. The step is :class:`VRNNCell`, run
over time by ``keras.layers.RNN`` (a ``tf.while_loop``); the reparameterization
noise of all steps is drawn up front and fed in with x, so the recurrence itself
is deterministic and the same code serves training, the ELBO, the
importance-sampled bound and reconstruction. Generation runs the prior path of
the cell inside ``tf.scan`` with philox noise drawn up front.

Modules: :mod:`~mpkeras.models.vrnn.cell` (the step), :mod:`~mpkeras.models.vrnn.model`
(VRNN, CVRNN), :mod:`~mpkeras.models.vrnn.lstm_density` (the LSTM baseline).
"""

from mpkeras.models.vrnn.cell import VRNNCell
from mpkeras.models.vrnn.lstm_density import LSTMDensity
from mpkeras.models.vrnn.model import CVRNN, VRNN

__all__ = ["CVRNN", "LSTMDensity", "VRNN", "VRNNCell"]
