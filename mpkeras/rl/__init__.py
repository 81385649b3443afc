"""Reinforcement learning on gymnasium (the ``rl`` extra: ``pip install "mpkeras[rl]"``).

- :mod:`mpkeras.rl.tabular`: dynamic programming, TD(0), SARSA and Q-learning agents, table save/load;
- :mod:`mpkeras.rl.gridworld`: a small gridworld with FrozenLake's transition table (``mpkeras/GridWorld-v0``);
- :mod:`mpkeras.rl.runner`: the tabular recipes' runner; :mod:`mpkeras.rl.cli`: ``mpkeras tabular``;
- :mod:`mpkeras.rl.buffers`: uniform experience replay; :mod:`mpkeras.rl.returns`: discounted returns and GAE;
- :mod:`mpkeras.rl.deep`: environments, seeded evaluation and the base of the deep agents, which train the Keras
  models of :mod:`mpkeras.models.rl`: :mod:`mpkeras.rl.dqn` (``DQNAgent``) and :mod:`mpkeras.rl.policy_gradient`
  (``REINFORCEAgent``, ``A2CAgent``); :mod:`mpkeras.rl.deep_runner`: their recipes.

Import the modules themselves (``from mpkeras.rl.tabular import QLearning``): this package imports nothing, so
that mpkeras and its CLI start without gymnasium.
"""
