"""Advantage actor-critic (A2C) on Pendulum-v1 (TFP Gaussian policy) or CartPole-v1, with vectorised envs and GAE.

    python recipes/actor_critic.py [--env ID] [--steps N] [--seed S] [--out DIR] [--smoke]   (all flags: --help)

See mpkeras/rl/deep_runner.py for what a run writes and how the evaluated policy is selected.
"""

from mpkeras.rl.deep_runner import DeepRecipe

RECIPE = DeepRecipe("actor_critic")

if __name__ == "__main__":
    RECIPE.main()
