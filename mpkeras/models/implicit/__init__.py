"""Neural implicit representations of 3-D shape and scenes.

- :mod:`~mpkeras.models.implicit.sdf`: :class:`IGRSDF` (``igr_sdf``), a signed distance function fitted to
  a raw point cloud with the eikonal loss, and :func:`extract_mesh` (marching cubes of any
  SDF model, or of any field at a given level).
- :mod:`~mpkeras.models.implicit.occupancy`: :class:`OccupancyNetwork` (``occupancy_net``), a point-cloud encoder
  and a conditional occupancy decoder f(p, z) -> P(inside).
- :mod:`~mpkeras.models.implicit.nerf`: :class:`NeRF` (``nerf``), a radiance field rendered by alpha compositing.
- :mod:`~mpkeras.models.implicit.dvr`: :class:`DVR` (``dvr``), occupancy and texture fields rendered at the first
  surface crossing, with implicit-differentiation gradients.
"""

from mpkeras.models.implicit.dvr import DVR
from mpkeras.models.implicit.nerf import NeRF, RadianceField, composite, positional_encoding, sample_pdf
from mpkeras.models.implicit.occupancy import OccupancyNetwork
from mpkeras.models.implicit.sdf import IGRSDF, ScaledSoftplus, evaluate_grid, extract_mesh

__all__ = ["DVR", "IGRSDF", "NeRF", "OccupancyNetwork", "RadianceField", "ScaledSoftplus", "composite", "evaluate_grid",
           "extract_mesh", "positional_encoding", "sample_pdf"]
