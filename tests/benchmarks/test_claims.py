"""Core assertions of benchmarks/claims.py on tiny settings (the --quick run's checks, fast)."""

import importlib.util
import json
import math

import numpy as np
import pytest

import builders
from builders import ModeTree
from bench_helpers import load


def _load():
    return load("claims")


claims = _load()


def test_theory_formulas_match_the_spec_table():
    bal, mir, flat = ModeTree.balanced(8), ModeTree.mirror(8), ModeTree.flat(8)
    lr, oe = (0, 1, 2, 3), (0, 2, 4, 6)
    assert [claims.theory_rank(bal, A, 2, 2) for A in (lr, oe)] == [2, 16]
    assert [claims.theory_rank(bal, A, 2, 3) for A in (lr, oe)] == [3, 16]
    assert [claims.theory_rank(mir, A, 2, 2) for A in (lr, oe)] == [16, 16]
    assert [claims.theory_rank(flat, A, 2, 2) for A in (lr, oe)] == [2, 2]
    assert claims.theory_rank(ModeTree.interleaved(8), oe, 2, 2) == 2


def test_rank_mod_p_agrees_with_numpy():
    rng = np.random.default_rng(0)
    m = rng.integers(-3, 4, (12, 5)) @ rng.integers(-3, 4, (5, 9))
    assert claims.rank_mod_p(m) == np.linalg.matrix_rank(m) == 5


def test_depth_efficiency_small():
    res = claims.claim_depth(dense_N=(4, 8), big_N=(32,), pairs_k=(2, 3), configs=((2, 2), (2, 3)))
    assert res["ok"], res["rows"]
    dense = [r for r in res["rows"] if r["method"] == "dense"]
    for r in dense:
        assert r["rank"] <= r["bound"]
        assert r["rank"] == min(r["M"], r["r"]) ** (r["N"] // 2) == r["Z needed"]   # deep odd-even at N=8 too
        assert r["exact mod p"] == r["rank"]
    cp = [r for r in res["rows"] if str(r["r"]).startswith("CP")]
    assert cp and all(r["rank"] <= int(r["r"].split("=")[1]) for r in cp)


def test_cp_rank_at_most_z_on_every_partition_and_pooling_preferences():
    res = claims.claim_pooling(sizes=(8,), sample={})
    assert res["ok"], res["rows"]
    rows = {r["arch"]: r for r in res["rows"]}
    assert rows["shallow"]["partitions"] == math.comb(7, 3)
    assert rows["shallow"]["ranks measured"] == rows["shallow"]["tight"] == 35   # rank == bound == min(Z, ...) <= Z
    assert float(rows["shallow"]["log2 rank min/med/max"].split("/")[2]) <= 2    # Z = 4
    assert rows["mirror"]["left-right rank"] > rows["contiguous"]["left-right rank"] == 2
    assert rows["contiguous"]["odd-even rank"] == 16 and rows["interleaved"]["odd-even rank"] == 2
    for r in res["rows"]:
        assert r["tight"] == r["ranks measured"]                                 # rank <= bound, equal on trees


def test_layer_widths_small():
    res = claims.claim_widths(N_dense=8, N_big=16, gram_limit=64)
    assert res["ok"]
    best = {r["best for"]: r["profile"] for r in res["rows"] if r.get("best for") and r["N"] == 8}
    assert best["odd-even"].startswith("early") and best["left-right"].startswith("deep")


def test_tightness_small():
    res = claims.claim_tightness(trials=4)
    assert res["ok"]
    assert all(r["rank > bound"] == 0 for r in res["rows"])
    assert all(r["strict gaps"] == 0 for r in res["rows"] if r["kind"] == "tree ConvAC")


def test_main_writes_results(tmp_path):
    tiny = (lambda quick, out_dir: claims.claim_tightness(quick, out_dir, trials=2),
            lambda quick, out_dir: claims.claim_tightness(quick, out_dir, trials=3))
    results = claims.main(quick=True, out_dir=tmp_path, claims=tiny)
    assert len(results) == 2
    text = (tmp_path / "claims.md").read_text()
    assert "| claim |" in text and "5 tightness" in text
    assert (tmp_path / "claims.json").exists()
    if importlib.util.find_spec("matplotlib"):  # plots are the optional `plot` extra
        assert (tmp_path / "claims_tightness.png").exists()


@pytest.mark.slow
def test_quick_run_reproduces_every_claim(tmp_path):
    results = claims.main(quick=True, out_dir=tmp_path)
    assert all(r["ok"] for r in results), [(r["claim"], r["verdict"]) for r in results]


# ------------------------------------------------------------------ exact ranks, truncation, almost everywhere, ReLU
def bareiss_only(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_flint(name, *args, **kwargs):
        if name == "flint":
            raise ImportError("flint hidden by the test")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_flint)


@pytest.mark.parametrize("fallback", [False, True])
def test_exact_rank_over_q_agrees_with_numpy(monkeypatch, fallback):
    if fallback:
        bareiss_only(monkeypatch)
    rng = np.random.default_rng(3)
    for r in (0, 1, 3, 6):
        m = rng.integers(-4, 5, (9, r)) @ rng.integers(-4, 5, (r, 7))
        assert claims.exact_rank_q(m) == np.linalg.matrix_rank(m)
    huge = np.array([[2 ** 70, 1], [2 ** 71, 2]], dtype=object)      # beyond int64, rank 1 exactly
    assert claims.exact_rank_q(huge) == 1


def test_coefficients_mod_p_is_the_integer_tensor_mod_p():
    tree = ModeTree.from_nested(((0, 3), (1, (2, 4))))
    widths = {v: 2 + len(v) % 2 for v in tree.internal_nodes}
    T = claims.coefficients_mod_p(tree, 2, widths, seed=7, high=3)
    rng = np.random.default_rng(7)                                   # the same draws, in the same node order
    width = {**widths, None: 1}
    params = {}
    for v in tree.nodes:
        n_in = 2 if len(v) == 1 else widths[v]
        key = ("leaf", v[0]) if len(v) == 1 else ("node", v)
        params[key] = rng.integers(-3, 4, (n_in, width[tree.parent(v)]))
    dense = builders.convac(tree, 2, widths, params=params).to_dense()[..., 0]
    assert np.array_equal(T, np.mod(np.rint(dense).astype(np.int64), claims.SMALL_PRIME))


def test_top_width_by_search_equals_a_linear_scan():
    N, M, r = 8, 2, 2
    parts = claims.truncation_partitions(N, 0)          # all 35 balanced partitions
    deep = builders.deep_convac(N, M, r)
    deep_int = [claims.bound(deep, A) for A in parts]
    for Lc in (1, 2, 3):
        need, _ = claims.top_width_needed(N, M, r, Lc, parts, deep)
        scan = next(t for t in range(1, 100) if all(
            claims.bound(builders.truncated_convac(N, M, [r] * (Lc - 1) + [t], Lc, symbolic=True), A) >= b
            for A, b in zip(parts, deep_int)))
        assert need == scan == r ** (2 ** (3 - Lc))


def test_top_width_is_exact_beyond_float_resolution():
    N = 128                                              # L = 7, L_c = 1: the shallow network needs 2^64
    parts = claims.truncation_partitions(N, 2, exhaustive=False)
    need, worst = claims.top_width_needed(N, 2, 2, 1, parts, builders.deep_convac(N, 2, 2))
    assert need == 2 ** 64 and parts[worst] == claims.named(N, "odd-even")


def test_truncation_small():
    res = claims.claim_truncation(Ls=(4,), n_random=10, exhaustive=False, certify_max=16)
    assert res["ok"], res["rows"]
    rows = {x["L_c"]: x for x in res["rows"]}
    assert rows[2]["measured top width"] == 16 and rows[2]["worst partition"] == "blocks:2"   # the r^4
    assert rows[2]["truncated rank mod p"] == 16 and rows[2]["rank mod p at width - 1"] == 15


def test_almost_everywhere_small():
    res = claims.claim_almost_everywhere(draws=6)
    assert res["ok"]
    generic = [x for x in res["rows"] if not x["weights"].startswith("integers")]
    assert generic and all(x["fraction at the bound"] == 1.0 for x in generic)


def test_rectifier_small():
    res = claims.claim_rectifier(draws=8, widths_sum=(1, 8), sum_N=5)
    assert res["ok"], [x for x in res["rows"] if x["verdict"] == "NOT reproduced"]
    by = {}
    for x in res["rows"]:
        by.setdefault(x["claim"][:2], []).append(x)
    assert all(x["max rank"] <= 2 for x in by["a:"])
    lr = next(x for x in by["c:"] if x["partition"] == "left-right")
    assert lr["max rank"] > lr["min-cut bound"] == 2
    fits = [x for x in by["b:"] if x["g"] == "relu-max" and x["Z"] >= 81]
    assert fits and all(float(x["measured"].split()[-1]) < 1e-8 for x in fits)


# ------------------------------------------------------------------ claim 4 (Corollary 8) and --only
def test_mixed_theory_is_corollary_8():
    # rank T = r^(|A| / e), e = 2 / (1 + 2^(1-k)); width = smallest w >= r^e (2^(4/3) = 2.52, 2^1.6 = 3.03)
    assert [claims.theory_mixed(2, k, 8) for k in (1, 2, 3)] == [(256, 256, 2), (64, 256, 3), (32, 256, 4)]
    assert claims.theory_mixed(4, 2, 8) == (4 ** 6, 4 ** 8, 7)        # 4^(4/3) = 6.35


def test_mixed_claim_reproduces_the_papers_numbers():
    res = claims.claim_mixed(ks=(2,))
    assert res["ok"], res["rows"]
    (row,) = res["rows"]
    assert row["A"] == [0, 2, 4, 6, 8, 9, 12, 13]
    assert (row["rank T"], row["rank Tbar"], row["rank T+Tbar"], row["rank mixed"]) == (64, 64, 112, 256)
    assert row["width T needs (M=width)"] == 3 and row["width T needs (M=2)"] == 4


def test_only_names_claims_and_rejects_unknown_ones(capsys):
    assert claims.only("mixed,depth") == (claims.claim_mixed, claims.claim_depth)
    with pytest.raises(SystemExit) as exc:
        claims._cli(["--only", "mixed,nope"])
    assert exc.value.code == 2 and "unknown claim nope" in capsys.readouterr().err


def test_merge_keeps_the_claims_not_rerun(tmp_path):
    claims.main(out_dir=tmp_path, claims=(lambda quick, out_dir: claims.claim_tightness(quick, out_dir, trials=2),))
    first = (tmp_path / "claims.json").read_text()
    fake = claims.claim_result("4 mixed decompositions", "Mixed", "s", "t", "b", "m", True, [{"x": 1}], ["x"])
    claims.main(out_dir=tmp_path, claims=(lambda quick, out_dir: fake,), merge=True)
    doc = json.loads((tmp_path / "claims.json").read_text())
    assert [c["claim"] for c in doc["claims"]] == ["4 mixed decompositions", "5 tightness"]
    assert doc["claims"][1] == json.loads(first)["claims"][0]                 # the tightness claim untouched
    text = (tmp_path / "claims.md").read_text()
    assert "claim 5 from the full run of" in text and "claim 4 from the full run of" in text and "(--only" in text
