"""What the deep agents share: gymnasium environments and their spaces, seeded evaluation, the agent base class.

An agent wraps one of the Keras models of :mod:`mpkeras.models.rl` and gives it the ``learn`` / ``act`` /
``evaluate`` / ``save`` / ``export`` API of the tabular agents. Updates run ``model.train_step`` inside one
``tf.function`` with a fixed input signature, so the training loop never retraces (``trace_count`` says so),
and acting runs the model's ``act`` endpoint, the same function the SavedModel serves.
"""

import os

import gymnasium
import keras
import numpy as np
import tensorflow as tf

from mpkeras.atomic import atomic_write
from mpkeras.errors import UsageError


# ----------------------------------------------------------------------------------------------- environments
def make_env(env_id, **kwargs):
    """``gymnasium.make`` with a clear error for unknown ids or arguments."""
    try:
        return gymnasium.make(env_id, **kwargs)
    except gymnasium.error.Error as e:
        raise UsageError(f"Unknown or unusable gymnasium environment {env_id!r} ({e}). The deep agents take "
                         "environments with flat Box observations, e.g. CartPole-v1, Acrobot-v1, Pendulum-v1, "
                         "MountainCarContinuous-v0.") from None
    except TypeError as e:
        raise UsageError(f"{env_id} does not accept the arguments {kwargs} ({e}).") from None


def env_spaces(env_id, **kwargs):
    """{"observation_dim", and "num_actions" (Discrete) or "action_dim", "action_low", "action_high" (Box)}."""
    env = make_env(env_id, **kwargs)
    obs, act = env.observation_space, env.action_space
    env.close()
    if not isinstance(obs, gymnasium.spaces.Box) or len(obs.shape) != 1:
        raise UsageError(f"{env_id} has observation space {obs}; the deep agents need a flat Box observation "
                         "(use a FlattenObservation wrapper, or a tabular agent for Discrete states).")
    spaces = {"observation_dim": int(obs.shape[0])}
    if isinstance(act, gymnasium.spaces.Discrete):
        spaces["num_actions"] = int(act.n)
    elif isinstance(act, gymnasium.spaces.Box) and len(act.shape) == 1:
        spaces.update(action_dim=int(act.shape[0]), action_low=act.low.tolist(), action_high=act.high.tolist())
    else:
        raise UsageError(f"{env_id} has action space {act}; the deep agents take Discrete or flat Box actions.")
    return spaces


def make_vector_env(env_id, num_envs, **kwargs):
    """``num_envs`` copies in one synchronous vector env that resets a finished copy in the same step.

    With same-step autoreset, the observation returned for a finished copy is the first of its next episode,
    and ``info["final_obs"]`` holds the true last observation (see :func:`next_observations`).
    Box actions are clipped to the action space by ``ClipAction`` (policies are unbounded Gaussians).
    """
    make_env(env_id, **kwargs).close()  # the clear error for unknown ids
    continuous = isinstance(gymnasium.spec(env_id).make(**kwargs).action_space, gymnasium.spaces.Box)
    return gymnasium.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gymnasium.vector.AutoresetMode.SAME_STEP},
        wrappers=[gymnasium.wrappers.ClipAction] if continuous else None, **kwargs)


def next_observations(observation, done, info):
    """s_{t+1} of every copy: the returned observation, or ``info["final_obs"]`` where an episode ended."""
    if not done.any():
        return observation
    nxt = observation.copy()
    for i in np.flatnonzero(info["_final_obs"]):
        nxt[i] = info["final_obs"][i]
    return nxt


def evaluate_policy(act, env_id, episodes=10, seed=0, env_kwargs=None):
    """Plays ``episodes`` episodes at once, episode i reset with ``seed + i``; ``act(obs (E, D)) -> actions``.

    Returns {"episodes", "seed", "returns", "lengths", "mean_return", "std_return", "mean_length"} with the
    undiscounted return of each episode.
    """
    env = make_vector_env(env_id, episodes, **(env_kwargs or {}))
    observation, _ = env.reset(seed=seed)  # copy i gets seed + i
    returns, lengths = np.zeros(episodes), np.zeros(episodes, int)
    running = np.ones(episodes, bool)
    while running.any():
        observation, reward, terminated, truncated, _ = env.step(act(observation.astype(np.float32)))
        returns += np.where(running, reward, 0.0)
        lengths += running
        running &= ~(terminated | truncated)
    env.close()
    return {"episodes": episodes, "seed": seed, "returns": returns.tolist(), "lengths": lengths.tolist(),
            "mean_return": float(returns.mean()), "std_return": float(returns.std()),
            "mean_length": float(lengths.mean())}


def check_observations(observation, where):
    if not np.all(np.isfinite(observation)):
        raise ValueError(f"The environment returned non-finite observations {where}; check its dynamics or wrap "
                         "it to clip or normalise observations.")


# ----------------------------------------------------------------------------------------------- agents
class DeepAgent:
    """Base class: a compiled model of :mod:`mpkeras.models.rl`, its traced update, ``act`` and ``evaluate``.

    Subclasses set ``algorithm``, implement ``batch_signature()`` (the update's input signature, a dict of
    ``tf.TensorSpec``) and ``learn``.

    Args:
        model: the Keras model (built here).
        env_id: gymnasium id of the environment the agent learns on.
        learning_rate: Adam's learning rate.
        max_grad_norm: clip each update's gradient to this global norm (None: no clipping).
        anneal: decay the learning rate linearly to 0 over each ``learn`` call (steadier late training).
        seed: seeds Keras (weights), exploration and the environments.
        env_kwargs: passed to ``gymnasium.make``.
        jit_compile: XLA-compile the traced updates.
    """

    algorithm = "deep"

    def __init__(self, model, env_id, learning_rate=1e-3, max_grad_norm=None, seed=0, env_kwargs=None,
                 anneal=False, jit_compile=False):
        self.model = model
        self.jit_compile = bool(jit_compile)
        self.anneal = bool(anneal)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.learning_rate = float(learning_rate)
        self.max_grad_norm = max_grad_norm
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)
        model.build()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=max_grad_norm))
        model.optimizer.build(model.trainable_variables)
        self._update = tf.function(model.train_step, input_signature=[self.batch_signature()],
                                   jit_compile=self.jit_compile)
        self._traced = [self._update]  # the traced functions of the training loop
        specs = model.serving_endpoints()["act"][1]
        self._act = tf.function(model.act, input_signature=specs)
        self.env_steps = 0
        self.history = {"step": [], "eval_mean_return": [], "eval_std_return": []}
        self.best = None  # (mean return, step, weights) of the best evaluation during training

    # ------------------------------------------------------------------- API
    def batch_signature(self):
        raise NotImplementedError

    def learn(self, total_steps, **kwargs):
        raise NotImplementedError

    def set_progress(self, fraction):
        """With ``anneal``, sets the learning rate to ``learning_rate * (1 - fraction)`` (a variable: no retrace)."""
        if self.anneal:
            self.model.optimizer.learning_rate.assign(self.learning_rate * max(0.0, 1.0 - fraction))

    @property
    def trace_count(self):
        """How often the training loop's functions were traced (one trace each, however many updates ran)."""
        return sum(f.experimental_get_tracing_count() for f in self._traced)

    def act(self, observation, deterministic=True):
        """Actions (numpy) for observations (B, D); sampled with the agent's generator unless deterministic."""
        seed = self.rng.integers(0, 2**31 - 1, size=2, dtype=np.int32)
        out = self._act(tf.constant(observation, tf.float32), tf.constant(bool(deterministic)), tf.constant(seed))
        return out["action"].numpy()

    def evaluate(self, episodes=10, seed=0, deterministic=True):
        """Seeded evaluation on the agent's environment (see :func:`evaluate_policy`)."""
        return evaluate_policy(lambda o: self.act(o, deterministic), self.env_id, episodes, seed, self.env_kwargs)

    def track(self, episodes, seed):
        """Evaluates during training (on seeds apart from the final evaluation's) and keeps the best weights."""
        result = self.evaluate(episodes, seed)
        self.history["step"].append(self.env_steps)
        self.history["eval_mean_return"].append(result["mean_return"])
        self.history["eval_std_return"].append(result["std_return"])
        if self.best is None or result["mean_return"] >= self.best[0]:
            self.best = (result["mean_return"], self.env_steps, self.model.get_weights())
        return result

    def restore_best(self):
        """Loads the weights of the best evaluation during training; returns (mean return, step) or None."""
        if self.best is None:
            return None
        self.model.set_weights(self.best[2])
        return self.best[:2]

    def save(self, path):
        """Saves the model as a ``.keras`` file, written to a temporary name and renamed."""
        if not str(path).endswith(".keras"):
            raise ValueError(f"Save the agent's model to a path ending in .keras, got {path!r}.")
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".tmp-{os.getpid()}-{os.path.basename(path)}")
        try:
            self.model.save(tmp)  # Keras wants the .keras suffix, so atomic_write's temporary name cannot serve
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    def export(self, base_dir, model_card=None):
        """Exports the ``act`` endpoint (and the others) to ``base_dir/<name>/<version>``."""
        from mpkeras.export import export_model

        return export_model(self.model, self.model.registry_name, base_dir=base_dir, model_card=model_card)


def save_json(path, obj):
    import json

    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2).encode()))
    return os.path.abspath(path)
