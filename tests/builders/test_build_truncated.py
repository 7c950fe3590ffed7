"""builders.truncated_convac: depth-truncated ConvACs (COLT'16 depth truncation)."""

import numpy as np
import pytest
from builders_helpers import matricize
from hypothesis import given, settings
from hypothesis import strategies as st

import analysis
import builders
from tn.errors import TreeError


@pytest.mark.parametrize("N,levels", [(8, 1), (8, 2), (8, 3), (16, 2), (12, 3)])
def test_tree_pools_pairs_then_everything_at_the_root(N, levels):
    tree = builders.truncated_tree(N, levels)
    block = 2 ** (levels - 1)
    kids = tree.children(tree.root)
    assert kids == tuple(tuple(range(k, k + block)) for k in range(0, N, block))     # contiguous blocks
    assert tree.depth == levels
    assert all(len(tree.children(v)) == 2 for v in tree.internal_nodes if v != tree.root)


@pytest.mark.parametrize("N,levels", [(6, 3), (4, 3), (8, 0), (1, 1)])
def test_bad_sizes_name_the_value(N, levels):
    with pytest.raises(TreeError, match=f"{'levels' if levels == 0 else 'N'}"):
        builders.truncated_tree(N, levels)


def test_registered_and_matches_the_tree_recursion():
    assert builders.get("truncated_convac") is builders.truncated_convac
    net = builders.truncated_convac(8, 2, [2, 3], 2, classes=2, seed=4)
    tracks, _ = builders.reference.unpack(net)
    assert np.allclose(net.to_dense(), builders.reference.coefficient_tensor(tracks))
    assert net.metadata["builder"] == "truncated_convac" and net.metadata["levels"] == 2


def hand_bound(N, r, t, levels):
    """Min-cut of blocks:b, b = 2^(levels-1) the root's block size, by hand: cut the root hyperedge (t) or the
    outgoing edges of the N/2b blocks on A's side (r each; with M = r every cut inside a pure block costs more)."""
    return min(t, r ** (N // 2 ** levels))


@given(L=st.integers(3, 4), data=st.data())
@settings(max_examples=20, deadline=None)
def test_bound_of_the_aligned_partition_is_min_of_top_width_and_blocks(L, data):
    N = 2 ** L
    levels = data.draw(st.integers(2, L))
    t = data.draw(st.integers(1, 70))
    b = 2 ** (levels - 1)
    net = builders.truncated_convac(N, 2, [2] * (levels - 1) + [t], levels, symbolic=True)
    assert net.data(("leaf", 0)) is None                                    # symbolic: shapes only
    assert analysis.mincut(net, f"blocks:{b}").bound == hand_bound(N, 2, t, levels)


@pytest.mark.parametrize("levels,t", [(1, 3), (2, 2), (2, 5), (3, 3)])
def test_rank_equals_bound_on_every_balanced_partition(levels, t):
    net = builders.truncated_convac(8, 2, [2] * (levels - 1) + [t], levels, init="orthonormal", seed=1)
    A = net.to_dense()
    for part in analysis.balanced_partitions(net):
        rows = list(part.A)
        assert np.linalg.matrix_rank(matricize(A, rows)) == analysis.mincut(net, rows).bound


def test_symbolic_widths_beyond_any_array():
    net = builders.truncated_convac(16, 2, [2, 2 ** 100], 2, symbolic=True)
    assert analysis.mincut(net, "blocks:2").bound == 16 and analysis.mincut(net, "odd-even").bound == 256
