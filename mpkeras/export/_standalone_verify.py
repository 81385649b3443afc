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
4. checks that float outputs are finite;
5. builds TF Serving request bodies for every signature, and sends it bad inputs:
   wrong rank or dtype, an empty batch, NaN/inf, and integers outside the range the
   model card declares (``input_ranges``: 0 and -1 for counts, -1 and
   ``num_classes`` for class ids), each of which must fail with an error naming the
   input (these results are reported; ``mpkeras verify --strict`` fails on them).

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
import re  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

EXAMPLES_DIR = os.path.join("assets.extra", "examples")
MODEL_CARD = os.path.join("assets.extra", "model_card.json")
OUTPUT_PREFIX = "output/"


# --------------------------------------------------------------------------- inputs
def example_input(spec, value_range=None):
    """A deterministic example array for one ``tf.TensorSpec``.

    Unknown dimensions become 2.  Floats are ``default_rng(0).uniform(0, 1)``; an
    integer scalar (a count such as ``num_samples`` or ``length``) is 3; an integer
    ``seed`` of shape [2] is ``[1, 2]``; other values are zeros.  Integers are then
    clipped into ``value_range`` (``(low, high)``, ``None`` for an open side), the
    range the model card declares for the input.
    """
    name = (spec.name or "").lower()
    shape = [2] if spec.shape.rank is None else [2 if d is None else d for d in spec.shape.as_list()]
    dtype = spec.dtype
    if dtype.is_floating:
        return np.random.default_rng(0).uniform(0.0, 1.0, shape).astype(dtype.as_numpy_dtype)
    if dtype == tf.string:
        return np.full(shape, b"", dtype=object)
    if dtype.is_integer and shape == []:
        value = np.array(3, dtype.as_numpy_dtype)
    elif dtype.is_integer and shape == [2] and "seed" in name:
        value = np.array([1, 2], dtype.as_numpy_dtype)
    else:
        value = np.zeros(shape, dtype.as_numpy_dtype)
    low, high = value_range or (None, None)
    if low is not None or high is not None:
        value = np.clip(value, low, high).astype(dtype.as_numpy_dtype)
    return value


def example_inputs(specs, ranges=None):
    """Example arrays for a list of ``tf.TensorSpec``; ``ranges`` is ``{input: (low, high)}`` (see :func:`example_input`)."""
    return [example_input(spec, (ranges or {}).get(spec.name)) for spec in specs]


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


# --------------------------------------------------------------------------- TF Serving requests
def _signature_defs(path):
    """``{name: SignatureDef}`` read from ``saved_model.pb`` (what TF Serving itself reads)."""
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    for meta in sm.meta_graphs:
        if "serve" in meta.meta_info_def.tags:
            return dict(meta.signature_def)
    return {}


def _info_shape(info):
    """A TensorInfo's shape as a list with None for unknown dims (None if the rank is unknown)."""
    if info.tensor_shape.unknown_rank:
        return None
    return [None if d.size < 0 else d.size for d in info.tensor_shape.dim]


def rest_bodies(signature, inputs):
    """The REST ``:predict`` bodies for ``inputs`` (``{name: array}``).

    Returns ``(columnar, row)``: ``{"signature_name", "inputs": {name: list}}`` and
    ``{"signature_name", "instances": [{name: value}, ...]}``; ``row`` is None with a
    reason when the row format cannot express the inputs (TF Serving's row format
    needs every input to share its first dimension; seeds and counts do not).
    """
    as_json = {k: (v.astype(str) if v.dtype.kind in "SO" else v).tolist() for k, v in inputs.items()}
    columnar = {"signature_name": signature, "inputs": as_json}
    batches = {k: (v.shape[0] if v.ndim else None) for k, v in inputs.items()}
    if None in batches.values() or len(set(batches.values())) != 1:
        return columnar, "row format needs one shared batch dimension (inputs: %s)" % (
            ", ".join(f"{k} {list(v.shape)}" for k, v in sorted(inputs.items())))
    n = next(iter(batches.values()))
    row = {"signature_name": signature, "instances": [{k: as_json[k][i] for k in as_json} for i in range(n)]}
    return columnar, row


def _from_json(values, info):
    return np.asarray(values, dtype=tf.as_dtype(info.dtype).as_numpy_dtype
                      if tf.as_dtype(info.dtype) != tf.string else object)


def check_serving_requests(model_name, signature, sigdef, declared, inputs):
    """Build REST and gRPC request bodies for one signature and map them onto its SignatureDef.

    Args:
        model_name: TF Serving model name (``model_spec.name``).
        signature: signature name.
        sigdef: the ``SignatureDef`` from ``saved_model.pb``.
        declared: ``{input: {"dtype", "shape"}}`` the exporter declared (model card), or None.
        inputs: ``{input: array}`` example inputs.

    Returns:
        A dict with ``ok``, ``problems``, the REST bodies and whether a gRPC request was built.
    """
    problems = []
    want = {k: (tf.as_dtype(v.dtype), _info_shape(v)) for k, v in sigdef.inputs.items()}
    for name, (dtype, shape) in sorted(want.items()):
        if declared is not None and name in declared:
            d = declared[name]
            if d["dtype"] != dtype.name or d["shape"] != shape:
                problems.append(f"input '{name}': SignatureDef has {dtype.name} {shape}, "
                                f"the exporter declared {d['dtype']} {d['shape']}")
        if shape and shape[0] is not None and not (len(shape) == 1 and dtype.is_integer):
            problems.append(f"input '{name}': batch dimension is fixed to {shape[0]} (expected None)")
    if declared is not None and set(declared) != set(want):
        problems.append(f"SignatureDef inputs {sorted(want)} differ from declared {sorted(declared)}")

    def check_arrays(kind, arrays):
        if set(arrays) != set(want):
            problems.append(f"{kind}: request inputs {sorted(arrays)} differ from SignatureDef {sorted(want)}")
        for name in sorted(set(arrays) & set(want)):
            dtype, shape = want[name]
            a = arrays[name]
            got = tf.string if a.dtype.kind in "SOU" else tf.as_dtype(a.dtype)
            if got != dtype:
                problems.append(f"{kind}: input '{name}' is {got.name}, SignatureDef wants {dtype.name}")
            if not tf.TensorShape(shape).is_compatible_with(a.shape):
                problems.append(f"{kind}: input '{name}' has shape {list(a.shape)}, SignatureDef wants {shape}")
            elif dtype != tf.string and not np.array_equal(a, inputs[name].astype(a.dtype), equal_nan=a.dtype.kind == "f"):
                problems.append(f"{kind}: input '{name}' does not round-trip the example values")

    columnar, row = rest_bodies(signature, inputs)
    columnar = json.loads(json.dumps(columnar))  # what the server parses
    check_arrays("REST inputs", {k: _from_json(v, sigdef.inputs[k]) if k in want else np.asarray(v)
                                 for k, v in columnar["inputs"].items()})
    if isinstance(row, dict):
        row = json.loads(json.dumps(row))
        names = row["instances"][0].keys() if row["instances"] else []
        check_arrays("REST instances", {k: _from_json([r[k] for r in row["instances"]], sigdef.inputs[k])
                                        if k in want else np.asarray([]) for k in names})
    grpc = "tensorflow_serving not installed (pip install mpkeras[serving])"
    try:
        from tensorflow_serving.apis import predict_pb2
    except ImportError:
        predict_pb2 = None
    if predict_pb2 is not None:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = signature
        for name, array in inputs.items():
            dtype = want[name][0] if name in want else None
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array, dtype=dtype))
        request = predict_pb2.PredictRequest.FromString(request.SerializeToString())  # over the wire
        for name, proto in request.inputs.items():
            if name in want and proto.dtype != sigdef.inputs[name].dtype:
                problems.append(f"gRPC: input '{name}' proto dtype {tf.as_dtype(proto.dtype).name} "
                                f"!= SignatureDef {want[name][0].name}")
        check_arrays("gRPC", {k: tf.make_ndarray(p) for k, p in request.inputs.items()})
        grpc = "built"
    return {"ok": not problems, "problems": problems, "rest_inputs": columnar,
            "rest_instances": row if isinstance(row, dict) else None,
            "rest_instances_note": None if isinstance(row, dict) else row, "grpc": grpc}


# --------------------------------------------------------------------------- bad inputs
def _bad_cases(specs, inputs):
    """``[(case, input, {name: array})]``: wrong rank / dtype per input, empty batch, NaN, inf."""
    cases = []
    for name in sorted(specs):
        spec, x = specs[name], inputs[name]
        cases.append(("wrong rank", name, {**inputs, name: x[..., None] if x.ndim else x.reshape(1)}))
        wrong = np.int32 if spec.dtype.is_floating else np.float32
        bad = np.zeros(x.shape, wrong) if x.dtype.kind in "SOU" else x.astype(wrong)
        cases.append(("wrong dtype", name, {**inputs, name: bad}))
    batched = [n for n in specs if specs[n].shape.rank and specs[n].shape[0] is None]
    if batched:
        cases.append(("empty batch", None, {**inputs, **{n: inputs[n][:0] for n in batched}}))
    for name in sorted(specs):
        if specs[name].dtype.is_floating and inputs[name].size:
            for label, value in (("NaN", np.nan), ("inf", np.inf)):
                x = inputs[name].copy()
                x.flat[0] = value
                cases.append((label, name, {**inputs, name: x}))
    return cases


def _range_cases(specs, inputs, ranges):
    """``[(case, input, {name: array}, value)]``: integers just outside each declared range, and -1.

    ``ranges`` is the model card's ``{input: [low, high]}`` for this signature
    (``None`` for an open side).  For each integer input: "below range" (low - 1),
    "negative" (-1, unless that is low - 1 or allowed) and "above range" (high + 1);
    a batched input gets the bad value in its first element only.  An integer input
    without a declared range gives a "no declared range" case with no value.
    """
    cases = []
    for name in sorted(specs):
        if not specs[name].dtype.is_integer:
            continue
        if name not in (ranges or {}):
            cases.append(("no declared range", name, None, None))
            continue
        low, high = ranges[name]
        values = []
        if low is not None:
            values.append(("below range", low - 1))
            if low - 1 != -1 and low >= 0:
                values.append(("negative", -1))
        if high is not None:
            values.append(("above range", high + 1))
        for case, value in values:
            x = np.array(inputs[name], copy=True)
            if not x.size:
                continue
            x.flat[0] = value
            cases.append((case, name, {**inputs, name: x}, value))
    return cases


def _names_problem(case, name, specs, message):
    """Whether an error message is clear: it names the bad input (or, for dtypes, both dtypes)."""
    if case == "wrong dtype":  # TF's own check: "expected to be a float tensor but is a int32 tensor"
        given = "int32" if specs[name].dtype.is_floating else "float"
        return specs[name].dtype.name.rstrip("0123456789") in message and given in message
    names = [name] if name else [n for n in specs if specs[n].shape.rank and specs[n].shape[0] is None]
    named = any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message) for n in names)
    if case == "wrong rank":
        return named and "shape" in message.lower()
    return named


def _without_preamble(message):
    """A TF error message without "Graph execution error: Detected at node N defined at ... <stack traces unavailable>".

    A reloaded SavedModel has no Python stack traces, so the preamble says nothing
    the trailing ``[[{{node N}}]]`` does not; dropping it puts the reason first.
    """
    message = re.sub(r"^Graph execution error:\s*", "", message)
    return re.sub(r"^Detected at node \S+ defined at \(most recent call last\):.*?<stack traces unavailable>\s*",
                  "", message)


def check_bad_inputs(signature, fn, specs, inputs, good_outputs, ranges=None):
    """Send ``signature`` bad inputs; returns one row per case with ``outcome`` and ``ok``.

    Wrong rank and dtype must raise an error naming the input (or its shape/dtype).
    An empty batch must raise a clear error or give outputs whose batch dimension
    is 0; NaN/inf must raise a clear error or give outputs of the normal shapes.
    An integer outside its declared range (``ranges``: ``{input: [low, high]}``) must
    raise an error naming the input; rows of these cases also hold the ``value`` sent.
    """
    rows = []
    batched_out = {k for k, v in fn.structured_outputs.items() if v.shape.rank and v.shape[0] is None}
    cases = [(*c, None) for c in _bad_cases(specs, inputs)] + _range_cases(specs, inputs, ranges)
    for case, name, bad, value in cases:
        row = {"signature": signature, "case": case, "input": name, "ok": False}
        if value is not None:
            row["value"] = value
        if bad is None:
            row["outcome"] = "the model card declares no value range for this integer input"
            rows.append(row)
            continue
        try:
            out = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in bad.items()}).items()}
        except Exception as e:  # noqa: BLE001 - the outcome we classify
            msg = " ".join(str(e).split())
            row["outcome"] = f"error: {type(e).__name__}: {_without_preamble(msg)[:300]}"
            row["ok"] = _names_problem(case, name, specs, msg)
            if not row["ok"]:
                row["outcome"] += " (message names neither the input, its shape nor its dtype)"
            rows.append(row)
            continue
        shapes = {k: list(v.shape) for k, v in out.items()}
        if case in ("wrong rank", "wrong dtype") or value is not None:
            row["outcome"] = f"accepted silently, outputs {shapes}"
        elif case == "empty batch":
            wrong = {k: s for k, s in shapes.items() if k in batched_out and s[:1] != [0]}
            row["ok"] = not wrong
            row["outcome"] = f"result with empty batch {shapes}" if not wrong else f"wrong output shapes {wrong}"
        else:
            normal = {k: list(v.shape) for k, v in good_outputs.items()}
            row["ok"] = shapes == normal
            finite = all(np.all(np.isfinite(v)) for v in out.values() if v.dtype.kind == "f")
            row["outcome"] = ("result of the normal shapes" + ("" if finite else " (non-finite values propagate)")
                              if row["ok"] else f"output shapes {shapes} differ from normal {normal}")
        rows.append(row)
    return rows


def case_label(row):
    """``"below range num_samples=0"``, ``"empty batch"``: a bad-input row's case, input and value."""
    label = row["case"] + (f" {row['input']}" if row["input"] else "")
    return label + (f"={row['value']}" if row.get("value") is not None else "")


# --------------------------------------------------------------------------- checker
def verify_one(path, atol, rtol):
    """Check one SavedModel directory; returns its report dict (``ok`` says if it passed)."""
    report = {"path": os.path.abspath(path), "ok": False, "signatures": {}, "serving_default": None,
              "model_card": None, "examples": {}, "checks": [], "errors": [],
              "serving": {}, "serving_ok": False, "bad_input": [], "bad_input_ok": False}
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

    sigdefs = _signature_defs(path)
    model_name = (card or {}).get("name") or os.path.basename(os.path.dirname(os.path.abspath(path)))
    for name, fn in signatures.items():
        specs = fn.structured_input_signature[1]
        inputs, expected = _load_examples(path, name, card)
        endpoint = (card or {}).get("serving_default", name) if name == "serving_default" else name
        ranges = ((card or {}).get("input_ranges") or {}).get(endpoint, {})
        report["examples"][name] = "stored" if inputs is not None else "generated"
        if inputs is None:
            names = list(specs)
            inputs = dict(zip(names, example_inputs([specs[n] for n in names], ranges)))
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
        declared = ((card or {}).get("signatures") or {}).get(endpoint, {}).get("inputs")
        if name in sigdefs:
            report["serving"][name] = check_serving_requests(model_name, name, sigdefs[name], declared, inputs)
        else:
            report["serving"][name] = {"ok": False, "problems": ["no SignatureDef in saved_model.pb"]}
        report["bad_input"] += check_bad_inputs(name, fn, specs, inputs, outputs, ranges)
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
    for sig, r in report["serving"].items():
        print(f"  {'ok  ' if r['ok'] else 'FAIL'} {sig}: TF Serving requests (REST inputs, REST instances: "
              f"{'built' if r.get('rest_instances') else 'n/a'}, gRPC: {r.get('grpc')})"
              + "".join(f"\n       {p}" for p in r["problems"]))
    for r in report["bad_input"]:
        print(f"  {'ok  ' if r['ok'] else 'FAIL'} {r['signature']} [{case_label(r)}]: {r['outcome'][:160]}")
    report["serving_ok"] = bool(report["serving"]) and all(r["ok"] for r in report["serving"].values())
    report["bad_input_ok"] = all(r["ok"] for r in report["bad_input"])
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
