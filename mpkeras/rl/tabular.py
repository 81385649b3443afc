"""Tabular reinforcement learning: dynamic programming, TD(0), SARSA and Q-learning.

Environments are gymnasium environments with discrete observations and actions (``FrozenLake-v1``,
``mpkeras/GridWorld-v0``, ``CliffWalking-v1``, ...). Dynamic programming reads the model from the environment's
transition table ``env.unwrapped.P[s][a] = [(probability, next_state, reward, terminated), ...]`` and turns it into
arrays (:func:`transition_arrays`):

- ``P[s, a, s']``: probability of moving to ``s'`` *without* the episode ending (terminating transitions carry no
  next-state mass, so nothing is bootstrapped after them);
- ``R[s, a]``: expected immediate reward.

Then ``Q(s, a) = R[s, a] + gamma * sum_s' P[s, a, s'] V(s')`` and the Bellman operators are

- evaluation  ``(T_pi V)(s) = sum_a pi(a|s) Q(s, a)``,
- optimality  ``(T V)(s) = max_a Q(s, a)``                                         (Sutton and Barto 2018, ch. 4).

Agents share one API: ``learn(env, ...)`` returns a history dict for learning curves, ``act(state)`` picks an
action, ``evaluate(env, episodes, seed)`` plays seeded greedy episodes, and ``save(prefix)`` / :func:`load_agent`
store the table as ``prefix.npz`` and ``prefix.json`` with its metadata (env id, env kwargs such as
``is_slippery``, gamma, algorithm).

Reference:
    Sutton and Barto, Reinforcement Learning: An Introduction, 2nd ed., 2018 (ch. 4 DP, 6.1 TD(0),
    6.4 SARSA, 6.5 Q-learning). Watkins and Dayan, Q-learning, Machine Learning 8, 1992.
"""

import json
import os

import gymnasium
import numpy as np

from mpkeras.atomic import atomic_write
from mpkeras.errors import UsageError
import mpkeras.rl.gridworld  # noqa: F401  (registers mpkeras/GridWorld-v0)

TABULAR_ENVS = ("FrozenLake-v1", "mpkeras/GridWorld-v0", "CliffWalking-v1", "Taxi-v3")


# ----------------------------------------------------------------------------------------------- environments
def check_tabular_env(env):
    """Raises a clear error unless ``env`` has discrete observations and actions (a tabular problem)."""
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gymnasium.spaces.Discrete) or not isinstance(act, gymnasium.spaces.Discrete):
        name = env.spec.id if env.spec else type(env).__name__
        raise UsageError(
            f"{name} has observation space {obs} and action space {act}; tabular agents need Discrete spaces for "
            f"both (e.g. {', '.join(TABULAR_ENVS)}). Use a deep agent (dqn, actor_critic) for continuous states.")
    return env


def make_env(env_id, **kwargs):
    """``gymnasium.make(env_id, **kwargs)`` with clear errors for unknown ids and non-tabular environments."""
    try:
        env = gymnasium.make(env_id, **kwargs)
    except gymnasium.error.Error as e:
        raise UsageError(f"Unknown or unusable gymnasium environment {env_id!r} ({e}). "
                         f"Tabular environments include {', '.join(TABULAR_ENVS)}.") from None
    except TypeError as e:
        raise UsageError(f"{env_id} does not accept the arguments {kwargs} ({e}).") from None
    try:
        return check_tabular_env(env)
    except ValueError:
        env.close()
        raise


def transition_arrays(env):
    """``(P, R)`` arrays, shapes (S, A, S) and (S, A), from ``env.unwrapped.P`` (see the module docstring)."""
    check_tabular_env(env)
    table = getattr(env.unwrapped, "P", None)
    if table is None:
        raise UsageError(f"{env.spec.id if env.spec else env} has no transition table env.unwrapped.P, which "
                         "dynamic programming needs; learn from samples instead (td0, sarsa, q_learning).")
    n_s, n_a = env.observation_space.n, env.action_space.n
    P = np.zeros((n_s, n_a, n_s))
    R = np.zeros((n_s, n_a))
    for s in range(n_s):
        for a in range(n_a):
            for p, s2, r, done in table[s][a]:
                R[s, a] += p * r
                if not done:
                    P[s, a, s2] += p
    return P, R


# ----------------------------------------------------------------------------------------- dynamic programming
def q_from_v(P, R, V, gamma):
    """``Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s')``, shape (S, A)."""
    return R + gamma * P @ V


def policy_evaluation(P, R, policy, gamma, tol=1e-10, max_iterations=100_000):
    """Iterative policy evaluation: V <- T_pi V until the sup-norm change is below ``tol``.

    ``policy`` is (S, A) action probabilities. Returns ``(V, residuals)``.
    """
    V = np.zeros(P.shape[0])
    residuals = []
    for _ in range(max_iterations):
        V_new = np.sum(policy * q_from_v(P, R, V, gamma), axis=1)
        residuals.append(float(np.max(np.abs(V_new - V))))
        V = V_new
        if residuals[-1] < tol:
            break
    return V, residuals


def policy_evaluation_exact(P, R, policy, gamma):
    """V^pi from the linear system ``(I - gamma P_pi) V = r_pi``, with P_pi = sum_a pi(a|s) P(s'|s, a)."""
    P_pi = np.einsum("sa,sat->st", policy, P)
    r_pi = np.sum(policy * R, axis=1)
    return np.linalg.solve(np.eye(P.shape[0]) - gamma * P_pi, r_pi)


def greedy_policy(Q, tol=1e-12):
    """One-hot (S, A) policy taking the first action within ``tol`` of the best (deterministic tie-break)."""
    Q = np.asarray(Q)
    best = np.argmax(Q >= Q.max(axis=1, keepdims=True) - tol, axis=1)
    return np.eye(Q.shape[1])[best]


def bellman_residual(P, R, V, gamma):
    """``||T V - V||_inf`` for the Bellman optimality operator T."""
    return float(np.max(np.abs(q_from_v(P, R, V, gamma).max(axis=1) - V)))


def value_iteration(P, R, gamma, tol=1e-10, max_iterations=100_000):
    """V <- T V until ``||T V - V||_inf < tol``. Returns ``(V, Q, residuals)``."""
    V = np.zeros(P.shape[0])
    residuals = []
    for _ in range(max_iterations):
        V_new = q_from_v(P, R, V, gamma).max(axis=1)
        residuals.append(float(np.max(np.abs(V_new - V))))
        V = V_new
        if residuals[-1] < tol:
            break
    return V, q_from_v(P, R, V, gamma), residuals


def policy_iteration(P, R, gamma, max_iterations=1000):
    """Howard's policy iteration with exact evaluation. Returns ``(policy, V, Q, changes)``.

    ``changes[k]`` is how many states' greedy action changed in improvement step k; it stops at 0. The greedy
    step keeps the current action when it is still within 1e-12 of the best, so the loop cannot cycle on ties.
    """
    policy = np.eye(P.shape[1])[np.zeros(P.shape[0], int)]
    changes = []
    for _ in range(max_iterations):
        V = policy_evaluation_exact(P, R, policy, gamma)
        Q = q_from_v(P, R, V, gamma)
        current = policy.argmax(axis=1)
        keep = Q[np.arange(len(Q)), current] >= Q.max(axis=1) - 1e-12
        new = np.where(keep, current, greedy_policy(Q).argmax(axis=1))
        changes.append(int(np.sum(new != current)))
        policy = np.eye(P.shape[1])[new]
        if changes[-1] == 0:
            break
    return policy, V, Q, changes


# ------------------------------------------------------------------------------------------------- exploration
def epsilon_greedy(q_row, epsilon, rng):
    """An action from ``q_row`` (A,): uniform with probability epsilon, else greedy with random tie-breaking."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q_row)))
    best = np.flatnonzero(q_row == q_row.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def linear_schedule(start, end, fraction, total):
    """``f(k)`` going linearly from ``start`` to ``end`` over the first ``fraction`` of ``total`` steps."""
    span = max(1, int(fraction * total))
    return lambda k: end + (start - end) * max(0.0, 1.0 - k / span)


# ------------------------------------------------------------------------------------------------------ agents
class TabularAgent:
    """Base class: a table, metadata, ``act`` / ``evaluate`` / ``save``.

    Subclasses set ``algorithm`` and fill ``self.q`` (S, A) and/or ``self.v`` (S,) plus ``self.policy`` (S, A).
    """

    algorithm = "tabular"

    def __init__(self, gamma=0.99, seed=0):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}.")
        self.gamma = float(gamma)
        self.seed = int(seed)
        self.q = None
        self.v = None
        self.policy = None
        self.env_id = None
        self.env_kwargs = {}

    def _bind(self, env):
        check_tabular_env(env)
        self.env_id = env.spec.id if env.spec else None
        self.env_kwargs = dict(env.spec.kwargs) if env.spec else {}
        self.n_states, self.n_actions = env.observation_space.n, env.action_space.n

    def act(self, state):
        """The greedy action in ``state`` (first best action on ties)."""
        table = self.q if self.q is not None else self.policy
        if table is None:
            raise RuntimeError(f"{type(self).__name__} has no table yet: call learn(env) or load_agent(path).")
        return int(np.argmax(table[int(state)]))

    def evaluate(self, env, episodes=100, seed=0):
        """Plays ``episodes`` greedy episodes, episode i reset with ``seed + i``.

        Returns a dict with ``returns`` (undiscounted), ``mean_return``, ``std_return``, ``success_rate`` (episodes
        that terminate on a positive reward, i.e. reach the goal) and ``mean_length``.
        """
        check_tabular_env(env)
        if (env.observation_space.n, env.action_space.n) != (self.n_states, self.n_actions):
            raise ValueError(f"The table is for {self.n_states} states x {self.n_actions} actions, but the environment "
                             f"has {env.observation_space.n} x {env.action_space.n}; evaluate on {self.env_id}.")
        return evaluate_policy(env, self.act, episodes, seed)

    def make_env(self, **overrides):
        """The environment the table was learnt on (``env_id`` and ``env_kwargs`` from the metadata)."""
        if not self.env_id:
            raise ValueError("This agent has no env_id; pass an environment explicitly.")
        return make_env(self.env_id, **dict(self.env_kwargs, **overrides))

    def metadata(self):
        return {"algorithm": self.algorithm, "env_id": self.env_id, "env_kwargs": self.env_kwargs,
                "is_slippery": self.env_kwargs.get("is_slippery"), "gamma": self.gamma, "seed": self.seed,
                "n_states": int(self.n_states), "n_actions": int(self.n_actions)}

    def tables(self):
        return {k: v for k, v in (("q", self.q), ("v", self.v), ("policy", self.policy)) if v is not None}

    def save(self, prefix):
        """Writes ``prefix.npz`` (arrays + metadata) and ``prefix.json`` (the same, as lists), each atomically."""
        return save_table(prefix, self.tables(), self.metadata())


def evaluate_policy(env, act, episodes=100, seed=0):
    """Seeded evaluation of ``act(state) -> action``; see :meth:`TabularAgent.evaluate`."""
    returns, lengths, successes = [], [], []
    for i in range(episodes):
        s, _ = env.reset(seed=seed + i)
        total, n, done, success = 0.0, 0, False, False
        while not done:
            s, r, terminated, truncated, _ = env.step(act(s))
            total += r
            n += 1
            done = terminated or truncated
            success = bool(terminated and r > 0)
        returns.append(total)
        lengths.append(n)
        successes.append(success)
    return {"episodes": episodes, "seed": seed, "returns": returns, "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)), "success_rate": float(np.mean(successes)),
            "mean_length": float(np.mean(lengths))}


class ValueIteration(TabularAgent):
    """Value iteration on the environment's transition table: V <- max_a [R + gamma P V] to ``tol``.

    Example:
        >>> env = make_env("FrozenLake-v1", is_slippery=True)
        >>> agent = ValueIteration(gamma=0.99); history = agent.learn(env)
        >>> agent.evaluate(env, episodes=100, seed=0)["success_rate"]
    """

    algorithm = "value_iteration"

    def __init__(self, gamma=0.99, tol=1e-10, seed=0):
        super().__init__(gamma, seed)
        self.tol = tol

    def learn(self, env):
        self._bind(env)
        P, R = transition_arrays(env)
        self.v, self.q, residuals = value_iteration(P, R, self.gamma, self.tol)
        self.policy = greedy_policy(self.q)
        return {"bellman_residual": residuals}


class PolicyIteration(TabularAgent):
    """Policy iteration: exact evaluation (linear solve), then greedy improvement, until the policy is stable."""

    algorithm = "policy_iteration"

    def learn(self, env):
        self._bind(env)
        P, R = transition_arrays(env)
        self.policy, self.v, self.q, changes = policy_iteration(P, R, self.gamma)
        return {"policy_changes": changes}


class TD0(TabularAgent):
    """TD(0) evaluation of a fixed policy: V(s) <- V(s) + alpha (r + gamma V(s') - V(s)), with V = 0 after the end.

    Args:
        policy: (S, A) action probabilities to evaluate; None means uniform random.
        alpha: step size; with ``alpha_power > 0`` the step in state s is ``alpha / n(s)^alpha_power`` after
            n(s) visits (Robbins-Monro when 0.5 < power <= 1, which makes V converge for stochastic targets).
    """

    algorithm = "td0"

    def __init__(self, policy=None, gamma=0.99, alpha=0.1, alpha_power=0.0, seed=0):
        super().__init__(gamma, seed)
        self.policy = None if policy is None else np.asarray(policy, float)
        self.alpha = float(alpha)
        self.alpha_power = float(alpha_power)

    def learn(self, env, episodes=1000, reference=None, log_every=None):
        """Runs ``episodes`` episodes of the policy. ``reference`` (S,) V^pi logs ``max_abs_error`` curves."""
        self._bind(env)
        if self.policy is None:
            self.policy = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
        if self.policy.shape != (self.n_states, self.n_actions):
            raise ValueError(f"policy must be (S, A) = {(self.n_states, self.n_actions)}, got {self.policy.shape}.")
        rng = np.random.default_rng(self.seed)
        cum = np.cumsum(self.policy, axis=1)
        self.v = np.zeros(self.n_states)
        visits = np.zeros(self.n_states)
        history = {"episode": [], "return": [], "max_abs_error": []}
        log_every = log_every or max(1, episodes // 100)
        for k in range(episodes):
            s, _ = env.reset(seed=self.seed + k)
            total, done = 0.0, False
            while not done:
                a = min(int(np.searchsorted(cum[s], rng.random() * cum[s, -1], side="right")), self.n_actions - 1)
                s2, r, terminated, truncated, _ = env.step(a)
                visits[s] += 1
                step = self.alpha / visits[s] ** self.alpha_power
                target = r + (0.0 if terminated else self.gamma * self.v[s2])
                self.v[s] += step * (target - self.v[s])
                total += r
                s, done = s2, terminated or truncated
            if (k + 1) % log_every == 0 or k == episodes - 1:
                history["episode"].append(k + 1)
                history["return"].append(total)
                if reference is not None:
                    history["max_abs_error"].append(float(np.max(np.abs(self.v - reference))))
        self.visits = visits
        return history

    def act(self, state, rng=None):
        """An action of the evaluated policy: sampled with ``rng``, else its most probable action.

        TD(0) learns values, not a better policy; :meth:`evaluate` samples the policy with a seeded ``rng``.
        """
        if rng is None:
            return super().act(state)
        return int(rng.choice(self.n_actions, p=self.policy[int(state)] / self.policy[int(state)].sum()))

    def evaluate(self, env, episodes=100, seed=0):
        """Seeded episodes of the evaluated (possibly stochastic) policy; see :meth:`TabularAgent.evaluate`."""
        rng = np.random.default_rng(seed)
        return evaluate_policy(check_tabular_env(env), lambda s: self.act(s, rng), episodes, seed)


class _Control(TabularAgent):
    """Shared epsilon-greedy control loop of SARSA and Q-learning; subclasses define the bootstrap target."""

    def __init__(self, gamma=0.99, alpha=0.5, epsilon=1.0, epsilon_end=0.05, epsilon_fraction=0.8, seed=0):
        super().__init__(gamma, seed)
        self.alpha, self.epsilon, self.epsilon_end, self.epsilon_fraction = alpha, epsilon, epsilon_end, epsilon_fraction

    def _target(self, r, s2, a2, terminated):
        raise NotImplementedError

    def learn(self, env, episodes=2000, eval_env=None, eval_every=None, eval_episodes=20):
        """Epsilon-greedy control for ``episodes`` episodes; epsilon decays linearly (``epsilon_fraction``).

        With ``eval_env``, every ``eval_every`` episodes the greedy policy plays ``eval_episodes`` seeded
        episodes and the history logs its success rate and mean return.
        """
        self._bind(env)
        rng = np.random.default_rng(self.seed)
        self.q = np.zeros((self.n_states, self.n_actions))
        self.visits = np.zeros((self.n_states, self.n_actions))
        eps = linear_schedule(self.epsilon, self.epsilon_end, self.epsilon_fraction, episodes)
        eval_every = eval_every or max(1, episodes // 50)
        history = {"return": [], "eval_episode": [], "eval_success_rate": [], "eval_mean_return": []}
        for k in range(episodes):
            epsilon = eps(k)
            s, _ = env.reset(seed=self.seed + k)
            a = epsilon_greedy(self.q[s], epsilon, rng)
            total, done = 0.0, False
            while not done:
                s2, r, terminated, truncated, _ = env.step(a)
                a2 = epsilon_greedy(self.q[s2], epsilon, rng)  # SARSA's next action; Q-learning ignores it
                self.visits[s, a] += 1
                self.q[s, a] += self.alpha * (self._target(r, s2, a2, terminated) - self.q[s, a])
                total += r
                s, a, done = s2, a2, terminated or truncated
            history["return"].append(total)
            if eval_env is not None and ((k + 1) % eval_every == 0 or k == episodes - 1):
                result = self.evaluate(eval_env, eval_episodes, seed=10_000)
                history["eval_episode"].append(k + 1)
                history["eval_success_rate"].append(result["success_rate"])
                history["eval_mean_return"].append(result["mean_return"])
        self.policy = greedy_policy(self.q)
        return history


class SARSA(_Control):
    """SARSA (on-policy TD control): Q(s,a) <- Q(s,a) + alpha (r + gamma Q(s',a') - Q(s,a)), a' ~ eps-greedy.

    Example:
        >>> env = make_env("FrozenLake-v1", is_slippery=False)
        >>> agent = SARSA(gamma=0.99, alpha=0.5); agent.learn(env, episodes=2000)
        >>> agent.evaluate(env, 100, seed=0)["success_rate"]   # 1.0
    """

    algorithm = "sarsa"

    def _target(self, r, s2, a2, terminated):
        return r if terminated else r + self.gamma * self.q[s2, a2]


class QLearning(_Control):
    """Q-learning (off-policy TD control): Q(s,a) <- Q(s,a) + alpha (r + gamma max_a' Q(s',a') - Q(s,a))."""

    algorithm = "q_learning"

    def _target(self, r, s2, a2, terminated):
        return r if terminated else r + self.gamma * self.q[s2].max()


AGENTS = {cls.algorithm: cls for cls in (ValueIteration, PolicyIteration, TD0, SARSA, QLearning)}


# ------------------------------------------------------------------------------------------------ persistence
def save_table(prefix, tables, metadata):
    """Writes ``prefix.npz`` (arrays plus ``metadata`` as a JSON string) and ``prefix.json``; returns both paths."""
    prefix = os.path.splitext(prefix)[0] if prefix.endswith((".npz", ".json")) else prefix
    meta = json.dumps(metadata)
    npz = atomic_write(prefix + ".npz", lambda f: np.savez(f, metadata=np.array(meta), **tables))
    doc = dict(metadata, tables={k: np.asarray(v).tolist() for k, v in tables.items()})
    js = atomic_write(prefix + ".json", lambda f: f.write(json.dumps(doc).encode()))
    return npz, js


def load_table(path):
    """Reads a table written by :func:`save_table` (``.npz`` or ``.json``). Returns ``(tables, metadata)``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"No table file at {path}; train one first, e.g. `python recipes/q_learning.py`.")
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                metadata = json.loads(str(z["metadata"]))
                tables = {k: z[k] for k in z.files if k != "metadata"}
        else:
            with open(path) as f:
                doc = json.load(f)
            tables = {k: np.asarray(v, float) for k, v in doc.pop("tables").items()}
            metadata = doc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path} is not a table saved by mpkeras.rl.tabular (.npz or .json): {e}") from None
    missing = {"algorithm", "env_id", "gamma", "n_states", "n_actions"} - set(metadata)
    if missing or not ({"q", "policy"} & set(tables)):
        raise ValueError(f"{path} lacks {sorted(missing) or 'a q or policy table'}; it is not a saved tabular agent.")
    shape = (metadata["n_states"], metadata["n_actions"])
    for k in ("q", "policy"):
        if k in tables and (tables[k].shape != shape or not np.all(np.isfinite(tables[k]))):
            raise ValueError(f"{path}: table {k!r} must be finite with shape {shape}, got {tables[k].shape}.")
    return tables, metadata


def load_agent(path):
    """An agent of the saved algorithm with its tables restored; ``agent.make_env()`` rebuilds its environment."""
    tables, meta = load_table(path)
    cls = AGENTS.get(meta["algorithm"], TabularAgent)
    agent = cls.__new__(cls)
    TabularAgent.__init__(agent, meta["gamma"], meta.get("seed", 0))
    agent.env_id, agent.env_kwargs = meta["env_id"], meta.get("env_kwargs", {})
    agent.n_states, agent.n_actions = meta["n_states"], meta["n_actions"]
    agent.q, agent.v, agent.policy = tables.get("q"), tables.get("v"), tables.get("policy")
    return agent
