"""Deep RL: the policies' log-probabilities, REINFORCE's gradient, A2C's advantages, DQN's target, the served
``act`` endpoint after a reload, the agents' traced updates, the recipes and bad input."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from mpkeras.models.rl import DQN, REINFORCE, ActorCritic, StochasticPolicy

tfd = tfp.distributions


def _observations(n=64, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


# ----------------------------------------------------------------------------------------------- policies
@pytest.mark.parametrize("stddev", ["state", "parameter"])
def test_gaussian_log_prob_matches_tfp_and_the_formula(stddev):
    keras.utils.set_random_seed(0)
    model = REINFORCE(observation_dim=3, action_dim=2, hidden_units=(8,), stddev=stddev, initial_stddev=0.7)
    model.build()
    if stddev == "parameter":
        model.log_stddev.assign([0.3, -0.4])  # distinct sigmas per dimension
    obs = _observations()
    out = {k: v.numpy() for k, v in model.act(obs, False, [3, 4]).items()}
    mu, sigma, a = out["mean"], out["stddev"], out["action"]
    assert np.all(sigma > 0) and not np.allclose(a, mu)
    formula = np.sum(-0.5 * ((a - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi), axis=-1)
    independent = tf.reduce_sum(tfd.Normal(mu, sigma).log_prob(a), axis=-1).numpy()
    np.testing.assert_allclose(out["log_prob"], formula, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["log_prob"], independent, rtol=1e-5, atol=1e-5)
    det = model.act(obs, True, [3, 4])
    np.testing.assert_array_equal(det["action"].numpy(), mu)
    if stddev == "parameter":  # sigma does not depend on the state
        np.testing.assert_allclose(sigma, np.broadcast_to(sigma[0], sigma.shape))
        np.testing.assert_allclose(sigma[0], (0.7 - 1e-3) * np.exp([0.3, -0.4]) + 1e-3, rtol=1e-5)


def test_categorical_and_epsilon_greedy_log_probs():
    keras.utils.set_random_seed(1)
    policy = ActorCritic(observation_dim=3, num_actions=4, hidden_units=(8,))
    policy.build()
    obs = _observations(2000)
    out = policy.act(obs, False, [5, 6])
    logits = policy.policy_parameters(obs)["logits"].numpy()
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(out["log_prob"].numpy(), log_softmax[np.arange(2000), out["action"].numpy()], atol=1e-5)

    dqn = DQN(observation_dim=3, num_actions=4, hidden_units=(8,), epsilon=0.2)
    dqn.build()
    out = dqn.act(obs, False, [7, 8])
    greedy = out["mean"].numpy()
    took_greedy = out["action"].numpy() == greedy
    # Greedy with probability 1 - eps + eps / A = 0.85; 2000 draws give a standard error of 0.008.
    assert abs(took_greedy.mean() - 0.85) < 0.04
    expected = np.where(took_greedy, np.log(0.85), np.log(0.05))
    np.testing.assert_allclose(out["log_prob"].numpy(), expected, rtol=1e-6)
    det = dqn.act(obs, True, [7, 8])
    np.testing.assert_array_equal(det["action"].numpy(), greedy)
    np.testing.assert_array_equal(det["log_prob"].numpy(), 0.0)


def test_policy_arguments_are_checked():
    with pytest.raises(ValueError, match="exactly one of num_actions"):
        StochasticPolicy(observation_dim=3, num_actions=2, action_dim=1)
    with pytest.raises(ValueError, match="exactly one of num_actions"):
        StochasticPolicy(observation_dim=3)
    with pytest.raises(ValueError, match="needs its critic"):
        ActorCritic(observation_dim=3, num_actions=2, value_function=False)
    with pytest.raises(ValueError, match="td_loss"):
        DQN(td_loss="l1")
    model = REINFORCE(observation_dim=3, num_actions=2, hidden_units=(4,))
    with pytest.raises(ValueError, match=r"observation has shape \(5, 4\), expected \(batch, 3\)"):
        model.act(np.zeros((5, 4), np.float32), True, [0, 0])


# ----------------------------------------------------------------------------------------------- REINFORCE
def _bandit_objective(model, kind, obs):
    """Exact J = E_pi[r(a)] of a one-step bandit at the model's current weights."""
    params = model.policy_parameters(obs[:1])
    if kind == "categorical":
        return float(tf.reduce_sum(tf.nn.softmax(params["logits"]) * tf.constant([1.0, 0.0, 2.0])))
    mu, sigma = params["mean"], params["stddev"]  # r(a) = -|a - 1|^2: E = -(|mu - 1|^2 + sum sigma^2)
    return float(-tf.reduce_sum(tf.square(mu - 1.0) + tf.square(sigma)))


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_reinforce_gradient_matches_finite_differences_on_a_bandit(kind):
    """The REINFORCE estimate of grad J (the loss gradient, negated) against central differences of the exact J."""
    keras.utils.set_random_seed(2)
    actions = {"num_actions": 3} if kind == "categorical" else {"action_dim": 2, "stddev": "state"}
    model = REINFORCE(observation_dim=2, hidden_units=(4,), value_function=False, **actions)
    model.build()
    for v in model.trainable_variables:  # larger output weights than the near-uniform start
        v.assign(tf.random.stateless_normal(v.shape, seed=[v.shape.num_elements(), 1]) * 0.5)
    n = 400_000
    obs = np.tile(np.array([[0.5, -1.0]], np.float32), (n, 1))
    action = model.act(obs, False, [11, 12])["action"]
    if kind == "categorical":
        reward = tf.gather(tf.constant([1.0, 0.0, 2.0]), action)
    else:
        reward = -tf.reduce_sum(tf.square(action - 1.0), axis=-1)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x={"observation": obs, "action": action, "return": reward})
    estimate = np.concatenate([-g.numpy().ravel() for g in tape.gradient(loss, model.trainable_variables)])

    eps, numeric = 1e-2, []
    for v in model.trainable_variables:
        base = v.numpy()
        for i in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                shifted = base.copy()
                shifted[i] += sign * eps
                v.assign(shifted)
                values.append(_bandit_objective(model, kind, obs))
            v.assign(base)
            numeric.append((values[0] - values[1]) / (2 * eps))
    numeric = np.array(numeric)
    cosine = estimate @ numeric / (np.linalg.norm(estimate) * np.linalg.norm(numeric))
    assert cosine > 0.995, cosine
    assert np.linalg.norm(estimate - numeric) < 0.06 * np.linalg.norm(numeric), (estimate, numeric)


# ----------------------------------------------------------------------------------------------- A2C and DQN targets
def test_actor_critic_advantage_is_the_td_error_and_gae_by_hand():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    n, t, d = 2, 6, 3
    terminated = np.zeros((n, t), np.float32)
    done = np.zeros((n, t), np.float32)
    terminated[0, 2] = done[0, 2] = 1.0  # a terminal state: no bootstrap, nothing carried back
    done[1, 3] = 1.0  # a time limit: bootstrap from V(s'), but nothing carried back
    rollout = {"observation": rng.normal(size=(n, t, d)).astype(np.float32),
               "action": rng.integers(0, 2, (n, t)).astype(np.int32),
               "reward": rng.normal(size=(n, t)).astype(np.float32),
               "next_observation": rng.normal(size=(n, t, d)).astype(np.float32),
               "terminated": terminated, "done": done}
    for lam in (0.0, 0.8):
        model = ActorCritic(observation_dim=d, num_actions=2, hidden_units=(8,), gamma=0.9, gae_lambda=lam,
                            reward_scale=0.5)
        model.build()
        v = model.value(rollout["observation"]).numpy()
        v_next = model.value(rollout["next_observation"]).numpy()
        delta = 0.5 * rollout["reward"] + 0.9 * (1 - terminated) * v_next - v
        expected = np.zeros_like(delta)
        for i in range(n):
            carry = 0.0
            for k in reversed(range(t)):
                carry = delta[i, k] + 0.9 * lam * (1 - done[i, k]) * carry
                expected[i, k] = carry
        advantage, target = (a.numpy() for a in model.advantages(rollout))
        np.testing.assert_allclose(advantage, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(target, expected + v, rtol=1e-5, atol=1e-5)
        if lam == 0.0:
            np.testing.assert_allclose(advantage, delta, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("double", [False, True])
def test_dqn_td_target_by_hand(double):
    keras.utils.set_random_seed(4)
    model = DQN(observation_dim=3, num_actions=3, hidden_units=(8,), gamma=0.9, double=double)
    model.build()
    for v in model.target_layers[-1].weights:  # a target net that differs from the online net
        v.assign(v + 0.3)
    nxt, reward = _observations(8), np.arange(8, dtype=np.float32)
    terminated = np.array([0, 1] * 4, np.float32)
    q_target = model.target_q_values(nxt).numpy()
    choice = model.q_values(nxt).numpy().argmax(-1) if double else q_target.argmax(-1)
    expected = reward + 0.9 * (1 - terminated) * q_target[np.arange(8), choice]
    np.testing.assert_allclose(model.td_target(reward, nxt, terminated).numpy(), expected, rtol=1e-6)


def test_dqn_target_update_copies_or_averages():
    model = DQN(observation_dim=3, num_actions=2, hidden_units=(4,))
    model.build()
    online = [w.numpy() for layer in model.q_layers for w in layer.weights]
    before = [w.numpy() for layer in model.target_layers for w in layer.weights]
    model.update_target(tau=0.25)
    after = [w.numpy() for layer in model.target_layers for w in layer.weights]
    for o, b, a in zip(online, before, after):
        np.testing.assert_allclose(a, 0.25 * o + 0.75 * b, rtol=1e-6)
    model.update_target()
    for o, layer_w in zip(online, [w.numpy() for layer in model.target_layers for w in layer.weights]):
        np.testing.assert_array_equal(layer_w, o)
    trainable = {id(w) for w in model.trainable_weights}
    assert not any(id(w) in trainable for layer in model.target_layers for w in layer.weights)


# ----------------------------------------------------------------------------------------------- export
POLICIES = {
    "dqn": lambda: DQN(observation_dim=3, num_actions=2, hidden_units=(8,)),
    "categorical": lambda: REINFORCE(observation_dim=3, num_actions=3, hidden_units=(8,)),
    "gaussian_state": lambda: REINFORCE(observation_dim=3, action_dim=2, hidden_units=(8,)),
    "gaussian_parameter": lambda: ActorCritic(observation_dim=3, action_dim=1, hidden_units=(8,), stddev="parameter"),
}


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_a_reloaded_policy_acts_identically(kind, tmp_path):
    from mpkeras.export import export_model

    keras.utils.set_random_seed(5)
    model = POLICIES[kind]()
    model.build()
    path = export_model(model, kind, base_dir=str(tmp_path))
    act = tf.saved_model.load(path).signatures["act"]
    obs = _observations(256, seed=6)
    for deterministic in (True, False):
        served = act(observation=tf.constant(obs), deterministic=tf.constant(deterministic),
                     seed=tf.constant([9, 10], tf.int32))
        local = model.act(obs, deterministic, [9, 10])
        assert set(served) == set(local) and {"action", "mean", "log_prob"} <= set(served)
        for key in local:
            np.testing.assert_allclose(served[key].numpy(), local[key].numpy(), rtol=1e-6, atol=1e-6, err_msg=key)
    again = act(observation=tf.constant(obs), deterministic=tf.constant(False), seed=tf.constant([9, 10], tf.int32))
    np.testing.assert_array_equal(again["action"].numpy(), served["action"].numpy())  # same seed, same actions


# ----------------------------------------------------------------------------------------------- agents
def test_agents_update_without_retracing_and_save(tmp_path):
    from mpkeras.rl.dqn import DQNAgent
    from mpkeras.rl.policy_gradient import A2CAgent, REINFORCEAgent

    keras.utils.set_random_seed(7)
    dqn = DQNAgent(env_id="CartPole-v1", learning_starts=100, train_frequency=50, gradient_steps=4,
                   target_update_interval=8, model_kwargs={"hidden_units": (16,)})
    dqn.learn(600, eval_every=300, eval_episodes=2, log=lambda *_: None)
    assert dqn.gradient_steps_done.numpy() == 4 * 10 and dqn.trace_count == 1
    assert dqn.history["step"] == [300, 600] and len(dqn.history["episode_returns"]) > 5

    reinforce = REINFORCEAgent(env_id="CartPole-v1", episodes_per_update=2, model_kwargs={"hidden_units": (16,)})
    reinforce.learn(400, eval_every=0, log=lambda *_: None)  # several updates of different batch sizes
    assert reinforce.trace_count == 1 and len(reinforce.history["episode_returns"]) >= 4

    a2c = A2CAgent(env_id="Pendulum-v1", num_envs=3, n_steps=4, model_kwargs={"hidden_units": (16,)})
    a2c.learn(240, eval_every=0, log=lambda *_: None)
    assert a2c.env_steps == 240 and a2c.trace_count == 1

    path = a2c.save(str(tmp_path / "a2c.keras"))
    loaded = keras.saving.load_model(path)
    obs = _observations(16)
    np.testing.assert_allclose(loaded.act(obs, False, [1, 2])["action"], a2c.model.act(obs, False, [1, 2])["action"])
    assert os.listdir(tmp_path) == ["a2c.keras"]
    with pytest.raises(ValueError, match="ending in .keras"):
        a2c.save(str(tmp_path / "a2c.h5"))


def test_seeded_evaluation_is_reproducible():
    from mpkeras.rl.deep import evaluate_policy

    act = lambda o: (o[:, 2] + 0.5 * o[:, 3] > 0).astype(np.int64)  # noqa: E731  a simple pole-balancing rule
    first = evaluate_policy(act, "CartPole-v1", episodes=4, seed=3)
    assert first == evaluate_policy(act, "CartPole-v1", episodes=4, seed=3)
    assert first["episodes"] == 4 and len(first["returns"]) == 4 and first["mean_return"] > 50
    assert first != evaluate_policy(act, "CartPole-v1", episodes=4, seed=4)


def test_agents_reject_bad_environments():
    from mpkeras.rl.dqn import DQNAgent
    from mpkeras.rl.policy_gradient import REINFORCEAgent

    with pytest.raises(ValueError, match="Unknown or unusable gymnasium environment 'NoSuchEnv-v0'"):
        DQNAgent(env_id="NoSuchEnv-v0")
    with pytest.raises(ValueError, match="DQN needs discrete actions"):
        DQNAgent(env_id="Pendulum-v1")
    with pytest.raises(ValueError, match="flat Box observation"):
        REINFORCEAgent(env_id="FrozenLake-v1")
    with pytest.raises(ValueError, match="The model takes observation_dim=3"):
        REINFORCEAgent(model=REINFORCE(observation_dim=3, num_actions=2), env_id="CartPole-v1")


@pytest.mark.parametrize("algorithm", ["dqn", "reinforce", "actor_critic"])
def test_recipe_smoke_writes_metrics_figure_model_and_export(algorithm, tmp_path):
    from mpkeras.cli import main

    assert main(["train", algorithm, "--smoke", "--out", str(tmp_path)]) == 0
    run_dir = tmp_path / "runs" / algorithm
    report = json.loads((run_dir / "metrics.json").read_text())
    assert report["algorithm"] == algorithm and report["smoke"] and report["traces"] == 1
    assert report["deterministic"] is False  # enable_op_determinism is process-wide: not switched on inside pytest
    from mpkeras.rl.deep_runner import parser

    assert parser(algorithm).parse_args(["--deterministic"]).deterministic
    assert report["eval"]["episodes"] == 2 and np.isfinite(report["metrics"]["eval_mean_return"])
    assert (run_dir / "learning_curve.png").stat().st_size > 1000 and (run_dir / "model.keras").exists()
    assert os.path.exists(os.path.join(report["export"], "saved_model.pb"))
    if algorithm == "reinforce":
        assert report["gradient_variance"]["total_variance_baseline"] > 0


@keras.saving.register_keras_serializable(package="mpkeras_tests")
class ScaledObservationPolicy(REINFORCE):
    """A user subclass: the policy and the baseline see observations divided by a fixed scale."""

    def __init__(self, scale=(1.0, 1.0, 8.0), **kwargs):
        super().__init__(**kwargs)
        self.scale = tuple(scale)

    def policy_parameters(self, observation):
        return super().policy_parameters(observation / tf.constant(self.scale))

    def value(self, observation):
        return super().value(observation / tf.constant(self.scale))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def test_a_user_subclass_trains_with_an_agent_and_exports(tmp_path):
    from mpkeras.rl.policy_gradient import A2CAgent, REINFORCEAgent

    keras.utils.set_random_seed(8)
    model = ScaledObservationPolicy(observation_dim=3, action_dim=1, hidden_units=(8,), mean_bound=2.0)
    agent = REINFORCEAgent(model=model, env_id="Pendulum-v1", episodes_per_update=2)
    before = [w.numpy().copy() for w in model.trainable_weights]
    agent.learn(400, eval_every=0, log=lambda *_: None)
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    obs = _observations(32) * np.float32([1, 1, 100])
    mean = model.act(obs, True, [0, 0])["mean"].numpy()
    assert np.all(np.abs(mean) <= 2.0)  # mean_bound holds even far outside the observations seen
    path = agent.export(str(tmp_path))
    served = tf.saved_model.load(path).signatures["act"](
        observation=tf.constant(obs), deterministic=tf.constant(True), seed=tf.constant([0, 0]))
    np.testing.assert_allclose(served["mean"].numpy(), mean, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="The model takes"):
        A2CAgent(model=ActorCritic(observation_dim=3, num_actions=2), env_id="Pendulum-v1")
