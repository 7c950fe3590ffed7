"""Core assertions of benchmarks/claims.py on tiny settings (the --quick run's checks, fast)."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from builders import ModeTree

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "claims.py"


def _load():
    spec = importlib.util.spec_from_file_location("claims_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_mixed_beats_each_single_network_on_its_poor_partition():
    res = claims.claim_mixed(N=8, M=2, widths=(2,))
    assert res["ok"], res["rows"]
    for r in res["rows"]:
        assert r["mixed fav T rank"] > r["Tb fav T rank"] and r["mixed fav Tbar rank"] > r["T fav Tbar rank"]
        assert r["mixed fav T rank"] <= r["mixed fav T bound"]


def test_tightness_small():
    res = claims.claim_tightness(trials=4)
    assert res["ok"]
    assert all(r["rank > bound"] == 0 for r in res["rows"])
    assert all(r["strict gaps"] == 0 for r in res["rows"] if r["kind"] == "tree ConvAC")


def test_main_writes_results(tmp_path):
    tiny = (lambda quick, out_dir: claims.claim_mixed(quick, out_dir, N=8, M=2, widths=(1, 2)),
            lambda quick, out_dir: claims.claim_tightness(quick, out_dir, trials=2))
    results = claims.main(quick=True, out_dir=tmp_path, claims=tiny)
    assert len(results) == 2
    text = (tmp_path / "claims.md").read_text()
    assert "| claim |" in text and "4 mixed decompositions" in text
    assert (tmp_path / "claims.json").exists()
    if importlib.util.find_spec("matplotlib"):  # plots are the optional `plot` extra
        assert (tmp_path / "claims_mixed.png").exists()


@pytest.mark.slow
def test_quick_run_reproduces_every_claim(tmp_path):
    results = claims.main(quick=True, out_dir=tmp_path)
    assert all(r["ok"] for r in results), [(r["claim"], r["verdict"]) for r in results]
