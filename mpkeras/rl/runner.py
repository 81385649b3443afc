"""The shared recipe runner of the tabular agents, and the ``mpkeras tabular TABLE`` command.

    python recipes/q_learning.py [--env FrozenLake-v1] [--slippery] [--episodes N] [--gamma G] [--alpha A]
                                 [--seed S] [--eval-episodes 100] [--out DIR] [--run-dir DIR] [--smoke]

writes ``DIR/runs/<algorithm>/`` (or ``--run-dir``): ``learning_curve.png``, ``metrics.json`` (greedy evaluation over
``--eval-episodes`` seeded episodes, next to value iteration's optimal policy on the same seeds, and the table's
error against value iteration's Q* or the exact V^pi), and the table as ``table.npz`` + ``table.json``. Every file is
written to a temporary name and renamed. Runs in seconds; no TensorFlow is imported.
"""

import argparse
import json
import os
import time

import numpy as np

from mpkeras import flags
from mpkeras.atomic import atomic_write
from mpkeras.rl import tabular as T

DEFAULTS = {  # algorithm: (episodes, alpha) for deterministic / slippery environments
    "value_iteration": ((0, 0.0), (0, 0.0)),
    "policy_iteration": ((0, 0.0), (0, 0.0)),
    "td0": ((3000, 1.0), (3000, 1.0)),
    "sarsa": ((2000, 0.5), (20000, 0.1)),
    "q_learning": ((2000, 0.5), (20000, 0.1)),
}


def parser(algorithm):
    p = flags.ArgumentParser(prog=f"recipes/{algorithm}.py", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="FrozenLake-v1", help=f"tabular gymnasium id, e.g. {', '.join(T.TABULAR_ENVS[:2])}")
    p.add_argument("--slippery", action=argparse.BooleanOptionalAction, default=False,
                   help="is_slippery for FrozenLake-v1 and mpkeras/GridWorld-v0 (default: deterministic)")
    p.add_argument("--gamma", type=flags.probability, default=0.99)
    p.add_argument("--episodes", type=flags.positive_int, default=None,
                   help="training episodes (default depends on --slippery)")
    p.add_argument("--alpha", type=flags.float_range(0, 1, low_open=True), default=None,
                   help="step size (td0: alpha / n(s)^0.75)")
    p.add_argument("--epsilon-end", type=flags.probability, default=None,
                   help="final epsilon (default 0 deterministic, 0.05 slippery)")
    p.add_argument("--seed", type=flags.seed, default=0)
    p.add_argument("--eval-episodes", type=flags.positive_int, default=100)
    p.add_argument("--out", default=".", help="root for runs/ (default: current directory)")
    p.add_argument("--run-dir", default=None, help="run directory (default: OUT/runs/ALGORITHM)")
    p.add_argument("--smoke", action="store_true", help="a few episodes end to end, for tests")
    flags.add_debug_argument(p)
    return p


def _write_json(path, obj):
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2).encode()))


def table_errors(table_v, reference_v, mask):
    """Max and mean |table_v - reference_v| over ``mask`` states."""
    diff = np.abs(np.asarray(table_v) - reference_v)[mask]
    return {"max_abs_error": float(diff.max()) if diff.size else 0.0,
            "mean_abs_error": float(diff.mean()) if diff.size else 0.0, "states": int(mask.sum())}


def greedy_path_states(env, agent, episodes, seed):
    """States the agent's greedy policy visits in seeded episodes (boolean mask)."""
    mask = np.zeros(env.observation_space.n, bool)
    for i in range(episodes):
        s, _ = env.reset(seed=seed + i)
        done = False
        while not done:
            mask[s] = True
            s, _, terminated, truncated, _ = env.step(agent.act(s))
            done = terminated or truncated
    return mask


def learning_curve(algorithm, history, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if algorithm == "value_iteration":
        ax.semilogy(np.maximum(history["bellman_residual"], 1e-16))
        ax.set(xlabel="iteration", ylabel="||V_k+1 - V_k||_inf")
    elif algorithm == "policy_iteration":
        ax.plot(np.arange(1, len(history["policy_changes"]) + 1), history["policy_changes"], "o-")
        ax.set(xlabel="improvement step", ylabel="states whose action changed")
    elif algorithm == "td0":
        ax.semilogy(history["episode"], history["max_abs_error"])
        ax.set(xlabel="episode", ylabel="max_s |V(s) - V^pi(s)|")
    else:
        returns = np.asarray(history["return"])
        w = max(1, len(returns) // 50)
        smooth = np.convolve(returns, np.ones(w) / w, mode="valid")
        ax.plot(np.arange(w, len(returns) + 1), smooth, label=f"training return ({w}-episode mean, eps-greedy)")
        ax.plot(history["eval_episode"], history["eval_success_rate"], label="greedy success rate (20 episodes)")
        ax.set(xlabel="episode", ylabel="return / success rate")
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=80, bbox_inches="tight"))
    plt.close(fig)
    return path


def run(algorithm, args):
    if algorithm not in T.AGENTS:
        raise ValueError(f"Unknown tabular algorithm {algorithm!r}; choose one of {sorted(T.AGENTS)}.")
    kwargs = {"is_slippery": args.slippery} if args.env in ("FrozenLake-v1", "mpkeras/GridWorld-v0") else {}
    env = T.make_env(args.env, **kwargs)
    episodes, alpha = DEFAULTS[algorithm][int(args.slippery)]
    episodes = args.episodes if args.episodes is not None else (min(episodes, 50) if args.smoke else episodes)
    alpha = args.alpha if args.alpha is not None else alpha
    eval_episodes = 10 if args.smoke else args.eval_episodes
    run_dir = args.run_dir or os.path.join(args.out, "runs", algorithm)
    os.makedirs(run_dir, exist_ok=True)

    start = time.time()
    optimal = T.ValueIteration(args.gamma)
    optimal.learn(env)
    P, R = T.transition_arrays(env)
    extra = {}
    if algorithm in ("value_iteration", "policy_iteration"):
        agent = T.AGENTS[algorithm](gamma=args.gamma, seed=args.seed)
        history = agent.learn(env)
        extra["bellman_residual"] = T.bellman_residual(P, R, agent.v, args.gamma)
        extra["iterations"] = len(next(iter(history.values())))
    elif algorithm == "td0":
        policy = np.full((env.observation_space.n, env.action_space.n), 1.0 / env.action_space.n)
        v_pi = T.policy_evaluation_exact(P, R, policy, args.gamma)
        agent = T.TD0(policy, gamma=args.gamma, alpha=alpha, alpha_power=0.75, seed=args.seed)
        history = agent.learn(env, episodes, reference=v_pi)
        extra["evaluated_policy"] = "uniform random"
        extra["v_error_vs_exact_v_pi"] = table_errors(agent.v, v_pi, agent.visits > 0)
    else:
        eps_end = args.epsilon_end if args.epsilon_end is not None else (0.05 if args.slippery else 0.0)
        agent = T.AGENTS[algorithm](gamma=args.gamma, alpha=alpha, epsilon_end=eps_end, seed=args.seed)
        history = agent.learn(env, episodes, eval_env=env)
        extra["epsilon_end"] = eps_end
        visited = agent.visits.sum(axis=1) > 0
        greedy = greedy_path_states(env, agent, eval_episodes, seed=0)
        extra["greedy_value_error_vs_value_iteration"] = {
            "visited_states": table_errors(agent.q.max(axis=1), optimal.v, visited),
            "greedy_policy_states": table_errors(agent.q.max(axis=1), optimal.v, greedy)}
    train_seconds = time.time() - start

    evaluation = agent.evaluate(env, eval_episodes, seed=0)
    reference = optimal.evaluate(env, eval_episodes, seed=0)
    npz, js = agent.save(os.path.join(run_dir, "table"))
    label = f"{args.env}{' slippery' if args.slippery else ''}"
    figure = learning_curve(algorithm, history, os.path.join(run_dir, "learning_curve.png"), f"{algorithm} on {label}")
    report = {"algorithm": algorithm, "env_id": args.env, "env_kwargs": kwargs, "gamma": args.gamma,
              "episodes": episodes, "alpha": alpha, "seed": args.seed, "smoke": bool(args.smoke),
              "train_seconds": round(train_seconds, 3),
              "eval": {k: v for k, v in evaluation.items()},
              "optimal_policy_eval": {k: v for k, v in reference.items() if k != "returns"},
              **extra, "table": [npz, js], "figure": figure}
    _write_json(os.path.join(run_dir, "metrics.json"), report)
    print(f"{algorithm} on {label}: success rate {evaluation['success_rate']:.2f} (optimal policy "
          f"{reference['success_rate']:.2f}), mean return {evaluation['mean_return']:.3f} over {eval_episodes} "
          f"seeded episodes; {train_seconds:.1f} s; wrote {run_dir}")
    return report


def main(algorithm, argv=None):
    """Parses ``argv`` and runs; errors the user can fix end in one line and exit status 2 (see mpkeras.flags)."""
    return flags.entry_point(f"recipes/{algorithm}.py", parser(algorithm).parse_args, lambda args: run(algorithm, args),
                             argv)

