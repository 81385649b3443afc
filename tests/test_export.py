"""Tests for mpkeras.export: versioned export, models.config, model card, verification."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.export import savedmodel
from mpkeras.export import (VerificationError, export_model, main_verify, next_version, refresh_models_config,
                            verify_savedmodel)

X_SPEC = tf.TensorSpec([None, 4], tf.float32, name="x")


class TinyClassifier(keras.Model):
    """A Dense classifier with a `predict` endpoint and a stateless `sample` endpoint."""

    def __init__(self, num_classes=3, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(num_classes)
        self.num_classes = num_classes

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

    def serving_endpoints(self):
        def predict(x):
            p = tf.nn.softmax(self(x))
            return {"probabilities": p, "class_id": tf.argmax(p, axis=-1, output_type=tf.int32)}

        def sample(num_samples, seed):
            return {"x": tf.random.stateless_uniform(tf.stack([num_samples, 4]), seed)}

        return {
            "predict": (predict, [X_SPEC]),
            "sample": (sample, [tf.TensorSpec([], tf.int32, name="num_samples"),
                                tf.TensorSpec([2], tf.int32, name="seed")]),
        }


def make_model(cls=TinyClassifier):
    keras.utils.set_random_seed(0)
    model = cls()
    model(np.zeros((1, 4), "float32"))
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two versions of the tiny model in one base dir."""
    base = str(tmp_path_factory.mktemp("exported"))
    model = make_model()
    card = {"dataset": "toy", "split": "test", "metrics": {"accuracy": np.float32(0.5)}}
    v1 = export_model(model, "tiny", base_dir=base, model_card=card)
    v2 = export_model(model, "tiny", base_dir=base, model_card=card)
    return base, v1, v2


def test_versions_increment_and_never_overwrite(exported):
    base, v1, v2 = exported
    assert (os.path.basename(v1), os.path.basename(v2)) == ("1", "2")
    assert next_version(base, "tiny") == 3 and next_version(base, "absent") == 1
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        export_model(make_model(), "tiny", base_dir=base, version=2)
    assert sorted(os.listdir(os.path.join(base, "tiny"))) == ["1", "2"]


def test_serving_default_is_first_endpoint(exported):
    loaded = tf.saved_model.load(exported[1])
    assert set(loaded.signatures) == {"predict", "sample", "serving_default"}
    default, predict = loaded.signatures["serving_default"], loaded.signatures["predict"]
    assert default.structured_input_signature == predict.structured_input_signature
    x = tf.random.stateless_uniform([5, 4], [3, 4])
    a, b = default(x=x), predict(x=x)
    assert set(a) == {"probabilities", "class_id"}
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_models_config(exported, tmp_path):
    base = exported[0]
    os.makedirs(os.path.join(base, "no_versions_yet"))
    text = open(os.path.join(base, "models.config")).read()
    assert text.startswith("model_config_list {")
    assert 'name: "tiny"' in text and 'model_platform: "tensorflow"' in text
    assert f'base_path: "{os.path.join(os.path.abspath(base), "tiny")}"' in text
    path = refresh_models_config(base, serving_root="/models/")
    text = open(path).read()
    assert text.count("config {") == 1 and 'base_path: "/models/tiny"' in text
    assert "no_versions_yet" not in text
    assert open(refresh_models_config(str(tmp_path))).read() == "model_config_list {\n}\n"


def test_model_card_and_examples(exported):
    v1 = exported[1]
    card = json.load(open(os.path.join(v1, "assets.extra", "model_card.json")))
    for key in ("name", "config", "class", "signatures", "git_commit", "versions", "created",
                "dataset", "split", "metrics", "serving_default"):
        assert key in card, key
    assert card["name"] == "tiny" and card["config"]["num_classes"] == 3
    assert card["class"].endswith("TinyClassifier") and card["serving_default"] == "predict"
    assert card["metrics"] == {"accuracy": 0.5}
    assert set(card["versions"]) >= {"tensorflow", "keras", "tensorflow_probability", "python"}
    assert card["signatures"]["predict"]["outputs"]["class_id"] == {"dtype": "int32", "shape": [None]}
    assert card["signatures"]["sample"]["inputs"]["seed"] == {"dtype": "int32", "shape": [2]}

    sample = np.load(os.path.join(v1, "assets.extra", "examples", "sample.npz"))
    assert int(sample["num_samples"]) == 3 and sample["seed"].tolist() == [1, 2]
    assert sample["output/x"].shape == (3, 4)
    predict = np.load(os.path.join(v1, "assets.extra", "examples", "predict.npz"))
    np.testing.assert_array_equal(predict["x"], np.random.default_rng(0).uniform(0, 1, (2, 4)).astype("float32"))
    assert sorted(predict.files) == ["output/class_id", "output/probabilities", "x"]


class BrokenAtRun(TinyClassifier):
    """Traces and writes fine, then fails when the exporter runs its examples."""

    def serving_endpoints(self):
        def broken(x):
            check = tf.debugging.assert_less(x, -1.0, message="deliberate failure")
            with tf.control_dependencies([check]):
                return {"y": tf.identity(x)}
        return {**super().serving_endpoints(), "broken": (broken, [X_SPEC])}


class BrokenAtTrace(TinyClassifier):
    def serving_endpoints(self):
        def broken(x):
            raise RuntimeError("deliberate failure")
        return {**super().serving_endpoints(), "broken": (broken, [X_SPEC])}


@pytest.mark.parametrize("cls", [BrokenAtRun, BrokenAtTrace])
def test_failed_export_leaves_nothing(tmp_path, cls, monkeypatch):
    base = str(tmp_path)
    export_model(make_model(), "tiny", base_dir=base)
    removed = {}  # temp dir -> what it held when the exporter removed it
    rmtree = shutil.rmtree
    monkeypatch.setattr(savedmodel.shutil, "rmtree",
                        lambda path, **kw: (removed.setdefault(path, sorted(os.listdir(path))), rmtree(path, **kw)))
    config = open(os.path.join(base, "models.config")).read()
    with pytest.raises(Exception, match="deliberate failure"):
        export_model(make_model(cls), "tiny", base_dir=base)
    with pytest.raises(Exception, match="deliberate failure"):
        export_model(make_model(cls), "other", base_dir=base)
    assert os.listdir(os.path.join(base, "tiny")) == ["1"]  # no version 2, no .tmp-* dir
    assert sorted(os.listdir(base)) == ["models.config", "tiny"]
    assert open(os.path.join(base, "models.config")).read() == config
    assert len(removed) == 2 and all(".tmp-" in p for p in removed)
    if cls is BrokenAtRun:  # it failed after the SavedModel was written: a half-written dir was removed
        assert all("saved_model.pb" in files for files in removed.values())


def test_verify_cli_on_good_export(exported, capsys):
    assert main_verify([exported[1]]) == 0
    out = capsys.readouterr().out
    assert "signature 'predict'" in out and "class_id: int32 [None]" in out
    assert "verification passed" in out


def test_verify_two_paths_in_one_subprocess(exported):
    _, v1, v2 = exported
    reports = verify_savedmodel([v1, v2])
    assert list(reports) == [v1, v2]
    for report in reports.values():
        assert report["ok"] and report["mpkeras_imported"] is False
        assert set(report["signatures"]) == {"predict", "sample", "serving_default"}
        assert report["signatures"]["predict"]["inputs"] == {"x": {"dtype": "float32", "shape": [None, 4]}}
        assert report["signatures"]["predict"]["outputs"]["probabilities"]["dtype"] == "float32"
        assert report["signatures"]["sample"]["outputs"] == {"x": {"dtype": "float32", "shape": [None, 4]}}
        assert set(report["examples"].values()) == {"stored"}
        assert {(c["signature"], c["output"]) for c in report["checks"]} >= {
            ("predict", "probabilities"), ("predict", "class_id"), ("sample", "x"),
            ("serving_default", "probabilities")}


def test_verify_detects_tampered_outputs(exported, tmp_path):
    path = str(tmp_path / "tampered")
    shutil.copytree(exported[1], path)
    npz = os.path.join(path, "assets.extra", "examples", "predict.npz")
    data = dict(np.load(npz))
    data["output/probabilities"] = data["output/probabilities"] + 0.01
    np.savez(npz, **data)
    with pytest.raises(VerificationError, match=r"predict/probabilities: .*differ") as info:
        verify_savedmodel(path)
    report = info.value.report["reports"][path]
    assert not report["ok"] and report["mpkeras_imported"] is False
    failed = {(c["signature"], c["output"]) for c in report["checks"] if not c["ok"]}
    assert failed == {("predict", "probabilities"), ("serving_default", "probabilities")}


def test_wrong_shape_and_dtype_errors_name_the_problem(exported):
    signatures = tf.saved_model.load(exported[1]).signatures
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Shape of tensor x \[2,5\] is not compatible with expected shape \[\?,4\]"):
        signatures["predict"](x=tf.zeros([2, 5]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"tensor x \[4\] .*expected shape \[\?,4\]"):
        signatures["serving_default"](x=tf.zeros([4]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"tensor seed \[3\] .*expected shape \[2\]"):
        signatures["sample"](num_samples=tf.constant(2), seed=tf.constant([1, 2, 3]))
    # Dtypes are checked by TF before the graph runs; its message gives both dtypes
    # (and the input's position, not its name).
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected to be a float tensor but is a int32"):
        signatures["predict"](x=tf.zeros([2, 4], tf.int32))
