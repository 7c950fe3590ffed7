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
