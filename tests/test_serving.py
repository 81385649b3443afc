"""TF Serving readiness: request bodies, bad inputs, integer ranges, `--keep` versioning and `mpkeras verify --all`.

The per-model checks (every signature of every registered model) run in
tests/test_conformance.py::test_savedmodels_reload_without_mpkeras, in the one
verifier subprocess; here they are tested on a tiny model.
"""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli
from mpkeras.export import _standalone_verify as sv
from mpkeras.export import export_model, savedmodel, verify_savedmodel
from mpkeras.export.ranges import input_ranges
from mpkeras.export.verify import main_verify, newest_versions


@keras.saving.register_keras_serializable(package="mpkeras_test_serving")
class Tiny(keras.Model):
    """Dense scores with a batched `predict` and a `sample(num_samples, seed)` endpoint."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def serving_endpoints(self):
        def predict(x):
            return {"scores": self(x), "label": tf.argmax(self(x), axis=-1, output_type=tf.int32)}

        def sample(num_samples, seed):
            return {"x": tf.random.stateless_uniform(tf.stack([num_samples, 4]), seed, alg="philox")}

        return {"predict": (predict, [tf.TensorSpec([None, 4], tf.float32, name="x")]),
                "sample": (sample, [tf.TensorSpec([], tf.int32, name="num_samples"),
                                    tf.TensorSpec([2], tf.int32, name="seed")])}


def tiny():
    keras.utils.set_random_seed(0)
    model = Tiny()
    model(np.zeros((1, 4), "float32"))
    return model


def versions(base, name):
    return sorted(os.listdir(os.path.join(base, name)))


# --------------------------------------------------------------------------- --keep
def test_keep_deletes_only_the_oldest_complete_versions(tmp_path):
    base, model = str(tmp_path), tiny()
    for _ in range(3):
        export_model(model, "tiny", base_dir=base)
    half = os.path.join(base, "tiny", ".tmp-9-123-abcd")  # another exporter's half-written version
    os.mkdir(half)
    open(os.path.join(base, "tiny", "2.onnx"), "w").close()  # a conversion of version 2
    path = export_model(model, "tiny", base_dir=base, keep=2)
    assert path.endswith(os.path.join("tiny", "4"))
    assert versions(base, "tiny") == [".tmp-9-123-abcd", "3", "4"]
    # The new version is never deleted, even if it is not the largest number.
    export_model(model, "tiny", base_dir=base, version=1, keep=1)
    assert versions(base, "tiny") == [".tmp-9-123-abcd", "1", "4"]
    assert export_model(model, "tiny", base_dir=base, keep=1).endswith("5")  # N+1 after pruning
    assert versions(base, "tiny") == [".tmp-9-123-abcd", "5"]
    with pytest.raises(ValueError, match="keep must be at least 1"):
        export_model(model, "tiny", base_dir=base, keep=0)
    assert versions(base, "tiny") == [".tmp-9-123-abcd", "5"]


def test_a_failure_while_deleting_leaves_complete_versions(tmp_path, monkeypatch):
    base, model = str(tmp_path), tiny()
    for _ in range(2):
        export_model(model, "tiny", base_dir=base)
    rename = os.rename
    monkeypatch.setattr(savedmodel.os, "rename",
                        lambda a, b: (_ for _ in ()).throw(PermissionError("read-only")) if ".del-" in b
                        else rename(a, b))
    with pytest.warns(UserWarning, match="could not remove old version"):
        export_model(model, "tiny", base_dir=base, keep=1)
    assert savedmodel.complete_versions(os.path.join(base, "tiny")) == [1, 2, 3]
    monkeypatch.setattr(savedmodel.os, "rename", rename)
    monkeypatch.setattr(savedmodel.shutil, "rmtree", lambda path, **kw: None)  # removal fails silently
    export_model(model, "tiny", base_dir=base, keep=1)
    left = versions(base, "tiny")
    assert [d for d in left if not d.startswith(".")] == ["4"]  # renamed away whole: no half versions
    assert savedmodel.complete_versions(os.path.join(base, "tiny")) == [4]
    assert 'base_path: "' in open(os.path.join(base, "models.config")).read()


def test_cli_export_keep(tmp_path, capsys):
    base, file = str(tmp_path / "exported"), str(tmp_path / "tiny.keras")
    tiny().save(file)
    for _ in range(3):
        assert cli.main(["export", "tiny", "--model", file, "--base-dir", base, "--keep", "2"]) == 0
    assert versions(base, "tiny") == ["2", "3"]
    assert capsys.readouterr().out.strip().endswith(os.path.join("tiny", "3"))


# --------------------------------------------------------------------------- verify --all
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    base, model = str(tmp_path_factory.mktemp("exported")), tiny()
    for name in ("alpha", "alpha", "beta"):
        export_model(model, name, base_dir=base)
    os.mkdir(os.path.join(base, "alpha", ".tmp-3-1-ffff"))  # half-written: ignored
    return base


def test_verify_all_checks_the_newest_version_of_every_model(base, capsys):
    assert newest_versions(base) == {"alpha": os.path.join(base, "alpha", "2"),
                                     "beta": os.path.join(base, "beta", "1")}
    assert cli.main(["verify", "--all", base, "--strict"]) == 0
    out = capsys.readouterr().out
    assert "PASSED: " + os.path.join(base, "alpha", "2") in out and "PASSED: " + os.path.join(base, "beta", "1") in out
    assert os.path.join(base, "alpha", "1") not in out
    assert "verification passed: 2 SavedModel(s)" in out
    assert "ok   sample [below range num_samples=0]: error: InvalidArgumentError" in out
    assert "ok   sample [negative num_samples=-1]" in out
    assert "bad inputs 16/16 ok (out-of-range integers: 2/2 ok)" in out


def test_verify_all_fails_if_an_endpoint_fails(base, tmp_path, capsys):
    copy = str(tmp_path / "exported")
    shutil.copytree(base, copy)
    npz = os.path.join(copy, "beta", "1", "assets.extra", "examples", "predict.npz")
    data = dict(np.load(npz))
    data["output/scores"] = data["output/scores"] + 1.0
    np.savez(npz, **data)
    assert cli.main(["verify", "--all", copy]) == 1
    assert "predict/scores" in capsys.readouterr().out
    assert cli.main(["verify", "--all", str(tmp_path / "nothing")]) == 1


# --------------------------------------------------------------------------- requests and bad inputs
def test_request_bodies_and_bad_inputs_in_the_verifier(base):
    report = verify_savedmodel(os.path.join(base, "beta", "1"))
    serving = report["serving"]
    assert report["serving_ok"] and set(serving) == {"predict", "sample", "serving_default"}
    assert all(s["grpc"] == "built" for s in serving.values())
    body = serving["predict"]["rest_instances"]
    assert body["signature_name"] == "predict" and len(body["instances"]) == 2
    assert set(body["instances"][0]) == {"x"} and len(body["instances"][0]["x"]) == 4
    assert serving["sample"]["rest_instances"] is None  # num_samples and seed have no batch dimension
    assert serving["sample"]["rest_inputs"]["inputs"] == {"num_samples": 3, "seed": [1, 2]}
    rows = {(r["signature"], r["case"], r["input"]): r for r in report["bad_input"]}
    assert {c for s, c, _ in rows if s == "predict"} == {"wrong rank", "wrong dtype", "empty batch", "NaN", "inf"}
    assert {(c, i) for s, c, i in rows if s == "sample"} == {
        (c, i) for c in ("wrong rank", "wrong dtype") for i in ("num_samples", "seed")} | {
        ("below range", "num_samples"), ("negative", "num_samples")}  # seeds take any value
    assert report["bad_input_ok"], [r for r in rows.values() if not r["ok"]]
    assert report["model_card"]["input_ranges"] == {"sample": {"num_samples": [1, None], "seed": [None, None]}}
    below = rows[("sample", "below range", "num_samples")]
    assert below["value"] == 0 and "num_samples must be >= 1, got 0" in below["outcome"]
    assert "num_samples must be >= 1, got -1" in rows[("sample", "negative", "num_samples")]["outcome"]
    assert "empty batch" in rows[("predict", "empty batch", None)]["outcome"]
    assert "Shape of tensor x" in rows[("predict", "wrong rank", "x")]["outcome"]


def test_request_check_catches_a_mismatch(base):
    path = os.path.join(base, "beta", "1")
    sigdef = sv._signature_defs(path)["predict"]
    good = {"x": np.zeros((2, 4), np.float32)}
    assert sv.check_serving_requests("beta", "predict", sigdef, None, good)["ok"]
    result = sv.check_serving_requests("beta", "predict", sigdef, {"x": {"dtype": "float32", "shape": [None, 5]}},
                                       {"x": np.zeros((2, 5), np.float32), "y": np.zeros(2, np.float32)})
    text = json.dumps(result["problems"])
    assert not result["ok"]
    assert "the exporter declared float32 [None, 5]" in text  # SignatureDef vs declared spec
    assert "has shape [2, 5], SignatureDef wants [None, 4]" in text
    assert "request inputs ['x', 'y'] differ" in text


def test_clear_error_rule():
    specs = {"images": tf.TensorSpec([None, 8, 8, 1], tf.float32, name="images")}
    deep = "Incompatible shapes: [8] vs. [0,8,8,4] [[{{node batchnorm/mul_1}}]]"
    assert not sv._names_problem("empty batch", None, specs, deep)
    assert sv._names_problem("empty batch", None, specs, "input images has an empty batch (batch dimension 0)")
    assert not sv._names_problem("wrong rank", "images", specs, "input depth must be evenly divisible")
    assert sv._names_problem("wrong dtype", "images", specs, "expected to be a float tensor but is a int32 tensor")


# --------------------------------------------------------------------------- integer ranges
class Labelled(Tiny):
    """Tiny with a ``score(x, labels, top)`` endpoint: class ids (declared) and a count (the default rule)."""

    def serving_endpoints(self):
        def score(x, labels, top):
            picked = tf.gather(self(x), labels, batch_dims=1)
            return {"score": picked * tf.cast(top, tf.float32)}

        return {"score": (score, [tf.TensorSpec([None, 4], tf.float32, name="x"),
                                  tf.TensorSpec([None], tf.int32, name="labels"),
                                  tf.TensorSpec([], tf.int32, name="top")])}

    def serving_ranges(self):
        return {"score": {"labels": (0, self.units - 1)}}


def labelled():
    keras.utils.set_random_seed(0)
    model = Labelled()
    model(np.zeros((1, 4), "float32"))
    return model


def test_the_range_rule_and_the_hook():
    model = labelled()
    specs = {name: sig for name, (_, sig) in model.serving_endpoints().items()}
    assert input_ranges(model, specs) == {"score": {"labels": (0, 2), "top": (1, None)}}
    assert input_ranges(tiny(), {n: sig for n, (_, sig) in tiny().serving_endpoints().items()}) == {
        "sample": {"num_samples": (1, None), "seed": (None, None)}}
    ids = {"score": [tf.TensorSpec([None], tf.int32, name="labels")]}
    with pytest.raises(ValueError, match="integer input 'labels' .* declare it in serving_ranges"):
        input_ranges(tiny(), ids)  # ids have no default
    for hook, error in [({"nosuch": {}}, "unknown endpoints"), ({"score": {"x": (0, 1)}}, "not an integer input"),
                        ({"score": {"labels": (3, 2)}}, "is empty"), ({"score": {"labels": (0, 2.5)}}, "must be ints")]:
        model.serving_ranges = lambda hook=hook: hook
        with pytest.raises(ValueError, match=error):
            input_ranges(model, specs)
    model.serving_ranges = lambda: {"score": {"labels": None}}  # explicitly unconstrained
    assert input_ranges(model, specs)["score"]["labels"] == (None, None)
    model.serving_ranges = lambda: {"score": {"labels": (np.int64(0), np.int32(2))}}  # NumPy ints become ints
    assert [type(b) for b in input_ranges(model, specs)["score"]["labels"]] == [int, int]


def test_the_served_graph_refuses_integers_out_of_range(tmp_path):
    path = export_model(labelled(), "labelled", base_dir=str(tmp_path))
    with open(os.path.join(path, "assets.extra", "model_card.json")) as f:
        card = json.load(f)
    assert card["input_ranges"] == {"score": {"labels": [0, 2], "top": [1, None]}}
    score = tf.saved_model.load(path).signatures["score"]
    x = tf.zeros([2, 4])
    assert score(x=x, labels=tf.constant([0, 2]), top=tf.constant(1))["score"].shape == [2]
    for labels, top, message in [([0, 3], 1, r"labels must be in \[0, 2\], got 3"),
                                 ([-1, 0], 1, r"labels must be in \[0, 2\], got -1"),
                                 ([0, 1], 0, "top must be >= 1, got 0"), ([0, 1], -5, "top must be >= 1, got -5")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            score(x=x, labels=tf.constant(labels), top=tf.constant(top))


def test_examples_must_lie_in_the_declared_ranges(tmp_path):
    model = labelled()
    model.serving_examples = lambda: {"score": [np.zeros((2, 4), "float32"), np.array([0, 5], "int32"), np.int32(1)]}
    with pytest.raises(ValueError, match=r"input 'labels' must be in \[0, 2\], got \[0, 5\]"):
        export_model(model, "labelled", base_dir=str(tmp_path))
    assert not os.path.exists(os.path.join(str(tmp_path), "labelled"))
    path = export_model(labelled(), "labelled", base_dir=str(tmp_path))  # generated examples: inside the ranges
    examples = np.load(os.path.join(path, "assets.extra", "examples", "score.npz"))
    assert examples["top"] == 3 and list(examples["labels"]) == [0, 0]


def test_range_cases_from_the_model_card():
    specs = {"labels": tf.TensorSpec([None], tf.int32, name="labels"), "n": tf.TensorSpec([], tf.int32, name="n"),
             "seed": tf.TensorSpec([2], tf.int32, name="seed"), "x": tf.TensorSpec([None], tf.float32, name="x")}
    inputs = {"labels": np.array([1, 2], np.int32), "n": np.int32(3), "seed": np.array([1, 2], np.int32),
              "x": np.zeros(2, np.float32)}
    cases = sv._range_cases(specs, inputs, {"labels": [0, 4], "n": [2, None], "seed": [None, None]})
    assert [(c, i, v) for c, i, _, v in cases] == [
        ("below range", "labels", -1), ("above range", "labels", 5),
        ("below range", "n", 1), ("negative", "n", -1)]
    assert list(cases[1][2]["labels"]) == [5, 2] and cases[2][2]["n"] == 1 and inputs["n"] == 3
    assert [(c, i) for c, i, _, _ in sv._range_cases(specs, inputs, {})] == [
        ("no declared range", "labels"), ("no declared range", "n"), ("no declared range", "seed")]
