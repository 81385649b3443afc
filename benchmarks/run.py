"""Every registered model's speed: training samples/s (XLA off and on, mixed precision), generation, served latency.

    python benchmarks/run.py [--models vae,lenet,...] [--steps 30] [--repeats 20] [--training-only]
                             [--out benchmarks/results/run.json] [--markdown benchmarks/results/run.md]

Each model is its conformance fixture (``mpkeras.testing.build``): tiny widths and a small batch, the same for
every model, so the figures compare the framework's overheads across the zoo rather than full-size models (the
other scripts in ``benchmarks/`` time the recipes' architectures). Per model:

* **training**: ``model.fit`` on the fixture batch repeated (``--steps`` steps after a warm-up epoch that traces,
  median of 3 epochs), compiled with ``jit_compile=False`` and ``True``; samples/s = batch x steps / seconds. A
  model XLA cannot compile is reported with the error. A third timing (without XLA) builds the model under the
  ``mixed_float16`` dtype policy, restored after. The three models' timed epochs alternate, so that load from
  other processes hits them alike. A model whose fixture declares XLA or mixed precision
  unsupported (``mpkeras.testing.get_fixture(name).unsupported``, what its recipe refuses) is reported as refused
  with the fixture's reason, not timed: Keras would silently compile it without XLA. On a CPU without float16
  units, mixed precision is expected to be slower (casts, loss scaling); the ratio says by how much.
* **generation**: models with a ``sample`` endpoint: calls/s of the served ``sample`` with its example inputs.
* **served latency**: the model is exported with :func:`mpkeras.export.export_model` and reloaded with
  ``tf.saved_model.load``; its ``serving_default`` (the model's first endpoint) runs at batch 1 and 64 (the example inputs tiled along the
  batch axis), median of ``--repeats`` calls after a warm-up, timed alternately with the same endpoint function
  traced in process
  (``tf.function`` with the same input signature, what Keras's ``predict`` runs). ``ratio_b1`` = served /
  in-process at batch 1; the issue asks for at most 1.2.

``--training-only`` skips generation and serving: the training table alone, written by default to
``run_training.json`` and ``run_training.md`` so that the full report is not overwritten.

Writes one JSON file and a Markdown table.
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from mpkeras.atomic import atomic_write
from mpkeras.export import export_model
from mpkeras.registry import list_models
from mpkeras.testing import build, get_fixture

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import EpochTimer, machine, write_report  # noqa: E402  (benchmarks/timing.py)


def _batched(array, spec, batch):
    """``array`` (an example with batch 2) tiled or cut to ``batch`` rows when the spec's first dim is None."""
    if spec.shape.rank and spec.shape[0] is None:
        reps = -(-batch // len(array))
        return np.concatenate([array] * reps)[:batch]
    return array


def _paired_median_seconds(a, b, repeats):
    """Median seconds of ``a`` and of ``b``, timed alternately so that drift on a shared machine hits both alike."""
    a(), b()  # warm-up
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((a, times_a), (b, times_b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)


def _median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _reason(e):
    """One line saying why ``e`` happened: XLA's unsupported-op line when there is one, else the first line."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    unsupported = next((line for line in lines if "unsupported operations" in line), None)
    if unsupported:  # "Detected unsupported operations when trying to compile graph ...: MaxPoolWithArgmax (No ..."
        return "XLA: " + unsupported.split(": ", 1)[-1].split(" (No registered")[0][:160]
    return f"{type(e).__name__}: {lines[0][:160] if lines else ''}"


@contextlib.contextmanager
def dtype_policy(policy):
    """The global Keras dtype policy set to ``policy`` (None: unchanged) inside the block, restored after."""
    previous = keras.config.dtype_policy()
    if policy:
        keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class Trainer:
    """The fixture model of ``name`` built and compiled under ``policy``, with one warm-up epoch (which traces);
    ``epoch_seconds()`` times one more epoch of ``steps`` steps on the fixture batch repeated."""

    def __init__(self, name, jit, steps, policy=None):
        self.policy, self.steps = policy, steps
        with dtype_policy(policy):
            self.model, fx = build(name)
            if hasattr(self.model, "build_from_data"):  # e.g. GANs, whose call() takes z: as the recipe runner does
                self.model.build_from_data(fx.x)
            else:
                self.model(fx.x)
            self.model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit, **fx.compile_kwargs)
            self.batch = len(tf.nest.flatten(fx.x)[0])
            self.ds = tf.data.Dataset.from_tensors(fx.x if fx.y is None else (fx.x, fx.y)).cache().repeat()
            self.model.fit(self.ds, steps_per_epoch=max(2, steps // 5), epochs=1, verbose=0)

    def epoch_seconds(self):
        timer = EpochTimer()
        with dtype_policy(self.policy):
            self.model.fit(self.ds, steps_per_epoch=self.steps, epochs=1, verbose=0, callbacks=[timer])
        return timer.times[0]


def serving(name, base_dir, repeats):
    model, fx = build(name)
    model(fx.x, training=False)
    path = export_model(model, name, base_dir=base_dir, model_card={"benchmark": True})
    loaded = tf.saved_model.load(path)
    endpoints = model.serving_endpoints()
    main_endpoint = "serving_default" if "serving_default" in endpoints else next(iter(endpoints))  # as exported
    fn, specs = endpoints[main_endpoint]
    local = tf.function(fn, input_signature=specs)
    examples = np.load(os.path.join(path, "assets.extra", "examples", f"{main_endpoint}.npz"))
    out = {}
    for batch in (1, 64):
        arrays = {s.name: tf.constant(_batched(examples[s.name], s, batch)) for s in specs}
        served = loaded.signatures["serving_default"]
        t_served, t_local = _paired_median_seconds(lambda: served(**arrays),
                                                   lambda: local(*[arrays[s.name] for s in specs]), repeats)
        out[f"served_ms_b{batch}"] = 1000 * t_served
        out[f"in_process_ms_b{batch}"] = 1000 * t_local
        out[f"ratio_b{batch}"] = t_served / t_local
    if "sample" in endpoints:
        sample_specs = endpoints["sample"][1]
        sample = np.load(os.path.join(path, "assets.extra", "examples", "sample.npz"))
        args = {s.name: tf.constant(sample[s.name]) for s in sample_specs}
        sample_fn = loaded.signatures["sample"]
        out["sample_calls_per_s"] = 1.0 / _median_seconds(lambda: sample_fn(**args), max(3, repeats // 4))
    return out


TRAININGS = (("train_samples_per_s", "float32", None, False, None),
             ("train_samples_per_s_xla", "XLA", "jit", True, None),
             ("train_samples_per_s_mixed", "mixed_float16", "mixed_precision", False, "mixed_float16"))
"""Row key, label, the fixture's flag name, ``jit_compile`` and dtype policy of each training timing."""


def training_row(name, steps, rounds=3):
    """The training timings of ``name`` (float32, XLA, mixed precision), each with its error or refusal.

    The configurations' epochs alternate, ``rounds`` each (median), so that load from other processes on a shared
    machine hits all of them alike and their ratios stay fair.
    """
    row, trainers = {}, {}
    unsupported = get_fixture(name).unsupported
    for key, _, flag, jit, policy in TRAININGS:
        if flag in unsupported:
            row[key], row[f"{key}_refused"] = None, unsupported[flag]
            continue
        try:
            trainers[key] = Trainer(name, jit, steps, policy)
        except Exception as e:  # noqa: BLE001  (reported, not hidden: the table says why)
            row[key], row[f"{key}_error"] = None, _reason(e)
    times = {key: [] for key in trainers}
    for _ in range(rounds):
        for key, trainer in list(trainers.items()):
            try:
                times[key].append(trainer.epoch_seconds())
            except Exception as e:  # noqa: BLE001
                row[key], row[f"{key}_error"] = None, _reason(e)
                del trainers[key]
    for key, trainer in trainers.items():
        row[key] = trainer.batch * steps / statistics.median(times[key])
    base = row["train_samples_per_s"]
    for key, ratio in (("train_samples_per_s_xla", "xla_ratio"), ("train_samples_per_s_mixed", "mixed_ratio")):
        row[ratio] = row[key] / base if base and row[key] else None
    return row


def _fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


def markdown_table(rows, training_only=False):
    """The training columns (float32 samples/s, XLA and mixed-precision ratios), then serving unless training-only."""
    head = "| model | train samples/s (float32) | XLA / no XLA | mixed_float16 / float32 |"
    serving_head = " served ms (b=1) | in-process ms (b=1) | ratio b=1 | served ms (b=64) | ratio b=64 | sample calls/s |"
    table = [head + ("" if training_only else serving_head), "|" + "---|" * (4 if training_only else 10)]
    for r in rows:
        xla, mixed = (_fmt(r.get(ratio), 2) + (" (refused)" if r.get(f"{key}_refused") else "")
                      for key, ratio in (("train_samples_per_s_xla", "xla_ratio"),
                                         ("train_samples_per_s_mixed", "mixed_ratio")))
        line = f"| `{r['model']}` | {_fmt(r.get('train_samples_per_s'))} | {xla} | {mixed} |"
        if not training_only:
            line += (f" {_fmt(r.get('served_ms_b1'), 2)} | {_fmt(r.get('in_process_ms_b1'), 2)} "
                     f"| {_fmt(r.get('ratio_b1'), 2)} | {_fmt(r.get('served_ms_b64'), 2)} | {_fmt(r.get('ratio_b64'), 2)} "
                     f"| {_fmt(r.get('sample_calls_per_s'), 1)} |")
        table.append(line)
    for outcome, title in (("refused", "Refused (declared by the model and its fixture; the recipe refuses the flag)"),
                           ("error", "Failed")):
        notes = [f"- `{r['model']}` {label}: {r[f'{key}_{outcome}']}" for r in rows
                 for key, label, *_ in TRAININGS if r.get(f"{key}_{outcome}")]
        if notes:
            table += ["", f"{title}:", *notes]
    return "\n".join(table) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=None, help="comma-separated names (default: every registered model)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=100)
    p.add_argument("--training-only", action="store_true", help="skip generation and serving latency")
    p.add_argument("--out", default=None,
                   help="JSON report (default: benchmarks/results/run.json, run_training.json with --training-only)")
    p.add_argument("--markdown", default=None, help="Markdown table (default: beside --out's default, .md)")
    args = p.parse_args(argv)
    stem = "benchmarks/results/run_training" if args.training_only else "benchmarks/results/run"
    args.out, args.markdown = args.out or f"{stem}.json", args.markdown or f"{stem}.md"
    names = args.models.split(",") if args.models else list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        p.error(f"unknown models {unknown}; see `mpkeras list`")
    rows = []
    with tempfile.TemporaryDirectory() as base_dir:
        for name in names:
            row = {"model": name, **training_row(name, args.steps)}
            if not args.training_only:
                try:
                    row.update(serving(name, base_dir, args.repeats))
                except Exception as e:  # noqa: BLE001
                    row["serving_error"] = _reason(e)
            rows.append(row)
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)

    markdown = markdown_table(rows, args.training_only)
    print(markdown)
    write_report({"machine": machine(), "steps": args.steps, "repeats": None if args.training_only else args.repeats,
                  "training_only": args.training_only, "rows": rows}, args.out)
    atomic_write(args.markdown, lambda f: f.write(markdown), mode="w")
    return rows


if __name__ == "__main__":
    main()
