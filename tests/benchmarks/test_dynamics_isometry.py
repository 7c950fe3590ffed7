"""benchmarks/dynamics.py and benchmarks/isometry.py: tiny settings, checked against independent computations."""

import importlib.util
import json

import numpy as np

import builders
from bench_helpers import load


dynamics, isometry = load("dynamics"), load("isometry")


def test_curvature_step_is_the_stability_step_at_a_balanced_solution():
    target = np.diag([9.0, 4.0, 1.0])
    ws = builders.balanced_factors(target, (3, 3, 3, 3), seed=0)
    lr = dynamics.curvature_step((3, 3), depth=3)
    for _ in range(20):                              # power iterations warm-start across calls
        step = lr(ws)
    assert np.isclose(step, 9 / (3 * 9.0 ** (2 - 2 / 3)), rtol=1e-3)


def test_completion_protocol_small():
    rows, traj, baseline = dynamics.matrix_completion((250,), (2, 3), (1e-2,), 1200, side=24, rank=2)
    by = {r["method"]: r for r in rows}
    assert set(by) == {"nuclear norm", "depth 2", "depth 3"}
    for r in rows:  # MSE over all entries, recomputed from its parts
        assert r["test MSE (all entries)"] >= 0 and r["effective rank"] > 0
    assert by["depth 3"]["status"] == "converged" and by["depth 3"]["train MSE"] < 1e-4
    claims = dynamics.completion_claims(rows, baseline, (250,), (2, 3), (1e-2,))
    assert [c["claim"].split(": ")[1] for c in claims] == ["depth >= 3 far below nuclear norm",
                                                           "depth 2 approaches nuclear norm as s -> 0"]
    assert all(c["verdict"].startswith(("reproduced", "NOT reproduced", "undetermined")) for c in claims)


def test_acceleration_rows_and_verdicts(tmp_path):
    data = {"synthetic": dynamics.synthetic_dataset(m=100, d=5)}
    rows, curves = dynamics.acceleration(data, (4, 2), ("depth 1", "depth 2", "adagrad", "adadelta", "depth 3"), 200,
                                         {"default": [0.01, 0.1], "adadelta": [1.0]})
    assert len(rows) == 10
    for r in rows:
        assert r["final loss"] >= r["optimum"] * (1 - 1e-9)        # BFGS found the optimum
    out = dynamics.acceleration_claims(rows, 200)
    assert [c["claim"] for c in out] == ["synthetic, l4: overparameterization accelerates",
                                         "synthetic, l2 control: no acceleration"]


def test_quick_run_writes_tables_and_plots(tmp_path):
    code = dynamics.main(["--quick", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "dynamics.json").read_text())
    assert code in (0, 1) and doc["quick"] and doc["completion"] and doc["acceleration"]
    assert "| claim | expected | measured | verdict |" in (tmp_path / "dynamics.md").read_text()
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "dynamics_completion.png").exists() and (tmp_path / "dynamics_acceleration.png").exists()
    assert dynamics.main(["--rescore", "--out", str(tmp_path)]) == code         # same verdicts from the saved rows
    again = json.loads((tmp_path / "dynamics.json").read_text())
    assert again["rows"] == doc["rows"] and again["completion"] == doc["completion"]


def test_verdicts_judge_converged_runs_and_name_capped_ones():
    rows = [{"status": "converged", "x": 1}, {"status": "max steps", "x": 9}]
    assert dynamics.judged(rows, lambda r: r["x"] < 5).startswith("reproduced where converged (1 of 2")
    assert dynamics.judged(rows[:1], lambda r: r["x"] < 5) == "reproduced"
    assert dynamics.judged(rows, lambda r: r["x"] < 0) == "NOT reproduced"
    assert dynamics.judged(rows[1:], lambda r: True).startswith("undetermined")


def test_qr_log_singular_values_match_dense_svd():
    net = builders.deep_linear((5,) * 9, init="gaussian", seed=2)
    ws = [net.data(("W", j)) for j in range(1, 9)]
    logs = isometry.log_singular_values_qr(ws)
    s = np.linalg.svd(net.to_dense(), compute_uv=False)
    assert np.isclose(logs.sum(), np.log(s).sum())                  # log |det| exactly
    # diagonal of the triangular factor = its eigenvalues, inside [s_min, s_max] of the product
    assert np.log(s[-1]) - 1e-9 <= logs.min() and logs.max() <= np.log(s[0]) + 1e-9


def test_convac_jacobians_match_one_hot_evaluations():
    N, M = 8, 3
    Js = isometry.convac_jacobians(N, M, "gaussian", seed=0)
    net = builders.deep_convac(N, M, M, classes=M, init="gaussian", seed=0)
    x = np.random.default_rng(1).standard_normal((N, M))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for i in (0, 5):                                 # multilinear: column m of J_i = h with x_i = e_m
        feats = [np.repeat(x[k][None], M, axis=0) for k in range(N)]
        feats[i] = np.eye(M)
        assert np.allclose(Js[i], net.evaluate(feats).T)


def test_isometry_quick(tmp_path):
    assert isometry.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "orthogonal deep linear chains are exact isometries" in (tmp_path / "isometry.md").read_text()
