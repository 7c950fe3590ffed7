"""analysis.grid_tensor: grid tensors of generalized networks by brute force over template combinations."""

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analysis
import builders
from tn.errors import MemoryLimitError


@pytest.mark.parametrize("g", ["product", "relu-max", "relu-sum"])
def test_every_entry_is_the_network_on_its_templates(g):
    F = np.array([[1, 0, 2], [0, -1, 1], [3, 1, 0]])
    net = builders.generalized(builders.ModeTree.balanced(4), 3, 2, g=g, classes=2, init="integer", seed=5,
                               templates=F)
    A = analysis.grid_tensor(net)
    assert A.shape == (3, 3, 3, 3, 2)
    for d in product(range(3), repeat=4):                    # one forward pass per combination
        x = np.stack([F[k] for k in d])[None]
        assert list(A[d]) == list(builders.generalized_forward(net, x)[0])


def test_product_grid_tensor_is_the_coefficient_tensor_seen_through_the_templates():
    net = builders.generalized(builders.ModeTree.balanced(4), 2, 3, seed=3)
    F = np.random.default_rng(0).standard_normal((2, 2))
    C = net.to_dense()
    expected = np.einsum("abcdy,ia,jb,kc,ld->ijkly", C, F, F, F, F)
    assert np.allclose(analysis.grid_tensor(net, templates=F), expected)
    assert np.allclose(analysis.grid_tensor(net).astype(float), C)           # identity templates


@given(Z=st.integers(1, 40), seed=st.integers(0, 10 ** 6), N=st.integers(3, 5))
@settings(max_examples=20, deadline=None)
def test_shallow_relu_sum_has_rank_at_most_two_on_every_cut(Z, seed, N):
    net = builders.generalized(builders.ModeTree.flat(N), 3, Z, g="relu-sum", init="integer", seed=seed)
    T = analysis.grid_tensor(net)[..., 0].astype(float)   # small integers: float SVD rank is exact here
    for k in range(1, N):
        assert np.linalg.matrix_rank(T.reshape(3 ** k, -1)) <= 2


def test_too_many_combinations_is_refused():
    net = builders.generalized(builders.ModeTree.flat(23), 2, 1)
    with pytest.raises(MemoryLimitError, match="M\\^N=8388608"):
        analysis.grid_tensor(net)


def test_validate_refuses_a_rectifier_network_whose_grid_tensor_beats_the_min_cut():
    """ReLU + max pooling: the grid tensor's exact rank exceeds the graph's min-cut bound (theory §11), so a
    certificate computed on the contracted product skeleton would be wrong; validate says so instead."""
    import builders
    from analysis import grid_tensor, mincut, validate
    from tn.errors import SpectrumError
    relu = builders.generalized(builders.ModeTree.balanced(8), M=3, widths=2, g="relu-max", init="integer", seed=3)
    A = grid_tensor(relu)[..., 0].reshape(81, 81)
    assert rank_over_q(A) > mincut(relu, range(4)).bound == 2
    with pytest.raises(SpectrumError, match="g='relu-max'.*grid tensor"):
        validate(relu, [range(4)])
    product = builders.generalized(builders.ModeTree.balanced(8), M=3, widths=2, g="product", init="integer", seed=3)
    assert validate(product, [range(4)])[0].verdict == "certified-tight"


def rank_over_q(matrix) -> int:
    """Exact rank of an integer matrix: fraction-free (Bareiss) elimination in Python ints."""
    a = [[int(v) for v in row] for row in matrix]
    rank, prev = 0, 1
    for c in range(len(a[0])):
        pivot = next((r for r in range(rank, len(a)) if a[r][c]), None)
        if pivot is None:
            continue
        a[rank], a[pivot] = a[pivot], a[rank]
        for r in range(rank + 1, len(a)):
            a[r] = [(a[rank][c] * a[r][j] - a[r][c] * a[rank][j]) // prev for j in range(len(a[0]))]
        prev, rank = a[rank][c], rank + 1
    return rank

