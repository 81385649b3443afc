"""Training core: the recipe runner, strategies, callbacks and figures."""

from mpkeras.train.recipe import Data, Recipe, run

__all__ = ["Data", "Recipe", "run"]
