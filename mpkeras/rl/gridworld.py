"""A small gridworld of our own, as a ``gymnasium.Env`` with a FrozenLake-style transition table ``P``.

Cells of the map: ``S`` start, ``.`` free, ``#`` wall (moves into it stay put), ``H`` hole (reward -1, episode
ends), ``G`` goal (reward +1, episode ends). Every other step pays ``step_reward`` (default -0.01), so shorter paths
are better even with gamma = 1. Actions follow FrozenLake: 0 left, 1 down, 2 right, 3 up. With ``is_slippery=True``
the intended move happens with probability ``1 - slip`` and each perpendicular move with ``slip / 2``.

``P[s][a]`` is a list of ``(probability, next_state, reward, terminated)``, exactly the format of
``gymnasium.envs.toy_text.FrozenLakeEnv.P``, so the dynamic-programming code in :mod:`mpkeras.rl.tabular` reads both.

Registered as ``mpkeras/GridWorld-v0`` (100 steps per episode)::

    import gymnasium, mpkeras.rl
    env = gymnasium.make("mpkeras/GridWorld-v0", is_slippery=True)
"""

import gymnasium
import numpy as np
from gymnasium import spaces

ENV_ID = "mpkeras/GridWorld-v0"

DEFAULT_MAP = (
    "S...#",
    ".#..H",
    ".#.#.",
    "...H.",
    "H#..G",
)

# FrozenLake's action order: left, down, right, up, as (row, column) steps
MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))


class GridWorldEnv(gymnasium.Env):
    """A deterministic or slippery gridworld with walls, holes and one goal.

    Args:
        desc: the map, a sequence of equal-length strings over ``S . # H G`` with exactly one ``S``.
        is_slippery: whether moves slip to a perpendicular direction.
        slip: total probability of slipping when ``is_slippery`` (split evenly between the two sides).
        step_reward: reward of every step that does not end in a hole or the goal.
        render_mode: ``None`` or ``"ansi"``.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, desc=DEFAULT_MAP, is_slippery=False, slip=0.2, step_reward=-0.01, render_mode=None):
        rows = [str(r) for r in desc]
        if not rows or len({len(r) for r in rows}) != 1 or set("".join(rows)) - set("S.#HG"):
            raise ValueError(f"A gridworld map is equal-length rows over 'S.#HG', got {rows}.")
        if "".join(rows).count("S") != 1:
            raise ValueError(f"A gridworld map needs exactly one start cell 'S', got {rows}.")
        if not 0.0 <= slip < 1.0:
            raise ValueError(f"slip must lie in [0, 1), got {slip}.")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}.")
        self.desc = np.array([list(r) for r in rows])
        self.is_slippery = bool(is_slippery)
        self.slip = float(slip)
        self.step_reward = float(step_reward)
        self.render_mode = render_mode
        self.nrow, self.ncol = self.desc.shape
        n = self.nrow * self.ncol
        self.observation_space = spaces.Discrete(n)
        self.action_space = spaces.Discrete(4)
        self.start = int(np.flatnonzero(self.desc.ravel() == "S")[0])
        self.P = {s: {a: self._transitions(s, a) for a in range(4)} for s in range(n)}
        self.s = self.start
        self.lastaction = None

    def _move(self, s, a):
        r, c = divmod(s, self.ncol)
        r2, c2 = r + MOVES[a][0], c + MOVES[a][1]
        if not (0 <= r2 < self.nrow and 0 <= c2 < self.ncol) or self.desc[r2, c2] == "#":
            return s
        return r2 * self.ncol + c2

    def _transitions(self, s, a):
        cell = self.desc.ravel()[s]
        if cell in "HG#":  # absorbing: terminal cells (and unreachable walls) loop with no reward
            return [(1.0, s, 0.0, True)]
        if self.is_slippery:
            outcomes = [((a - 1) % 4, self.slip / 2), (a, 1.0 - self.slip), ((a + 1) % 4, self.slip / 2)]
        else:
            outcomes = [(a, 1.0)]
        out = []
        for move, p in outcomes:
            s2 = self._move(s, move)
            kind = self.desc.ravel()[s2]
            reward = 1.0 if kind == "G" else -1.0 if kind == "H" else self.step_reward
            out.append((p, s2, reward, kind in "HG"))
        return out

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = self.start
        self.lastaction = None
        return self.s, {"prob": 1.0}

    def step(self, action):
        transitions = self.P[self.s][int(action)]
        i = self.np_random.choice(len(transitions), p=[t[0] for t in transitions]) if len(transitions) > 1 else 0
        p, s2, reward, terminated = transitions[i]
        self.s = s2
        self.lastaction = int(action)
        return s2, reward, terminated, False, {"prob": p}

    def render(self):
        if self.render_mode != "ansi":
            return None
        grid = self.desc.copy()
        r, c = divmod(self.s, self.ncol)
        grid[r, c] = "@"
        return "\n".join("".join(row) for row in grid) + "\n"


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="mpkeras.rl.gridworld:GridWorldEnv", max_episode_steps=100)
