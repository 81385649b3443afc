"""Tabular td0 on gymnasium (FrozenLake-v1 by default; see mpkeras/rl/runner.py for flags).

    python recipes/td0.py [--env FrozenLake-v1|mpkeras/GridWorld-v0] [--slippery] [--out DIR] [--smoke]
"""

import sys

from mpkeras.rl.runner import main

if __name__ == "__main__":
    main("td0", sys.argv[1:])
