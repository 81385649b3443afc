"""Fixtures of the deep RL models: a replay batch (dqn), flattened episodes (reinforce), a rollout (actor_critic).

The three cover the three policies the SavedModel check replays: epsilon-greedy over Q-values, a Gaussian with
state-dependent sigma, and a categorical.
"""

import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture


def _rng(seed):
    return np.random.default_rng(seed)


@fixture("dqn")
def _dqn():
    rng, n = _rng(0), 16
    x = {"observation": rng.normal(size=(n, 3)).astype(np.float32), "action": rng.integers(0, 2, n),
         "reward": rng.normal(size=n).astype(np.float32),
         "next_observation": rng.normal(size=(n, 3)).astype(np.float32),
         "terminated": (rng.uniform(size=n) < 0.2).astype(np.float32)}
    return Fixture(kwargs=dict(observation_dim=3, num_actions=2, hidden_units=(8,), epsilon=0.3), x=x,
                   output_shapes={"q_values": (n, 2), "action": (n,)})


@fixture("reinforce")
def _reinforce():
    rng, n = _rng(1), 16
    x = {"observation": rng.normal(size=(n, 3)).astype(np.float32),
         "action": rng.normal(size=(n, 2)).astype(np.float32), "return": rng.normal(size=n).astype(np.float32)}
    return Fixture(kwargs=dict(observation_dim=3, action_dim=2, hidden_units=(8,), stddev="state", entropy_coef=0.01),
                   x=x, output_shapes={"mean": (n, 2), "stddev": (n, 2), "value": (n,)})


@fixture("actor_critic")
def _actor_critic():
    rng, envs, steps = _rng(2), 4, 5
    shape = (envs, steps)
    done = rng.uniform(size=shape) < 0.2
    x = {"observation": rng.normal(size=(*shape, 3)).astype(np.float32),
         "action": rng.integers(0, 3, shape).astype(np.int32),
         "reward": rng.normal(size=shape).astype(np.float32),
         "next_observation": rng.normal(size=(*shape, 3)).astype(np.float32),
         "terminated": (done & (rng.uniform(size=shape) < 0.5)).astype(np.float32), "done": done.astype(np.float32)}
    return Fixture(kwargs=dict(observation_dim=3, num_actions=3, hidden_units=(8,), gae_lambda=0.9, entropy_coef=0.01),
                   x=x, output_shapes={"logits": (*shape, 3), "action": shape, "value": shape})
