"""Standalone SavedModel checker, run in a fresh process.

Usage::

    python _standalone_verify.py PATH [PATH ...] [--json OUT] [--atol A] [--rtol R]

For every SavedModel directory it:

1. loads it with ``tf.saved_model.load`` and lists every signature with its
   input and output names, dtypes and shapes;
2. prints ``assets.extra/model_card.json`` if present;
3. runs every signature on the stored examples (``assets.extra/examples/<name>.npz``:
   inputs under their input names, expected outputs under ``output/<name>``), or on
   generated inputs when none are stored, and compares with the stored outputs
   (float outputs with ``atol``/``rtol``, the others exactly);
4. checks that float outputs are finite.

It exits with status 1 if any check fails, and says which signature and output
failed and why.  ``--json OUT`` writes the machine-readable report.

This file imports only the standard library, NumPy and TensorFlow -- never
``mpkeras`` -- so that it proves an export is usable without our code; it asserts
that at the end.  ``mpkeras.export.savedmodel`` imports :func:`example_inputs`
from here so that exporter and checker generate identical inputs.
"""

import os
import sys

if __name__ == "__main__":
    # Run by path, this file's directory (mpkeras/export/) is sys.path[0]; drop it
    # so no sibling module can shadow a real one.
    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == _here:
        del sys.path[0]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

EXAMPLES_DIR = os.path.join("assets.extra", "examples")
MODEL_CARD = os.path.join("assets.extra", "model_card.json")
OUTPUT_PREFIX = "output/"


# --------------------------------------------------------------------------- inputs
def _is_count(name):
    return name in ("n", "num") or name.startswith("num") or name.startswith("n_")


def example_input(spec):
    """A deterministic example array for one ``tf.TensorSpec``.

    Unknown dimensions become 2.  Floats are ``default_rng(0).uniform(0, 1)``; an
    integer scalar named like ``num_samples``/``num``/``n`` is 3; an integer
    ``seed`` of shape [2] is ``[1, 2]``; other values are zeros.
    """
    name = (spec.name or "").lower()
    shape = [2] if spec.shape.rank is None else [2 if d is None else d for d in spec.shape.as_list()]
    dtype = spec.dtype
    if dtype.is_floating:
        return np.random.default_rng(0).uniform(0.0, 1.0, shape).astype(dtype.as_numpy_dtype)
    if dtype.is_integer and shape == [] and _is_count(name):
        return np.array(3, dtype.as_numpy_dtype)
    if dtype.is_integer and shape == [2] and "seed" in name:
        return np.array([1, 2], dtype.as_numpy_dtype)
    if dtype == tf.string:
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype.as_numpy_dtype)


def example_inputs(specs):
    """Example arrays for a list of ``tf.TensorSpec`` (see :func:`example_input`)."""
    return [example_input(spec) for spec in specs]


# --------------------------------------------------------------------------- helpers
def describe(tensors):
    """``{name: {"dtype", "shape"}}`` for a dict of TensorSpecs or symbolic tensors."""
    return {
        name: {
            "dtype": t.dtype.name,
            "shape": None if t.shape.rank is None else t.shape.as_list(),
        }
        for name, t in tensors.items()
    }


def to_numpy(tensor):
    """``tensor.numpy()``, with strings as fixed-width bytes (storable without pickle)."""
    value = tensor.numpy()
    return value.astype(bytes) if value.dtype == object else np.asarray(value)


def _fmt(desc):
    return ", ".join(f"{n}: {d['dtype']} {d['shape']}" for n, d in desc.items()) or "(none)"


def check_inputs(signature, specs, inputs):
    """Messages describing every way ``inputs`` do not fit ``specs`` (empty if fine)."""
    problems = []
    for name in sorted(set(specs) - set(inputs)):
        problems.append(f"signature '{signature}': input '{name}' is missing")
    for name in sorted(set(inputs) - set(specs)):
        problems.append(f"signature '{signature}': unexpected input '{name}' (expects {sorted(specs)})")
    for name in sorted(set(specs) & set(inputs)):
        spec, value = specs[name], inputs[name]
        try:
            dtype = tf.as_dtype(value.dtype)
        except TypeError:
            dtype = None
        if dtype != spec.dtype:
            problems.append(
                f"signature '{signature}': input '{name}' expects dtype {spec.dtype.name}, "
                f"got {getattr(dtype, 'name', value.dtype)}"
            )
        if not spec.shape.is_compatible_with(value.shape):
            problems.append(
                f"signature '{signature}': input '{name}' expects shape {spec.shape.as_list()} "
                f"(None = any), got {list(value.shape)}"
            )
    return problems


def compare(signature, name, actual, expected, atol, rtol):
    """Check one output; returns a check dict with ``ok`` and a ``message``."""
    check = {"signature": signature, "output": name, "ok": False, "message": ""}
    is_float = actual.dtype != object and (tf.as_dtype(actual.dtype).is_floating
                                           or tf.as_dtype(actual.dtype).is_complex)
    if is_float and not np.all(np.isfinite(actual)):
        check["message"] = f"{int(np.sum(~np.isfinite(actual)))} of {actual.size} values are not finite"
        return check
    if expected is None:  # generated inputs: nothing stored to compare with
        check.update(ok=True, message="ran (no stored expected output)")
        return check
    if actual.dtype != expected.dtype:
        check["message"] = f"dtype {actual.dtype} differs from stored {expected.dtype}"
    elif actual.shape != expected.shape:
        check["message"] = f"shape {list(actual.shape)} differs from stored {list(expected.shape)}"
    elif is_float:
        close = np.isclose(actual, expected, atol=atol, rtol=rtol)
        diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
        check["max_abs_diff"] = diff
        if close.all():
            check.update(ok=True, message=f"max |diff| {diff:.3g}")
        else:
            check["message"] = (
                f"{int(np.sum(~close))} of {actual.size} values differ from stored outputs beyond "
                f"atol={atol:g}, rtol={rtol:g} (max |diff| {diff:.3g})"
            )
    elif np.array_equal(actual, expected):
        check.update(ok=True, message="equal")
    else:
        check["message"] = f"{int(np.sum(actual != expected))} of {actual.size} values differ from stored outputs"
    return check


def _load_examples(path, signature, card):
    """(inputs, expected outputs) stored for ``signature``, or (None, None)."""
    endpoint = signature
    if signature == "serving_default" and card:
        endpoint = card.get("serving_default", signature)
    for candidate in (signature, endpoint):
        file = os.path.join(path, EXAMPLES_DIR, f"{candidate}.npz")
        if os.path.exists(file):
            with np.load(file, allow_pickle=False) as data:
                inputs = {k: data[k] for k in data.files if not k.startswith(OUTPUT_PREFIX)}
                expected = {k[len(OUTPUT_PREFIX):]: data[k] for k in data.files if k.startswith(OUTPUT_PREFIX)}
            return inputs, expected
    return None, None


# --------------------------------------------------------------------------- checker
def verify_one(path, atol, rtol):
    """Check one SavedModel directory; returns its report dict (``ok`` says if it passed)."""
    report = {"path": os.path.abspath(path), "ok": False, "signatures": {}, "serving_default": None,
              "model_card": None, "examples": {}, "checks": [], "errors": []}
    print(f"== {path}")
    try:
        loaded = tf.saved_model.load(path)
    except Exception as e:  # noqa: BLE001 - report any load failure
        report["errors"].append(f"cannot load SavedModel: {type(e).__name__}: {e}")
        print(f"  FAIL {report['errors'][-1]}")
        return report

    card_file = os.path.join(path, MODEL_CARD)
    if os.path.exists(card_file):
        with open(card_file) as f:
            card = report["model_card"] = json.load(f)
        report["serving_default"] = card.get("serving_default")
        print("model card:")  # signatures are listed below
        for key in sorted(set(card) - {"signatures"}):
            print(f"  {key}: {json.dumps(card[key], sort_keys=True)}")
    card = report["model_card"]

    signatures = dict(loaded.signatures)
    for name, fn in signatures.items():
        desc = report["signatures"][name] = {
            "inputs": describe(fn.structured_input_signature[1]),
            "outputs": describe(fn.structured_outputs),
        }
        print(f"signature '{name}'\n  inputs:  {_fmt(desc['inputs'])}\n  outputs: {_fmt(desc['outputs'])}")
    if "serving_default" not in signatures:
        report["errors"].append("no 'serving_default' signature")

    for name, fn in signatures.items():
        specs = fn.structured_input_signature[1]
        inputs, expected = _load_examples(path, name, card)
        report["examples"][name] = "stored" if inputs is not None else "generated"
        if inputs is None:
            names = list(specs)
            inputs = dict(zip(names, example_inputs([specs[n] for n in names])))
        problems = check_inputs(name, specs, inputs)
        if problems:
            report["checks"] += [{"signature": name, "output": None, "ok": False, "message": p} for p in problems]
            continue
        try:
            outputs = {k: to_numpy(v) for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        except Exception as e:  # noqa: BLE001 - report any failing call
            first = str(e).strip().splitlines()
            report["checks"].append({"signature": name, "output": None, "ok": False,
                                     "message": f"call raised {type(e).__name__}: {' '.join(first[:6])}"})
            continue
        for out in sorted(outputs):
            want = None if expected is None else expected.get(out)
            if expected is not None and want is None:
                report["checks"].append({"signature": name, "output": out, "ok": False,
                                         "message": "output not in the stored examples"})
                continue
            report["checks"].append(compare(name, out, outputs[out], want, atol, rtol))
        for out in sorted(set(expected or {}) - set(outputs)):
            report["checks"].append({"signature": name, "output": out, "ok": False,
                                     "message": "stored output is missing from the signature's outputs"})

    for c in report["checks"]:
        where = f"{c['signature']}/{c['output']}" if c["output"] else c["signature"]
        print(f"  {'ok  ' if c['ok'] else 'FAIL'} {where}: {c['message']}")
    for e in report["errors"]:
        print(f"  FAIL {e}")
    report["ok"] = not report["errors"] and all(c["ok"] for c in report["checks"])
    return report


def main(argv=None):
    """Check every path given; print a summary; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="SavedModel directories")
    parser.add_argument("--json", help="write the JSON report here")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args(argv)

    reports = {p: verify_one(p, args.atol, args.rtol) for p in args.paths}
    imported = "mpkeras" in sys.modules
    for r in reports.values():
        r["mpkeras_imported"] = imported
    summary = {"ok": all(r["ok"] for r in reports.values()) and not imported,
               "mpkeras_imported": imported, "tensorflow_version": tf.__version__,
               "python": sys.executable, "reports": reports}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    for p, r in reports.items():
        print(f"{'PASSED' if r['ok'] else 'FAILED'}: {p}")
    assert "mpkeras" not in sys.modules, "the standalone checker must not import mpkeras"
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
