"""Environment steps per second of the deep RL agents while they train, against stepping the environment alone.

    python benchmarks/rl_throughput.py [--steps 20000] [--out benchmarks/results/rl_throughput.json]

For each setting it times, after a warm-up ``learn`` call that traces the update:

* ``train``: ``agent.learn(steps)``: acting through the traced ``act`` endpoint, stepping gymnasium, and the
  updates (DQN: bursts of 128 minibatch steps every 256 env steps, as in the recipe; A2C: one update per
  num_envs x 8 rollout; REINFORCE: one update per 8 episodes);
* ``env_only``: the same vector environment stepped with random actions (the ceiling for that many copies).

The ratio ``train / env_only`` is what the agent costs on top of the simulator. ``traces`` is the number of
times the training loop's functions were traced over warm-up and timed run together (1: nothing retraced).
"""

import argparse
import time

import gymnasium
import keras
import numpy as np
import tensorflow as tf

from timing import machine, write_report  # benchmarks/timing.py (the script's own folder)


def env_only(env_id, num_envs, steps):
    env = gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps // num_envs):
        env.step(env.action_space.sample())
    return (steps // num_envs) * num_envs / (time.perf_counter() - start)


def timed_learn(agent, steps):
    agent.learn(min(steps // 4, 2000), eval_every=0, log=lambda *_: None)  # traces the update
    before = agent.env_steps
    start = time.perf_counter()
    agent.learn(steps, eval_every=0, log=lambda *_: None)
    return (agent.env_steps - before) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--out", default="benchmarks/results/rl_throughput.json")
    args = p.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)  # as the recipes run
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from mpkeras.rl.dqn import DQNAgent
    from mpkeras.rl.policy_gradient import A2CAgent, REINFORCEAgent

    settings = [
        ("dqn", "CartPole-v1", 1, lambda: DQNAgent(env_id="CartPole-v1", learning_starts=500,
                                                   model_kwargs={"hidden_units": (256, 256)})),
        ("reinforce", "CartPole-v1", 8, lambda: REINFORCEAgent(env_id="CartPole-v1", episodes_per_update=8)),
    ]
    for n in (1, 4, 16, 64):
        settings.append(("actor_critic", "Pendulum-v1", n, lambda n=n: A2CAgent(
            env_id="Pendulum-v1", num_envs=n, n_steps=8, model_kwargs={"stddev": "parameter"})))
    rows = []
    for algorithm, env_id, num_envs, make in settings:
        keras.utils.set_random_seed(0)
        agent = make()
        train = timed_learn(agent, args.steps)
        ceiling = env_only(env_id, num_envs, args.steps)
        rows.append({"algorithm": algorithm, "env_id": env_id, "num_envs": num_envs,
                     "train_steps_per_s": round(train, 1), "env_only_steps_per_s": round(ceiling, 1),
                     "train_over_env_only": round(train / ceiling, 4), "traces": agent.trace_count})
        print(rows[-1])
    table = ["| agent | env | copies | training steps/s | env alone steps/s | ratio | traces |",
             "|---|---|---|---|---|---|---|"]
    table += [f"| {r['algorithm']} | {r['env_id']} | {r['num_envs']} | {r['train_steps_per_s']:.0f} | "
              f"{r['env_only_steps_per_s']:.0f} | {r['train_over_env_only']:.3f} | {r['traces']} |" for r in rows]
    print("\n".join(table))
    write_report({"machine": machine(), "steps": args.steps, "rows": rows, "markdown": "\n".join(table)}, args.out)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
