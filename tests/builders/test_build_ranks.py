"""The rank patterns of theory §4 on dense coefficient tensors (numpy SVD and exact ranks mod p)."""

import numpy as np
import pytest
from builders_helpers import matricize, rank_mod_p

import builders
from builders import ModeTree

LEFT, EVEN = range(4), range(0, 8, 2)

TABLE = [  # tree, M, widths, left-right rank, odd-even rank
    ("balanced", 2, 2, 2, 16),
    ("balanced", 2, 3, 3, 16),
    ("mirror", 2, 2, 16, 16),
    ("flat", 2, 2, 2, 2),
    ("interleaved", 2, 2, 16, 2),
    ("balanced", 3, 2, 2, 16),   # min(M, r)^(N/2)
    ("balanced", 2, 4, 4, 16),
]


def _net(tree, M, r, init, seed=0):
    return builders.convac(getattr(ModeTree, tree)(8), M, r, seed=seed, init=init)


@pytest.mark.parametrize("tree, M, r, left_right, odd_even", TABLE)
@pytest.mark.parametrize("init", ["gaussian", "orthonormal"])
def test_svd_ranks(tree, M, r, left_right, odd_even, init):
    A = _net(tree, M, r, init).to_dense()
    assert np.linalg.matrix_rank(matricize(A, LEFT)) == left_right
    assert np.linalg.matrix_rank(matricize(A, EVEN)) == odd_even


@pytest.mark.parametrize("tree, M, r, left_right, odd_even", TABLE)
def test_exact_ranks_over_a_prime_field(tree, M, r, left_right, odd_even):
    """The generic rank is the largest rank over all weights: no integer draw exceeds it, some reach it."""
    found = []
    for seed in range(12):
        A = _net(tree, M, r, "integer", seed=seed).to_dense()
        assert np.abs(A).max() < 2 ** 52 and np.array_equal(A, np.rint(A))  # exact in float64
        ranks = rank_mod_p(matricize(A, LEFT)), rank_mod_p(matricize(A, EVEN))
        assert ranks[0] <= left_right and ranks[1] <= odd_even
        found.append(ranks)
    assert (left_right, odd_even) in found, found


def test_flat_rank_is_z_for_every_partition():
    A = builders.shallow_convac(6, M=3, Z=5, seed=3).to_dense()
    for rows in ([0], [0, 1], [0, 2, 4], [1, 5], [0, 1, 2]):
        expected = min(5, 3 ** len(rows), 3 ** (6 - len(rows)))
        assert np.linalg.matrix_rank(matricize(A, rows)) == expected


def test_mixed_rank_is_at_most_the_sum_of_its_terms():
    s = builders.mixed(ModeTree.balanced(8), ModeTree.interleaved(8), M=2, widths=2)
    total = s.to_dense()
    for rows in (LEFT, EVEN):
        terms = [np.linalg.matrix_rank(matricize(t.to_dense(), rows)) for t in s.terms]
        assert np.linalg.matrix_rank(matricize(total, rows)) <= sum(terms)
    # each tree alone is poor on one of the two partitions; the mixture is high on both
    assert np.linalg.matrix_rank(matricize(total, LEFT)) > 2
    assert np.linalg.matrix_rank(matricize(total, EVEN)) > 2
