"""ONNX export of the supervised models' ``serving_default`` signature, with tf2onnx.

``export_onnx(model_or_savedmodel_dir, "model.onnx")`` converts the signature the SavedModel
exporter writes (the same graph TF Serving runs, shape checks included), so the ONNX file
takes the same named inputs and returns the same named outputs.  The file is written under
a temporary name and renamed into place, so a reader never sees half of it.

Only the supervised models convert: classifiers, segmenters and autoencoders
(:data:`SUPERVISED`).  The generative models' endpoints use random ops, loops and TFP
distributions that ONNX serving is not meant for.

Keras 3's ``ops.argmax`` reads the sign bit of zeros (``tf.bitcast`` float32 -> int32, then
``& INT_MIN``) to break ties between -0.0 and +0.0.  ONNX has no ``Bitcast`` before opset
26, which tf2onnx does not reach, so :func:`_sign_bit_bitcast` converts exactly this use
(every consumer masks the sign bit) to comparisons; any other ``Bitcast`` is refused.

Needs the ``onnx`` extra: ``pip install -e ".[onnx]"`` (tf2onnx, onnxruntime).

Example:
    >>> from mpkeras.export.onnx import export_onnx
    >>> export_onnx(model, "exported/mlp/1.onnx")   # or export_onnx("exported/mlp/1", ...)
"""

import json
import os
import tempfile

import numpy as np

from mpkeras.atomic import atomic_write

SUPERVISED = {
    "classifier": ("mlp", "perceptron", "lenet", "alexnet", "vgg", "googlenet", "resnet18", "resnet34",
                   "rnn_classifier", "lstm_classifier"),
    "segmenter": ("fcn", "unet"),
    "autoencoder": ("autoencoder", "denoising_ae", "linear_ae", "sparse_ae", "sparse_coding", "psd"),
}
FORMAT_KINDS = {"onnx": ("classifier", "segmenter", "autoencoder"), "tflite": ("classifier",)}
OPSET = 18  # the highest opset tf2onnx 1.17 targets; BitwiseAnd needs 18
_INT32_MIN = np.iinfo(np.int32).min


class ConversionError(RuntimeError):
    """A model that cannot be converted to ONNX or TFLite; the message names the model and the reason."""


def kind_of(name):
    """``"classifier"``, ``"segmenter"``, ``"autoencoder"`` or None for a registered model name.

    Raises ``UnknownModelError`` (with close matches) for a name that is not registered.
    """
    from mpkeras.registry import get_entry

    get_entry(name)
    return next((kind for kind, names in SUPERVISED.items() if name in names), None)


def check_convertible(name, fmt):
    """Raises ``ConversionError`` unless registered model ``name`` may be exported as ``fmt``."""
    if fmt not in FORMAT_KINDS:
        raise ValueError(f"Unknown export format {fmt!r}; use one of savedmodel, {', '.join(FORMAT_KINDS)}.")
    kind = kind_of(name)
    if kind not in FORMAT_KINDS[fmt]:
        allowed = sorted(n for k in FORMAT_KINDS[fmt] for n in SUPERVISED[k])
        raise ConversionError(
            f"Model {name!r} ({kind or 'not a supervised model'}) has no {fmt} export: {fmt} covers the "
            f"{' / '.join(k + 's' for k in FORMAT_KINDS[fmt])} ({', '.join(allowed)}). "
            "Export it as a SavedModel (--format savedmodel) instead.")
    return kind


def registered_name(source):
    """The registry name of a model, or of the model in a SavedModel directory (from its model card)."""
    from mpkeras.registry import get_entry, list_models

    if not isinstance(source, (str, os.PathLike)):
        name = getattr(type(source), "registry_name", None)
        if name is None or get_entry(name).cls is not type(source):
            raise ConversionError(f"{type(source).__name__} is not a registered mpkeras model.")
        return name
    card_path = os.path.join(source, "assets.extra", "model_card.json")
    if not os.path.exists(card_path):
        raise ConversionError(f"{source} has no assets.extra/model_card.json: it was not written by "
                              "mpkeras.export.export_model, so its model is unknown.")
    with open(card_path) as f:
        cls = json.load(f).get("class")
    for name in list_models():
        c = get_entry(name).cls
        if f"{c.__module__}.{c.__qualname__}" == cls:
            return name
    raise ConversionError(f"{source}: model class {cls!r} is not a registered mpkeras model.")


def with_savedmodel(source, fmt, convert):
    """Calls ``convert(savedmodel_dir, name)`` on ``source``'s SavedModel after checking ``fmt``.

    A Keras model is first exported to a temporary SavedModel with :func:`export_model`,
    so both formats always start from the served signature.
    """
    from mpkeras.export.savedmodel import export_model

    name = registered_name(source)
    check_convertible(name, fmt)
    if isinstance(source, (str, os.PathLike)):
        return convert(os.fspath(source), name)
    with tempfile.TemporaryDirectory(prefix=f"mpkeras-{fmt}-") as tmp:
        return convert(export_model(source, name, base_dir=tmp), name)


def export_onnx(source, path, *, opset=OPSET):
    """Convert ``serving_default`` of a supervised model (or SavedModel directory) to ONNX at ``path``.

    Args:
        source: a built mpkeras ``keras.Model``, or a version directory written by ``export_model``.
        path: the ``.onnx`` file to write (atomically).
        opset: ONNX opset (18 at most with tf2onnx 1.17).

    Returns:
        ``path``.

    Raises:
        ConversionError: the model is not supervised, or tf2onnx cannot convert its graph (the
            message names the model and the op or check that failed).
    """
    try:
        import onnx
        from tf2onnx import convert, tf_loader
    except ImportError as e:
        raise ImportError(f"ONNX export needs the onnx extra: pip install -e \".[onnx]\" ({e}).") from None

    def run(savedmodel, name):
        try:
            graph_def, inputs, outputs, _, renames = tf_loader.from_saved_model(
                savedmodel, None, None, signatures=["serving_default"],
                return_initialized_tables=True, return_tensors_to_rename=True)
            proto, _ = convert.from_graph_def(
                graph_def, name=name, input_names=inputs, output_names=outputs, opset=opset,
                tensors_to_rename=renames, custom_op_handlers={"Bitcast": (_sign_bit_bitcast, [])})
            onnx.checker.check_model(proto, full_check=True)
        except Exception as e:  # tf2onnx and the checker raise many types; keep their message
            raise ConversionError(f"Model {name!r} cannot be converted to ONNX: "
                                  f"{type(e).__name__}: {_first_line(e)}") from e
        return atomic_write(path, lambda f: f.write(proto.SerializeToString()))

    return with_savedmodel(source, "onnx", run)


def _first_line(e):
    lines = [line for line in str(e).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def _sign_bit_bitcast(ctx, node, name, args):
    """tf2onnx handler: ``Bitcast`` float -> int32 whose consumers only keep the sign bit.

    Replaces it by ``where(x < 0 or (x == 0 and 1 / x < 0), INT_MIN, 0)``, which equals the
    bitcast wherever ``bitcast & INT_MIN`` is taken (the sign bit of -0.0 shows as 1/x = -inf).
    """
    from onnx import TensorProto

    x = node.input[0]
    out = node.output[0]
    consumers = ctx.find_output_consumers(out)
    sign_only = ctx.get_dtype(out) == TensorProto.INT32 and ctx.get_dtype(x) == TensorProto.FLOAT and all(
        c.type == "BitwiseAnd" and any(
            ctx.get_node_by_output(i) is not None and ctx.get_node_by_output(i).is_const()
            and np.all(ctx.get_node_by_output(i).get_tensor_value(as_list=False) == _INT32_MIN)
            for i in c.input if i != out)
        for c in consumers)
    if not sign_only:
        raise NotImplementedError(f"Bitcast {node.name} is not a float32 sign-bit test; ONNX opset "
                                  f"{ctx.opset} has no Bitcast")
    zero = ctx.make_const(f"{node.name}__zero", np.array(0.0, np.float32)).output[0]
    one = ctx.make_const(f"{node.name}__one", np.array(1.0, np.float32)).output[0]
    negative = ctx.make_node("Less", [x, zero]).output[0]
    is_zero = ctx.make_node("Equal", [x, zero]).output[0]
    minus_zero = ctx.make_node("And", [is_zero, ctx.make_node(
        "Less", [ctx.make_node("Div", [one, x]).output[0], zero]).output[0]]).output[0]
    sign = ctx.make_node("Or", [negative, minus_zero]).output[0]
    int_min = ctx.make_const(f"{node.name}__int_min", np.array(_INT32_MIN, np.int32)).output[0]
    int_zero = ctx.make_const(f"{node.name}__int_zero", np.array(0, np.int32)).output[0]
    shape, dtype = ctx.get_shape(out), ctx.get_dtype(out)
    ctx.remove_node(node.name)
    ctx.make_node("Where", [sign, int_min, int_zero], outputs=[out], name=node.name,
                  shapes=[shape], dtypes=[dtype])
