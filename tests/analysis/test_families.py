"""Partition families: counts, unranking (each partition exactly once), random access, the registry."""

from itertools import combinations, pairwise
from math import comb

import numpy as np
import pytest
from analysis_nets import convac, flat
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.families import (
    FAMILIES,
    AllBalanced,
    Generated,
    Masks,
    OfSize,
    RandomK,
    make_family,
    rank_combination,
    unrank_combinations,
)
from analysis.partitions import balanced_partitions
from tn.errors import PartitionError, UnknownNameError


def subsets(rows):
    return [tuple(int(i) for i in np.flatnonzero(r)) for r in rows]


@pytest.mark.parametrize("n", range(2, 13))
def test_all_balanced_lists_each_unordered_partition_once(n):
    fam = AllBalanced(n)
    rows = fam.masks(0, fam.count)
    assert fam.count == (comb(n, n // 2) // 2 if n % 2 == 0 else comb(n, n // 2))
    unordered = {frozenset({frozenset(np.flatnonzero(r)), frozenset(np.flatnonzero(~r))}) for r in rows}
    assert len(unordered) == fam.count  # no partition twice, (A, B) and (B, A) not both
    every = {frozenset({frozenset(a), frozenset(set(range(n)) - set(a))}) for a in combinations(range(n), n // 2)}
    assert unordered == every  # and none missing
    net = convac(flat(n), M=2, width=2, symbolic=True)
    assert subsets(rows) == [tuple(p.A) for p in balanced_partitions(net)] if n <= 20 else True


@pytest.mark.parametrize("n, k", [(5, 1), (6, 3), (9, 4), (10, 7)])
def test_of_size_is_lexicographic_combinations(n, k):
    fam = OfSize(n, k)
    assert subsets(fam.masks(0, fam.count)) == list(combinations(range(n), k))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 120), st.data())
def test_unrank_inverts_rank(n, data):
    k = data.draw(st.integers(0, n))
    count = comb(n, k)
    ranks = data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=5))
    rows = unrank_combinations(n, k, ranks)
    assert (rows.sum(axis=1) == k).all()
    assert [rank_combination(r) for r in rows] == ranks


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["balanced", "size:3", "random:9000:4"]), st.lists(st.integers(1, 5000), max_size=4))
def test_rows_do_not_depend_on_chunking(spec, cuts):
    fam = make_family(spec, 14)
    whole = fam.masks(0, fam.count)
    bounds = sorted({0, fam.count, *[c % fam.count for c in cuts]})
    pieces = [fam.masks(a, b) for a, b in pairwise(bounds)]
    assert np.array_equal(np.concatenate(pieces), whole)


def test_random_family():
    fam = RandomK(12, 5000, seed=3)
    rows = fam.masks(0, 5000)
    assert (rows.sum(axis=1) == 6).all()
    assert len({r.tobytes() for r in rows}) > 800  # C(12, 6) = 924 balanced subsets, drawn uniformly
    assert np.allclose(rows.mean(axis=0), 0.5, atol=0.03)
    assert not np.array_equal(RandomK(12, 100, seed=4).masks(0, 100), rows[:100])
    assert np.array_equal(RandomK(12, 100, seed=3).masks(0, 100), rows[:100])


def test_masks_generated_and_partition():
    rows = np.array([[True, False, True], [False, True, True]])
    fam = make_family(rows, 3)
    assert isinstance(fam, Masks) and fam.count == 2 and fam.partition("abc", 1).A == ("b", "c")
    gen = Generated(lambda a, b: np.arange(a, b)[:, None] % 2 == np.arange(4), 6, 4)
    assert gen.masks(2, 4).tolist() == [[True, False, False, False], [False, True, False, False]]
    bad = Generated(lambda a, b: np.zeros((b - a, 3), dtype=bool), 6, 4, name="bad")
    with pytest.raises(PartitionError, match="'bad' returned"):
        bad.masks(0, 2)


def test_family_errors_and_registry():
    assert set(FAMILIES.names()) >= {"balanced", "size", "random"}
    with pytest.raises(UnknownNameError, match="valid names: balanced, size:k, random:K"):
        make_family("nope", 8)
    with pytest.raises(PartitionError, match="1 <= k <= 7"):
        make_family("size:8", 8)
    with pytest.raises(PartitionError, match="write it as size:k"):
        make_family("size", 8)
    with pytest.raises(PartitionError, match="splits 6 positions, the network has 8"):
        make_family(AllBalanced(6), 8)
    with pytest.raises(PartitionError, match="outside family"):
        AllBalanced(6).masks(5, 11)
    with pytest.raises(PartitionError, match="bool matrix"):
        Masks(np.zeros((2, 3)))
    FAMILIES.register("halves", lambda n: OfSize(n, n // 2), args="")
    assert make_family("halves", 6).count == 20
