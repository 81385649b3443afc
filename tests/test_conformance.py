"""DESIGN.md section 5: the conformance kit on every registered model."""

import warnings

import pytest

from mpkeras import testing as kit
from mpkeras.registry import list_models

MODELS = list_models()


def test_every_registered_model_has_a_fixture():
    kit.check_missing_fixtures()


def test_the_coverage_check_catches_a_model_without_fixture(monkeypatch):
    monkeypatch.delitem(kit.FIXTURES, MODELS[0])
    with pytest.raises(AssertionError, match=MODELS[0]):
        kit.check_missing_fixtures()


@pytest.mark.parametrize("name", MODELS)
def test_contract(name):
    kit.check_contract(name)


@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_gradients(name):
    kit.check_shapes_and_gradients(name)


@pytest.mark.parametrize("name", MODELS)
def test_config_roundtrip(name):
    kit.check_config_roundtrip(name)


@pytest.mark.parametrize("name", MODELS)
def test_keras_roundtrip(name, tmp_path):
    kit.check_keras_roundtrip(name, tmp_dir=tmp_path)


@pytest.mark.parametrize("name", MODELS)
def test_learns(name):
    kit.check_learns(name)


SAVEDMODEL_SHARDS = 3  # the models in 3 parts, so that pytest-xdist's workers share the exports


@pytest.mark.parametrize("shard", range(SAVEDMODEL_SHARDS))
def test_savedmodels_reload_without_mpkeras(shard, tmp_path):
    """One subprocess (no mpkeras import) per shard reloads each of its models' SavedModels and matches
    in-process outputs. The shards partition the registry, so every model is checked."""
    names = MODELS[shard::SAVEDMODEL_SHARDS]
    paths, reports = kit.check_savedmodels(str(tmp_path), names)
    assert set(paths) == set(names)
    range_rows = []
    for name, path in paths.items():
        report = reports[path]
        assert report["ok"], f"{name}: {report}"
        assert not report["mpkeras_imported"], f"{name}: the verifier imported mpkeras"
        endpoints = kit.build(name)[0].serving_endpoints()
        assert set(endpoints) <= set(report["signatures"]), f"{name}: missing signatures"
        assert report["serving_default"] == next(iter(endpoints)), f"{name}: serving_default is not the main endpoint"
        # The same subprocess built TF Serving REST/gRPC request bodies for every signature and checked them
        # against saved_model.pb's SignatureDefs, and sent every signature bad inputs (tests/test_serving.py).
        assert set(report["serving"]) == set(report["signatures"]), f"{name}: signatures without request checks"
        assert report["serving_ok"], f"{name}: {[(s, r['problems']) for s, r in report['serving'].items()]}"
        assert all(r["grpc"] == "built" for r in report["serving"].values()), f"{name}: no gRPC PredictRequest"
        assert {r["signature"] for r in report["bad_input"]} == set(report["signatures"]), f"{name}: bad inputs"
        assert report["bad_input_ok"], f"{name}: {[r for r in report['bad_input'] if not r['ok']]}"
        # Every integer input has a range in the model card (only seeds are unconstrained), and the same
        # subprocess sent every bounded one values outside it (0 and -1 for counts, -1 and K for class ids).
        ranges = report["model_card"]["input_ranges"]
        for sig, desc in report["signatures"].items():
            endpoint = report["serving_default"] if sig == "serving_default" else sig
            integers = {n for n, d in desc["inputs"].items() if d["dtype"].startswith(("int", "uint"))}
            declared = ranges.get(endpoint, {})
            assert set(declared) == integers, f"{name}/{sig}: ranges {declared} for integer inputs {integers}"
            bounded = {n for n, bounds in declared.items() if bounds != [None, None]}
            assert bounded == {n for n in integers if n != "seed"}, f"{name}/{sig}: unbounded {integers - bounded}"
            rows = [r for r in report["bad_input"] if r["signature"] == sig and "value" in r]
            assert {r["input"] for r in rows} == bounded, f"{name}/{sig}: no out-of-range case for {bounded}"
            assert all(r["outcome"].startswith("error: InvalidArgumentError") for r in rows), f"{name}/{sig}: {rows}"
            range_rows += rows
    print(f"out-of-range integer cases: {len(range_rows)}, clear errors: {sum(r['ok'] for r in range_rows)}")


# --- The flag matrix (DESIGN.md section 9): several replicas, mixed precision, XLA ---------------------
class OptOut(UserWarning):
    """A model that refuses a flag of the matrix, with its reason; listed in the run's warnings summary."""


def _report_opt_out(name, flag, reason):
    if reason is not None:
        warnings.warn(OptOut(f"{name} refuses {flag}: {reason}"), stacklevel=2)


@pytest.mark.parametrize("name", MODELS)
def test_declared_opt_outs_match_the_fixture(name):
    kit.check_declared_opt_outs(name)


@pytest.mark.parametrize("name", MODELS)
def test_replicas(name):
    _report_opt_out(name, "replicas", kit.check_replicas(name))


@pytest.mark.parametrize("name", MODELS)
def test_mixed_precision(name):
    _report_opt_out(name, "mixed_precision", kit.check_mixed_precision(name))


@pytest.mark.parametrize("name", MODELS)
def test_jit(name):
    _report_opt_out(name, "jit", kit.check_jit(name))
