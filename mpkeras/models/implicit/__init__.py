"""Neural implicit representations of 3-D shape and scenes.

- :mod:`~mpkeras.models.implicit.sdf`: :class:`IGRSDF` (``igr_sdf``), a signed distance function fitted to
  a raw point cloud with the eikonal loss, and :func:`extract_mesh` (marching cubes of any SDF model).
"""

from mpkeras.models.implicit.sdf import IGRSDF, ScaledSoftplus, evaluate_grid, extract_mesh

__all__ = ["IGRSDF", "ScaledSoftplus", "evaluate_grid", "extract_mesh"]
