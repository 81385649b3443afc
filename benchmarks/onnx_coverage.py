"""Which supervised models convert to ONNX (and the classifiers to TFLite), checked against TensorFlow.

For every model of :data:`mpkeras.export.onnx.SUPERVISED` this builds the tiny conformance
fixture, converts ``serving_default``, runs the file (onnxruntime / ``tf.lite.Interpreter``) on
the fixture batch and reports the largest absolute difference from the in-process outputs,
or the conversion error.  Writes a Markdown table (and prints it).

    python benchmarks/onnx_coverage.py --out benchmarks/results/onnx_coverage.md
"""

import argparse
import os
import tempfile
import time
import warnings

import numpy as np
import tensorflow as tf

from mpkeras.atomic import atomic_write
from mpkeras.export.onnx import FORMAT_KINDS, SUPERVISED, ConversionError, export_onnx
from mpkeras.export.tflite import export_tflite
from mpkeras.testing.conformance import build


def _max_diff(got, want):
    if set(got) != set(want):
        return f"outputs {sorted(got)} != {sorted(want)}"
    return max(float(np.max(np.abs(np.asarray(got[k], np.float64) - np.asarray(want[k], np.float64))))
               for k in want)


def _onnx_outputs(path, feeds):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def _tflite_outputs(path, feeds):
    runner = tf.lite.Interpreter(path).get_signature_runner("serving_default")
    return runner(**feeds)


def check(name, kind, tmp):
    """One table row: ``name``, kind, ONNX result, TFLite result."""
    model, fx = build(name)
    x = fx.x.astype(np.float32)
    model(x)
    fn, specs = next(iter(model.serving_endpoints().values()))
    want = {k: np.asarray(v) for k, v in fn(tf.constant(x)).items()}
    cells = []
    for fmt, export, run in (("onnx", export_onnx, _onnx_outputs), ("tflite", export_tflite, _tflite_outputs)):
        if kind not in FORMAT_KINDS[fmt]:
            cells.append("n/a (classifiers only)")
            continue
        start, note, batch = time.perf_counter(), "", x
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    path = export(model, os.path.join(tmp, f"{name}.{fmt}"))
                except ConversionError as e:
                    if "batch_size=1" not in str(e):
                        raise
                    path = export(model, os.path.join(tmp, f"{name}.{fmt}"), batch_size=1)
                    note, batch = " with batch_size=1 (dynamic batch: TensorListReserve not lowered)", x[:1]
            got = run(path, {specs[0].name: batch})
            diff = _max_diff(got, want if batch is x else {k: v[:1] for k, v in want.items()})
            flex = [str(w.message) for w in caught if "TF Select" in str(w.message)]
            cells.append(f"yes{note}, max abs diff {diff:.1e} ({time.perf_counter() - start:.1f} s)"
                         + (" (needs Flex)" if flex else ""))
        except Exception as e:  # report the reason in the table
            cells.append(f"**no**: {str(e).splitlines()[0][:160]}")
    return name, kind, *cells


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/onnx_coverage.md")
    parser.add_argument("--models", nargs="*", help="a subset of the supervised models")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, names in SUPERVISED.items():
            for name in names:
                if not args.models or name in args.models:
                    rows.append(check(name, kind, tmp))
                    print(" | ".join(rows[-1]), flush=True)
    lines = ["| model | kind | ONNX (onnxruntime vs TF) | TFLite (interpreter vs TF) |",
             "|---|---|---|---|"] + [f"| {' | '.join(r)} |" for r in rows]
    text = "\n".join(lines) + "\n"
    atomic_write(args.out, lambda f: f.write(text), mode="w")
    print(text)


if __name__ == "__main__":
    main()
