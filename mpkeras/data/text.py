"""Character vocabularies: text <-> integer ids, with an error that names unknown characters.

Example:
    >>> vocab = CharVocabulary.from_text("hello world")
    >>> vocab.chars
    ' dehlorw'
    >>> vocab.encode("hold")
    array([3, 5, 4, 1], dtype=int32)
    >>> vocab.decode([3, 5, 4, 1])
    'hold'
"""

from __future__ import annotations

import numpy as np


class UnknownCharacterError(ValueError):
    """Text holds characters outside a model's vocabulary."""


class CharVocabulary:
    """A fixed alphabet: character ``chars[i]`` has id ``i``.

    Args:
        chars: the alphabet, each character once; its order defines the ids.
    """

    def __init__(self, chars: str):
        if not chars:
            raise ValueError("A vocabulary needs at least one character.")
        if len(set(chars)) != len(chars):
            raise ValueError("The vocabulary lists a character twice; pass each character once.")
        self.chars = chars
        self._ids = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        """The sorted set of characters of ``text``."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def unknown(self, text: str) -> str:
        """The distinct characters of ``text`` outside the vocabulary, in order of appearance."""
        return "".join(dict.fromkeys(c for c in text if c not in self._ids))

    def encode(self, text: str) -> np.ndarray:
        """``text`` as int32 ids (len(text),).

        Raises:
            UnknownCharacterError: ``text`` holds characters the vocabulary lacks.
        """
        missing = self.unknown(text)
        if missing:
            raise UnknownCharacterError(
                f"The text holds {len(missing)} character(s) outside the model's {len(self)}-character "
                f"vocabulary: {missing!r}. Remove or replace them (the vocabulary is model.vocabulary)."
            )
        return np.fromiter((self._ids[c] for c in text), np.int32, count=len(text))

    def decode(self, ids) -> str:
        """Ids (any integer sequence) -> text.

        Raises:
            ValueError: an id outside 0..len(vocabulary) - 1.
        """
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"Ids must lie in 0..{len(self) - 1}; got {ids.min()}..{ids.max()}.")
        return "".join(self.chars[i] for i in ids)
