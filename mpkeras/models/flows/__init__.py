"""Normalizing flows: the :class:`FlowModel` base, :class:`Glow`, :class:`ConditionalGlow`, :class:`RealNVP` and
:class:`MultiScaleRealNVP`.

A flow is an invertible map f from data x to a latent z with a simple base
density, and the change of variables gives the exact likelihood

    log p(x) = log p_Z(f(x)) + log |det df/dx|.

Every learnable part is a Keras 3 layer from :mod:`mpkeras.bijectors` that owns
its weights; on every call the model builds a ``tfb.Chain`` of the layers'
stateless ``tfb.Bijector`` views (data -> latent) and a
``tfd.TransformedDistribution`` of the base through its inverse. Variables are
taken from the Keras model (``model.trainable_variables``), never from a bijector.

Modules: :mod:`~mpkeras.models.flows.base` (:class:`FlowModel`), :mod:`~mpkeras.models.flows.glow`
(:class:`Glow`, :class:`ConditionalGlow`), :mod:`~mpkeras.models.flows.realnvp` (:class:`RealNVP`
on vectors) and :mod:`~mpkeras.models.flows.realnvp_images` (:class:`MultiScaleRealNVP` on images).
"""

from mpkeras.models.flows.base import FlowModel
from mpkeras.models.flows.glow import ConditionalGlow, Glow
from mpkeras.models.flows.realnvp import RealNVP
from mpkeras.models.flows.realnvp_images import MultiScaleRealNVP

__all__ = ["ConditionalGlow", "FlowModel", "Glow", "MultiScaleRealNVP", "RealNVP"]
