"""Train the rnn classifier on sequential MNIST (mnist5k read row by row: 28 steps of 28 pixels).

    python recipes/rnn_classifier.py [--units 128] [--num-layers 1] [--dropout 0.1] [--epochs 30] [--smoke]

Figures: predictions, and the BPTT study (figures/bptt.png): ||d h_T / d h_k|| for Elman and LSTM
cells as sigma_max(W_h) varies, and in the trained model.
"""

from mpkeras.models import RNNClassifier
from mpkeras.train.classification import recurrent_classifier_recipe

RECIPE = recurrent_classifier_recipe("rnn_classifier", RNNClassifier)

if __name__ == "__main__":
    RECIPE.main()
