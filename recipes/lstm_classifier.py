"""Train the lstm classifier on sequential MNIST (mnist5k read row by row: 28 steps of 28 pixels).

Figures: predictions, and the BPTT study (figures/bptt.png): ||d h_T / d h_k|| for Elman and LSTM
cells as sigma_max(W_h) varies, and in the trained model.

    python recipes/lstm_classifier.py [--units 128] [--num-layers 1] [--epochs 30] [--smoke]
"""

from mpkeras.models import LSTMClassifier
from mpkeras.train.classification import bptt_figure, image_classifier_recipe


def add_arguments(p):
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.1)


def build(args, common):
    return LSTMClassifier(units=args.units, num_layers=args.num_layers, dropout=args.dropout, **common)


RECIPE = image_classifier_recipe("lstm_classifier", build, add_arguments, regularization=dict(rotation=0.0, weight_decay=0.0),
                                 epochs=30, batch_size=64, learning_rate=2e-3, patience=0, schedule="cosine",
                                 clip_norm=1.0, monitor="val_accuracy", extra_figures=bptt_figure)

if __name__ == "__main__":
    RECIPE.main()
