import itertools
import json

import numpy as np
import pytest
from builders_helpers import features

import builders
from builders import ModeTree, reference_forward
from tn.errors import BuildError, TreeError, WidthError


def dense_from_time_domain(params, N, M):
    """A[d_0..d_{N-1}, y] = the time-domain network on one-hot inputs (no tree, no tn)."""
    grid = np.array(list(itertools.product(range(M), repeat=N)))   # (M^N, N)
    onehot = np.eye(M)[grid]                                           # (M^N, N, M)
    return reference_forward(params, onehot).reshape((M,) * N + (-1,))


def test_reference_forward_by_hand():
    """N = 4, dilations (1, 2): h1[t] = (U1 x[t-1]) * (V1 x[t]); out = W (U2 h1[1]) * (V2 h1[3])."""
    rng = np.random.default_rng(0)
    U1, V1, U2, V2, W = (rng.standard_normal(s) for s in ((3, 2), (3, 2), (2, 3), (2, 3), (1, 2)))
    x = rng.standard_normal((5, 4, 2))
    h1 = [(x[:, t - 1] @ U1.T) * (x[:, t] @ V1.T) for t in (1, 3)]
    expected = ((h1[0] @ U2.T) * (h1[1] @ V2.T)) @ W.T
    params = {"dilations": (1, 2), "U": [U1, U2], "V": [V1, V2], "W": W}
    assert np.allclose(reference_forward(params, x), expected)


def test_headless_reference_by_hand():
    """head=None, N = 4, dilations (1, 2): the last layer's product is the output, U2/V2 have the class rows."""
    rng = np.random.default_rng(2)
    U1, V1, U2, V2 = (rng.standard_normal(s) for s in ((3, 2), (3, 2), (2, 3), (2, 3)))
    x = rng.standard_normal((5, 4, 2))
    h1 = [(x[:, t - 1] @ U1.T) * (x[:, t] @ V1.T) for t in (1, 3)]
    params = {"dilations": (1, 2), "U": [U1, U2], "V": [V1, V2], "W": None}
    assert np.allclose(reference_forward(params, x), (h1[0] @ U2.T) * (h1[1] @ V2.T))
    net = builders.dilated_convnet(4, 2, 3, classes=2, head=None, params=params)
    assert np.allclose(net.evaluate(features(x)), reference_forward(params, x))


def test_zero_padding_before_the_sequence_start():
    """With t - d < 0 the earlier input is zero: an output needing it is exactly 0."""
    rng = np.random.default_rng(1)
    params = {"dilations": (1, 2), "U": [np.ones((1, 1))] * 2, "V": [np.ones((1, 1))] * 2, "W": np.ones((1, 1))}
    x = rng.standard_normal((2, 3, 1))  # N = 3: output at t = 2 needs t - 3 < 0
    assert np.array_equal(reference_forward(params, x), np.zeros((2, 1)))


@pytest.mark.parametrize("N", [2, 4, 8, 16])
def test_every_dilation_order_matches_the_time_domain_reference(N):
    L = N.bit_length() - 1
    rng = np.random.default_rng(N)
    x = rng.standard_normal((7, N, 3))
    for k, dilations in enumerate(itertools.permutations([1 << j for j in range(L)])):
        widths = [int(w) for w in rng.integers(1, 4, size=L)]
        net = builders.dilated_convnet(N, 3, widths, dilations, classes=2, seed=k)
        assert builders.tree_of(net) == ModeTree.from_dilations(N, dilations)
        params = builders.dilated_params(net)
        assert [u.shape for u in params["U"]] == [(w, p) for w, p in zip(widths, [3] + widths[:-1])]
        assert np.allclose(net.evaluate(features(x)), reference_forward(params, x))


@pytest.mark.parametrize("N", [2, 4, 8, 16])
def test_headless_networks_match_the_time_domain_reference(N):
    L = N.bit_length() - 1
    rng = np.random.default_rng(N)
    x = rng.standard_normal((5, N, 3))
    for k, dilations in enumerate(itertools.permutations([1 << j for j in range(L)])):
        widths = [int(w) for w in rng.integers(1, 4, size=L - 1)]
        net = builders.dilated_convnet(N, 3, widths, dilations, classes=2, head=None, seed=k)
        params = builders.dilated_params(net)
        assert params["W"] is None and [u.shape[0] for u in params["U"]] == widths + [2]
        assert "y" in net.hyperedges() and net.metadata["head"] is None  # the root's pooling is the class leg
        assert np.allclose(net.evaluate(features(x), optimize="natural"), reference_forward(params, x))


def test_headless_class_tensor_is_one_outer_product_across_the_root():
    from analysis import mincut
    net = builders.dilated_convnet(8, 2, 3, classes=2, head=None, seed=1)
    dense = net.to_dense()
    assert np.allclose(dense, dense_from_time_domain(builders.dilated_params(net), 8, 2))
    for y in range(2):
        assert np.linalg.matrix_rank(dense[..., y].reshape(16, 16)) == 1
    assert mincut(net, [0, 1, 2, 3]).bound == 1  # the fixed class leg slices the root's delta
    assert builders.dilated_convnet(8, 2, 3, classes=2, seed=1).to_dense()[..., 0].reshape(16, 16).any()


@pytest.mark.parametrize("dilations", [(1, 2, 4), (4, 1, 2), (2, 4, 1)])
def test_dense_tensor_equals_time_domain_and_tree_recursion(dilations):
    net = builders.dilated_convnet(8, 2, [2, 3, 2], dilations, classes=2, seed=3)
    params = builders.dilated_params(net)
    dense = net.to_dense()
    assert np.allclose(dense, dense_from_time_domain(params, 8, 2))
    assert np.allclose(dense, builders.reference.coefficient_tensor(builders.reference.unpack(net)[0]))


@pytest.mark.parametrize("order", ["default", "reversed", "random"])
def test_n_256(order):
    rng = np.random.default_rng(7)
    dilations = [1 << j for j in range(8)]
    dilations = {"default": None, "reversed": dilations[::-1], "random": list(rng.permutation(dilations))}[order]
    dilations = None if dilations is None else [int(d) for d in dilations]
    net = builders.dilated_convnet(256, 2, 3, dilations, seed=1)
    x = rng.standard_normal((4, 256, 2)) / np.sqrt(2)
    out = net.evaluate(features(x), optimize=net.natural_path)
    ref = reference_forward(builders.dilated_params(net), x)
    assert np.all(np.isfinite(ref)) and np.allclose(out, ref)


def test_weights_are_shared_across_time():
    net = builders.dilated_convnet(8, 2, 2, seed=0)
    tree = builders.tree_of(net)
    level1 = [v for v in tree.internal_nodes if tree.level(v) == 1]
    earlier = [net.data(("leaf", tree.children(v)[0][0])) for v in level1]
    assert all(np.shares_memory(e, earlier[0]) for e in earlier)
    assert set(builders.get_params(net)) == {("U", 1), ("V", 1), ("U", 2), ("V", 2), ("U", 3), ("V", 3), ("W",)}
    json.dumps(net.metadata)
    assert net.metadata["dilations"] == [1, 2, 4]


@pytest.mark.parametrize("head", ["convac", None])
def test_given_params_round_trip(head, tmp_path):
    import tn
    widths = [2, 2, 3] if head else [2, 2]
    net = builders.dilated_convnet(8, 3, widths, (2, 4, 1), classes=2, head=head, init="orthonormal")
    again = builders.dilated_convnet(8, 3, widths, (2, 4, 1), classes=2, head=head,
                                     params=builders.dilated_params(net))
    assert np.array_equal(again.to_dense(), net.to_dense())
    net.save(tmp_path / "d")
    back = tn.load(tmp_path / "d")
    assert back.metadata == net.metadata and np.array_equal(back.to_dense(), net.to_dense())


@pytest.mark.parametrize("make, error, match", [
    (lambda: builders.dilated_convnet(6, 2, 2), TreeError, "N=6"),
    (lambda: builders.dilated_convnet(8, 2, 2, dilations=(1, 2)), TreeError, r"\(1, 2\)"),
    (lambda: builders.dilated_convnet(8, 2, 2, dilations=(1, 2, 2)), TreeError, r"\(1, 2, 2\)"),
    (lambda: builders.dilated_convnet(8, 2, [2, 2]), WidthError, r"\[2, 2\]"),
    (lambda: builders.dilated_convnet(8, 2, {(0, 1): 2}), WidthError, "dict"),
    (lambda: builders.dilated_convnet(8, 2, [2, 2, 2], head=None), WidthError, r"head=None .* give 2 widths"),
    (lambda: builders.dilated_convnet(8, 2, 2.5, head=None), WidthError, "2.5"),
    (lambda: builders.dilated_convnet(8, 2, 2, head="dense"), BuildError, "head='dense'"),
    (lambda: builders.dilated_convnet(8, 0, 2), BuildError, "M=0"),
    (lambda: builders.dilated_convnet(4, 2, 2, params={"U": []}), BuildError, "'V'"),
    (lambda: builders.dilated_params(builders.deep_convac(4, 2, 2)), BuildError, "deep_convac"),
])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()
