"""Smoke test of benchmarks/sweep.py --quick without a cluster: every route agrees, results are written."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sweep.py"


def test_sweep_benchmark_quick(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_sweep", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sweeps, flows = module.main(["--quick"], out_dir=tmp_path, cluster=False, verbose=False)
    assert [r["N"] for r in sweeps] == [12, 16] and all(r["check"] == "pass" for r in sweeps)
    assert [r["partitions"] for r in sweeps] == [462, 6435]
    assert all(r["check"] == "pass" for r in flows)
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["rows"] and doc["flow_rows"] and "Flow queries" in (tmp_path / "sweep.md").read_text()
