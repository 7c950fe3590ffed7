import json
import subprocess
import sys

import pytest

from analysis.cli import BUILDER_FLAGS, DEFAULT_ARGS, builder_flags, main
from analysis.report import ROW_KEYS, SCHEMA
from analysis_nets import balanced, convac


def _strict(constant):
    raise AssertionError(f"non-standard JSON constant {constant}")


def _json(capsys, argv):
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out, parse_constant=_strict)  # strict JSON: no Infinity / NaN
    assert doc["header"]["schema"] == SCHEMA and all(tuple(row) == ROW_KEYS for row in doc["rows"])
    return doc["rows"]


def test_json_from_saved_network(tmp_path, capsys):
    path = tmp_path / "net.tnet"
    convac(balanced(8), M=2, width=3, seed=2).save(str(path))
    rows = _json(capsys, ["--load", str(path), "--partition", "left-right", "--partition", "0,2,4,6",
                          "--validate", "--json"])
    assert [(r["partition"], r["A"], r["bound"], r["rank"], r["tight"]) for r in rows] == [
        ("left-right", [0, 1, 2, 3], 3, 3, True), ("0,2,4,6", [0, 2, 4, 6], 16, 16, True)]
    for row in rows:
        assert {"partition", "A", "log2_bound", "bound", "cut", "method", "seconds", "entropy"} <= set(row)
    rows = _json(capsys, ["--load", str(path), "--json", "--method", "flow", "--flow-func", "dinitz"])
    assert [r["bound"] for r in rows] == [3, 16] and rows[0]["flow_func"] == "dinitz"


def test_builder_flags_and_table(capsys):
    assert main(["convac", "--tree", "mirror", "--N", "8", "--M", "2", "--widths", "2", "--partition", "left-right",
                 "--validate"]) == 0
    out = capsys.readouterr().out
    assert "left-right" in out and "tight" in out
    rows = _json(capsys, ["deep_convac", "--N", "8", "--widths", "2,3,4", "--json"])
    assert [r["bound"] for r in rows] == [3, 16]  # min(root 4, its children 3)


def test_draw_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "cut.png"
    assert main(["convac", "--tree", "mirror", "--N", "8", "--partition", "left-right", "--draw", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


def test_all_balanced(capsys):
    rows = _json(capsys, ["convac", "--N", "8", "--all-balanced", "--json"])
    assert len(rows) == 35 and all(0 in r["A"] and len(r["A"]) == 4 for r in rows)
    assert min(r["bound"] for r in rows) == 2 and max(r["bound"] for r in rows) == 16


@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "unrecognized arguments"),
    (["convac", "--tree", "((0,1),(1,2))", "--N", "4"], "position(s) 1 are repeated"),
    (["deep_convac", "--N", "8", "--seed", "-1"], "seed must be a non-negative int, got -1"),
    (["deep_convac", "--N", "8", "--partition", "random:-1"], "the seed must be >= 0"),
    (["--load", "/nonexistent/net.tnet"], "nonexistent"),
    (["nope"], "unknown builder"),
    (["convac", "--tree", "zigzag"], "--tree"),
    (["convac", "--widths", "x"], "--widths"),
    (["convac", "--N", "8", "--partition", "0,99"], "99"),
    (["convac", "--N", "8", "--partition", "sideways"], "unknown partition"),
    (["convac", "--N", "8", "--partition", "0,1|1,2"], "overlap"),
    (["convac", "--N", "8", "--method", "magic"], "unknown cut method"),
    (["convac", "--N", "8", "--flow-func", "magic"], "unknown flow_func"),
    (["convac", "--N", "64", "--validate", "--partition", "odd-even", "--spectrum-method", "gram"], "gram limit"),
    (["convac", "--N", "7"], "N"),
    (["convac", "--N", "32", "--all-balanced"], "--summary"),
    (["deep_convac", "--tree", "mirror"], "does not take --tree; it takes --N --M --widths --pooling"),
    (["shallow_convac", "--dilations", "1,2"], "does not take --dilations"),
    (["--load", "x.tnet", "--N", "8"], "do not apply to --load"),
    (["convac", "--N", "8", "--partition", "0,1,1"], "repeats legs [1]"),
    (["convac", "--N", "8", "--partition", "0,1|2"], "--fix-rest"),
    (["convac", "--N", "8", "--random", "2", "--partition", "odd-even"], "one of --partition"),
    (["convac", "--N", "8", "--labels"], "--labels only applies with --draw"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tn-mincut: error:") and message in err
    assert "Traceback" not in err


def test_query_flags_alone_run_on_the_default_network(capsys):
    assert main(["--partition", "odd-even", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["bound"] for r in rows] == [256] and rows[0]["verdict"] is None  # theory §4: 2^(N/2); no --validate
    assert main(["--json"]) == 0  # no partitions chosen: the main job's partitions, validated
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["partition"] for r in rows] == ["left-right", "odd-even", "blocks:4"]
    assert all(r["verdict"] == "certified-tight" for r in rows)


def test_builder_flags_without_a_builder_mean_the_default_architecture(capsys):
    assert main(["--N", "8", "--partition", "left-right", "--partition", "odd-even", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["header"]["network"]["builder"] == "deep_convac"
    assert [r["bound"] for r in doc["rows"]] == [2, 16]  # theory §4: balanced, N = 8, M = 2, widths 2


def test_subprocess_default_command():
    proc = subprocess.run([sys.executable, "-m", "analysis", "--json", *DEFAULT_ARGS[:-1]], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [r["partition"] for r in json.loads(proc.stdout)["rows"]] == ["left-right", "odd-even", "blocks:4"]
    bad = subprocess.run([sys.executable, "-m", "analysis", "--partition"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1


def test_validate_keeps_the_bound_when_no_spectrum_can_be_had(capsys):
    rows = _json(capsys, ["deep_convac", "--N", "64", "--M", "2", "--widths", "2", "--partition", "left-right",
                          "--partition", "odd-even", "--validate", "--json"])
    lr, oe = rows
    assert lr["rank"] == lr["bound"] == 2 and lr["spectrum_method"] == "gram"
    assert oe["bound"] == 2**32 and oe["rank"] is None and oe["tight"] is None
    assert oe["spectrum_method"] == "unavailable" and "gram limit" in oe["note"]


def test_same_keys_with_and_without_validate(capsys):
    plain = _json(capsys, ["deep_convac", "--N", "8", "--json"])
    checked = _json(capsys, ["deep_convac", "--N", "8", "--json", "--validate"])
    assert [tuple(r) for r in plain] == [tuple(r) for r in checked] == [ROW_KEYS] * 2
    assert plain[0]["rank"] is None and checked[0]["rank"] == checked[0]["bound"] == 2
    assert checked[1]["gap"] == "inf"  # odd-even at N = 8 is full rank: nothing dropped, marked distinctly from null


def test_jsonl_and_csv(capsys):
    assert main(["deep_convac", "--N", "8", "--format", "jsonl", "--random", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head, rows = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert head["network"]["builder"] == "deep_convac" and head["network"]["N"] == 8
    assert [r["partition"] for r in rows] == ["random:0", "random:1", "random:2"]
    assert all(len(r["A"]) == 4 for r in rows)
    assert main(["deep_convac", "--N", "8", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("# {") and out[1].split(",") == list(ROW_KEYS) and len(out) == 4


def test_fix_rest_fixes_the_leftover_legs(capsys):
    rows = _json(capsys, ["deep_convac", "--N", "8", "--partition", "0,1|2,3", "--fix-rest", "--json"])
    assert rows[0]["A"] == [0, 1] and rows[0]["B"] == [2, 3] and rows[0]["bound"] == 2


def test_flags_reach_the_builder(capsys):
    """A flag the builder takes changes the network: mirror pooling makes left-right exponential."""
    contiguous = _json(capsys, ["deep_convac", "--N", "8", "--json"])
    mirror = _json(capsys, ["deep_convac", "--N", "8", "--pooling", "mirror", "--json"])
    assert (contiguous[0]["bound"], mirror[0]["bound"]) == (2, 16)
    dilated = _json(capsys, ["dilated_convnet", "--N", "8", "--dilations", "4,2,1", "--json"])
    assert dilated[1]["bound"] == 2  # dilation 4 first pairs t with t + 4: the interleaved tree, odd-even is cheap


def test_help_lists_builders_and_their_flags(capsys):
    import builders
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in builders.available():
        flags = " ".join(f.flag for f in builder_flags(builders.get(name)))
        assert f"{name}" in out and flags in out
    assert all(f.flag in out for f in BUILDER_FLAGS)


def test_internal_errors_are_one_line(monkeypatch, capsys):
    import analysis.cli as cli

    def broken(args):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr(cli, "run", broken)
    assert main(["deep_convac"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (ZeroDivisionError" in err and "Traceback" not in err


def test_dtype_flag_reaches_the_builder(tmp_path, capsys):
    import numpy as np
    import tn
    path = tmp_path / "f32.tnet"
    rows32 = _json(capsys, ["deep_convac", "--N", "8", "--dtype", "float32", "--validate", "--save", str(path),
                            "--json"])
    rows64 = _json(capsys, ["deep_convac", "--N", "8", "--validate", "--json"])
    assert tn.load(path).dtype == np.float32
    assert [(r["bound"], r["rank"]) for r in rows32] == [(r["bound"], r["rank"]) for r in rows64]
    assert main(["deep_convac", "--N", "8", "--dtype", "float16"]) == 2
    assert "--dtype 'float16'" in capsys.readouterr().err


def test_slow_stages_say_what_they_do(monkeypatch, capsys):
    import analysis.cli as cli
    monkeypatch.setattr(cli, "PROGRESS_AFTER", 0.0)  # every stage counts as slow
    assert main(["deep_convac", "--N", "8", "--partition", "left-right"]) == 0
    err = capsys.readouterr().err
    assert "tn-mincut: building deep_convac: done in" in err
    assert "tn-mincut: min cut of partition left-right: done in" in err
    monkeypatch.setattr(cli, "PROGRESS_AFTER", 60.0)
    assert main(["deep_convac", "--N", "8", "--partition", "left-right"]) == 0
    assert capsys.readouterr().err == ""  # quick stages print nothing


def test_mixed_flags_reach_the_builder(capsys):
    """--swap 0 is the plain sum of the two networks (bounds add); --mixture-levels none likewise; --head none."""
    base = ["mixed_dilated", "--N", "16", "--widths", "2", "--dilations", "1,2,4,8", "--dilations-b", "2,1,8,4",
            "--partition", "0,2,4,6,8,9,12,13", "--json"]
    plain = _json(capsys, base + ["--mixture-levels", "none"])[0]["bound"]
    swapped0 = _json(capsys, base + ["--mixture-levels", "2", "--swap", "0"])[0]["bound"]
    assert plain == swapped0
    assert _json(capsys, ["dilated_convnet", "--N", "8", "--head", "none", "--partition", "left-right",
                          "--json"])[0]["bound"] == 1  # the paper's baseline: one outer product across the root
    assert main(["dilated_convnet", "--N", "8", "--head", "sideways"]) == 2
    assert "--head 'sideways'" in capsys.readouterr().err


def test_validated_rows_keep_B(capsys):
    """The row schema is the same with and without --validate: B is always computed."""
    argv = ["deep_convac", "--N", "8", "--partition", "0,1|2,3", "--fix-rest", "--format", "json"]
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)["rows"][0]
    assert main(argv + ["--validate"]) == 0
    checked = json.loads(capsys.readouterr().out)["rows"][0]
    assert plain["B"] == checked["B"] == [2, 3] and plain["A"] == checked["A"] == [0, 1]


@pytest.mark.parametrize("argv, message", [
    (["--partition", "odd-even", "--weights", "own"], "--weights only applies with --validate"),
    (["--partition", "odd-even", "--spectrum-method", "gram"], "--spectrum-method only applies with --validate"),
    (["--partition", "odd-even", "--method", "tree", "--flow-func", "dinitz"], "does not apply with --method tree"),
    (["--partition", "odd-even", "--format", "csv", "--out", "rows.json"], "writes json (its suffix)"),
    (["deep_convac", "--N", "16", "--window", "2x2"], "give grid=(H, W) too"),
    (["mixed_dilated", "--N", "16", "--mixture-levels", "none", "--swap", "1"], "no mixture node to act on"),
    (["--partition", "odd-even", "--fix-rest"], "--fix-rest: no partition leaves input legs"),
])
def test_flags_that_would_be_ignored_are_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "rows.json").exists()


def test_the_table_shows_a_certified_lower_bound_when_no_rank_is_computed(capsys):
    assert main(["--N", "64", "--validate", "--partition", "odd-even"]) == 0
    out = capsys.readouterr().out
    assert ">=64" in out and "undetermined" in out and "rank >= 64 (a 64x64 submatrix" in out


def test_the_header_of_a_mixed_network_names_its_init_seed_and_both_trees(capsys):
    argv = ["mixed_dilated", "--N", "8", "--seed", "5", "--partition", "left-right", "--format", "json"]
    assert main(argv) == 0
    network = json.loads(capsys.readouterr().out)["header"]["network"]
    assert (network["builder"], network["init"], network["seed"]) == ("mixed_dilated", "orthonormal", 5)
    assert len(network["tree"]) == 2 and network["kind"] == "MixedNetwork"
