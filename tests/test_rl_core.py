"""RL building blocks: discounted returns and GAE against hand-computed arrays; the replay buffer."""

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.rl.buffers import ReplayBuffer
from mpkeras.rl.returns import discounted_returns, gae


def test_discounted_returns_match_a_hand_computed_trajectory():
    # G_3 = 1 + 0.5 * 2 (bootstrap), G_2 = 1 (the episode ends), G_1 = 1 + 0.5 G_2, G_0 = 1 + 0.5 G_1.
    g = discounted_returns([1.0, 1.0, 1.0, 1.0], [0, 0, 1, 0], gamma=0.5, bootstrap=2.0)
    np.testing.assert_allclose(g.numpy(), [1.75, 1.5, 1.0, 2.0])
    np.testing.assert_allclose(discounted_returns([0.0, 0.0, 3.0], [0, 0, 0], gamma=0.9).numpy(), [2.43, 2.7, 3.0],
                               rtol=1e-6)


def test_gae_matches_hand_computed_advantages():
    rewards, values, dones = [1.0, 0.0, 2.0], [0.5, 1.0, 0.2], [0, 0, 0]
    advantages, returns = gae(rewards, values, dones, last_value=1.0, gamma=0.9, lam=0.8)
    # delta = (1.4, -0.82, 2.7); A_2 = 2.7, A_1 = -0.82 + 0.72 * 2.7, A_0 = 1.4 + 0.72 * A_1
    np.testing.assert_allclose(advantages.numpy(), [2.20928, 1.124, 2.7], rtol=1e-5)
    np.testing.assert_allclose(returns.numpy(), advantages.numpy() + values, rtol=1e-6)
    td, _ = gae(rewards, values, dones, 1.0, gamma=0.9, lam=0.0)  # lam = 0: the one-step TD errors
    np.testing.assert_allclose(td.numpy(), [1.4, -0.82, 2.7], rtol=1e-5)


def test_gae_with_lambda_one_is_the_return_minus_the_baseline_per_environment():
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    dones = np.array([[0, 0], [1, 0], [0, 0], [0, 1], [0, 0], [0, 0]])  # (T, N): the envs end at different steps
    last = np.array([0.3, -0.7])
    advantages, returns = gae(rewards, values, dones, last, gamma=0.95, lam=1.0)
    expected = discounted_returns(rewards, dones, 0.95, bootstrap=last)
    np.testing.assert_allclose(returns.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(advantages.numpy(), expected.numpy() - values, rtol=1e-5, atol=1e-6)
    graph = tf.function(lambda r, v, d: gae(r, v, d, last, 0.95, 1.0)[0])  # also inside tf.function
    np.testing.assert_allclose(graph(rewards, values, dones).numpy(), advantages.numpy(), rtol=1e-6)
    # Column 0 ends at t = 1, so its return at t = 1 is the reward alone.
    assert returns.numpy()[1, 0] == pytest.approx(rewards[1, 0], rel=1e-6)


def test_replay_buffer_never_returns_unfilled_slots_and_forgets_the_oldest():
    buffer = ReplayBuffer(100, observation_shape=(2,), seed=0)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(4)
    for i in range(10):
        buffer.add([i, i], i, float(i), [i + 1, i + 1], False)
    assert len(buffer) == 10
    batch = buffer.sample(5000)
    assert set(np.unique(batch["action"])) == set(range(10))  # every filled slot, nothing else (zeros are slot 0)
    np.testing.assert_array_equal(batch["observation"][:, 0], batch["action"])  # rows stay together
    np.testing.assert_array_equal(batch["next_observation"][:, 0], batch["action"] + 1)
    ids = np.arange(10, 160)  # a batch of 150 more: the ring keeps the newest 100
    buffer.add(np.stack([ids, ids], 1), ids, ids.astype(float), np.stack([ids, ids], 1) + 1, np.zeros(150))
    assert len(buffer) == 100
    assert set(np.unique(buffer.sample(5000)["action"])) == set(range(60, 160))


def test_replay_buffer_samples_uniformly():
    buffer = ReplayBuffer(50, observation_shape=(1,), seed=1)
    buffer.add(np.arange(50)[:, None], np.arange(50), np.zeros(50), np.zeros((50, 1)), np.zeros(50))
    counts = np.bincount(buffer.sample(100_000)["action"], minlength=50)
    expected = 100_000 / 50
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 95  # chi-square with 49 degrees of freedom: p < 1e-4 above 95
    with pytest.raises(ValueError, match="observation has shape"):
        buffer.add(np.zeros((3, 2)), np.zeros(3), np.zeros(3), np.zeros((3, 1)), np.zeros(3))
