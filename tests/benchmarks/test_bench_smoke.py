"""Smoke test of the benchmark scripts: tiny configurations, results written to a tmp dir, numeric checks pass."""

import json

import pytest
from bench_helpers import load


def test_forward_smoke(tmp_path):
    fwd = load("forward")
    peers = tuple(p for p in ("opt_einsum", "cotengra", "quimb", "tensornetwork") if fwd._have(p))
    rows = fwd.main(out_dir=tmp_path, sizes=(8,), batch=8, M=3, r=4, peers=peers, ctg_time=0.2, plot_png=False,
                    verbose=False, google_budget=0.2)
    by = {r["method"]: r for r in rows}
    assert by["ours evaluate (auto -> tree)"]["check"] == "pass"
    assert by["ours evaluate einsum (natural path)"]["check"] == "pass"
    assert by["ours evaluate (auto -> tree) float32"]["check"] == "pass"  # float32 result, within 1e-4
    assert by["numpy preallocated buffers"]["rel_err"] <= 1e-12 and by["numpy preallocated buffers"]["ratio_vs_prealloc"] == 1
    for r in rows:
        if r.get("could_run"):
            assert r["check"] in ("pass", "reference"), r
    assert any(r["method"].startswith("opt_einsum greedy") for r in rows)
    doc = json.loads((tmp_path / "forward.json").read_text())
    assert doc["rows"] and (tmp_path / "forward.md").exists()


def test_paths_smoke(tmp_path):
    pytest.importorskip("cotengra")
    rows = load("paths").main(out_dir=tmp_path, dense_sizes=(4,), amp_sizes=(8,), M_amp=3, r_amp=3, ctg_time=0.1,
                              verbose=False)
    assert len(rows) == 14
    assert all(r["check"] == "pass" for r in rows), [r for r in rows if r["check"] != "pass"]
    assert all(r["flops_ratio"] > 0 for r in rows)
    assert (tmp_path / "paths.json").exists() and (tmp_path / "paths.md").exists()


def test_memory_smoke(tmp_path):
    mem = load("memory")
    cases = [{"route": "evaluate", "builder": "deep_convac", "N": 8, "B": 64, "M": 4, "r": 4, "method": m}
             for m in ("tree", "einsum")]
    cases += [{"route": r, "builder": "deep_linear", "D": 64, "depth": 3} for r in ("contract", "gradients", "load")]
    cases += [{"route": r, "builder": "deep_convac", "N": 8, "M": 2, "r": 2} for r in ("to_dense", "dense spectrum")]
    rows = mem.main(out_dir=tmp_path, cases=cases, verbose=False)
    assert len(rows) == 7
    for r in rows:
        assert r["rel_err"] <= 1e-8
        assert r["estimate_bytes"] > 0 and r["ratio_tracemalloc"] > 0.5
    assert (tmp_path / "memory.json").exists()


def test_geometry_smoke(tmp_path):
    geo = load("geometry")
    named, aggs, checks = geo.main(out_dir=tmp_path, sizes=(4,), widths=(2,), n_random=1, verbose=False,
                                   plots=False)
    assert checks["sandwich_violations"] == 0 and checks["rank_violations"] == 0
    by = {(r["arch"], r["partition"]): r for r in named}
    # theory §9 (4 x 4, M = 2, r = 2): square top-bottom 2, checkerboard 16; mirror 16 on both; shallow Z = 2
    assert [by["square", p]["bound"] for p in ("top-bottom", "left-right", "checkerboard")] == [2, 2, 16]
    assert [by["mirror", p]["bound"] for p in ("top-bottom", "left-right", "checkerboard")] == [16, 16, 16]
    assert all(by["shallow", p]["bound"] == 2 for p in ("top-bottom", "checkerboard"))
    assert all(r["verdict"] == "tight" and r["rank"] == r["bound"] for r in named)
    assert len(aggs) == 3 and aggs[0]["queries"] == len(geo.NAMED) + 1
    assert "| 4x4 | square | 2 |" in (tmp_path / "geometry.md").read_text()


def test_scale_smoke(tmp_path):
    scale = load("scale")
    ops = ("build", "structure_key", "cost", "path search", "save", "load", "mincut")
    rows = scale.main(out_dir=tmp_path, sizes=(64, 256, 512), ops=ops, verbose=False, plot_png=False)
    assert [r["operation"] for r in rows] == list(ops)
    assert all(r["N=512"] > 0 for r in rows)
    assert all(r["exponent"] is not None for r in rows)  # two points at N >= 2^8
    assert scale.exponent([(256, 1.0), (512, 2.0), (1024, 4.0)]) == pytest.approx(1.0)
    assert (tmp_path / "scale.json").exists() and (tmp_path / "scale.md").exists()
