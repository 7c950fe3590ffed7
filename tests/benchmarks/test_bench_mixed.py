"""benchmarks/mixed.py --quick: the paper's Corollary 8 numbers at N = 16, and its schedules and partitions."""

import json
from bench_helpers import load as load_script


def load():
    return load_script("mixed")


def test_schedules_and_partitions():
    m = load()
    assert m.schedules(16, 2) == ((1, 2, 4, 8), (2, 1, 8, 4), [2])
    assert m.schedules(64, 3) == ((1, 2, 4, 8, 16, 32), (4, 2, 1, 32, 16, 8), [3])
    assert m.schedules(64, 2)[1:] == ((2, 1, 8, 4, 32, 16), [2, 4])
    assert m.partition(16, 2, (1, 2, 4, 8), (2, 1, 8, 4)) == [0, 2, 4, 6, 8, 9, 12, 13]  # the paper's A
    assert [len(m.partition(64, k, *m.schedules(64, k)[:2])) for k in (1, 2, 3)] == [8, 8, 8]
    assert [round(m.paper_exponent(k), 4) for k in (1, 2, 3)] == [1.0, 1.3333, 1.6]


def test_quick_run_reproduces_corollary_8(tmp_path):
    m = load()
    (row,) = m.main(quick=True, out_dir=tmp_path, verbose=False)
    assert (row["rank T"], row["rank Tbar"], row["rank T+Tbar"], row["rank mixed"]) == (64, 64, 112, 256)
    assert (row["bound T"], row["bound T+Tbar"], row["bound mixed"]) == (64, 128, 256)
    assert row["width T needs (M=2)"] == 4 and row["rank T at needed width, one below"] == [256, 144]
    assert row["measured exponent"] == row["paper exponent"] == 1.3333 and row["mixed beats T+Tbar"]
    doc = json.loads((tmp_path / "mixed.json").read_text())
    assert doc["rows"][0]["rank mixed"] == 256 and "| 16 | 2 |" in (tmp_path / "mixed.md").read_text()
