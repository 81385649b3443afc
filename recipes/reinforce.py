"""REINFORCE on CartPole-v1 (categorical policy) or a Box env such as Pendulum-v1 (TFP Gaussian policy), with a learned baseline or --no-baseline.

    python recipes/reinforce.py [--env ID] [--steps N] [--seed S] [--out DIR] [--smoke]   (all flags: --help)

See mpkeras/rl/deep_runner.py for what a run writes and how the evaluated policy is selected.
"""

from mpkeras.rl.deep_runner import DeepRecipe

RECIPE = DeepRecipe("reinforce")

if __name__ == "__main__":
    RECIPE.main()
