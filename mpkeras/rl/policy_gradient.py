"""Policy-gradient agents: REINFORCE on whole episodes and A2C on short rollouts of vectorised environments.

Both sample actions from the model's stochastic policy through its ``act`` endpoint and update it with
``model.train_step`` on the batch they build:

- :class:`REINFORCEAgent` plays one whole episode in each of ``episodes_per_update`` environment copies, forms
  the discounted returns G_t, and updates on the flattened steps ``{"observation", "action", "return"}``;
- :class:`A2CAgent` steps ``num_envs`` copies for ``n_steps`` and updates on the (N, T) rollout, from which the
  model forms TD errors / GAE advantages; episodes continue across rollouts.

Reference:
    Williams, Machine Learning 1992 (REINFORCE); Mnih et al., ICML 2016 (A2C/A3C); Schulman et al., ICLR 2016
    (GAE).
"""

import time

import numpy as np
import tensorflow as tf

from mpkeras.rl.deep import DeepAgent, check_observations, env_spaces, make_vector_env, next_observations
from mpkeras.rl.returns import discounted_returns


def _model_for(cls, env_id, env_kwargs, model, model_kwargs):
    spaces = env_spaces(env_id, **(env_kwargs or {}))
    if model is None:
        kwargs = dict(model_kwargs or {})
        if "num_actions" in spaces:
            kwargs["num_actions"] = spaces["num_actions"]
        else:
            kwargs["action_dim"] = spaces["action_dim"]
            low, high = np.abs(spaces["action_low"]), np.abs(spaces["action_high"])
            if "mean_bound" not in kwargs and np.all(np.isfinite(high)) and np.allclose(low, high):
                kwargs["mean_bound"] = float(np.max(high))  # keep mu inside symmetric, finite action bounds
        model = cls(observation_dim=spaces["observation_dim"], **kwargs)
    expected = (spaces["observation_dim"], spaces.get("num_actions"), spaces.get("action_dim"))
    if (model.observation_dim, model.num_actions, model.action_dim) != expected:
        raise ValueError(f"The model takes observation_dim={model.observation_dim}, num_actions={model.num_actions}, "
                         f"action_dim={model.action_dim}; {env_id} has {expected}.")
    return model


def _action_spec(model, leading):
    if model.discrete:
        return tf.TensorSpec(leading, tf.int32)
    return tf.TensorSpec((*leading, model.action_dim), tf.float32)


class _PolicyAgent(DeepAgent):
    """Shared loop of the policy-gradient agents: ``collect()`` a batch, update on it, evaluate now and then."""

    eval_every = 50_000

    def collect(self):
        """The next training batch and the undiscounted returns of the episodes that ended in it."""
        raise NotImplementedError

    def learn(self, total_steps, eval_every=None, eval_episodes=10, eval_seed=10_000, log=print):
        """Collects and updates until ``total_steps`` more environment steps; returns the history.

        Every ``eval_every`` steps (the class default when None; 0: never) the deterministic policy plays
        ``eval_episodes`` seeded episodes (seeds from ``eval_seed``): see :meth:`DeepAgent.track`.
        """
        eval_every = self.eval_every if eval_every is None else eval_every
        start, episode_returns, loss = time.time(), [], float("nan")
        begin = self.env_steps
        end, next_eval = begin + total_steps, begin + eval_every
        while self.env_steps < end:
            batch, finished = self.collect()
            self.set_progress((self.env_steps - begin) / total_steps)
            episode_returns.extend(float(r) for r in finished)
            loss = float(self._update(batch)["loss"])
            if eval_every and (self.env_steps >= next_eval or self.env_steps >= end):
                next_eval += eval_every
                recent = np.mean(episode_returns[-20:]) if episode_returns else float("nan")
                self._log(log, self.track(eval_episodes, eval_seed), recent, loss, start, begin)
        self.history["episode_returns"] = episode_returns
        return self.history

    def sample_actions(self, observation):
        """Stochastic actions for (N, D) observations, as numpy (int32 (N,) or float32 (N, action_dim))."""
        return self.act(observation.astype(np.float32), deterministic=False)

    def _log(self, log, result, recent, loss, start, begin):
        log(f"step {self.env_steps}: eval return {result['mean_return']:.1f} +- {result['std_return']:.1f}, "
            f"training return (last 20 episodes) {recent:.1f}, loss {loss:.4f}, "
            f"{(self.env_steps - begin) / (time.time() - start):.0f} steps/s")


class REINFORCEAgent(_PolicyAgent):
    """Trains a :class:`mpkeras.models.rl.REINFORCE` policy on whole episodes.

    Args:
        model: a ``REINFORCE`` model (None: built from the environment's spaces with ``model_kwargs``).
        env_id: gymnasium id (discrete actions: a categorical policy; Box actions: the Gaussian policy).
        episodes_per_update: episodes played in parallel and averaged in one update.
        learning_rate, max_grad_norm, seed, env_kwargs, anneal: see :class:`mpkeras.rl.deep.DeepAgent`.
        model_kwargs: constructor arguments of the model when ``model`` is None.

    Example:
        >>> agent = REINFORCEAgent(env_id="CartPole-v1", model_kwargs={"value_function": True})
        >>> agent.learn(300_000)
    """

    algorithm = "reinforce"
    eval_every = 20_000

    def __init__(self, model=None, env_id="CartPole-v1", episodes_per_update=8, learning_rate=1e-3,
                 max_grad_norm=None, seed=0, env_kwargs=None, model_kwargs=None, anneal=False, jit_compile=False):
        from mpkeras.models.rl import REINFORCE

        model = _model_for(REINFORCE, env_id, env_kwargs, model, model_kwargs)
        self.episodes_per_update = int(episodes_per_update)
        super().__init__(model, env_id, learning_rate, max_grad_norm, seed, env_kwargs, anneal, jit_compile)
        self.env = make_vector_env(env_id, self.episodes_per_update, **self.env_kwargs)
        self._reset_seed = self.seed

    def batch_signature(self):
        return {"observation": tf.TensorSpec((None, self.model.observation_dim), tf.float32),
                "action": _action_spec(self.model, (None,)), "return": tf.TensorSpec((None,), tf.float32)}

    def collect(self):
        """One episode per environment copy: (flat batch of every step, undiscounted episode returns)."""
        observation, _ = self.env.reset(seed=self._reset_seed)
        self._reset_seed += self.episodes_per_update
        steps = {"observation": [], "action": [], "reward": [], "running": []}
        running = np.ones(self.episodes_per_update, bool)
        while running.any():
            action = self.sample_actions(observation)
            next_observation, reward, terminated, truncated, _ = self.env.step(action)
            check_observations(next_observation, f"after {self.env_steps} steps")
            for k, v in zip(steps, (observation, action, reward, running.copy())):
                steps[k].append(v)
            self.env_steps += int(running.sum())
            running &= ~(terminated | truncated)
            observation = next_observation
        running = np.stack(steps["running"])  # (T, N): step t belongs to copy n's first episode
        rewards = np.stack(steps["reward"]).astype(np.float32) * running
        # G_t within each episode; steps after an episode's end are masked out (and carry zero reward).
        returns = discounted_returns(rewards, np.zeros_like(rewards), self.model.gamma).numpy()
        keep = running.T.reshape(-1)  # batch-major flattening: copy n's steps in order
        flat = lambda x: np.swapaxes(np.stack(x), 0, 1).reshape(-1, *np.shape(x[0])[1:])[keep]  # noqa: E731
        batch = {"observation": flat(steps["observation"]).astype(np.float32), "action": flat(steps["action"]),
                 "return": flat(list(returns)).astype(np.float32)}
        return batch, rewards.sum(axis=0)


class A2CAgent(_PolicyAgent):
    """Trains a :class:`mpkeras.models.rl.ActorCritic` on rollouts of ``num_envs`` x ``n_steps``.

    Args:
        model: an ``ActorCritic`` (None: built from the environment's spaces with ``model_kwargs``).
        env_id: gymnasium id.
        num_envs: environment copies stepped together (``gymnasium.vector``).
        n_steps: rollout length per update.
        learning_rate, max_grad_norm, seed, env_kwargs, anneal: see :class:`mpkeras.rl.deep.DeepAgent`.
        model_kwargs: constructor arguments of the model when ``model`` is None.

    Example:
        >>> agent = A2CAgent(env_id="Pendulum-v1", model_kwargs={"stddev": "parameter", "gae_lambda": 0.9})
        >>> agent.learn(1_000_000)
    """

    algorithm = "actor_critic"

    def __init__(self, model=None, env_id="Pendulum-v1", num_envs=16, n_steps=8, learning_rate=1e-3,
                 max_grad_norm=0.5, seed=0, env_kwargs=None, model_kwargs=None, anneal=False, jit_compile=False):
        from mpkeras.models.rl import ActorCritic

        model = _model_for(ActorCritic, env_id, env_kwargs, model, model_kwargs)
        self.num_envs, self.n_steps = int(num_envs), int(n_steps)
        super().__init__(model, env_id, learning_rate, max_grad_norm, seed, env_kwargs, anneal, jit_compile)
        self.env = make_vector_env(env_id, self.num_envs, **self.env_kwargs)
        self.observation, _ = self.env.reset(seed=self.seed)
        self.running_return = np.zeros(self.num_envs)

    def batch_signature(self):
        d = self.model.observation_dim
        nt = (None, None)
        return {"observation": tf.TensorSpec((*nt, d), tf.float32), "action": _action_spec(self.model, nt),
                "reward": tf.TensorSpec(nt, tf.float32), "next_observation": tf.TensorSpec((*nt, d), tf.float32),
                "terminated": tf.TensorSpec(nt, tf.float32), "done": tf.TensorSpec(nt, tf.float32)}

    def collect(self):
        """The next (N, T) rollout, and the undiscounted returns of the episodes that ended in it."""
        keys = ("observation", "action", "reward", "next_observation", "terminated", "done")
        steps, finished = {k: [] for k in keys}, []
        for _ in range(self.n_steps):
            action = self.sample_actions(self.observation)
            observation, reward, terminated, truncated, info = self.env.step(action)
            check_observations(observation, f"after {self.env_steps} steps")
            done = terminated | truncated
            values = (self.observation, action, reward, next_observations(observation, done, info), terminated, done)
            for k, v in zip(keys, values):
                steps[k].append(v)
            self.running_return += reward
            finished.extend(self.running_return[done].tolist())
            self.running_return[done] = 0.0
            self.observation = observation
            self.env_steps += self.num_envs
        batch = {k: np.swapaxes(np.stack(v), 0, 1) for k, v in steps.items()}  # (T, N, ...) -> (N, T, ...)
        batch = {k: v.astype(np.int32 if k == "action" and self.model.discrete else np.float32)
                 for k, v in batch.items()}
        return batch, finished


def gradient_variance(agent, batches=20):
    """How much the learned baseline cuts the variance of REINFORCE's gradient estimate, on the same episodes.

    For ``batches`` fresh batches of ``episodes_per_update`` episodes from the current policy, computes the
    estimate g = mean_t grad log pi(a_t|s_t) A_t of the policy's parameters twice: with A_t = G_t (no baseline)
    and A_t = G_t - V(s_t) (the learned baseline), without advantage normalisation. Both estimate the same
    gradient; the baseline changes only the variance. Returns the total variance (the trace of the covariance
    over batches) of each and their ratio.
    """
    import tensorflow as tf  # noqa: F811

    model = agent.model
    if not model.value_function:
        raise ValueError("gradient_variance compares against the learned baseline; the model has no value function.")
    variables = [v for layer in model.policy_layers for v in layer.trainable_variables]
    variables += [model.log_stddev] if hasattr(model, "log_stddev") else []
    estimates = {"no_baseline": [], "baseline": []}
    for _ in range(batches):
        batch, _ = agent.collect()
        observation = tf.constant(batch["observation"])
        target = tf.constant(batch["return"]) * model.reward_scale
        baseline = model.value(observation)
        for name, advantage in (("no_baseline", target), ("baseline", target - baseline)):
            with tf.GradientTape() as tape:
                objective = tf.reduce_mean(model.distribution(observation).log_prob(batch["action"]) * advantage)
            grads = tape.gradient(objective, variables)
            estimates[name].append(np.concatenate([g.numpy().ravel() for g in grads]))
    total = {k: float(np.var(np.stack(v), axis=0, ddof=1).sum()) for k, v in estimates.items()}
    return {"batches": batches, "episodes_per_batch": agent.episodes_per_update,
            "total_variance_no_baseline": total["no_baseline"], "total_variance_baseline": total["baseline"],
            "variance_ratio": total["no_baseline"] / max(total["baseline"], 1e-30)}
