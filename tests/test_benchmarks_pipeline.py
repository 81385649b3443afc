"""benchmarks/pipeline.py runs in process on one small recipe and reports its rates and their ratio.

Only the report's shape is checked: speed figures are measured by hand, never asserted.
"""

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def pipeline_benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_pipeline", os.path.join(ROOT, "benchmarks", "pipeline.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_pipeline_and_step_rates_and_skips_deep_rl(pipeline_benchmark, tmp_path, mnist5k_dir):
    out, markdown = tmp_path / "pipeline.json", tmp_path / "pipeline.md"
    pipeline_benchmark.main(["--models", "mlp,dqn", "--batches", "3", "--step-batches", "2",
                             "--data-dir", mnist5k_dir, "--out", str(out), "--markdown", str(markdown)])
    rows = {r["model"]: r for r in json.loads(out.read_text())["rows"]}
    mlp = rows["mlp"]
    assert "error" not in mlp, mlp
    assert mlp["pipeline_epochs"] == 3 and mlp["step_steps"] == 3
    assert mlp["pipeline_samples_per_s"] > 0 and mlp["step_samples_per_s"] > 0
    assert mlp["ratio"] == pytest.approx(mlp["pipeline_samples_per_s"] / mlp["step_samples_per_s"])
    assert rows["dqn"]["skipped"] == pipeline_benchmark.NO_PIPELINE
    table = markdown.read_text()
    assert "| `mlp` | mnist5k | 128 |" in table and "| `dqn` |" in table
