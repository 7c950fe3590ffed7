"""Theorem 7 (theory §6) against min-cuts and exact ranks; min-cut bounds of sums (mixed decompositions)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from analysis import mincut, mincut_batch, tree_rank_bounds
from builders import ModeTree, reference
from tn import NetworkSum
from tn.errors import PartitionError, TreeError

P = 1_000_003


def rank_mod_p(matrix):
    return reference.rank_mod_p(matrix, P)


def brute_rank(tree, I, r, seed):
    """Exact rank of the headless network with random weights mod P, leaves applied as a^i (M = r)."""
    rng = np.random.default_rng(seed)
    weights = {v: rng.integers(0, P, (r, r)) for v in tree.nodes if v != tree.root}

    def phi(v):  # (M^{|v|}, channel) with v's positions in increasing order, channel = v's output
        kids = tree.children(v)
        if not kids:
            return np.mod(np.eye(r) @ weights[v], P), list(v)
        (lo, plo), (hi, phi_) = phi(kids[0]), phi(kids[1])
        acc = np.mod(lo[:, None, :] * hi[None, :, :], P)             # (lo configs, hi configs, channel)
        pos = plo + phi_
        out = acc.reshape(-1, acc.shape[-1])
        if v != tree.root:
            out = np.mod(out.astype(float) @ weights[v].astype(float), P).astype(np.int64)
        return out, pos

    A, pos = phi(tree.root)
    T = A[:, 0].reshape((r,) * tree.N)
    T = np.transpose(T, np.argsort(pos))
    rows = sorted(I)
    cols = [i for i in range(tree.N) if i not in I]
    return rank_mod_p(np.transpose(T, rows + cols).reshape(r ** len(rows), -1))


def test_corollary_8_partition_by_hand():
    A = [0, 2, 4, 6, 8, 9, 12, 13]
    T, Tb = (ModeTree.from_dilations(16, d) for d in ((1, 2, 4, 8), (2, 1, 8, 4)))
    for tree in (T, Tb):
        b = tree_rank_bounds(tree, A, 2)
        assert b.lower == b.upper == 64 and len(b.theta) == len(b.theta_c) == 6
    b = tree_rank_bounds(T, A, 3)
    assert set(b.theta) == {(0,), (2,), (4,), (6,), (8, 9), (12, 13)} and b.upper == 3 ** 6
    # the root split: I = one child of the root; the pair sits at depth 1, so the lower bound is 1
    half = tree_rank_bounds(T, range(8), 2)
    assert (half.lower, half.upper, half.deep_pairs) == (1, 2, ())


@pytest.mark.parametrize("N, r", [(8, 2), (8, 3), (16, 2)])
def test_bounds_bracket_the_min_cut_on_random_partitions(N, r):
    rng = np.random.default_rng(N * r)
    L = N.bit_length() - 1
    orders = list(itertools.permutations([1 << j for j in range(L)]))
    for dilations in (orders[int(k)] for k in rng.choice(len(orders), size=min(6, len(orders)), replace=False)):
        net = builders.dilated_convnet(N, r, r, dilations, head=None)  # M = r: features span R^r
        tree = builders.tree_of(net)
        for _ in range(8):
            I = sorted(int(i) for i in rng.choice(N, size=int(rng.integers(1, N)), replace=False))
            b = tree_rank_bounds(net, I, r)
            cut = mincut(net, I).bound
            assert b.lower <= cut <= b.upper, (dilations, I, b, cut)
            assert b == tree_rank_bounds(tree, I, r)


@settings(max_examples=30, deadline=None)
@given(dilations=st.permutations([1, 2, 4]), r=st.integers(2, 3), data=st.data())
def test_bounds_bracket_the_exact_rank(dilations, r, data):
    tree = ModeTree.from_dilations(8, dilations)
    I = data.draw(st.sets(st.integers(0, 7), min_size=1, max_size=7))
    b = tree_rank_bounds(tree, I, r)
    rank = brute_rank(tree, I, r, data.draw(st.integers(0, 99)))
    assert b.lower <= rank <= b.upper


def test_bad_input():
    with pytest.raises(TreeError, match="binary"):
        tree_rank_bounds(ModeTree.balanced(9, 3), [0], 2)
    with pytest.raises(PartitionError, match="proper subset"):
        tree_rank_bounds(ModeTree.balanced(4), [0, 1, 2, 3], 2)
    with pytest.raises(PartitionError, match="proper subset"):
        tree_rank_bounds(ModeTree.balanced(4), [5], 2)


# ---------------------------------------------------------------------- sums
def test_sum_bound_is_capped_by_the_sides():
    a = builders.deep_convac(4, M=2, widths=2, seed=1, pooling="interleaved")
    one = mincut(a, [0, 1]).bound
    assert one == 4  # {0, 1} | {2, 3}: both interleaved pairs split
    r = mincut(NetworkSum([a, a, a]), [0, 1])
    assert [t.bound for t in r.terms] == [4, 4, 4] and r.bound == 4 == 2 ** 2 and r.cut == (0, 1)
    r = mincut(NetworkSum([a, a]), [0])
    assert r.bound == 2 and r.log2_bound == 1.0 and isinstance(r.bound, int)


def test_mixed_bound_on_the_corollary_8_partition():
    A = [0, 2, 4, 6, 8, 9, 12, 13]
    T, Tb = (1, 2, 4, 8), (2, 1, 8, 4)
    nets = [builders.dilated_convnet(16, 2, 2, d, head=None, seed=k) for k, d in enumerate((T, Tb))]
    assert [mincut(n, A).bound for n in nets] == [64, 64]
    assert mincut(NetworkSum(nets), A).bound == 128
    mix = builders.mixed_dilated(16, 2, 2, T, Tb, mixture_levels=[2], swap=1, head=None)
    r = mincut(mix, A)
    assert r.bound == 256 == 2 ** len(A) and len(r.terms) == mix.n_terms == 32 and sum(t.bound for t in r.terms) > 256


def test_mincut_batch_of_a_sum_agrees_with_mincut():
    mix = builders.mixed(ModeTree.balanced(8), ModeTree.interleaved(8), M=2, widths=3)
    rng = np.random.default_rng(0)
    rows = rng.random((20, 8)) < 0.5
    rows[:, 0], rows[:, 1] = True, False
    batch = mincut_batch(mix, rows)
    single = [math.log2(mincut(mix, list(np.flatnonzero(row))).bound) for row in rows]
    assert np.allclose(batch, single, atol=1e-9)
