"""Input pipeline speed: each recipe's ``tf.data`` train pipeline alone against its training step alone.

    python benchmarks/pipeline.py [--models mlp,vae,...] [--seconds 2] [--batches N] [--step-batches 4]
                                  [--data-dir DIR] [--out benchmarks/results/pipeline.json]
                                  [--markdown benchmarks/results/pipeline.md] [--merge]

Per recipe, with its parser defaults on its embedded default dataset (``--data-dir`` only), seeded as the runner
seeds a run:

* **pipeline**: ``data.train`` is read once to the end (a first TFDS build and cache fills are not steady state),
  then read in whole epochs, each from a fresh iterator as ``fit`` reads it, until ``--seconds`` have passed (or
  exactly ``--batches`` batches); samples/s counts the leading dimension of each batch's first tensor (median over
  the epochs). The batches are taken by a graph loop from a Python iterator, as ``fit``'s compiled step takes
  them, not by a Python loop. Whole epochs, because a shuffle buffer refills at the start of each: a stall no
  prefetch hides (``epoch_start_ms``, the wait for an epoch's first batch, is reported too), which a partial epoch
  would leave out or count in full.
* **step**: the recipe's own model at its default size, built and compiled as ``build_and_compile`` in
  ``mpkeras/train/recipe.py`` does (zeros of the element spec, ``build_from_data`` where there is one, the recipe's
  optimizer, compile arguments and ``--jit`` default), fitted on ``--step-batches`` batches cached in memory and
  repeated, so no pipeline work is left in the loop. One epoch traces, a short one sizes the epochs, then the median
  of 3 timed epochs. Pipeline and step epochs alternate in 3 rounds of ``--seconds`` / 3 each, so that load from
  other processes on a shared machine hits both alike.
* **ratio** = pipeline / step. Issue 20 asks for at least 10: the data must not starve a device that trains ten
  times faster than these 2 CPU cores.

The deep RL recipes (dqn, reinforce, actor_critic) collect experience from environments and have no ``tf.data``
pipeline; they are listed as skipped. One recipe's failure is recorded in its row and the run goes on.
Writes one JSON file and a Markdown table sorted by ratio.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from mpkeras.atomic import atomic_write
from mpkeras.cli import load_recipe
from mpkeras.registry import list_models
from mpkeras.train.recipe import Recipe, make_optimizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import EpochTimer, machine, write_report  # benchmarks/timing.py

TARGET_RATIO = 10.0
NO_PIPELINE = "deep RL: experience comes from environment rollouts in the step loop, not from a tf.data pipeline"


def leading_size(batch):
    """Examples in ``batch``: the first dimension of its first flat tensor."""
    return int(tf.nest.flatten(batch)[0].shape[0])


@tf.function
def _consume(iterator):
    """Examples in the batches left in ``iterator``, read by a graph loop as ``fit``'s compiled step reads them
    (``get_next`` inside TensorFlow): a Python loop would add ~0.1 ms a batch that training never pays."""
    examples = tf.constant(0, tf.int64)
    for batch in iterator:
        examples += tf.shape(tf.nest.flatten(batch)[0], out_type=tf.int64)[0]
    return examples


def _drain(ds):
    """Examples in ``ds`` and seconds to read them all from a fresh iterator (a new epoch, as ``fit`` starts one)."""
    start = time.perf_counter()
    examples = int(_consume(iter(ds)))
    return examples, time.perf_counter() - start


def _epoch_start(train, repeats=3):
    """Median seconds from a fresh iterator to its first batch (a shuffle buffer filling; no prefetch hides it)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        iterator = iter(train)
        next(iterator)
        times.append(time.perf_counter() - start)
        del iterator
    return statistics.median(times)


def pipeline_epochs(train, seconds, batches=None):
    """(examples, seconds) of each whole epoch of ``train`` read until ``seconds`` have passed, each from a fresh
    iterator as ``fit`` reads them (so a shuffle buffer refills); or of exactly ``batches`` batches of it repeated."""
    if batches:
        return [_drain(train.repeat().take(batches))]
    epochs = []
    while not epochs or sum(e[1] for e in epochs) < seconds:
        epochs.append(_drain(train))
    return epochs


def build_like_runner(recipe, args, data):
    """The recipe's model, built and compiled as ``build_and_compile`` in mpkeras/train/recipe.py does."""
    keras.utils.set_random_seed(args.seed)
    model = recipe.make_model(args, data)
    sample = tf.nest.map_structure(lambda s: tf.zeros([2, *s.shape[1:]], s.dtype), data.train.element_spec)
    inputs = sample[0] if isinstance(sample, tuple) else sample
    if hasattr(model, "build_from_data"):
        model.build_from_data(inputs)
    else:
        model(inputs)
    optimizer = make_optimizer(args, steps_per_epoch=int(data.train.cardinality()), epochs=args.epochs)
    extra = recipe.compile_kwargs(args) if recipe.compile_kwargs else {}
    model.compile(optimizer=optimizer, jit_compile=bool(args.jit), **extra)
    return model


class StepTimer:
    """``model.fit`` on ``batches`` batches of ``train`` cached in memory and repeated; the first epoch traces, a
    short one sizes the timed epochs to about ``seconds`` (or ``steps`` steps), ``epoch_seconds()`` times one."""

    def __init__(self, model, train, batches, seconds, steps=None):
        small = train.take(batches).cache()
        sizes = [leading_size(b) for b in small]  # fills the cache
        self.model, self.ds, self.batch_size = model, small.repeat(), statistics.mean(sizes)
        self._fit(2)  # traces
        if steps is None:
            steps = int(np.clip(seconds / (self._fit(3) / 3), 2, 500))
        self.steps = steps

    def _fit(self, steps):
        timer = EpochTimer()  # the epoch alone, without fit's set-up
        self.model.fit(self.ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
        return timer.times[0]

    def epoch_seconds(self):
        return self._fit(self.steps)


def measure(name, data_dir, seconds, batches, step_batches, rounds=3):
    """One row: the pipeline and step rates of recipe ``name`` and their ratio.

    Pipeline epochs and step epochs alternate over ``rounds`` rounds (medians), so that load from other processes
    on a shared machine hits both alike.
    """
    recipe = load_recipe(name)
    if not isinstance(recipe, Recipe):
        return {"model": name, "skipped": NO_PIPELINE}
    args = recipe.parse_args(["--data-dir", data_dir])
    keras.utils.set_random_seed(args.seed)
    row = {"model": name, "dataset": args.dataset, "jit": bool(args.jit), "load_average_1min": os.getloadavg()[0]}
    start = time.perf_counter()
    data = recipe.make_data(args)
    warm = sum(1 for _ in data.train)  # first pass: TFDS reads, cache fills
    row.update(make_data_and_first_pass_seconds=time.perf_counter() - start, batches_per_epoch=warm)
    _drain(data.train.take(1))  # traces the graph loop for this element spec
    step = StepTimer(build_like_runner(recipe, args, data), data.train, step_batches, seconds / rounds, batches)
    epochs, step_seconds = [], []
    for _ in range(rounds):
        epochs += pipeline_epochs(data.train, seconds / rounds, batches)
        step_seconds.append(step.epoch_seconds())
    row.update(pipeline_samples_per_s=statistics.median(n / t for n, t in epochs), pipeline_epochs=len(epochs),
               pipeline_seconds=sum(t for _, t in epochs), epoch_start_ms=1000 * _epoch_start(data.train),
               step_samples_per_s=step.batch_size * step.steps / statistics.median(step_seconds),
               step_steps=step.steps, batch_size=int(step.batch_size),
               step_ms=1000 * statistics.median(step_seconds) / step.steps)
    row["ratio"] = row["pipeline_samples_per_s"] / row["step_samples_per_s"]
    return row


def _fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


def markdown_table(rows):
    """Rows sorted by ratio (lowest first), then the skipped and failed recipes."""
    measured = sorted((r for r in rows if "ratio" in r), key=lambda r: r["ratio"])
    header = ("| recipe | dataset | batch | pipeline samples/s | epoch start ms | step samples/s | ratio "
              f"| ≥ {TARGET_RATIO:g}x |")
    lines = [header, "|" + "---|" * 8]
    for r in measured:
        lines.append(f"| `{r['model']}` | {r['dataset']} | {r['batch_size']} | {_fmt(r['pipeline_samples_per_s'])} "
                     f"| {_fmt(r['epoch_start_ms'], 1)} | {_fmt(r['step_samples_per_s'])} | {_fmt(r['ratio'], 1)} "
                     f"| {'yes' if r['ratio'] >= TARGET_RATIO else '**no**'} |")
    for r in rows:
        if "ratio" not in r:
            why = r.get("skipped") or f"error: {r.get('error')}"
            lines.append(f"| `{r['model']}` | {r.get('dataset', '–')} | – | – | – | – | – | {why} |")
    return "\n".join(lines) + "\n"


def _error(e):
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0][:200] if lines else ''}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=None, help="comma-separated names (default: every registered model)")
    p.add_argument("--seconds", type=float, default=2.0, help="time budget of each timed measurement")
    p.add_argument("--batches", type=int, default=None,
                   help="read exactly this many pipeline batches a round (pipeline_epochs counts the rounds) and time "
                        "this many steps an epoch (for tests)")
    p.add_argument("--step-batches", type=int, default=4, help="batches cached in memory for the step timing")
    p.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "mpkeras-bench-tfds"),
                   help="TFDS data_dir; the embedded sets are built there once")
    p.add_argument("--out", default="benchmarks/results/pipeline.json")
    p.add_argument("--markdown", default="benchmarks/results/pipeline.md")
    p.add_argument("--merge", action="store_true", help="keep the other models' rows of an existing --out file")
    args = p.parse_args(argv)
    names = args.models.split(",") if args.models else list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        p.error(f"unknown models {unknown}; see `mpkeras list`")
    kept = []
    if args.merge and os.path.exists(args.out):
        with open(args.out) as f:
            kept = [r for r in json.load(f)["rows"] if r["model"] not in names]
    rows = []
    for name in names:
        try:
            row = measure(name, args.data_dir, args.seconds, args.batches, args.step_batches)
        except Exception as e:  # noqa: BLE001  (recorded in the row: one recipe's failure must not stop the run)
            row = {"model": name, "error": _error(e)}
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
        write_tables(kept + rows, args)  # after every recipe: a run over the whole registry can be cut off
        keras.backend.clear_session()
        gc.collect()
    print(markdown_table(kept + rows))
    return rows


def write_tables(rows, args):
    write_report({"machine": machine(), "seconds": args.seconds, "batches": args.batches,
                  "step_batches": args.step_batches, "target_ratio": TARGET_RATIO, "rows": rows}, args.out)
    atomic_write(args.markdown, lambda f: f.write(markdown_table(rows)), mode="w")

if __name__ == "__main__":
    main()
