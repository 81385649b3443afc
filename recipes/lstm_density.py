"""Train the autoregressive LSTM baseline on binarized mnist5k row sequences; report the exact test NLL in nats
per digit (comparable with the VRNN's bound), and export.

    python recipes/lstm_density.py [--units 256] [--num-layers 1] [--epochs N] [--smoke] [--out DIR]
"""

from mpkeras import flags
from mpkeras.models import LSTMDensity
from mpkeras.train.vrnn import evaluate_lstm, vrnn_recipe


def add_arguments(p):
    p.add_argument("--units", type=flags.positive_int, default=256)
    p.add_argument("--num-layers", type=flags.positive_int, default=1)


def make_model(args, data):
    return LSTMDensity(input_shape=data.extras["test_sequences"].shape[1:], units=args.units,
                       num_layers=args.num_layers)


RECIPE = vrnn_recipe("lstm_density", make_model, evaluate_lstm, add_arguments, epochs=60, batch_size=64,
                     learning_rate=2e-3, schedule="cosine", patience=0, clip_norm=5.0, jit=False)

if __name__ == "__main__":
    RECIPE.main()
