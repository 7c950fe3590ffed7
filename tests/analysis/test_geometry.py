"""Grid networks (theory §9): bounds against flow min-cuts, ranks against dense SVD, Theorem 1's sandwich."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from analysis import make_partition, mincut
from analysis.geometry import pooling_bounds
from tn import NetworkSum
from tn.errors import BuildError, PartitionError

NAMES = ("top-bottom", "left-right", "checkerboard")
# theory §9 / issue 12 (generic weights, M = 2): bound = rank
EXPECTED_4x4 = {("square", 2): (2, 2, 16), ("square", 4): (4, 4, 256),
                ("mirror", 2): (16, 16, 16), ("mirror", 4): (256, 256, 256)}


def dense_rank(net, A):
    T = net.to_dense()[..., 0]
    rows = sorted(A)
    cols = [i for i in range(T.ndim) if i not in rows]
    return int(np.linalg.matrix_rank(np.transpose(T, rows + cols).reshape(2 ** len(rows), -1)))


@pytest.mark.parametrize("pooling,r", sorted(EXPECTED_4x4))
def test_4x4_bounds_equal_flow_and_dense_ranks(pooling, r):
    net = builders.deep_convac(grid=(4, 4), M=2, widths=r, pooling=pooling, seed=3)
    for name, expected in zip(NAMES, EXPECTED_4x4[pooling, r]):
        part = make_partition(net, name)
        tree, flow = mincut(net, part, method="tree"), mincut(net, part, method="flow")
        assert tree.bound == flow.bound == expected
        assert dense_rank(net, part.A) == expected
        b = pooling_bounds(net, part, tree)
        assert b.lower <= expected <= b.upper and b.mincut == expected


def test_shallow_4x4_is_z_everywhere():
    net = builders.convac(builders.ModeTree.flat(16), M=2, widths=4, grid=(4, 4))
    for name in NAMES + ("center-border", "quadrants:0"):
        part = make_partition(net, name)
        assert mincut(net, part).bound == 4 == dense_rank(net, part.A)


def brute_force_cuts(net):
    """Theory §4 by exhaustion: every tensor takes a side (all 2^T assignments); returns (A, B) -> log2 min-cut."""
    names = list(net.tensor_names)
    x = np.arange(2 ** len(names), dtype=np.int32)
    side = {t: ((x >> k) & 1).astype(bool) for k, t in enumerate(names)}   # False = A, True = B
    inner, legs = np.zeros(len(x), dtype=np.float32), {}
    for ind, where in net.index_map.items():
        w = np.float32(np.log2(net.size_dict[ind]))
        if ind in net.output and len(where) == 1:
            legs[ind] = (w, side[where[0]])
            continue
        # a bond or a hyperedge: paid once when its tensors are not all on one side
        ones = sum(side[t].astype(np.int8) for t in where)
        inner += w * ((ones > 0) & (ones < len(where)))

    def log2_mincut(A, B):
        cost = inner.copy()
        for leg, (w, on_b) in legs.items():
            if leg in A or leg in B:
                cost += w * (on_b if leg in A else ~on_b)
        return float(cost.min())
    return log2_mincut


@pytest.mark.parametrize("pooling,widths", [("square", 2), ("mirror", 2), ("square", [2, 3]), ("mirror", [4, 2])])
def test_4x4_bounds_equal_brute_force(pooling, widths):
    net = builders.deep_convac(grid=(4, 4), M=2, widths=widths, pooling=pooling)
    brute = brute_force_cuts(net)
    for name in ("top-bottom", "left-right", "checkerboard", "center-border", "quadrants:1", "random:4"):
        part = make_partition(net, name)
        assert mincut(net, part).log2_bound == pytest.approx(brute(set(part.A), set(part.B)), abs=1e-5)


@pytest.mark.parametrize("pooling", ["square", "mirror"])
def test_8x8_named_bounds_equal_flow(pooling):
    net = builders.deep_convac(grid=(8, 8), M=2, widths=[2, 3, 4], pooling=pooling)
    for name in ("top-bottom", "left-right", "checkerboard", "center-border", "quadrants:3", "rows:2", "cols:1"):
        part = make_partition(net, name)
        tree, flow = mincut(net, part, method="tree"), mincut(net, part, method="flow")
        b = pooling_bounds(net, part, tree)
        assert tree.bound == flow.bound and b.lower <= tree.bound <= b.upper


def test_theorem1_by_hand_on_4x4():
    """Square 4 x 4, widths (r0, r1) = (3, 5), M = 2, A = the first row plus pixel 4."""
    net = builders.deep_convac(grid=(4, 4), M=2, widths=[3, 5])
    b = pooling_bounds(net, [0, 1, 2, 3, 4])
    # windows {0,1,4,5}: I = 3 pixels, J = 1 -> split, c = min(2^1, 3) = 2;
    # {2,3,6,7}: 2 | 2 -> split, c = min(2^2, 3) = 3; the bottom windows are all J -> c = 1.
    # root: min(2^min(5, 11), 5 * 2 * 3) = 30; lower = min(3, 2)^2 = 4.
    assert (b.S, b.lower, b.upper) == (2, 4, 30)
    assert b.split == ((0, 1, 4, 5), (2, 3, 6, 7))


@settings(max_examples=30, deadline=None)
@given(pooling=st.sampled_from(["square", "mirror"]), side=st.sampled_from([4, 8]), M=st.integers(2, 3),
       widths=st.lists(st.integers(1, 4), min_size=3, max_size=3), bits=st.randoms(use_true_random=False))
def test_lower_le_mincut_le_upper_on_random_partitions(pooling, side, M, widths, bits):
    net = builders.deep_convac(grid=(side, side), M=M, widths=widths[: 2 if side == 4 else 3], pooling=pooling)
    N = side * side
    A = bits.sample(range(N), bits.randint(1, N - 1))
    b = pooling_bounds(net, A)
    assert b.lower <= b.mincut <= b.upper
    assert b.mincut == mincut(net, A, method="flow").bound


@settings(max_examples=15, deadline=None)
@given(pooling=st.sampled_from(["square", "mirror"]), r=st.integers(1, 3), bits=st.randoms(use_true_random=False))
def test_lower_le_dense_rank_on_4x4(pooling, r, bits):
    net = builders.deep_convac(grid=(4, 4), M=2, widths=[r, 2], pooling=pooling, seed=1)
    A = bits.sample(range(16), bits.randint(1, 15))
    b = pooling_bounds(net, A)
    assert b.lower <= dense_rank(net, A) <= b.mincut <= b.upper


@pytest.mark.parametrize("r", [4, 8])
def test_32x32_queries_are_fast_and_match_the_theory(r):
    net = builders.deep_convac(grid=(32, 32), M=2, widths=r)
    for name, expected in (("top-bottom", r), ("checkerboard", 2 ** 512)):
        start = time.perf_counter()
        result = mincut(net, name)
        assert time.perf_counter() - start < 1.0
        assert result.bound == expected
    b = pooling_bounds(net, "checkerboard")
    assert b.S == 256 and b.lower == 2 ** 256 and b.lower <= b.mincut <= b.upper


def test_bad_inputs():
    net = builders.deep_convac(grid=(4, 4), M=2, widths=2)
    with pytest.raises(PartitionError, match="all 16 positions"):
        pooling_bounds(net, ([0, 1], [2, 3]))
    with pytest.raises(PartitionError, match="all 16 positions"):
        pooling_bounds(net, ([0, 1, "y"], list(range(2, 16))))
    with pytest.raises(BuildError, match="one tree per term"):
        pooling_bounds(NetworkSum([net, net.copy()]), [0])
