"""Every registered model's speed: training samples/s (XLA off and on), generation, and served latency.

    python benchmarks/run.py [--models vae,lenet,...] [--steps 30] [--repeats 20]
                             [--out benchmarks/results/run.json] [--markdown benchmarks/results/run.md]

Each model is its conformance fixture (``mpkeras.testing.build``): tiny widths and a small batch, the same for
every model, so the figures compare the framework's overheads across the zoo rather than full-size models (the
other scripts in ``benchmarks/`` time the recipes' architectures). Per model:

* **training**: ``model.fit`` on the fixture batch repeated (``--steps`` steps after a warm-up epoch that traces,
  median of 3 epochs), compiled with ``jit_compile=False`` and ``True``; samples/s = batch x steps / seconds. A
  model XLA cannot compile is reported with the error.
* **generation**: models with a ``sample`` endpoint: calls/s of the served ``sample`` with its example inputs.
* **served latency**: the model is exported with :func:`mpkeras.export.export_model` and reloaded with
  ``tf.saved_model.load``; its ``serving_default`` (the model's first endpoint) runs at batch 1 and 64 (the example inputs tiled along the
  batch axis), median of ``--repeats`` calls after a warm-up, timed alternately with the same endpoint function
  traced in process
  (``tf.function`` with the same input signature, what Keras's ``predict`` runs). ``ratio_b1`` = served /
  in-process at batch 1; the issue asks for at most 1.2.

Writes one JSON file and a Markdown table.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

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


def training(name, jit, steps):
    from mpkeras.testing import build

    model, fx = build(name)
    if hasattr(model, "build_from_data"):  # e.g. GANs, whose call() takes z: build as the recipe runner does
        model.build_from_data(fx.x)
    else:
        model(fx.x)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit, **fx.compile_kwargs)
    data = fx.x if fx.y is None else (fx.x, fx.y)
    batch = len(tf.nest.flatten(fx.x)[0])
    ds = tf.data.Dataset.from_tensors(data).cache().repeat()
    timer = EpochTimer()
    model.fit(ds, steps_per_epoch=max(2, steps // 5), epochs=1, verbose=0)
    model.fit(ds, steps_per_epoch=steps, epochs=3, verbose=0, callbacks=[timer])
    return batch * steps / statistics.median(timer.times)


def serving(name, base_dir, repeats):
    from mpkeras.export import export_model
    from mpkeras.testing import build

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


def main(argv=None):
    from mpkeras.registry import list_models

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=None, help="comma-separated names (default: every registered model)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=100)
    p.add_argument("--out", default="benchmarks/results/run.json")
    p.add_argument("--markdown", default="benchmarks/results/run.md")
    args = p.parse_args(argv)
    names = args.models.split(",") if args.models else list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        p.error(f"unknown models {unknown}; see `mpkeras list`")
    rows = []
    with tempfile.TemporaryDirectory() as base_dir:
        for name in names:
            row = {"model": name}
            for jit in (False, True):
                key = "train_samples_per_s_xla" if jit else "train_samples_per_s"
                try:
                    row[key] = training(name, jit, args.steps)
                except Exception as e:  # noqa: BLE001  (reported, not hidden: the table says why)
                    row[key] = None
                    row[f"{key}_error"] = _reason(e)
            try:
                row.update(serving(name, base_dir, args.repeats))
            except Exception as e:  # noqa: BLE001
                row["serving_error"] = _reason(e)
            rows.append(row)
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)

    def fmt(v, digits=0):
        return "–" if v is None else f"{v:,.{digits}f}"

    table = ["| model | train samples/s | XLA | XLA / no XLA | served ms (b=1) | in-process ms (b=1) | ratio b=1 | "
             "served ms (b=64) | ratio b=64 | sample calls/s |", "|" + "---|" * 10]
    for r in rows:
        xla_ratio = (r["train_samples_per_s_xla"] / r["train_samples_per_s"]
                     if r.get("train_samples_per_s") and r.get("train_samples_per_s_xla") else None)
        table.append(f"| `{r['model']}` | {fmt(r.get('train_samples_per_s'))} | {fmt(r.get('train_samples_per_s_xla'))} "
                     f"| {fmt(xla_ratio, 2)} | {fmt(r.get('served_ms_b1'), 2)} | {fmt(r.get('in_process_ms_b1'), 2)} "
                     f"| {fmt(r.get('ratio_b1'), 2)} | {fmt(r.get('served_ms_b64'), 2)} | {fmt(r.get('ratio_b64'), 2)} "
                     f"| {fmt(r.get('sample_calls_per_s'), 1)} |")
    markdown = "\n".join(table) + "\n"
    print(markdown)
    write_report({"machine": machine(), "steps": args.steps, "repeats": args.repeats, "rows": rows}, args.out)
    from mpkeras.atomic import atomic_write

    atomic_write(args.markdown, lambda f: f.write(markdown), mode="w")
    return rows


if __name__ == "__main__":
    main()
