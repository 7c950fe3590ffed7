"""tn-mincut's sweep flags: --all-balanced at any N, --size, --random with --summary, --client, --out."""

import csv
import json
from collections import Counter

import pytest

import builders
from analysis import mincut
from analysis.cli import main
from analysis.partitions import balanced_partitions, make_partition


def _out(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _brute(net, parts):
    return Counter(mincut(net, p).bound for p in parts)


def test_summary_equals_rows_and_brute_force(capsys):
    net = builders.convac(builders.ModeTree.mirror(8), M=2, widths=2)
    summary = _out(capsys, ["convac", "--tree", "mirror", "--N", "8", "--all-balanced", "--summary", "--json"])["summary"]
    expected = _brute(net, balanced_partitions(net))
    assert summary["count"] == 35 and summary["exact"] and summary["route"] == "tree"
    assert {h["bound"]: h["count"] for h in summary["histogram"]} == expected
    assert summary["min"]["bound"] == min(expected) and summary["max"]["bound"] == max(expected)
    assert abs(sum(h["fraction"] for h in summary["histogram"]) - 1) < 1e-12
    rows = _out(capsys, ["convac", "--tree", "mirror", "--N", "8", "--all-balanced", "--json"])["rows"]
    assert Counter(r["bound"] for r in rows) == expected and rows[0]["method"] == "sweep:tree"
    assert [r["A"] for r in rows] == [list(p.A) for p in balanced_partitions(net)]


def test_all_balanced_beyond_n20_and_the_row_limit(capsys):
    summary = _out(capsys, ["deep_convac", "--N", "32", "--size", "1", "--summary", "--json"])["summary"]
    assert summary["count"] == 32 and [h["bound"] for h in summary["histogram"]] == [2]  # one leg: at most M
    assert main(["deep_convac", "--N", "32", "--all-balanced"]) == 2
    assert "--summary" in capsys.readouterr().err


def test_size_rows_to_csv_file(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    assert main(["deep_convac", "--N", "8", "--size", "2", "--out", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    lines = path.read_text().splitlines()
    rows = list(csv.DictReader(lines[1:]))  # line 0: the header object as a comment
    net = builders.deep_convac(8, M=2, widths=2)
    assert len(rows) == 28
    for row in rows:
        A = [int(x) for x in row["A"].split()]
        assert int(row["bound"]) == mincut(net, A).bound


def test_random_summary_matches_random_rows(capsys, tmp_path):
    argv = ["deep_convac", "--N", "16", "--random", "40"]
    rows = _out(capsys, argv + ["--json"])["rows"]
    assert [r["partition"] for r in rows[:2]] == ["random:0", "random:1"]
    path = tmp_path / "summary.json"
    assert main(argv + ["--summary", "--out", str(path)]) == 0
    summary = json.loads(path.read_text())["summary"]
    net = builders.deep_convac(16, M=2, widths=2)
    expected = _brute(net, [make_partition(net, f"random:{s}") for s in range(40)])
    assert Counter(r["bound"] for r in rows) == expected == {h["bound"]: h["count"] for h in summary["histogram"]}


def test_summary_table_and_jsonl(capsys):
    assert main(["deep_convac", "--N", "8", "--all-balanced", "--summary"]) == 0
    out = capsys.readouterr().out
    assert "balanced: 35 partitions" in out and "log2_bound" in out and "max" in out
    assert main(["deep_convac", "--N", "8", "--all-balanced", "--summary", "--format", "jsonl"]) == 0
    head, summary = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert head["network"]["N"] == 8 and summary["count"] == 35


def test_client_address(capsys):
    pytest.importorskip("distributed")
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster:
        summary = _out(capsys, ["deep_convac", "--N", "8", "--all-balanced", "--summary", "--json",
                                "--client", cluster.scheduler_address])["summary"]
    local = _out(capsys, ["deep_convac", "--N", "8", "--all-balanced", "--summary", "--json"])["summary"]
    assert summary["histogram"] == local["histogram"] and summary["max"]["A"] == local["max"]["A"]


@pytest.mark.parametrize("argv, message", [
    (["deep_convac", "--N", "8", "--summary"], "--summary and --client apply to"),
    (["deep_convac", "--N", "8", "--partition", "odd-even", "--client", "local"], "--summary and --client apply to"),
    (["deep_convac", "--N", "8", "--size", "8"], "between 1 and N - 1 = 7"),
    (["deep_convac", "--N", "8", "--size", "2", "--all-balanced"], "one of --partition"),
    (["deep_convac", "--N", "8", "--all-balanced", "--summary", "--validate"], "no per-partition rows"),
    (["deep_convac", "--N", "8", "--all-balanced", "--out", "x.txt"], "suffix must be"),
])
def test_sweep_flag_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
