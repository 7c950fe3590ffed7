"""Grid partitions (theory §9): names and masks against hand-computed pixel sets, 1D meaning kept, clear errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from analysis import make_partition
from analysis.partitions import grid_pixels, parse_mask, register_partition
from tn.errors import PartitionError, UnknownNameError

GRID = builders.deep_convac(grid=(4, 4), M=2, widths=2)
LINE = builders.deep_convac(16, M=2, widths=2)

#  0  1  2  3
#  4  5  6  7
#  8  9 10 11
# 12 13 14 15
EXPECTED_4x4 = {
    "top-bottom": {0, 1, 2, 3, 4, 5, 6, 7},
    "left-right": {0, 1, 4, 5, 8, 9, 12, 13},
    "checkerboard": {0, 2, 5, 7, 8, 10, 13, 15},
    "center-border": {5, 6, 9, 10},
    "quadrants:0": {0, 1, 4, 5},
    "quadrants:1": {2, 3, 6, 7},
    "quadrants:2": {8, 9, 12, 13},
    "quadrants:3": {10, 11, 14, 15},
    "rows:1": {0, 1, 2, 3, 8, 9, 10, 11},
    "cols:1": {0, 2, 4, 6, 8, 10, 12, 14},
    "cols:2": {0, 1, 4, 5, 8, 9, 12, 13},
    "rows:3": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
    "mask:1100/1100/0011/0011": {0, 1, 4, 5, 10, 11, 14, 15},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_4x4))
def test_names_on_a_4x4_grid(name):
    part = make_partition(GRID, name)
    assert set(part.A) == EXPECTED_4x4[name] and set(part.B) == set(range(16)) - EXPECTED_4x4[name]
    assert part.name == name


def test_8x8_center_and_checkerboard():
    net = builders.deep_convac(grid=(8, 8), M=2, widths=2)
    assert set(make_partition(net, "center-border").A) == {r * 8 + c for r in range(2, 6) for c in range(2, 6)}
    A = set(make_partition(net, "checkerboard").A)
    assert len(A) == 32 and all(((p // 8) + (p % 8)) % 2 == 0 for p in A)


def test_masks_as_arrays_and_text():
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 0] = True
    part = make_partition(GRID, mask)
    assert part.A == (4, 8) and part.name == "mask:0000/1000/1000/0000"
    assert (parse_mask("1100/1100/0011/0011") == np.array([[1, 1, 0, 0]] * 2 + [[0, 0, 1, 1]] * 2, bool)).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=16, max_size=16).filter(lambda b: 0 < sum(b) < 16))
def test_any_mask_is_its_true_pixels(bits):
    mask = np.array(bits).reshape(4, 4)
    part = make_partition(GRID, mask)
    assert part.A == tuple(p for p in range(16) if bits[p])
    assert make_partition(GRID, part.name).A == part.A  # the name resolves back to the same sides


def test_one_dimensional_names_keep_their_meaning():
    assert make_partition(LINE, "left-right").A == tuple(range(8))
    assert make_partition(GRID, "odd-even").A == tuple(range(0, 16, 2))   # row-major positions
    assert make_partition(builders.deep_convac(grid=(1, 16), M=2, widths=2), "left-right").A == tuple(range(8))
    assert make_partition(GRID, "random:3").A == make_partition(LINE, "random:3").A


@pytest.mark.parametrize("net,spec,match", [
    (LINE, "top-bottom", r"'top-bottom' needs a network built on an image grid"),
    (LINE, "checkerboard", r"needs a network built on an image grid"),
    (LINE, np.ones((4, 4), bool), r"'mask:1111/.*needs a network built on an image grid"),
    (GRID, np.ones((2, 8), bool), r"shape \(2, 8\) does not match the network's 4 x 4 grid"),
    (GRID, np.eye(4), r"must be a boolean array"),
    (GRID, np.ones((4, 4), bool), r"side B is empty"),
    (GRID, "mask:11/00", r"shape \(2, 2\)"),
    (GRID, "mask:1a00", r"rows of 0/1"),
    (GRID, "mask:10/100", r"rows of 0/1 of equal length"),
    (GRID, "quadrants:4", r"Q must be 0 \(top-left\)"),
    (GRID, "rows:0", r"'rows:0': the band width must be >= 1"),
    (GRID, "rows:4", r"'rows:4' on a 4 x 4 grid leaves side B empty"),
    (builders.deep_convac(grid=(1, 16), M=2, widths=2), "top-bottom", r"1 x 16 grid leaves side A empty"),
    (GRID, "quadrants", r"write it as 'quadrants:Q'"),
])
def test_bad_grid_partitions_are_clear_errors(net, spec, match):
    with pytest.raises(PartitionError, match=match):
        make_partition(net, spec)


def test_unknown_names_list_the_grid_families():
    with pytest.raises(UnknownNameError, match=r"checkerboard.*quadrants:Q.*rows:K.*cols:K"):
        make_partition(GRID, "diagonal")


def test_a_user_grid_family_registers_like_any_other():
    register_partition("diagonal", lambda net, legs, v: grid_pixels(net, legs, "diagonal", lambda r, c, H, W: r == c))
    assert make_partition(GRID, "diagonal").A == (0, 5, 10, 15)
