"""The DQN agent: epsilon-greedy experience collection into a uniform replay buffer, and bursts of TD updates.

Every ``train_frequency`` environment steps (after ``learning_starts``), ``gradient_steps`` minibatches are
drawn from the buffer and applied in one ``tf.function`` call (a ``tf.range`` loop over the stacked batches,
each step ``model.train_step``), and the target network is refreshed every ``target_update_interval`` gradient
steps. Exploration anneals epsilon linearly from ``epsilon_start`` to ``epsilon_end`` over the first
``exploration_fraction`` of training.

Reference:
    Mnih et al., "Human-level control through deep reinforcement learning", Nature 2015.
"""

import time

import numpy as np
import tensorflow as tf

from mpkeras.errors import UsageError
from mpkeras.rl.buffers import ReplayBuffer
from mpkeras.rl.deep import DeepAgent, check_observations, env_spaces, make_env


class DQNAgent(DeepAgent):
    """Trains a :class:`mpkeras.models.rl.DQN` on a gymnasium environment with discrete actions.

    Args:
        model: a ``DQN`` (None: built from the environment's spaces with ``model_kwargs``).
        env_id: gymnasium id.
        buffer_size: replay capacity (transitions).
        batch_size: minibatch size.
        learning_starts: environment steps before the first update (random actions until then).
        train_frequency: environment steps between update bursts.
        gradient_steps: minibatch updates per burst.
        target_update_interval: gradient steps between target refreshes.
        tau: target update rate (1: a copy).
        epsilon_start, epsilon_end, exploration_fraction: the linear epsilon schedule.
        learning_rate, max_grad_norm, seed, env_kwargs, anneal: see :class:`mpkeras.rl.deep.DeepAgent`.
        model_kwargs: constructor arguments of the model when ``model`` is None.

    Example:
        >>> agent = DQNAgent(env_id="CartPole-v1", seed=0)
        >>> agent.learn(50_000)
        >>> agent.evaluate(episodes=10)["mean_return"]
    """

    algorithm = "dqn"

    def __init__(self, model=None, env_id="CartPole-v1", buffer_size=100_000, batch_size=64, learning_starts=1000,
                 train_frequency=256, gradient_steps=128, target_update_interval=128, tau=1.0, epsilon_start=1.0,
                 epsilon_end=0.04, exploration_fraction=0.16, learning_rate=2.3e-3, max_grad_norm=10.0, seed=0,
                 env_kwargs=None, model_kwargs=None, anneal=False, jit_compile=False):
        from mpkeras.models.rl import DQN

        spaces = env_spaces(env_id, **(env_kwargs or {}))
        if "num_actions" not in spaces:
            raise UsageError(f"DQN needs discrete actions; {env_id} has a continuous action space. "
                             "Use actor_critic or reinforce for continuous control.")
        if model is None:
            model = DQN(observation_dim=spaces["observation_dim"], num_actions=spaces["num_actions"],
                        **(model_kwargs or {}))
        if (model.observation_dim, model.num_actions) != (spaces["observation_dim"], spaces["num_actions"]):
            raise ValueError(f"The model takes {model.observation_dim} observations and {model.num_actions} actions; "
                             f"{env_id} has {spaces['observation_dim']} and {spaces['num_actions']}.")
        self.buffer_size, self.batch_size = int(buffer_size), int(batch_size)
        self.learning_starts, self.train_frequency = int(learning_starts), int(train_frequency)
        self.gradient_steps, self.target_update_interval = int(gradient_steps), int(target_update_interval)
        self.tau = float(tau)
        self.epsilon_start, self.epsilon_end = float(epsilon_start), float(epsilon_end)
        self.exploration_fraction = float(exploration_fraction)
        super().__init__(model, env_id, learning_rate, max_grad_norm, seed, env_kwargs, anneal, jit_compile)
        model.update_target()
        self.gradient_steps_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        signature = {k: tf.TensorSpec((None, *s.shape), s.dtype) for k, s in self.batch_signature().items()}
        self._burst_fn = tf.function(self._burst, input_signature=[signature], jit_compile=self.jit_compile)
        self._traced = [self._burst_fn]
        self._q = tf.function(model.q_values, input_signature=[tf.TensorSpec((None, model.observation_dim))])

    def batch_signature(self):
        d = self.model.observation_dim
        return {"observation": tf.TensorSpec((None, d), tf.float32), "action": tf.TensorSpec((None,), tf.int64),
                "reward": tf.TensorSpec((None,), tf.float32),
                "next_observation": tf.TensorSpec((None, d), tf.float32),
                "terminated": tf.TensorSpec((None,), tf.float32)}

    def _burst(self, batches):
        """Applies K stacked minibatches (K, B, ...) in order; refreshes the target every interval."""
        loss = tf.constant(0.0)
        for i in tf.range(tf.shape(batches["reward"])[0]):
            loss = self.model.train_step({k: v[i] for k, v in batches.items()})["loss"]
            self.gradient_steps_done.assign_add(1)
            if self.gradient_steps_done % self.target_update_interval == 0:
                self.model.update_target(self.tau)
        return loss

    def epsilon(self, step, total_steps):
        fraction = min(1.0, step / max(1.0, self.exploration_fraction * total_steps))
        return self.epsilon_start + fraction * (self.epsilon_end - self.epsilon_start)

    def learn(self, total_steps, eval_every=5000, eval_episodes=10, eval_seed=10_000, log=print):
        """Collects ``total_steps`` environment steps, updating as configured; returns the history.

        Every ``eval_every`` steps the greedy policy plays ``eval_episodes`` seeded episodes (seeds from
        ``eval_seed``); the history records them and the agent keeps the best weights (:meth:`restore_best`).
        """
        env = make_env(self.env_id, **self.env_kwargs)
        buffer = ReplayBuffer(self.buffer_size, (self.model.observation_dim,), seed=self.seed)
        observation, _ = env.reset(seed=self.seed)
        episode_return, episode_returns, episode_ends = 0.0, [], []
        start, loss = time.time(), float("nan")
        for step in range(1, total_steps + 1):
            epsilon = self.epsilon(step, total_steps)
            if step <= self.learning_starts or self.rng.random() < epsilon:
                action = int(self.rng.integers(self.model.num_actions))
            else:
                action = int(np.argmax(self._q(observation[None].astype(np.float32))[0]))
            next_observation, reward, terminated, truncated, _ = env.step(action)
            check_observations(next_observation, f"at step {step}")
            buffer.add(observation, action, reward, next_observation, terminated)
            episode_return += reward
            observation = next_observation
            if terminated or truncated:
                episode_returns.append(episode_return)
                episode_ends.append(step)
                episode_return = 0.0
                observation, _ = env.reset()
            self.env_steps += 1
            if step > self.learning_starts and step % self.train_frequency == 0:
                # K independent minibatches at once (the buffer does not change during a burst): (K, B, ...).
                self.set_progress(step / total_steps)
                flat = buffer.sample(self.gradient_steps * self.batch_size)
                stacked = {k: v.reshape(self.gradient_steps, self.batch_size, *v.shape[1:]) for k, v in flat.items()}
                loss = float(self._burst_fn(stacked))
            if eval_every and (step % eval_every == 0 or step == total_steps):
                result = self.track(eval_episodes, eval_seed)
                recent = np.mean(episode_returns[-20:]) if episode_returns else float("nan")
                log(f"step {step}: eval return {result['mean_return']:.1f} +- {result['std_return']:.1f}, "
                    f"training return (last 20 episodes) {recent:.1f}, epsilon {epsilon:.3f}, loss {loss:.4f}, "
                    f"{step / (time.time() - start):.0f} steps/s")
        env.close()
        self.history.update(episode_returns=episode_returns, episode_ends=episode_ends)
        return self.history
