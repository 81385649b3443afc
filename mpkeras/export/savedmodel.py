"""Versioned SavedModel export in TF Serving's layout.

``export_model(model, "vae")`` writes ``exported/vae/<version>/``:

* a SavedModel built with ``keras.export.ExportArchive`` holding every endpoint of
  ``model.serving_endpoints()``; the first one is also ``serving_default``;
* ``assets.extra/examples/<endpoint>.npz``: example inputs (keys = input names) and
  the outputs the model gave in process (keys ``output/<name>``), which
  :func:`mpkeras.export.verify_savedmodel` replays after reloading;
* ``assets.extra/model_card.json``: name, config, class, signatures, the value range
  of every integer input (``input_ranges``), git commit, library versions, creation
  time and whatever the caller adds.

The version directory is written under a temporary name and renamed only when it
is complete, so TF Serving never sees half a model.  Then ``exported/models.config``
is refreshed.

Every input of an exported endpoint goes through ``tf.ensure_shape``: without it a
wrong shape passed as a ``tf.Tensor`` to a reloaded signature fails deep inside
the graph ("Matrix size-incompatible: In[0]: [2,5], In[1]: [4,3]"); with it the
error reads "Shape of tensor x [2,5] is not compatible with expected shape [?,4]".
An input whose first dimension is ``None`` (a batch) must also be non-empty: an empty
batch otherwise fails deep inside convolutions or batch norm with unrelated messages.
An integer input must lie in its declared range (:mod:`mpkeras.export.ranges`: counts
>= 1 by default, class ids as the model declares): ``num_samples=0`` is refused with
"num_samples must be >= 1, got 0" instead of returning NaN.
"""

import datetime
import importlib.metadata
import json
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import tensorflow as tf

from mpkeras.export._standalone_verify import EXAMPLES_DIR, MODEL_CARD, OUTPUT_PREFIX
from mpkeras.export._standalone_verify import describe, example_inputs, to_numpy
from mpkeras.export.ranges import check_range, describe_range, input_ranges

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_RESERVED_CARD_KEYS = ("name", "config", "class", "signatures", "input_ranges", "serving_default",
                       "git_commit", "versions", "created")


def next_version(base_dir, name):
    """1 + the largest integer-named directory in ``base_dir/name`` (1 if there is none)."""
    model_dir = os.path.join(base_dir, name)
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(d) for d in os.listdir(model_dir)
                if d.isdigit() and os.path.isdir(os.path.join(model_dir, d))]
    return max(versions, default=0) + 1


def _has_version(model_dir):
    return os.path.isdir(model_dir) and any(
        d.isdigit() and os.path.isfile(os.path.join(model_dir, d, "saved_model.pb"))
        for d in os.listdir(model_dir))


def refresh_models_config(base_dir, serving_root=None):
    """(Re)write ``base_dir/models.config`` listing every model with a complete version.

    Args:
        base_dir: the TF Serving model base directory (``exported``).
        serving_root: where ``base_dir`` is mounted for TF Serving (e.g. ``/models``
            in a container); defaults to the absolute ``base_dir``.

    Returns:
        The path of ``models.config``.  It is replaced atomically.
    """
    os.makedirs(base_dir, exist_ok=True)
    root = serving_root.rstrip("/") if serving_root else os.path.abspath(base_dir)
    names = sorted(d for d in os.listdir(base_dir)
                   if _NAME.match(d) and _has_version(os.path.join(base_dir, d)))
    lines = ["model_config_list {"]
    for name in names:
        base_path = f"{root}/{name}" if serving_root else os.path.join(root, name)
        lines += ["  config {", f'    name: "{name}"', f'    base_path: "{base_path}"',
                  '    model_platform: "tensorflow"', "  }"]
    lines.append("}")
    path = os.path.join(base_dir, "models.config")
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def export_model(model, name, *, base_dir="exported", version=None, model_card=None,
                 serving_root=None, keep=None):
    """Export ``model``'s serving endpoints to ``base_dir/name/<version>`` atomically.

    Args:
        model: a built ``keras.Model`` with ``serving_endpoints()`` (and optionally
            ``serving_examples()``).
        name: the model's serving name (``"vae"``).
        base_dir: TF Serving model base directory.
        version: integer version; defaults to :func:`next_version`.  An existing
            version is never overwritten.
        model_card: extra keys for ``model_card.json`` (``dataset``, ``metrics``, ...).
        serving_root: passed to :func:`refresh_models_config`.
        keep: if given, keep only the newest ``keep`` complete versions once the new one
            is in place (see :func:`prune_versions`); the new version is never deleted.

    Returns:
        The absolute path of the new version directory.

    Example:
        >>> path = export_model(model, "vae", model_card={"dataset": "mnist5k"})
        >>> verify_savedmodel(path)["ok"]
        True
    """
    if not _NAME.match(name):
        raise ValueError(f"Invalid model name {name!r}: use letters, digits, '_', '.', '-'.")
    clash = sorted(set(model_card or {}) & set(_RESERVED_CARD_KEYS))
    if clash:
        raise ValueError(f"model_card keys {clash} are written by the exporter itself.")
    if keep is not None and int(keep) < 1:
        raise ValueError(f"keep must be at least 1 (the new version is always kept), got {keep}")
    model_dir = os.path.join(base_dir, name)
    created_dir = not os.path.isdir(model_dir)
    os.makedirs(model_dir, exist_ok=True)
    version = next_version(base_dir, name) if version is None else int(version)
    if version < 0:
        raise ValueError(f"version must be a non-negative integer, got {version}")
    final = os.path.join(model_dir, str(version))
    tmp = os.path.join(model_dir, f".tmp-{version}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        _refuse_existing(final)
        os.mkdir(tmp)
        _write_version(model, name, tmp, model_card or {})
        _refuse_existing(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_dir:
            try:
                os.rmdir(model_dir)  # only if still empty
            except OSError:
                pass
        raise
    if keep is not None:
        prune_versions(model_dir, keep, protect=version)
    refresh_models_config(base_dir, serving_root=serving_root)
    return os.path.abspath(final)


def complete_versions(model_dir):
    """Sorted integer versions in ``model_dir`` that hold a ``saved_model.pb`` (half-written ones never do)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(d) for d in os.listdir(model_dir)
                  if d.isdigit() and os.path.isfile(os.path.join(model_dir, d, "saved_model.pb")))


def prune_versions(model_dir, keep, protect=None):
    """Delete the oldest complete versions of ``model_dir`` beyond the newest ``keep``.

    Each version is first renamed to a hidden ``.del-*`` name (one atomic step, so TF
    Serving sees it vanish whole) and only then removed; if removal fails, what is
    left is a hidden directory, never a half version.  ``protect`` (the version just
    written) is never deleted; temporary ``.tmp-*`` directories are never touched.

    Returns:
        The versions deleted.
    """
    versions = complete_versions(model_dir)
    doomed = [v for v in versions[:max(len(versions) - int(keep), 0)] if v != protect]
    deleted = []
    for v in doomed:
        trash = os.path.join(model_dir, f".del-{v}-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.rename(os.path.join(model_dir, str(v)), trash)
        except OSError as e:
            warnings.warn(f"could not remove old version {v} of {model_dir}: {e}", stacklevel=2)
            continue
        deleted.append(v)
        shutil.rmtree(trash, ignore_errors=True)
        for ext in (".onnx", ".tflite"):  # conversions written next to the version (exported/NAME/<v>.onnx)
            if os.path.isfile(os.path.join(model_dir, f"{v}{ext}")):
                os.remove(os.path.join(model_dir, f"{v}{ext}"))
    return deleted


def _refuse_existing(final):
    if os.path.exists(final):
        raise FileExistsError(f"{final} already exists; refusing to overwrite an exported version "
                              "(pass another version=, or omit it to use the next one).")


def _checked_specs(endpoint, specs):
    specs = list(specs)
    for i, spec in enumerate(specs):
        if not isinstance(spec, tf.TensorSpec) or not spec.name:
            raise ValueError(f"Endpoint '{endpoint}': input {i} must be a named tf.TensorSpec, got {spec!r}.")
    return specs


def _with_shape_checks(fn, specs, ranges=None):
    """Wrap ``fn`` so every input passes through ``tf.ensure_shape`` first.

    ``EnsureShape`` is a data dependency of everything downstream, so it always
    fails first, naming the input (placeholders carry the spec names), the
    expected shape and the given one.  (A ``tf.debugging.Assert`` with control
    dependencies is not enough: grappler folds ``tf.rank`` to the static rank and
    the model's own op can fail first.)  Batches must be non-empty, and inputs
    named in ``ranges`` (``{input: (low, high)}``) must lie in their range; the
    model sees each input only through an identity that depends on its checks.
    """
    ranges = ranges or {}

    def endpoint(*args):
        checked = []
        for a, s in zip(args, specs):
            a = tf.ensure_shape(a, s.shape)
            if s.shape.rank and s.shape[0] is None:  # a batch: refuse an empty one by name
                nonempty = tf.debugging.assert_positive(
                    tf.shape(a)[0], message=f"input {s.name} has an empty batch (batch dimension 0); "
                                            "send at least one example")
                with tf.control_dependencies([nonempty]):
                    a = tf.identity(a)
            if s.name in ranges:
                a = check_range(a, s.name, *ranges[s.name])
            checked.append(a)
        return fn(*checked)
    return endpoint


def _float32_outputs(fn):
    """Wrap ``fn`` so float16 outputs (a model trained under ``mixed_float16``) are served as float32."""
    def endpoint(*args):
        outputs = fn(*args)
        if not isinstance(outputs, dict):
            return outputs  # refused with a clear message when the endpoint is traced
        return {k: tf.cast(v, tf.float32) if getattr(v, "dtype", None) == tf.float16 else v
                for k, v in outputs.items()}
    return endpoint


def serving_function(fn, specs, ranges=None):
    """The function an endpoint exports: ``fn`` behind the input checks (shapes, ranges), with float32 outputs.

    Inputs are declared float32 whatever the training policy was; layers cast them to
    their compute dtype themselves, and the outputs are cast back here.
    """
    return _float32_outputs(_with_shape_checks(fn, specs, ranges))


def _example_arrays(model, endpoints, ranges):
    """Example inputs per endpoint: ``model.serving_examples()`` or generated ones, inside ``ranges``."""
    given = dict(model.serving_examples()) if hasattr(model, "serving_examples") else {}
    unknown = sorted(set(given) - set(endpoints))
    if unknown:
        raise ValueError(f"serving_examples() names unknown endpoints {unknown}.")
    examples = {}
    for endpoint, specs in endpoints.items():
        if endpoint not in given:
            examples[endpoint] = example_inputs(specs, ranges.get(endpoint))
            continue
        arrays = list(given[endpoint])
        if len(arrays) != len(specs):
            raise ValueError(f"serving_examples()['{endpoint}'] has {len(arrays)} arrays, "
                             f"the signature has {len(specs)} inputs.")
        examples[endpoint] = []
        for spec, array in zip(specs, arrays):
            array = np.asarray(array).astype(spec.dtype.as_numpy_dtype)
            if not spec.shape.is_compatible_with(array.shape):
                raise ValueError(f"serving_examples()['{endpoint}'] input '{spec.name}' has shape "
                                 f"{list(array.shape)}, the signature expects {spec.shape.as_list()}.")
            low, high = ranges.get(endpoint, {}).get(spec.name, (None, None))
            if array.size and ((low is not None and array.min() < low) or (high is not None and array.max() > high)):
                raise ValueError(f"serving_examples()['{endpoint}'] input '{spec.name}' must be "
                                 f"{describe_range(low, high)}, got {array.tolist()}.")
            examples[endpoint].append(array)
    return examples


def _write_version(model, name, path, extra_card):
    """Write the SavedModel, examples and model card of one version into ``path``."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    endpoints = model.serving_endpoints()
    if not endpoints:
        raise ValueError(f"{type(model).__name__}.serving_endpoints() returned no endpoints.")
    specs = {endpoint: _checked_specs(endpoint, signature) for endpoint, (_, signature) in endpoints.items()}
    ranges = input_ranges(model, specs)
    functions = {}
    for endpoint, (fn, _) in endpoints.items():
        functions[endpoint] = archive.add_endpoint(
            endpoint, serving_function(fn, specs[endpoint], ranges.get(endpoint)), specs[endpoint])

    signatures = {}
    for endpoint, function in functions.items():  # trace first: fail before writing
        outputs = function.get_concrete_function().structured_outputs
        if not isinstance(outputs, dict) or not all(
                isinstance(k, str) and isinstance(v, tf.Tensor) for k, v in outputs.items()):
            raise TypeError(f"Endpoint '{endpoint}' must return a dict of named tensors, "
                            f"got {outputs!r}.")
        signatures[endpoint] = {"inputs": describe({s.name: s for s in specs[endpoint]}),
                                "outputs": describe(outputs)}
    archive.write_out(path, verbose=False)

    examples_dir = os.path.join(path, EXAMPLES_DIR)
    os.makedirs(examples_dir)
    for endpoint, inputs in _example_arrays(model, specs, ranges).items():
        outputs = functions[endpoint](*inputs)
        arrays = {s.name: (x.astype(bytes) if x.dtype == object else x)
                  for s, x in zip(specs[endpoint], inputs)}
        arrays.update({OUTPUT_PREFIX + k: to_numpy(v) for k, v in outputs.items()})
        np.savez(os.path.join(examples_dir, f"{endpoint}.npz"), **arrays)

    card = {
        "name": name,
        "config": _json_safe(_config(model)),
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "signatures": signatures,
        "input_ranges": {endpoint: {spec_name: list(bounds) for spec_name, bounds in inputs.items()}
                         for endpoint, inputs in ranges.items()},
        "serving_default": "serving_default" if "serving_default" in functions else next(iter(functions)),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    card.update(_json_safe(extra_card))
    with open(os.path.join(path, MODEL_CARD), "w") as f:
        json.dump(card, f, indent=2, allow_nan=False)


def _config(model):
    try:
        return model.get_config()
    except NotImplementedError:
        return None


def _json_safe(obj):
    """``obj`` with NumPy/TF values and tuples turned into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.generic, np.ndarray)):
        return _json_safe(obj.tolist())
    if isinstance(obj, tf.DType):
        return obj.name
    if isinstance(obj, tf.TensorShape):
        return None if obj.rank is None else obj.as_list()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def _git_commit():
    """``git rev-parse HEAD`` of the repository holding the working directory, or None."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=os.getcwd(), capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _versions():
    versions = {"python": platform.python_version(), "tensorflow": tf.__version__,
                "keras": keras.__version__, "tensorflow_probability": None}
    if "tensorflow_probability" in sys.modules:
        versions["tensorflow_probability"] = sys.modules["tensorflow_probability"].__version__
    else:  # importing TFP costs seconds; the installed distribution's version is enough
        try:
            versions["tensorflow_probability"] = importlib.metadata.version("tensorflow-probability")
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions
