"""Smoke test of benchmarks/sweep.py --quick without a cluster: every route agrees, results are written."""

import json
from bench_helpers import load


def test_sweep_benchmark_quick(tmp_path):
    module = load("sweep")
    sweeps, flows = module.main(["--quick"], out_dir=tmp_path, cluster=False, verbose=False)
    assert [r["N"] for r in sweeps] == [12, 16] and all(r["check"] == "pass" for r in sweeps)
    assert [r["partitions"] for r in sweeps] == [462, 6435]
    assert all(r["check"] == "pass" for r in flows)
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["rows"] and doc["flow_rows"] and "Flow queries" in (tmp_path / "sweep.md").read_text()
