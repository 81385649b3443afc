"""Tabular value_iteration on gymnasium (FrozenLake-v1 by default; see mpkeras/rl/runner.py for flags).

    python recipes/value_iteration.py [--env FrozenLake-v1|mpkeras/GridWorld-v0] [--slippery] [--out DIR] [--smoke]
"""

import sys

from mpkeras.rl.runner import main

if __name__ == "__main__":
    main("value_iteration", sys.argv[1:])
