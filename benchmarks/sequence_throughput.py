"""Sequence-model speed: training and generation tokens/s, and step time as sequence length grows.

    python benchmarks/sequence_throughput.py [--parts train,generate,length] [--contexts 256,1024]
        [--lengths 32,64,128,256,512,1024] [--out benchmarks/results/sequence_throughput.json]

Three parts, each on the recipes' default sizes (transformer_lm: width 128,
4 layers, 4 heads; char_lstm: 412 units, equal parameter budget) and random
ids of a 103-character vocabulary (speed does not depend on the text):

* ``train``: ``model.fit`` tokens/s (batch x context per step) at each
  context, 8,192 tokens per batch, median of ``--repeats`` timed epochs after
  a warm-up epoch.
* ``generate``: tokens/s of ``model.sample`` (one ``tf.function`` each, batch
  ``--generate-batch``) from a 1-character prompt to the full context, with the
  key/value cache and without it (recomputing the whole prefix per token), and
  their ratio. The LSTM's state is its cache, so only the Transformer is timed
  both ways.
* ``length``: the time of one training step (forward + backward, batch
  ``--length-batch``) of an Elman RNN (``ElmanCell``, 412 units), the LSTM and the
  Transformer as the sequence length T grows, with each model's number of
  sequential steps (T for the recurrences, the number of layers for the
  Transformer, whose positions are computed in parallel).
"""

import argparse
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from timing import EpochTimer, machine, write_report  # benchmarks/timing.py (the script's own folder)

from mpkeras.layers import ElmanCell
from mpkeras.models import CharLSTM, TransformerLM

VOCAB = "".join(chr(32 + i) for i in range(103))


def transformer(context):
    return TransformerLM(VOCAB, context=context, width=128, num_layers=4, num_heads=4)


def lstm(context=None):
    return CharLSTM(VOCAB, units=412)


def elman(context=None):
    return keras.Sequential([keras.layers.Embedding(len(VOCAB), 64), keras.layers.RNN(ElmanCell(412),
                             return_sequences=True), keras.layers.Dense(len(VOCAB))], name="elman_lm")


MODELS = {"transformer_lm": transformer, "char_lstm": lstm, "elman": elman}


def _ids(batch, length, seed=0):
    return np.random.default_rng(seed).integers(0, len(VOCAB), (batch, length + 1)).astype(np.int32)


def step_seconds(model, batch, length, steps, repeats):
    """Median seconds per training step of ``model`` on (batch, length) ids."""
    keras.utils.set_random_seed(0)
    ids = _ids(batch, length)
    ds = tf.data.Dataset.from_tensors((ids[:, :-1], ids[:, 1:])).cache().repeat()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[])
    timer = EpochTimer()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace
    model.fit(ds, steps_per_epoch=steps, epochs=repeats, verbose=0, callbacks=[timer])
    return statistics.median(timer.times) / steps


def train_part(contexts, tokens_per_batch, steps, repeats):
    rows = []
    for context in contexts:
        batch = max(1, tokens_per_batch // context)
        for name in ("transformer_lm", "char_lstm"):
            keras.utils.set_random_seed(0)
            model = MODELS[name](context)
            seconds = step_seconds(model, batch, context, steps, repeats)
            rows.append({"model": name, "context": context, "batch": batch, "parameters": int(model.count_params()),
                         "step_ms": 1e3 * seconds, "tokens_per_s": batch * context / seconds})
            print(rows[-1], flush=True)
    return rows


def generate_part(contexts, batch, repeats):
    rows = []
    for context in contexts:
        for name, caches in (("transformer_lm", (True, False)), ("char_lstm", (True,))):
            keras.utils.set_random_seed(0)
            model = MODELS[name](context)
            model(_ids(1, 2)[:, :2])
            prompt = tf.constant(_ids(batch, 1)[:, :1])
            length = context - 1
            row = {"model": name, "context": context, "batch": batch, "new_tokens": length}
            for use_cache in caches:
                sample = tf.function(lambda p, s, c=use_cache: model.sample(p, length, 1.0, s, use_cache=c))
                sample(prompt, tf.constant([0, 0]))  # trace
                times = []
                for r in range(repeats):
                    start = time.perf_counter()
                    sample(prompt, tf.constant([r, 1])).numpy()
                    times.append(time.perf_counter() - start)
                key = "cached" if use_cache else "uncached"
                row[f"{key}_tokens_per_s"] = batch * length / statistics.median(times)
            if "uncached_tokens_per_s" in row:
                row["cache_speedup"] = row["cached_tokens_per_s"] / row["uncached_tokens_per_s"]
            rows.append(row)
            print(row, flush=True)
    return rows


def length_part(lengths, batch, steps, repeats):
    rows = []
    for length in lengths:
        for name in ("elman", "char_lstm", "transformer_lm"):
            keras.utils.set_random_seed(0)
            model = MODELS[name](length)
            seconds = step_seconds(model, batch, length, steps, repeats)
            sequential = length if name != "transformer_lm" else model.num_layers
            rows.append({"model": name, "length": length, "batch": batch, "step_ms": 1e3 * seconds,
                         "us_per_token": 1e6 * seconds / (batch * length), "sequential_steps": sequential})
            print(rows[-1], flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="train,generate,length")
    p.add_argument("--contexts", default="256,1024")
    p.add_argument("--lengths", default="32,64,128,256,512,1024")
    p.add_argument("--tokens-per-batch", type=int, default=8192)
    p.add_argument("--generate-batch", type=int, default=4)
    p.add_argument("--length-batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "sequence_throughput.json"))
    args = p.parse_args(argv)
    contexts = [int(c) for c in args.contexts.split(",")]
    parts = args.parts.split(",")
    report = {"machine": machine(),
              "args": vars(args)}
    if "train" in parts:
        report["train"] = train_part(contexts, args.tokens_per_batch, args.steps, args.repeats)
    if "generate" in parts:
        report["generate"] = generate_part(contexts, args.generate_batch, args.repeats)
    if "length" in parts:
        report["length"] = length_part([int(n) for n in args.lengths.split(",")], args.length_batch, args.steps,
                                       args.repeats)
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
