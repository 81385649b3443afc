"""Train the causal Transformer character model on pydoc_text (embedded) or tiny_shakespeare and export it (with a
KV-cached ``generate``).

    python recipes/transformer_lm.py [--dataset pydoc_text|tiny_shakespeare] [--width 128] [--num-layers 4]
                                     [--num-heads 4] [--context 128]
                                     [--attention dense|strided|fixed[,...]] [--stride 16] [--epochs 40] [--smoke]

Reports test bits per character (as recipes/char_lstm.py) and three samples;
figures show each layer's attention pattern and a head's attention weights on
a test snippet.
"""

import numpy as np

from mpkeras import flags
from mpkeras.data import catalogue
from mpkeras.layers.attention import PATTERNS, attention_pattern
from mpkeras.models import TransformerLM
from mpkeras.train.language import language_model_recipe


def add_arguments(p):
    p.add_argument("--width", type=flags.positive_int, default=128)
    p.add_argument("--num-layers", type=flags.positive_int, default=4)
    p.add_argument("--num-heads", type=flags.positive_int, default=4)
    p.add_argument("--positions", choices=("learned", "sinusoidal"), default="learned")
    p.add_argument("--attention", type=flags.comma_choices(PATTERNS), default=("dense",),
                   help="one pattern for all layers or one per layer, comma-separated")
    p.add_argument("--stride", type=flags.positive_int, default=None, help="l of the sparse patterns")
    p.add_argument("--summary", type=flags.positive_int, default=1, help="c of the fixed pattern")
    p.add_argument("--dropout", type=flags.rate, default=0.1)


def build(args, vocabulary):
    attention = args.attention[0] if len(args.attention) == 1 else args.attention
    return TransformerLM(vocabulary, context=args.context, width=args.width, num_layers=args.num_layers,
                         num_heads=args.num_heads, positions=args.positions, attention=attention, stride=args.stride,
                         summary=args.summary, dropout=args.dropout, seed=args.seed)


def figures(model, data, args, fig_dir):
    """Each layer's attention mask, and layer 0 / head 0's attention weights on the first 48 test characters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import tensorflow as tf

    from mpkeras.train import figures as figs

    n = min(48, args.context)
    ids = data.extras["test_ids"][:n][None]
    block = model.blocks[0]
    h = model._embed(tf.constant(ids), 0, False)
    q, k, _ = block.attention._project(block.norm_1(h))
    mask = np.where(attention_pattern(n, block.attention.pattern, block.attention.stride, block.attention.summary),
                    0.0, -np.inf)
    scores = np.einsum("qd,kd->qk", q[0, 0].numpy(), k[0, 0].numpy()) / np.sqrt(block.attention.key_dim) + mask
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    fig, axes = plt.subplots(1, model.num_layers + 1, figsize=(3.2 * (model.num_layers + 1), 3.4))
    for i, (ax, blk) in enumerate(zip(axes, model.blocks)):
        att = blk.attention
        ax.imshow(attention_pattern(n, att.pattern, att.stride, att.summary).numpy(), cmap="Greys")
        ax.set_title(f"layer {i}: {att.pattern} mask", fontsize=9)
        ax.set_xlabel("key position j")
    axes[0].set_ylabel("query position i")
    chars = [c if c.isprintable() and c != " " else "·" for c in model.decode(ids[0])]
    axes[-1].imshow(weights, cmap="viridis")
    axes[-1].set_xticks(range(n), chars, fontsize=5)
    axes[-1].set_yticks(range(n), chars, fontsize=5)
    axes[-1].set_title("layer 0, head 0 weights", fontsize=9)
    return {"attention": figs.save(fig, f"{fig_dir}/attention.png")}


RECIPE = language_model_recipe("transformer_lm", build, add_arguments, figures=figures, datasets=catalogue.TEXT,
                               epochs=40, batch_size=32, learning_rate=2e-3, patience=8, schedule="cosine",
                               clip_norm=1.0)

if __name__ == "__main__":
    RECIPE.main()
