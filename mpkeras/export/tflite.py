"""TFLite export of the classifiers' ``serving_default`` signature, with ``tf.lite.TFLiteConverter``.

The converter reads the signature from the SavedModel the exporter writes (a Keras model is
exported to a temporary SavedModel first), so the ``.tflite`` file keeps its named inputs and
outputs: ``tf.lite.Interpreter(path).get_signature_runner()(x=...)`` returns
``{"probabilities": ..., "class_id": ...}``.  Float32 weights, no quantization; written
atomically.

Example:
    >>> from mpkeras.export.tflite import export_tflite
    >>> export_tflite(model, "exported/lenet/1.tflite")   # or export_tflite("exported/lenet/1", ...)
"""

import contextlib
import os
import re
import tempfile
import warnings

import keras
import tensorflow as tf

from mpkeras.atomic import atomic_write
from mpkeras.export.onnx import ConversionError, _first_line, check_convertible, registered_name, with_savedmodel


def select_tf_ops(error):
    """The TF ops a failed conversion asks to run through TF Select (Flex), from its message."""
    found = re.search(r"TF Select ops: ([\w, ]+)", str(error))
    return sorted({op.strip() for op in found.group(1).split(",")} - {""}) if found else []


def export_tflite(source, path, *, batch_size=None, allow_select_tf_ops=True):
    """Convert ``serving_default`` of a classifier (or its SavedModel directory) to TFLite at ``path``.

    Keras 3's ``ops.argmax`` masks the float sign bit with ``BitwiseAnd``, which has no TFLite
    builtin: a Keras model is traced with :func:`_sign_bit_by_comparison`, so its file needs
    builtins only.  Otherwise (a SavedModel directory, or other ops) builtins are tried first
    and, with ``allow_select_tf_ops``, the conversion is retried with TF Select: the file then
    needs the Flex delegate (which ``tf.lite.Interpreter`` of the ``tensorflow`` pip package
    does not apply by itself), and a warning names the ops.

    Args:
        source: a built mpkeras classifier, or a version directory written by ``export_model``.
        path: the ``.tflite`` file to write (atomically).
        batch_size: fix the batch dimension (Keras model only).  The RNN classifiers need it:
            TFLite lowers Keras' RNN loop (``TensorListReserve``) only for a static batch.
        allow_select_tf_ops: retry with TF Select ops when builtins are not enough.

    Returns:
        ``path``.

    Raises:
        ConversionError: the model is not a classifier, or the converter fails (the message
            names the model and the converter's reason).
    """
    def convert(savedmodel, supported_ops):
        converter = tf.lite.TFLiteConverter.from_saved_model(savedmodel, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = supported_ops
        return converter.convert()

    def run(savedmodel, name):
        builtins = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            try:
                flatbuffer = convert(savedmodel, builtins)
            except Exception as e:
                ops = select_tf_ops(e)
                if not (allow_select_tf_ops and ops):
                    raise
                flatbuffer = convert(savedmodel, builtins + [tf.lite.OpsSet.SELECT_TF_OPS])
                warnings.warn(f"TFLite model {name!r} uses TF Select (Flex) ops {ops}: its runtime needs the "
                              "Flex delegate.", stacklevel=3)
        except Exception as e:  # the converter raises ConverterError and others; keep their message
            hint = (" (Keras' RNN loop needs a static batch: pass batch_size=1, "
                    "`mpkeras export ... --format tflite --batch-size 1`)") if "TensorListReserve" in str(e) else ""
            raise ConversionError(f"Model {name!r} cannot be converted to TFLite{hint}: "
                                  f"{type(e).__name__}: {_first_line(e)}") from e
        return atomic_write(path, lambda f: f.write(flatbuffer))

    with _sign_bit_by_comparison():
        if batch_size is None:
            return with_savedmodel(source, "tflite", run)
        if isinstance(source, (str, os.PathLike)):
            raise ValueError("batch_size needs a Keras model: a SavedModel's signature is traced already.")
        name = registered_name(source)
        check_convertible(name, "tflite")
        with tempfile.TemporaryDirectory(prefix="mpkeras-tflite-") as tmp:
            _static_batch_savedmodel(source, tmp, int(batch_size))
            return run(tmp, name)


def _static_batch_savedmodel(model, path, batch_size):
    """A SavedModel of ``model``'s first endpoint as ``serving_default``, with batch ``batch_size``."""
    fn, specs = next(iter(model.serving_endpoints().values()))
    static = [tf.TensorSpec((batch_size, *s.shape[1:]), s.dtype, name=s.name) for s in specs]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", fn, static)
    archive.write_out(path, verbose=False)


@contextlib.contextmanager
def _sign_bit_by_comparison():
    """While tracing, Keras' TF ``signbit`` compares instead of bitcasting (TFLite has no ``BitwiseAnd``).

    ``ops.argmax`` uses ``signbit`` only on zeros (to rank -0.0 below +0.0), where
    ``x < 0 or (x == 0 and 1 / x < 0)`` is exact; it differs from the bit only for the sign of NaN.
    This patches a private Keras module, so it does nothing if that module changes; a model
    given as a SavedModel directory was traced already and keeps its ``BitwiseAnd``.
    """
    try:
        from keras.src.backend.tensorflow import numpy as tf_numpy
        original = tf_numpy.signbit
    except (ImportError, AttributeError):
        yield
        return

    def signbit(x):
        x = tf.convert_to_tensor(x)
        if not x.dtype.is_floating:
            return original(x)
        zero = tf.zeros((), x.dtype)
        return tf.logical_or(x < zero, tf.logical_and(tf.equal(x, zero), tf.math.reciprocal(x) < zero))

    tf_numpy.signbit = signbit
    try:
        yield
    finally:
        tf_numpy.signbit = original
