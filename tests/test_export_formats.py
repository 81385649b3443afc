"""ONNX (tf2onnx + onnxruntime) and TFLite exports of the supervised models (issue 10)."""

import os

import numpy as np
import pytest

pytest.importorskip("tf2onnx", reason="needs the onnx extra: pip install -e '.[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="needs the onnx extra: pip install -e '.[onnx]'")

import tensorflow as tf  # noqa: E402

from mpkeras.cli import main  # noqa: E402
from mpkeras.export.onnx import ConversionError, check_convertible, export_onnx  # noqa: E402
from mpkeras.registry import UnknownModelError  # noqa: E402
from mpkeras.testing.conformance import build  # noqa: E402

# float32 graphs run by two runtimes: kernels differ (fused convs, softmax), not the maths
ATOL, RTOL = 1e-5, 1e-4


def _tensorflow_outputs(model, x):
    """The in-process outputs of serving_default (the first endpoint) and its input name."""
    model(x)  # builds the model: export needs built layers
    fn, specs = next(iter(model.serving_endpoints().values()))
    return {k: np.asarray(v) for k, v in fn(tf.constant(x)).items()}, specs[0].name


def _assert_close(got, want):
    assert set(got) == set(want)
    for k in want:
        assert got[k].shape == want[k].shape and got[k].dtype == want[k].dtype, k
        if np.issubdtype(want[k].dtype, np.integer):
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
        else:
            np.testing.assert_allclose(got[k], want[k], atol=ATOL, rtol=RTOL, err_msg=k)


def _run_onnx(path, feeds):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


@pytest.mark.parametrize("name", ["fcn", "autoencoder"])
def test_onnx_matches_tensorflow(name, tmp_path):
    model, fx = build(name)
    x = fx.x.astype(np.float32)
    want, input_name = _tensorflow_outputs(model, x)
    path = export_onnx(model, str(tmp_path / f"{name}.onnx"))
    assert os.listdir(tmp_path) == [f"{name}.onnx"]  # no temporary file left behind
    _assert_close(_run_onnx(path, {input_name: x}), want)


def test_cli_exports_a_classifier_as_onnx_and_tflite_next_to_its_savedmodel(tmp_path):
    model, fx = build("lenet")
    x = fx.x.astype(np.float32)
    want, input_name = _tensorflow_outputs(model, x)
    keras_file = str(tmp_path / "lenet.keras")
    model.save(keras_file)
    base = str(tmp_path / "exported")
    args = ["export", "lenet", "--model", keras_file, "--base-dir", base]
    assert main(args + ["--format", "onnx"]) == 0
    assert main(args + ["--format", "tflite"]) == 0
    assert sorted(os.listdir(os.path.join(base, "lenet"))) == ["1", "1.onnx", "2", "2.tflite"]

    _assert_close(_run_onnx(os.path.join(base, "lenet", "1.onnx"), {input_name: x}), want)
    runner = tf.lite.Interpreter(os.path.join(base, "lenet", "2.tflite")).get_signature_runner("serving_default")
    _assert_close({k: np.asarray(v) for k, v in runner(**{input_name: x}).items()}, want)


def test_rnn_classifier_converts_to_tflite_with_a_static_batch(tmp_path):
    from mpkeras.export.tflite import export_tflite

    model, fx = build("rnn_classifier")
    x = fx.x[:1].astype(np.float32)
    want, input_name = _tensorflow_outputs(model, x)
    with pytest.raises(ConversionError, match="'rnn_classifier' .*static batch: pass batch_size=1"):
        export_tflite(model, str(tmp_path / "dynamic.tflite"))
    path = export_tflite(model, str(tmp_path / "static.tflite"), batch_size=1)
    assert sorted(os.listdir(tmp_path)) == ["static.tflite"]
    runner = tf.lite.Interpreter(path).get_signature_runner("serving_default")
    _assert_close({k: np.asarray(v) for k, v in runner(**{input_name: x}).items()}, want)


def test_unknown_and_unsupported_models_get_clear_errors(tmp_path, capsys):
    with pytest.raises(UnknownModelError, match="Did you mean lenet"):
        check_convertible("lenett", "onnx")
    with pytest.raises(ConversionError, match="'vae' .*no onnx export.*--format savedmodel"):
        check_convertible("vae", "onnx")
    with pytest.raises(ConversionError, match="'fcn' \\(segmenter\\) has no tflite export"):
        check_convertible("fcn", "tflite")
    with pytest.raises(ValueError, match="Unknown export format 'tfjs'"):
        check_convertible("lenet", "tfjs")

    model, fx = build("made")  # the CLI refuses before it writes a SavedModel
    model(fx.x)
    keras_file = str(tmp_path / "made.keras")
    model.save(keras_file)
    base = tmp_path / "exported"
    assert main(["export", "made", "--model", keras_file, "--base-dir", str(base), "--format", "onnx"]) == 2
    assert "'made' (not a supervised model) has no onnx export" in capsys.readouterr().err
    assert not base.exists()


def test_sign_bit_bitcast_is_exact_and_other_bitcasts_are_refused():
    """Keras' argmax tests the sign bit of zeros with a Bitcast; ONNX opset 18 has none."""
    import onnx
    from tf2onnx import convert

    from mpkeras.export.onnx import OPSET, _sign_bit_bitcast

    spec = [tf.TensorSpec((None,), tf.float32, name="x")]
    handlers = {"Bitcast": (_sign_bit_bitcast, [])}

    @tf.function(input_signature=spec)
    def sign_bit(x):
        return {"s": tf.bitwise.bitwise_and(tf.bitcast(x, tf.int32), tf.int32.min)}

    proto, _ = convert.from_function(sign_bit, input_signature=spec, opset=OPSET, custom_op_handlers=handlers)
    x = np.array([0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, 1e-45, -1e-45], np.float32)
    got = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, sign_bit(x)["s"].numpy())

    @tf.function(input_signature=spec)
    def raw_bits(x):
        return {"b": tf.bitcast(x, tf.int32)}

    # tf2onnx logs the handler's refusal and keeps the op; export_onnx's checker then rejects the model
    proto, _ = convert.from_function(raw_bits, input_signature=spec, opset=OPSET, custom_op_handlers=handlers)
    with pytest.raises(onnx.checker.ValidationError, match="No Op registered for Bitcast"):
        onnx.checker.check_model(proto, full_check=True)
