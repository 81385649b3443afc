"""Fixtures of the sequence models."""

import numpy as np

from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401


def _moving_squares(n=8, frames=5, size=8, seed=0):
    """Sequences of a 2x2 bright square moving one pixel per frame (random direction, wrapping around).

    Returns ``frames`` (n, frames, size, size, 1) float32 in [0, 1]: the next frame
    follows from the last two, so there is something to learn.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((n, frames, size, size, 1), np.float32)
    for i in range(n):
        top, left = rng.integers(0, size, size=2)
        dy, dx = rng.choice([-1, 0, 1], size=2)
        for t in range(frames):
            rows = (top + dy * t + np.arange(2)) % size
            cols = (left + dx * t + np.arange(2)) % size
            x[i, t, rows[:, None], cols[None, :], 0] = 1.0
    return x


@fixture("convlstm")
def _convlstm():
    frames = _moving_squares()
    return Fixture(
        kwargs=dict(frame_shape=(8, 8, 1), filters=(4,), kernel_size=3, patch_size=2, patch_filters=4),
        x=frames[:, :-1],
        y=frames[:, 1:],
        output_shapes=(8, 4, 8, 8, 1),
        learning_rate=3e-2,
    )


def _text_ids(n=8, length=13, seed=0):
    """Ids of a tiny alphabet in repeating words, so the next character is learnable."""
    rng = np.random.default_rng(seed)
    words = ["abc ", "bad ", "cab ", "dab "]
    texts = ["".join(rng.choice(words, size=length)) for _ in range(n)]
    vocabulary = "abcd "
    ids = np.array([[vocabulary.index(c) for c in t[:length]] for t in texts], np.int32)
    return vocabulary, ids


@fixture("char_lstm")
def _char_lstm():
    vocabulary, ids = _text_ids()
    return Fixture(
        kwargs=dict(vocabulary=vocabulary, embedding_dim=4, units=8, num_layers=2, dropout=0.1, seed=1),
        x=ids[:, :-1],
        y=ids[:, 1:],
        output_shapes=(8, 12, 5),
        learning_rate=3e-2,
    )


@fixture("transformer_lm")
def _transformer_lm():
    vocabulary, ids = _text_ids()
    return Fixture(
        kwargs=dict(vocabulary=vocabulary, context=16, width=8, num_layers=2, num_heads=2,
                    attention=["strided", "fixed"], stride=3, summary=1, dropout=0.1, seed=1),
        x=ids[:, :-1],
        y=ids[:, 1:],
        output_shapes=(8, 12, 5),
        learning_rate=3e-2,
    )
