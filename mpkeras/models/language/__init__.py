"""Character language models: an LSTM and a causal Transformer with a key/value cache."""

from mpkeras.models.language.base import CharLanguageModel, bits_per_char
from mpkeras.models.language.char_lstm import CharLSTM
from mpkeras.models.language.transformer import TransformerLM

__all__ = ["CharLSTM", "CharLanguageModel", "TransformerLM", "bits_per_char"]
