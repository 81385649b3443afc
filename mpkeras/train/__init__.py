"""Training core: the recipe runner, strategies, callbacks and figures."""

from mpkeras.train.recipe import Data, Recipe, int_tuple, run

__all__ = ["Data", "Recipe", "int_tuple", "run"]
