import numpy as np
import pytest
from hypothesis import given, settings

from tn import TensorNetwork, errors
from tn.testing import random_matrix_trees
from tn.treeexec import tree_plan


def features(N, M, B=5, seed=0):
    return np.random.default_rng(seed).standard_normal((N, B, M))


@settings(max_examples=80, deadline=None)
@given(random_matrix_trees())
def test_tree_executor_equals_einsum_contraction(case):
    net, N, M = case
    assert tree_plan(net, tuple(range(N))) is not None
    x = features(N, M)
    tree = net.evaluate(x, method="tree")
    ref = net.evaluate(x, method="einsum")
    assert tree.shape == ref.shape == (5, net.size("y"))
    assert np.allclose(tree, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())


@settings(max_examples=40, deadline=None)
@given(random_matrix_trees(shared=True))
def test_tree_executor_with_shared_weights(case):
    net, N, M = case
    x = features(N, M, seed=1)
    assert np.allclose(net.evaluate(x, method="tree"), net.evaluate(x, method="einsum"), rtol=1e-10, atol=1e-12)


def test_cp_network_against_hand_written_forward():
    rng = np.random.default_rng(2)
    N, M, Z, Y, B = 6, 3, 4, 2, 7
    leaves, W = rng.standard_normal((N, M, Z)), rng.standard_normal((Z, Y))
    net = TensorNetwork()
    for i in range(N):
        net.add_tensor(("leaf", i), leaves[i], (i, "z"))
    net.add_tensor("root", W, ("z", "y"))
    net.set_output(tuple(range(N)) + ("y",))
    x = rng.standard_normal((N, B, M))
    expected = np.prod(np.einsum("nbm,nmz->nbz", x, leaves), axis=0) @ W
    assert np.allclose(net.evaluate(list(x), legs=range(N), method="tree"), expected)


def test_headless_root_against_hand_written_forward():
    """The class leg is the top junction itself (no conv after the last product): output = product of the
    children's outputs, as in the paper's baseline dilated network."""
    rng = np.random.default_rng(4)
    N, M, R, Y, B = 4, 3, 2, 3, 6
    leaves, mids = rng.standard_normal((N, M, R)), rng.standard_normal((2, R, Y))
    net = TensorNetwork()
    for i in range(N):
        net.add_tensor(("leaf", i), leaves[i], (i, ("h", i // 2)))
    for k in range(2):
        net.add_tensor(("mid", k), mids[k], (("h", k), "y"))
    net.set_output(tuple(range(N)) + ("y",))
    net.set_input_legs(tuple(range(N)))
    assert tree_plan(net, tuple(range(N))) is not None
    x = rng.standard_normal((N, B, M))
    pooled = np.einsum("nbm,nmr->nbr", x, leaves)
    expected = (pooled[0] * pooled[1]) @ mids[0] * ((pooled[2] * pooled[3]) @ mids[1])
    assert np.allclose(net.evaluate(x, method="tree"), expected)
    assert np.allclose(net.evaluate(x, method="einsum"), expected)


def test_not_a_tree_falls_back_or_refuses():
    net = TensorNetwork()
    rng = np.random.default_rng(3)
    net.add_tensor("A", rng.random((2, 3, 3)), (0, "a", "b"))  # a 3-index tensor: not a matrix tree
    net.add_tensor("B", rng.random((2, 3, 3, 2)), (1, "a", "b", "y"))
    net.set_output((0, 1, "y"))
    x = rng.random((2, 4, 2))
    assert tree_plan(net, (0, 1)) is None
    assert net.evaluate(x, legs=(0, 1)).shape == (4, 2)
    with pytest.raises(errors.OptimizeError, match="method='einsum'"):
        net.evaluate(x, legs=(0, 1), method="tree")


def test_tree_executor_respects_memory_guard():
    rng = np.random.default_rng(4)
    net = TensorNetwork()
    for i in range(4):
        net.add_tensor(("leaf", i), rng.random((2, 64)), (i, "z"))
    net.add_tensor("root", rng.random((64, 1)), ("z", "y"))
    net.set_output((0, 1, 2, 3, "y"))
    with pytest.raises(errors.MemoryLimitError, match="evaluate refused"):
        net.evaluate(rng.random((4, 1000, 2)), legs=range(4), memory_limit="100KiB")


def test_evaluate_cost_is_public_exact_and_needs_no_data():
    rng = np.random.default_rng(5)
    N, M, Z, B = 8, 3, 4, 16
    net = TensorNetwork()
    for i in range(N):
        net.add_tensor(("leaf", i), (M, Z), (i, "z"))  # symbolic
    net.add_tensor("root", (Z, 2), ("z", "y"))
    net.set_output(tuple(range(N)) + ("y",))
    net.set_input_legs(range(N))
    tree = net.evaluate_cost(B)
    # features (held by the caller), the leaf messages and the pooled message, exactly
    assert tree.peak_memory >= N * B * M + N * B * Z
    assert tree.largest_intermediate == N * B * Z
    fed = net.fed_network([(B, M)] * N, tuple(range(N)))
    assert net.evaluate_cost(B, method="einsum").flops == fed.cost().flops
    assert fed.output == ("batch", "y") and fed.is_symbolic
    for name in net.tensor_names:
        net.set_data(name, rng.standard_normal(net.shape(name)))
    x = rng.standard_normal((N, B, M))
    assert np.allclose(net.evaluate(x), net.fed_network(list(x), tuple(range(N))).contract())
