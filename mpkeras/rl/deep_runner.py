"""The recipes of the deep agents: ``python recipes/{dqn,reinforce,actor_critic}.py`` and ``mpkeras train NAME``.

    python recipes/dqn.py [--env CartPole-v1] [--steps N] [--learning-rate LR] [--hidden-units 256,256] [--seed S]
                          [--eval-episodes 10] [--eval-every N] [--out DIR] [--run-dir DIR] [--no-export] [--smoke]
                          [algorithm flags: see --help]

Trains the agent on its gymnasium environment, evaluating the deterministic policy every ``--eval-every`` steps
on 10 seeded episodes (seeds 10000+). ``--keep best`` (DQN's default: its greedy policy swings between solving
CartPole and failing it from one evaluation to the next) then restores the weights of the best of those
evaluations; ``--keep last`` (the policy-gradient agents' default) keeps the final weights. Then writes to
``DIR/runs/<name>/`` (or ``--run-dir``):

- ``metrics.json``: ``--eval-episodes`` fresh seeded episodes (seeds 0, 1, ...) of the kept policy, the same for
  the other choice (best or last weights), steps/s, the best evaluation's step and every setting;
- ``learning_curve.png`` (evaluation return over steps; training episode returns);
- ``model.keras``;

and exports the SavedModel (``act`` endpoint) to ``DIR/exported/<name>/<version>``. Every file is written to a
temporary name and renamed.
"""

import argparse
import os
import time

import numpy as np

from mpkeras import flags
from mpkeras.atomic import atomic_write
from mpkeras.train.errors import UnsupportedFlagError
from mpkeras.train.recipe import run_isolated

# Per algorithm and environment: (steps, agent kwargs, model kwargs). Flags override these.
DEFAULTS = {
    "dqn": {
        "CartPole-v1": (50_000, {}, {"hidden_units": (256, 256)}),
    },
    "reinforce": {
        "CartPole-v1": (300_000, {"learning_rate": 3e-3, "episodes_per_update": 8},
                        {"hidden_units": (64, 64), "normalize_advantages": True}),
        "Pendulum-v1": (3_000_000, {"learning_rate": 3e-3, "episodes_per_update": 16},
                        {"hidden_units": (64, 64), "normalize_advantages": True, "gamma": 0.9,
                         "stddev": "parameter", "reward_scale": 0.1}),
    },
    "actor_critic": {
        "Pendulum-v1": (3_000_000, {"learning_rate": 1e-3, "num_envs": 64, "n_steps": 16},
                        {"hidden_units": (64, 64), "normalize_advantages": True, "gamma": 0.9, "gae_lambda": 0.95,
                         "stddev": "parameter", "reward_scale": 0.1}),
        "CartPole-v1": (300_000, {"learning_rate": 1e-3, "num_envs": 8, "n_steps": 16},
                        {"hidden_units": (64, 64), "normalize_advantages": True, "gae_lambda": 0.95,
                         "reward_scale": 0.1}),
    },
}
DEFAULT_ENV = {"dqn": "CartPole-v1", "reinforce": "CartPole-v1", "actor_critic": "Pendulum-v1"}
# Generic settings for environments without tuned defaults.
GENERIC = {"dqn": (100_000, {}, {}), "reinforce": (500_000, {}, {"normalize_advantages": True}),
           "actor_critic": (500_000, {}, {"normalize_advantages": True})}


def parser(algorithm):
    from mpkeras.train.distribute import STRATEGIES

    p = flags.ArgumentParser(prog=f"mpkeras train {algorithm}", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default=DEFAULT_ENV[algorithm], help="gymnasium id (flat Box observations)")
    p.add_argument("--steps", type=flags.positive_int, default=None,
                   help="environment steps (default: per environment)")
    p.add_argument("--learning-rate", type=flags.positive_float, default=None)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=None, help="e.g. 64,64")
    p.add_argument("--gamma", type=flags.probability, default=None)
    p.add_argument("--seed", type=flags.seed, default=0)
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic TF ops (tf.config.experimental.enable_op_determinism); slower")
    # The flags every recipe advertises (DESIGN.md section 9).
    p.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="refused: the agents update from one process's rollouts and replay buffer")
    p.add_argument("--cpu-devices", type=flags.positive_int, default=None, help="split the CPU into N logical devices")
    p.add_argument("--jit", action=argparse.BooleanOptionalAction, default=False, help="XLA-compile the updates")
    p.add_argument("--mixed-precision", action="store_true", help="mixed_float16 compute (loss-scaled updates)")
    p.add_argument("--eval-episodes", type=flags.positive_int, default=10,
                   help="final evaluation episodes (seeds 0, 1, ...)")
    p.add_argument("--eval-every", type=flags.positive_int, default=None,
                   help="steps between evaluations during training")
    p.add_argument("--keep", choices=("best", "last"), default="best" if algorithm == "dqn" else "last",
                   help="weights to evaluate and export: the best evaluation during training, or the last")
    p.add_argument("--out", default=".", help="root for runs/ and exported/ (default: current directory)")
    p.add_argument("--run-dir", default=None, help="run directory (default: OUT/runs/NAME)")
    p.add_argument("--export", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--smoke", action="store_true", help="a few thousand steps end to end, for tests")
    flags.add_debug_argument(p)
    if algorithm == "dqn":
        p.add_argument("--td-loss", choices=("huber", "mse"), default="huber")
        p.add_argument("--double", action=argparse.BooleanOptionalAction, default=False, help="double-DQN target")
    else:
        p.add_argument("--entropy-coef", type=flags.nonnegative_float, default=None)
        p.add_argument("--stddev", choices=("state", "parameter"), default=None,
                       help="Gaussian sigma from the network or a learned vector (continuous actions)")
        p.add_argument("--normalize-advantages", action=argparse.BooleanOptionalAction, default=None,
                       help="standardise advantages per batch (subtracting their mean acts as a constant baseline)")
    if algorithm == "reinforce":
        p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                       help="learned value baseline (--no-baseline: plain REINFORCE)")
        p.add_argument("--episodes-per-update", type=flags.positive_int, default=None)
        p.add_argument("--variance-batches", type=flags.int_range(2), default=20,
                       help="batches for the gradient-variance comparison with and without the baseline")
    if algorithm == "actor_critic":
        p.add_argument("--num-envs", type=flags.positive_int, default=None)
        p.add_argument("--n-steps", type=flags.positive_int, default=None)
        p.add_argument("--gae-lambda", type=flags.probability, default=None,
                       help="0: the one-step TD-error advantage")
    return p


def settings(algorithm, args):
    """(steps, agent kwargs, model kwargs) from the defaults and the flags."""
    steps, agent_kw, model_kw = DEFAULTS[algorithm].get(args.env, GENERIC[algorithm])
    agent_kw, model_kw = dict(agent_kw), dict(model_kw)
    flags = {"learning_rate": args.learning_rate}
    model_flags = {"hidden_units": args.hidden_units, "gamma": args.gamma}
    if algorithm == "dqn":
        model_flags.update(td_loss=args.td_loss, double=args.double)
    else:
        model_flags.update(entropy_coef=args.entropy_coef, stddev=args.stddev,
                           normalize_advantages=args.normalize_advantages)
    if algorithm == "reinforce":
        model_flags["value_function"] = args.baseline
        flags["episodes_per_update"] = args.episodes_per_update
    if algorithm == "actor_critic":
        flags.update(num_envs=args.num_envs, n_steps=args.n_steps)
        model_flags["gae_lambda"] = args.gae_lambda
    agent_kw.update({k: v for k, v in flags.items() if v is not None})
    model_kw.update({k: v for k, v in model_flags.items() if v is not None})
    steps = args.steps if args.steps is not None else steps
    if args.smoke:
        steps = min(steps, 3000)
        model_kw["hidden_units"] = (16,)
        if algorithm == "dqn":
            agent_kw.update(learning_starts=200, train_frequency=64, gradient_steps=8, buffer_size=5000)
        if algorithm == "reinforce":
            agent_kw["episodes_per_update"] = 2
    return steps, agent_kw, model_kw


def make_agent(algorithm, env_id, seed, agent_kw, model_kw):
    if algorithm == "dqn":
        from mpkeras.rl.dqn import DQNAgent as Agent
    elif algorithm == "reinforce":
        from mpkeras.rl.policy_gradient import REINFORCEAgent as Agent
    elif algorithm == "actor_critic":
        from mpkeras.rl.policy_gradient import A2CAgent as Agent
    else:
        raise ValueError(f"Unknown deep RL algorithm {algorithm!r}; choose dqn, reinforce or actor_critic.")
    return Agent(env_id=env_id, seed=seed, model_kwargs=model_kw, **agent_kw)


def learning_curve(history, path, title, bar=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    steps, mean, std = (np.asarray(history[k], float) for k in ("step", "eval_mean_return", "eval_std_return"))
    left.plot(steps, mean, "o-", ms=3, label="deterministic policy, 10 seeded episodes")
    left.fill_between(steps, mean - std, mean + std, alpha=0.2)
    if bar is not None:
        left.axhline(bar, color="gray", ls="--", lw=1, label=f"bar {bar:g}")
    left.set(xlabel="environment steps", ylabel="evaluation return")
    left.legend(fontsize=8)
    returns = np.asarray(history.get("episode_returns", []), float)
    if len(returns):
        w = max(1, len(returns) // 50)
        right.plot(np.arange(w, len(returns) + 1), np.convolve(returns, np.ones(w) / w, mode="valid"))
    right.set(xlabel="training episode", ylabel=f"return ({max(1, len(returns) // 50)}-episode mean)",
              title="training episodes (exploring policy)")
    fig.suptitle(title, fontsize=10)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=80, bbox_inches="tight"))
    plt.close(fig)
    return path


BARS = {("dqn", "CartPole-v1"): 475, ("reinforce", "CartPole-v1"): 475, ("actor_critic", "CartPole-v1"): 475,
        ("actor_critic", "Pendulum-v1"): -250}


# Why the deep agents refuse several replicas (the conformance kit still checks their models' train_step under a
# MirroredStrategy: a user's own distributed loop gets correct gradients).
NO_REPLICAS = ("the agents update from one process's environments and replay buffer, between environment steps; "
               "several replicas would need a distributed data collection the agents do not have. Run several "
               "seeds as separate processes instead")


def run(algorithm, args):
    return run_isolated(args, lambda: _run(algorithm, args))


def _run(algorithm, args):
    import keras
    import tensorflow as tf

    from mpkeras.rl.deep import save_json

    # Small networks: one thread each is as fast, and two runs can share the two cores.
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started in this process (a test, a notebook): keep its threads
        pass
    if args.strategy != "default":
        raise UnsupportedFlagError(f"--strategy {args.strategy}", algorithm, NO_REPLICAS)
    keras.utils.set_random_seed(args.seed)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    if args.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    steps, agent_kw, model_kw = settings(algorithm, args)
    agent_kw["jit_compile"] = args.jit
    run_dir = args.run_dir or os.path.join(args.out, "runs", algorithm)
    os.makedirs(run_dir, exist_ok=True)
    agent = make_agent(algorithm, args.env, args.seed, agent_kw, model_kw)
    eval_every = args.eval_every or (1000 if args.smoke else max(steps // 20, 1000))
    selection_episodes = 2 if args.smoke else 10
    start = time.time()
    history = agent.learn(steps, eval_every=eval_every, eval_episodes=selection_episodes)
    train_seconds, trained_steps = time.time() - start, agent.env_steps
    last_weights = agent.model.get_weights()
    eval_episodes = 2 if args.smoke else args.eval_episodes
    last = agent.evaluate(eval_episodes, seed=0)
    best_return, best_step = agent.restore_best()
    best = agent.evaluate(eval_episodes, seed=0)
    if args.keep == "last":
        agent.model.set_weights(last_weights)
    evaluation, other = (best, last) if args.keep == "best" else (last, best)
    extra = {}
    if algorithm == "reinforce" and agent.model.value_function:
        from mpkeras.rl.policy_gradient import gradient_variance

        extra["gradient_variance"] = gradient_variance(agent, 2 if args.smoke else args.variance_batches)
    model_path = agent.save(os.path.join(run_dir, "model.keras"))
    bar = BARS.get((algorithm, args.env))
    figure = learning_curve(history, os.path.join(run_dir, "learning_curve.png"), f"{algorithm} on {args.env}", bar)
    metrics = {"eval_mean_return": evaluation["mean_return"], "eval_std_return": evaluation["std_return"],
               "eval_min_return": float(np.min(evaluation["returns"])), "eval_episodes": eval_episodes}
    report = {
        "algorithm": algorithm, "env_id": args.env, "seed": args.seed, "deterministic": args.deterministic,
        "steps": trained_steps, "smoke": args.smoke,
        "metrics": metrics, "bar": bar, "meets_bar": None if bar is None else evaluation["mean_return"] >= bar,
        "kept": args.keep, "eval": evaluation, f"eval_{'last' if args.keep == 'best' else 'best'}_weights": other,
        "best_during_training": {"step": best_step, "mean_return": best_return, "episodes": selection_episodes,
                                 "seeds": "10000 + i", "every_steps": eval_every},
        "train_seconds": round(train_seconds, 1), "env_steps_per_second": round(trained_steps / train_seconds, 1),
        "traces": agent.trace_count, "agent": {k: v for k, v in agent_kw.items()},
        "model_config": {k: v for k, v in agent.model.get_config().items() if k not in ("name", "trainable", "dtype")},
        **extra, "model": model_path, "figure": figure,
    }
    if args.export:
        card = {"metrics": metrics, "env_id": args.env, "recipe": f"recipes/{algorithm}.py", "smoke": args.smoke}
        report["export"] = agent.export(os.path.join(args.out, "exported"), model_card=card)
    save_json(os.path.join(run_dir, "metrics.json"), report)
    kept = f"best weights, of step {best_step}" if args.keep == "best" else "last weights"
    print(f"{algorithm} on {args.env}: mean return {evaluation['mean_return']:.1f} +- {evaluation['std_return']:.1f} "
          f"over {eval_episodes} seeded episodes ({kept}; best {best['mean_return']:.1f}, "
          f"last {last['mean_return']:.1f}); {trained_steps} steps in {train_seconds:.0f} s; wrote {run_dir}")
    return report


class DeepRecipe:
    """What ``mpkeras train NAME`` runs for a deep agent (``RECIPE.main(argv)``)."""

    def __init__(self, algorithm):
        self.algorithm = algorithm
        self.model = algorithm

    def parser(self):
        return parser(self.algorithm)

    def main(self, argv=None):
        """Parses ``argv`` and runs; errors the user can fix end in one line and exit status 2 (see mpkeras.flags)."""
        return flags.entry_point(f"mpkeras train {self.algorithm}", self.parser().parse_args,
                                 lambda args: run(self.algorithm, args), argv)
