"""Deep reinforcement-learning networks as Keras models: DQN's Q-network and the policies of REINFORCE and A2C.

The networks, the losses and the served ``act`` endpoint live here, in TensorFlow and TensorFlow Probability
only. The loops that collect experience from gymnasium environments live in ``mpkeras.rl`` (gymnasium is an
optional extra), and call ``model.train_step`` on the batches they build, so an agent's update is exactly the
Keras training step a user can override.

Every agent serves ``act(observation, deterministic, seed)``, returning

* ``action``: the action to take (a sample, or the most likely action when ``deterministic``);
* ``mean``: the deterministic action (the Gaussian mean; the most likely discrete action);
* ``log_prob``: log pi(action | observation) under the served policy;

plus ``q_values`` (DQN), ``stddev`` (Gaussian) or ``probabilities`` (categorical). Gaussian actions are not
clipped: the environment clips them to its bounds (Pendulum does; gymnasium's ``ClipAction`` wrapper does for
others), so that ``log_prob`` stays that of the action returned.
"""

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from keras import layers

from mpkeras.models.common import average_loss, check_input, with_regularization
from mpkeras.registry import register_model

tfd = tfp.distributions


def _dense_stack(units, outputs, activation, name, output_init="glorot_uniform"):
    """Hidden ``Dense`` layers then a linear output layer (a list; applied by :func:`_apply`)."""
    hidden = [layers.Dense(u, activation=activation, name=f"{name}_{i}") for i, u in enumerate(units)]
    return hidden + [layers.Dense(outputs, kernel_initializer=output_init, name=f"{name}_out")]


def _apply(stack, x):
    """The stack's output in float32: under mixed precision the layers compute in float16, while Q-values,
    log-probabilities and returns are used in float32 sums."""
    for layer in stack:
        x = layer(x)
    return tf.cast(x, tf.float32)


def _observation(inputs):
    """The observation of a batch dict (training batches) or the observation itself."""
    return inputs["observation"] if isinstance(inputs, dict) else inputs


def _agent_specs(observation_dim):
    return [tf.TensorSpec((None, observation_dim), tf.float32, name="observation"),
            tf.TensorSpec((), tf.bool, name="deterministic"),
            tf.TensorSpec((2,), tf.int32, name="seed")]


@register_model("dqn", dataset="CartPole-v1", metric="eval_mean_return")
@keras.saving.register_keras_serializable(package="mpkeras")
class DQN(keras.Model):
    """Deep Q-network: Q_theta(s, .) over discrete actions, a target network and the TD loss.

    With a replay batch of transitions (s, a, r, s', d), d = 1 when s' is terminal (not merely truncated),

        y = r + gamma (1 - d) max_a' Q_target(s', a'),      L(theta) = mean l(y - Q_theta(s, a)),

    where l is the squared error (``td_loss="mse"``, the paper's loss) or the Huber loss (``"huber"``, delta 1).
    With ``double=True`` the target is Q_target(s', argmax_a' Q_theta(s', a')) (double DQN). ``update_target``
    copies (tau = 1) or Polyak-averages the online weights into the target network, which is not trainable.

    Train it through ``model.train_step`` on batches ``{"observation", "action", "reward",
    "next_observation", "terminated"}`` (``mpkeras.rl.dqn.DQNAgent`` collects them from gymnasium).

    Args:
        observation_dim: length of the (flat, float) observation.
        num_actions: number of discrete actions.
        hidden_units: widths of the hidden layers of the Q-network.
        activation: hidden activation.
        gamma: discount factor of the TD target.
        td_loss: ``"huber"`` or ``"mse"``.
        double: use the double-DQN target.
        epsilon: exploration rate of the served ``act`` when ``deterministic`` is false (epsilon-greedy).

    Example:
        >>> model = DQN(observation_dim=4, num_actions=2)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> model.train_step(replay_batch)  # dict of (B, ...) arrays
        >>> model.act(observations, deterministic=True, seed=[0, 0])["action"]  # (B,) int32

    Reference:
        Mnih et al., "Human-level control through deep reinforcement learning", Nature 2015;
        van Hasselt, Guez and Silver, "Deep reinforcement learning with double Q-learning", AAAI 2016.
    """

    def __init__(self, observation_dim=4, num_actions=2, hidden_units=(256, 256), activation="relu", gamma=0.99,
                 td_loss="huber", double=True, epsilon=0.05, **kwargs):
        super().__init__(**kwargs)
        if td_loss not in ("huber", "mse"):
            raise ValueError(f"td_loss must be 'huber' or 'mse', got {td_loss!r}.")
        if int(num_actions) < 2:
            raise ValueError(f"num_actions must be at least 2, got {num_actions}.")
        if not 0.0 <= float(epsilon) <= 1.0:
            raise ValueError(f"epsilon is a probability; got {epsilon}.")
        # === Layers ===
        self.q_layers = _dense_stack(hidden_units, num_actions, activation, "q")
        self.target_layers = _dense_stack(hidden_units, num_actions, activation, "q_target")
        for layer in self.target_layers:
            layer.trainable = False  # moved only by update_target
        # === Config ===
        self.observation_dim = int(observation_dim)
        self.num_actions = int(num_actions)
        self.hidden_units = tuple(hidden_units)
        self.activation = activation
        self.gamma = float(gamma)
        self.td_loss = td_loss
        self.double = bool(double)
        self.epsilon = float(epsilon)

    def build(self, input_shape=None):
        # Both networks exist before the first update_target or weight load.
        dummy = tf.zeros((1, self.observation_dim))
        _apply(self.q_layers, dummy)
        _apply(self.target_layers, dummy)
        self.built = True

    def q_values(self, observation):
        """Q_theta(s, .): (B, num_actions)."""
        return _apply(self.q_layers, observation)

    def target_q_values(self, observation):
        return _apply(self.target_layers, observation)

    def call(self, inputs, training=False):
        q = self.q_values(_observation(inputs))  # (B, A)
        return {"q_values": q, "action": tf.argmax(q, axis=-1, output_type=tf.int32)}

    def td_target(self, reward, next_observation, terminated):
        """y = r + gamma (1 - d) Q_target(s', a*), a* the target's (or, double, the online net's) argmax. (B,)"""
        next_target = self.target_q_values(next_observation)  # (B, A)
        if self.double:
            best = tf.argmax(self.q_values(next_observation), axis=-1, output_type=tf.int32)
            next_value = tf.gather(next_target, best, batch_dims=1)
        else:
            next_value = tf.reduce_max(next_target, axis=-1)
        continues = 1.0 - tf.cast(terminated, tf.float32)
        return tf.stop_gradient(tf.cast(reward, tf.float32) + self.gamma * continues * next_value)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        action = tf.cast(x["action"], tf.int32)
        q_taken = tf.gather(y_pred["q_values"], action, batch_dims=1)  # (B,)
        error = self.td_target(x["reward"], x["next_observation"], x["terminated"]) - q_taken
        if self.td_loss == "huber":
            per_example = tf.where(tf.abs(error) <= 1.0, 0.5 * tf.square(error), tf.abs(error) - 0.5)
        else:
            per_example = tf.square(error)
        return with_regularization(average_loss(per_example), self.losses)

    def update_target(self, tau=1.0):
        """theta_target <- tau theta + (1 - tau) theta_target (tau = 1: a copy)."""
        online = [w for layer in self.q_layers for w in layer.weights]
        target = [w for layer in self.target_layers for w in layer.weights]
        for w, t in zip(online, target):
            t.assign(tau * w + (1.0 - tau) * t if tau != 1.0 else w)

    def act(self, observation, deterministic, seed):
        """Epsilon-greedy action, or the greedy one when ``deterministic``.

        Returns {"action", "mean" (the greedy action), "q_values", "log_prob"}; log_prob is that of the action
        under the served policy (epsilon / A + (1 - epsilon) for the greedy action; 0 when deterministic).
        """
        observation = check_input(observation, (self.observation_dim,), "observation")
        q = self.q_values(observation)  # (B, A)
        greedy = tf.argmax(q, axis=-1, output_type=tf.int32)
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)
        batch = tf.shape(q)[:1]
        explore = tf.random.stateless_uniform(batch, seed=seeds[0], alg="philox") < self.epsilon
        explore = tf.logical_and(explore, tf.logical_not(tf.cast(deterministic, tf.bool)))
        random_action = tf.random.stateless_uniform(batch, seed=seeds[1], minval=0, maxval=self.num_actions,
                                                    dtype=tf.int32, alg="philox")
        action = tf.where(explore, random_action, greedy)
        onehot = tf.one_hot(greedy, self.num_actions)
        eps = tf.where(tf.cast(deterministic, tf.bool), 0.0, self.epsilon)
        probabilities = eps / self.num_actions + (1.0 - eps) * onehot
        log_prob = tf.math.log(tf.gather(probabilities, action, batch_dims=1))
        return {"action": action, "mean": greedy, "q_values": q, "log_prob": log_prob}

    def serving_endpoints(self):
        act = (self.act, _agent_specs(self.observation_dim))
        return {"serving_default": act, "act": act}

    def get_config(self):
        return {**super().get_config(), "observation_dim": self.observation_dim, "num_actions": self.num_actions,
                "hidden_units": self.hidden_units, "activation": self.activation, "gamma": self.gamma,
                "td_loss": self.td_loss, "double": self.double, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="mpkeras")
class StochasticPolicy(keras.Model):
    """A stochastic policy pi_theta(a | s) with an optional value function V_phi(s); the base of the agents.

    Discrete actions (``num_actions``): pi = Categorical(logits_theta(s)). Continuous actions (``action_dim``):
    the TFP Gaussian pi = N(mu_theta(s), diag sigma_theta(s)^2), the network predicting mu and sigma
    (``stddev="state"``: sigma = softplus(.) + min_stddev from its own output head) or sigma a learned vector
    independent of s (``stddev="parameter"``).

    The policy-gradient loss on a batch of observations, actions, advantages A and value targets G is

        L = -mean log pi(a|s) A - entropy_coef mean H[pi(.|s)] + value_coef mean (G - V(s))^2,

    whose gradient in theta is the estimator of grad J = E[sum_t grad log pi(a_t|s_t) A_t]. Subclasses say
    where A and G come from (:class:`REINFORCE`: Monte Carlo returns; :class:`ActorCritic`: TD errors / GAE).

    Args:
        observation_dim: length of the observation.
        num_actions: number of discrete actions (give this or ``action_dim``).
        action_dim: dimension of a continuous action (give this or ``num_actions``).
        hidden_units: hidden widths of the policy network (and of the value network).
        activation: hidden activation.
        stddev: ``"state"`` or ``"parameter"`` (continuous actions only).
        initial_stddev: sigma at initialisation.
        min_stddev: floor of sigma.
        mean_bound: if set, mu = mean_bound tanh(.) stays inside [-mean_bound, mean_bound] (e.g. the action
            bounds: without it the mean can drift past bounds where every action is clipped alike).
        value_function: learn V_phi(s) (a separate network).
        value_coef: weight of the value loss.
        entropy_coef: weight of the entropy bonus.
        gamma: discount factor.
        reward_scale: rewards are multiplied by this before returns are formed (V learns scaled returns).
        normalize_advantages: standardise the advantages within each batch.

    Example:
        >>> policy = REINFORCE(observation_dim=3, action_dim=1)
        >>> policy.act(observations, deterministic=False, seed=[1, 2])["action"]  # (B, 1)

    Reference:
        Williams, "Simple statistical gradient-following algorithms for connectionist reinforcement learning",
        Machine Learning 1992; Sutton et al., "Policy gradient methods for reinforcement learning with function
        approximation", NeurIPS 1999.
    """

    def __init__(self, observation_dim=4, num_actions=None, action_dim=None, hidden_units=(64, 64),
                 activation="tanh", stddev="state", initial_stddev=1.0, min_stddev=1e-3, mean_bound=None,
                 value_function=True, value_coef=0.5, entropy_coef=0.0, gamma=0.99, reward_scale=1.0,
                 normalize_advantages=False, **kwargs):
        super().__init__(**kwargs)
        if (num_actions is None) == (action_dim is None):
            raise ValueError("Give exactly one of num_actions (discrete actions) and action_dim (continuous "
                             f"actions); got num_actions={num_actions}, action_dim={action_dim}.")
        if stddev not in ("state", "parameter"):
            raise ValueError(f"stddev must be 'state' or 'parameter', got {stddev!r}.")
        if not initial_stddev > min_stddev >= 0:
            raise ValueError(f"Need initial_stddev > min_stddev >= 0, got {initial_stddev} and {min_stddev}.")
        if mean_bound is not None and not float(mean_bound) > 0:
            raise ValueError(f"mean_bound must be positive (or None), got {mean_bound}.")
        discrete = num_actions is not None
        # === Layers ===
        outputs = int(num_actions) if discrete else int(action_dim) * (2 if stddev == "state" else 1)
        # Small output weights start the policy near uniform / near N(0, initial_stddev^2).
        self.policy_layers = _dense_stack(hidden_units, outputs, activation, "policy",
                                          output_init=keras.initializers.Orthogonal(0.01))
        self.value_layers = _dense_stack(hidden_units, 1, activation, "value") if value_function else []
        if not discrete and stddev == "parameter":
            self.log_stddev = self.add_weight(shape=(int(action_dim),), name="log_stddev", initializer="zeros")
        # === Config ===
        self.observation_dim = int(observation_dim)
        self.num_actions = None if num_actions is None else int(num_actions)
        self.action_dim = None if action_dim is None else int(action_dim)
        self.hidden_units = tuple(hidden_units)
        self.activation = activation
        self.stddev = stddev
        self.initial_stddev = float(initial_stddev)
        self.min_stddev = float(min_stddev)
        self.mean_bound = None if mean_bound is None else float(mean_bound)
        self.value_function = bool(value_function)
        self.value_coef = float(value_coef)
        self.entropy_coef = float(entropy_coef)
        self.gamma = float(gamma)
        self.reward_scale = float(reward_scale)
        self.normalize_advantages = bool(normalize_advantages)

    @property
    def discrete(self):
        return self.num_actions is not None

    def build(self, input_shape=None):
        dummy = tf.zeros((1, self.observation_dim))
        _apply(self.policy_layers, dummy)
        if self.value_function:
            _apply(self.value_layers, dummy)
        self.built = True

    # ---------------------------------------------------------------- the policy
    def policy_parameters(self, observation):
        """{"logits"} (B, A), or {"mean", "stddev"} (B, action_dim)."""
        out = _apply(self.policy_layers, observation)
        if self.discrete:
            return {"logits": out}
        d = self.action_dim
        mean = out[..., :d]
        if self.mean_bound is not None:
            mean = self.mean_bound * tf.tanh(mean / self.mean_bound)  # the identity near 0
        offset = self.initial_stddev - self.min_stddev
        if self.stddev == "state":
            # softplus(raw + softplus^-1(sigma_0 - sigma_min)) + sigma_min = sigma_0 at raw = 0.
            raw = out[..., d:] + tfp.math.softplus_inverse(offset)
            return {"mean": mean, "stddev": tf.nn.softplus(raw) + self.min_stddev}
        stddev = offset * tf.exp(self.log_stddev) + self.min_stddev
        return {"mean": mean, "stddev": tf.broadcast_to(stddev, tf.shape(mean))}

    def distribution(self, observation):
        """pi(. | s) as a TFP distribution: Categorical, or MultivariateNormalDiag over the action vector."""
        params = self.policy_parameters(observation)
        if self.discrete:
            return tfd.Categorical(logits=params["logits"], dtype=tf.int32)
        return tfd.MultivariateNormalDiag(loc=params["mean"], scale_diag=params["stddev"])

    def value(self, observation):
        """V_phi(s): (B,) (zeros without a value function)."""
        if not self.value_function:
            return tf.zeros(tf.shape(observation)[:-1])
        return _apply(self.value_layers, observation)[..., 0]

    def call(self, inputs, training=False):
        observation = _observation(inputs)
        out = self.policy_parameters(observation)
        if self.discrete:
            out["action"] = tf.argmax(out["logits"], axis=-1, output_type=tf.int32)
        if self.value_function:
            out["value"] = self.value(observation)
        return out

    def act(self, observation, deterministic, seed):
        """A sampled action (or the most likely one when ``deterministic``) with its log-probability.

        Returns {"action", "mean", "log_prob"} and {"stddev"} (Gaussian) or {"probabilities"} (categorical).
        """
        observation = check_input(observation, (self.observation_dim,), "observation")
        # NaN logits make Categorical sample an out-of-range action; fail here with a clear message instead.
        observation = tf.debugging.assert_all_finite(
            observation, "observation contains NaN or inf; clean the observation before calling act")
        pi = self.distribution(observation)
        sample = pi.sample(seed=tf.cast(seed, tf.int32))  # stateless: the same seed gives the same actions
        mean = pi.mode() if self.discrete else pi.mean()
        action = tf.where(tf.cast(deterministic, tf.bool), mean, sample)
        out = {"action": action, "mean": mean, "log_prob": pi.log_prob(action)}
        if self.discrete:
            out["probabilities"] = tf.nn.softmax(pi.logits)
        else:
            out["stddev"] = pi.stddev()
        return out

    def predict_value(self, observation):
        observation = check_input(observation, (self.observation_dim,), "observation")
        return {"value": self.value(observation)}

    # ---------------------------------------------------------------- the loss
    def policy_gradient_loss(self, observation, action, advantage, value_target):
        """The loss above for flat (M, ...) tensors; the advantage and the target carry no gradient."""
        pi = self.distribution(observation)
        advantage = tf.stop_gradient(tf.cast(advantage, tf.float32))
        if self.normalize_advantages:
            mean, variance = tf.nn.moments(advantage, axes=[0])
            advantage = (advantage - mean) / (tf.sqrt(variance) + 1e-8)
        loss = -average_loss(pi.log_prob(action) * advantage)
        if self.entropy_coef:
            loss -= self.entropy_coef * average_loss(pi.entropy())
        if self.value_function:
            error = tf.stop_gradient(tf.cast(value_target, tf.float32)) - self.value(observation)
            loss += self.value_coef * average_loss(tf.square(error))
        return with_regularization(loss, self.losses)

    def serving_endpoints(self):
        act = (self.act, _agent_specs(self.observation_dim))
        endpoints = {"serving_default": act, "act": act}
        if self.value_function:
            endpoints["value"] = (self.predict_value, _agent_specs(self.observation_dim)[:1])
        return endpoints

    def get_config(self):
        return {**super().get_config(), "observation_dim": self.observation_dim, "num_actions": self.num_actions,
                "action_dim": self.action_dim, "hidden_units": self.hidden_units, "activation": self.activation,
                "stddev": self.stddev, "initial_stddev": self.initial_stddev, "min_stddev": self.min_stddev,
                "mean_bound": self.mean_bound, "value_function": self.value_function, "value_coef": self.value_coef,
                "entropy_coef": self.entropy_coef, "gamma": self.gamma, "reward_scale": self.reward_scale,
                "normalize_advantages": self.normalize_advantages}


@register_model("reinforce", dataset="CartPole-v1", metric="eval_mean_return")
@keras.saving.register_keras_serializable(package="mpkeras")
class REINFORCE(StochasticPolicy):
    """REINFORCE: Monte Carlo policy gradient, with a learned value baseline (``value_function=True``) or none.

    Trained on batches of whole episodes flattened to ``{"observation", "action", "return"}``, with
    G_t = sum_k gamma^k r_{t+k} (``mpkeras.rl.policy_gradient.discounted_episode_returns``). The advantage is
    G_t - V(s_t) with the baseline, G_t without; subtracting a baseline leaves the gradient's expectation
    unchanged and cuts its variance (the recipe measures by how much). See :class:`StochasticPolicy` for the
    arguments.

    Args:
        **kwargs: those of :class:`StochasticPolicy`.

    Example:
        >>> model = REINFORCE(observation_dim=4, num_actions=2, value_function=True)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> model.train_step({"observation": obs, "action": actions, "return": returns})

    Reference:
        Williams, "Simple statistical gradient-following algorithms for connectionist reinforcement learning",
        Machine Learning 1992.
    """

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        observation = x["observation"]
        target = tf.cast(x["return"], tf.float32) * self.reward_scale  # (M,)
        baseline = self.value(observation) if self.value_function else tf.zeros_like(target)
        return self.policy_gradient_loss(observation, x["action"], target - baseline, target)


@register_model("actor_critic", dataset="Pendulum-v1", metric="eval_mean_return")
@keras.saving.register_keras_serializable(package="mpkeras")
class ActorCritic(StochasticPolicy):
    """Advantage actor-critic (A2C): the critic's TD error, or GAE over it, is the actor's advantage.

    Trained on rollouts of N environments x T steps, ``{"observation", "action", "reward",
    "next_observation", "terminated", "done"}`` each (N, T, ...), with next_observation the true next state
    (the final one when an episode ended), terminated = 1 at terminal states and done = 1 where an episode
    ended for any reason (terminal or time limit):

        delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t),
        A_t = delta_t + gamma lambda (1 - done_t) A_{t+1},     value target G_t = A_t + V(s_t).

    ``gae_lambda=0`` gives the one-step TD-error advantage; lambda > 0 is GAE (n-step returns blended), and the
    last step of a rollout bootstraps from V. The value function is required.

    Args:
        gae_lambda: the GAE lambda in [0, 1].
        **kwargs: those of :class:`StochasticPolicy`.

    Example:
        >>> model = ActorCritic(observation_dim=3, action_dim=1, stddev="parameter", gae_lambda=0.9)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> model.train_step(rollout)  # dict of (N, T, ...) arrays

    Reference:
        Mnih et al., "Asynchronous methods for deep reinforcement learning", ICML 2016; Schulman et al.,
        "High-dimensional continuous control using generalized advantage estimation", ICLR 2016.
    """

    def __init__(self, gae_lambda=0.95, **kwargs):
        if not kwargs.get("value_function", True):
            raise ValueError("ActorCritic needs its critic: value_function must be True.")
        super().__init__(**kwargs)
        if not 0.0 <= float(gae_lambda) <= 1.0:
            raise ValueError(f"gae_lambda must lie in [0, 1], got {gae_lambda}.")
        # === Config ===
        self.gae_lambda = float(gae_lambda)

    def advantages(self, x):
        """(advantages, value targets), each (N, T), for a rollout dict (see the class docstring)."""
        from mpkeras.rl.returns import discounted_returns  # TF only; no gymnasium

        observation = tf.cast(x["observation"], tf.float32)  # (N, T, D)
        values = self.value(observation)  # (N, T)
        next_values = self.value(tf.cast(x["next_observation"], tf.float32))  # (N, T)
        reward = tf.cast(x["reward"], tf.float32) * self.reward_scale
        continues = 1.0 - tf.cast(x["terminated"], tf.float32)
        delta = tf.stop_gradient(reward + self.gamma * continues * next_values - values)  # (N, T)
        # A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}: a discounted sum of deltas, time-major.
        adv = discounted_returns(tf.transpose(delta), tf.transpose(tf.cast(x["done"], tf.float32)),
                                 self.gamma * self.gae_lambda)
        adv = tf.transpose(adv)
        return adv, tf.stop_gradient(adv + values)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        advantage, target = self.advantages(x)
        flat = lambda t: tf.reshape(t, tf.concat([[-1], tf.shape(t)[2:]], 0))  # noqa: E731  (N, T, ...) -> (NT, ...)
        return self.policy_gradient_loss(flat(tf.cast(x["observation"], tf.float32)), flat(x["action"]),
                                         flat(advantage), flat(target))

    def get_config(self):
        return {**super().get_config(), "gae_lambda": self.gae_lambda}
