"""WaveNet generation speed: fast generation with per-layer queues against naive recomputation.

    python benchmarks/wavenet_generation.py [--configs 1x10,2x10] [--batch 4] [--fast-steps 2000]
        [--naive-steps 40] [--repeats 3] [--out benchmarks/results/wavenet_generation.json]

Models: the recipe's default widths (residual 32, dilation 32, skip 64,
kernel 2, 256 mu-law levels, class-conditional on 4 labels) with
``STACKSxLAYERS`` blocks, e.g. 1x10 (receptive field 1,024 samples) and 2x10
(2,047, the recipe's default). Weights are random: speed does not depend on
them.

Every method continues a random prompt as long as the receptive field, so
from the first new sample on the naive method recomputes a full window:

* ``fast``: :meth:`WaveNet.generate_levels` with ``method="fast"`` (Paine et
  al. 2016): the prompt is read in one parallel pass, then each sample is one
  time step through the stack with each block's last (k - 1) d inputs in a
  queue; O(layers) per sample. Timed as a plain graph (how the SavedModel runs
  it) and XLA-compiled (``jit_compile=True``).
* ``naive``: ``method="window"``: each sample recomputes the whole network over
  the last ``receptive_field`` inputs (all that sample depends on), taking the
  last output; O(receptive field x layers) per sample. (Recomputing the whole
  prefix instead, ``method="prefix"``, costs at least as much and grows with the
  length; it is not timed.) XLA cannot compile it (the window's slice has a
  data-dependent start).

Both draw the same noise, so they produce the same samples (tests/test_wavenet.py
checks this exactly). Samples/s = batch x new samples / median wall time of
``--repeats`` calls after a warm-up call that traces the graph.
"""

import argparse
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from mpkeras.models import WaveNet
from timing import machine, write_report  # benchmarks/timing.py (the script's own folder)


def build(stacks, layers):
    keras.utils.set_random_seed(0)
    model = WaveNet(residual_channels=32, dilation_channels=32, skip_channels=64, kernel_size=2, num_stacks=stacks,
                    layers_per_stack=layers, num_classes=4)
    model.build()
    return model


def seconds(fn, repeats):
    """Median wall seconds of ``fn(seed)`` after one warm-up (tracing) call."""
    fn(tf.constant([0, 0])).numpy()
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        fn(tf.constant([1, r])).numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(stacks, layers, batch, fast_steps, naive_steps, repeats):
    model = build(stacks, layers)
    field = model.receptive_field
    prompt = tf.constant(np.random.default_rng(0).integers(0, 256, (batch, field)), tf.int32)
    labels = tf.constant(np.arange(batch) % 4, tf.int32)
    row = {"config": f"{stacks}x{layers}", "receptive_field": field, "layers": len(model.blocks),
           "parameters": int(model.count_params()), "batch": batch, "prompt_samples": field,
           "fast_steps": fast_steps, "naive_steps": naive_steps, "naive_method": "window"}

    def runner(method, steps, jit):
        return tf.function(lambda seed: model.generate_levels(prompt, steps, 1.0, seed, labels, method=method),
                           jit_compile=jit, autograph=False)

    for key, method, steps, jit in (("fast", "fast", fast_steps, False), ("fast_xla", "fast", fast_steps, True),
                                    ("naive", "window", naive_steps, False)):
        s = seconds(runner(method, steps, jit), repeats)
        row[f"{key}_samples_per_s"] = batch * steps / s
        row[f"{key}_ms_per_step"] = 1e3 * s / steps
        print(f"{row['config']} {key}: {row[f'{key}_samples_per_s']:.0f} samples/s", flush=True)
    row["speedup"] = row["fast_samples_per_s"] / row["naive_samples_per_s"]
    row["speedup_xla"] = row["fast_xla_samples_per_s"] / row["naive_samples_per_s"]
    # Batch 1 from silence, as the sample endpoint runs: how far from real time (16,000 samples/s) it is.
    single = tf.function(lambda seed: model.generate_levels(tf.zeros((1, 0), tf.int32), fast_steps, 1.0, seed,
                                                            labels[:1]), autograph=False)
    row["fast_batch1_samples_per_s"] = fast_steps / seconds(single, repeats)
    row["fast_batch1_real_time_factor_16khz"] = row["fast_batch1_samples_per_s"] / 16000
    print(row, flush=True)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="1x10,2x10", help="STACKSxLAYERS, comma-separated")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--fast-steps", type=int, default=2000)
    p.add_argument("--naive-steps", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "wavenet_generation.json"))
    args = p.parse_args(argv)
    report = {"machine": machine(),
              "args": vars(args),
              "naive_baseline": "window: every new sample recomputes the full network over the last "
                                "receptive_field inputs (a full window from the first step)",
              "rows": []}
    for config in args.configs.split(","):
        stacks, layers = (int(v) for v in config.split("x"))
        report["rows"].append(measure(stacks, layers, args.batch, args.fast_steps, args.naive_steps, args.repeats))
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
