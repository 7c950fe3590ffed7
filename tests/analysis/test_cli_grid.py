"""tn-mincut on images: --grid, --window, --pooling, --mask, and --draw of a grid network."""

import json

import pytest

from analysis.cli import main


def rows(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)["rows"]


def test_grid_networks_from_flags(capsys):
    assert main(["--grid", "4x8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["header"]["network"]["grid"] == [4, 8]
    got = rows(capsys, ["--grid", "4x4", "--widths", "2", "--partition", "top-bottom", "--partition", "checkerboard",
                        "--json"])
    assert [r["bound"] for r in got] == [2, 16]          # theory §9: square r = 2
    got = rows(capsys, ["deep_convac", "--grid", "4x4", "--pooling", "mirror", "--partition", "top-bottom",
                        "--partition", "checkerboard", "--json"])
    assert [r["bound"] for r in got] == [16, 16]         # mirror r = 2
    got = rows(capsys, ["convac", "--grid", "4x4", "--window", "2x1,1x2,2x2", "--partition", "top-bottom", "--json"])
    assert got[0]["bound"] == 2
    got = rows(capsys, ["convac", "--grid", "4x4", "--tree", "flat", "--N", "16", "--partition", "checkerboard",
                        "--json"])
    assert got[0]["bound"] == 2                          # a declared grid over any tree: shallow Z = 2


def test_masks_are_partitions(capsys):
    got = rows(capsys, ["--grid", "4x4", "--widths", "2", "--mask", "1010/0101/1010/0101", "--mask",
                        "1100/1100/0000/0000", "--json"])
    assert [r["partition"] for r in got] == ["mask:1010/0101/1010/0101", "mask:1100/1100/0000/0000"]
    assert got[0]["A"] == [0, 2, 5, 7, 8, 10, 13, 15] and got[0]["bound"] == 16 and got[1]["bound"] == 1 + 1


def test_draw_of_a_grid_network_is_its_image(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    assert main(["--grid", "8x8", "--window", "2x2", "--pooling", "mirror", "--partition", "checkerboard",
                 "--draw", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and "wrote" in capsys.readouterr().out


def test_a_network_sum_draws_one_panel_per_term(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "s.png"
    assert main(["mixed", "--tree", "balanced+mirror", "--N", "8", "--partition", "left-right", "--draw",
                 str(png)]) == 0
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("argv,message", [
    (["--grid", "8"], "--grid '8': expected 8x8"),
    (["--grid", "4x4", "--window", "2y2"], "--window '2y2': expected 2x2"),
    (["--grid", "6x4"], "H=6 must be a power of the window height 2"),
    (["--grid", "4x4", "--mask", "11/00"], r"shape (2, 2) does not match the network's 4 x 4 grid"),
    (["--grid", "4x4", "--mask", "1x00/0000/0000/0000"], "rows of 0/1"),
    (["deep_convac", "--N", "16", "--mask", "1100/1100/0011/0011"], "needs a network built on an image grid"),
    (["deep_convac", "--N", "16", "--partition", "checkerboard"], "needs a network built on an image grid"),
    (["--grid", "4x4", "--mask", "1100/1100/0011/0011", "--random", "2"], "give one of --partition (and --mask)"),
    (["dilated_convnet", "--grid", "4x4"], "does not take --grid"),
    (["--grid", "4x4", "--N", "8"], "N=8 differs from the 4 x 4 = 16 pixels"),
])
def test_bad_grid_flags_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
