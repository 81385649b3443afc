"""Training core: the recipe runner, strategies, callbacks and figures."""

from mpkeras.train.errors import NonFiniteDataError, SplitTooSmallError, UnsupportedFlagError
from mpkeras.train.recipe import Data, Recipe, int_tuple, run

__all__ = ["Data", "NonFiniteDataError", "Recipe", "SplitTooSmallError", "UnsupportedFlagError", "int_tuple", "run"]
