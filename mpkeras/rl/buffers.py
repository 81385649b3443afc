"""Experience replay: a fixed-capacity ring buffer of transitions sampled uniformly (DQN, Mnih et al. 2015)."""

import numpy as np


class ReplayBuffer:
    """Uniform experience replay of transitions (s, a, r, s', terminated).

    The buffer is a ring: once ``capacity`` transitions are stored, each new one overwrites the oldest.
    ``sample`` draws indices uniformly, with replacement, from the filled slots only.

    Args:
        capacity: the most transitions kept.
        observation_shape: shape of one observation.
        action_shape: shape of one action (() for a discrete action).
        action_dtype: ``np.int64`` for discrete actions, ``np.float32`` for continuous ones.
        seed: seed of the sampling generator.

    Example:
        >>> buffer = ReplayBuffer(10_000, observation_shape=(4,))
        >>> buffer.add(obs, action, reward, next_obs, terminated)  # one transition, or a batch of them
        >>> batch = buffer.sample(64)  # dict of arrays: observation (64, 4), action (64,), ...
    """

    def __init__(self, capacity, observation_shape, action_shape=(), action_dtype=np.int64, seed=0):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}.")
        self.capacity = int(capacity)
        self.observation_shape = tuple(observation_shape)
        self.action_shape = tuple(action_shape)
        self.storage = {
            "observation": np.zeros((capacity, *self.observation_shape), np.float32),
            "action": np.zeros((capacity, *self.action_shape), action_dtype),
            "reward": np.zeros((capacity,), np.float32),
            "next_observation": np.zeros((capacity, *self.observation_shape), np.float32),
            "terminated": np.zeros((capacity,), np.float32),
        }
        self.size = 0  # filled slots
        self.position = 0  # the slot the next transition goes to
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.size

    def add(self, observation, action, reward, next_observation, terminated):
        """Stores one transition, or a batch (leading axis) of them."""
        observation = np.asarray(observation, np.float32)
        batched = observation.shape != self.observation_shape
        values = {"observation": observation, "action": action, "reward": reward,
                  "next_observation": next_observation, "terminated": terminated}
        values = {k: np.asarray(v, self.storage[k].dtype) for k, v in values.items()}
        if not batched:
            values = {k: v[None] for k, v in values.items()}
        n = len(values["observation"])
        for key, value in values.items():
            expected = (n, *self.storage[key].shape[1:])
            if value.shape != expected:
                raise ValueError(f"ReplayBuffer.add: {key} has shape {value.shape}, expected {expected} "
                                 f"(observations {self.observation_shape}, actions {self.action_shape}).")
        slots = (self.position + np.arange(n)) % self.capacity
        for key, value in values.items():
            self.storage[key][slots] = value
        self.position = int((self.position + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size):
        """``batch_size`` transitions drawn uniformly with replacement from the filled slots: dict of arrays."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty; add transitions first (e.g. warm-up steps).")
        index = self.rng.integers(0, self.size, size=int(batch_size))
        return {key: value[index] for key, value in self.storage.items()}
