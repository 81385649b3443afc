"""Deep Q-network on CartPole-v1 (replay, target network, epsilon-greedy; Huber or squared TD loss).

    python recipes/dqn.py [--env ID] [--steps N] [--seed S] [--out DIR] [--smoke]   (all flags: --help)

See mpkeras/rl/deep_runner.py for what a run writes and how the evaluated policy is selected.
"""

from mpkeras.rl.deep_runner import DeepRecipe

RECIPE = DeepRecipe("dqn")

if __name__ == "__main__":
    RECIPE.main()
