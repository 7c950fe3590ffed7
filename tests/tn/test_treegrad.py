"""Log-domain forward and the level-batched backward pass (tn.treeexec), against independent computations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import builders
from tn import TensorNetwork
from tn.errors import DomainError, SettingError, StructureError
from tn.network import read_only
from tn.testing import random_matrix_trees
from tn.treeexec import parameter_groups, value_and_grad


def positive(net, seed=0):
    """The same network with |weights| (shared arrays stay shared)."""
    net = net.copy()  # arrays (read-only) shared: sharing survives
    for owner, names in parameter_groups(net).items():
        a = read_only(np.abs(net.data(owner)) + 0.05)  # read-only: the network keeps one array for all of them
        for n in names:
            net.set_data(n, a)
    return net


def builder_nets():
    """Every tree builder (mixed decompositions are sums: not tree networks), with and without sharing."""
    tree = builders.ModeTree.random(7, seed=3)
    return {
        "convac-random-tree": builders.convac(tree, M=3, widths=3, classes=2, seed=1),
        "shallow": builders.shallow_convac(6, M=2, Z=4, classes=3, seed=2),
        "deep": builders.deep_convac(8, M=3, widths=[3, 4, 2], classes=2, seed=3),
        "deep-mirror": builders.deep_convac(8, M=2, widths=3, pooling="mirror", seed=4),
        "deep-ternary": builders.deep_convac(9, M=2, widths=3, arity=3, seed=5),
        "deep-share-level": builders.deep_convac(8, M=2, widths=3, share="level", classes=2, seed=6),
        "deep-share-slot": builders.deep_convac(8, M=2, widths=3, share="level_slot", seed=7),
        "dilated": builders.dilated_convnet(8, M=2, widths=[3, 2, 3], classes=2, seed=8),
        "dilated-permuted": builders.dilated_convnet(8, M=2, widths=2, dilations=(2, 4, 1), seed=9),
        # the paper's baseline: no conv after the last product, whose junction is the class leg itself
        "dilated-headless": builders.dilated_convnet(8, M=2, widths=[3, 2], classes=2, head=None, seed=10),
    }


def set_param(net, owner, array):
    array = read_only(array)
    for n in parameter_groups(net)[owner]:
        net.set_data(n, array)


def linear_loss(G):
    return lambda out: (float(np.sum(G * out)), G)


@pytest.mark.parametrize("name", list(builder_nets()))
@pytest.mark.parametrize("domain", ["linear", "log"])
def test_backward_equals_finite_differences_and_environments(name, domain):
    net = builder_nets()[name]
    if domain == "log":
        net = positive(net)
    rng = np.random.default_rng(0)
    N = len(net.input_legs)
    x = rng.random((N, 5, net.size(0))) + 0.1
    out = net.evaluate(x, domain=domain)
    G = rng.standard_normal(out.shape)
    loss = linear_loss(G)
    value, grads, fgrad = value_and_grad(net, x, loss, domain=domain, feature_grad=True)
    assert np.isclose(value, loss(out)[0])
    groups = parameter_groups(net)
    assert set(grads) == set(groups)
    if "share" in name or "dilated" in name:
        assert any(len(names) > 1 for names in groups.values())  # sharing is really tested
    # the environment route on the fed network: per tensor, summed over the tensors sharing an array
    fed = net.fed_network(list(x), net.input_legs)
    h = fed.contract()
    env = fed.gradients(G if domain == "linear" else G / h)  # d log h / d h = 1 / h
    for owner, names in groups.items():
        expected = sum(env[n] for n in names)
        if domain == "log":
            expected = expected * net.data(owner)  # d / d theta = W * d / d W
        assert grads[owner].shape == net.data(owner).shape
        assert np.allclose(grads[owner], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max()), owner
    # finite differences along a random direction of every parameter (theta = log W in the log domain)
    eps = 1e-6
    for owner, g in grads.items():
        W, D = net.data(owner).copy(), rng.standard_normal(net.data(owner).shape)
        moved = []
        for sign in (1, -1):
            set_param(net, owner, W * np.exp(sign * eps * D) if domain == "log" else W + sign * eps * D)
            moved.append(loss(net.evaluate(x, domain=domain))[0])
        set_param(net, owner, W)
        fd = (moved[0] - moved[1]) / (2 * eps)
        assert np.isclose(np.sum(g * D), fd, rtol=1e-5, atol=1e-7 * max(1.0, abs(value))), owner
    D = rng.standard_normal(x.shape)
    moved = [loss(net.evaluate(x * np.exp(s * eps * D) if domain == "log" else x + s * eps * D, domain=domain))[0]
             for s in (1, -1)]
    assert np.isclose(np.sum(fgrad * D), (moved[0] - moved[1]) / (2 * eps), rtol=1e-5, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(random_matrix_trees(shared=True), st.integers(0, 2**16))
def test_log_forward_is_log_of_linear_forward(case, seed):
    net, N, M = case
    net = positive(net)
    x = np.random.default_rng(seed).random((N, 4, M)) + 0.01
    assert np.allclose(net.evaluate(x, domain="log"), np.log(net.evaluate(x)), rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(random_matrix_trees(), st.integers(0, 2**16))
def test_random_trees_backward_equals_environments(case, seed):
    net, N, M = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 3, M))
    G = rng.standard_normal((3, net.size("y")))
    _, grads = value_and_grad(net, x, linear_loss(G))
    env = net.fed_network(list(x), tuple(range(N))).gradients(G)
    for name in net.tensor_names:
        assert np.allclose(grads[name], env[name], rtol=1e-9, atol=1e-12)


def hand_log_forward(tree, log_w, log_x):
    """Log-space ConvAC by recursion over the mode tree with scipy's logsumexp (independent of tn)."""
    def up(v):  # log message (B, r_parent) leaving node v
        kids = tree.children(v)
        inner = log_x[v[0]] if not kids else sum(up(c) for c in kids)
        return logsumexp(inner[:, :, None] + log_w[v][None], axis=1)
    return up(tree.root)


def test_log_forward_is_finite_at_N_1024_where_the_linear_one_is_not():
    N, M = 1024, 2
    net = positive(builders.deep_convac(N, M, widths=4, classes=2, seed=0))
    rng = np.random.default_rng(1)
    b = rng.integers(0, 2, (N, 6))
    x = np.stack([b, 1 - b], axis=2).astype(float)  # binary pixels (b, 1 - b): log features are 0 / -inf
    for name in net.tensor_names:  # weights spread over 4 decades: the linear forward leaves float64
        net.set_data(name, net.data(name) * 10.0 ** rng.uniform(-2, 2, net.shape(name)))
    with np.errstate(all="ignore"):
        linear = net.evaluate(x)
    assert not np.all(np.isfinite(np.log(linear)))
    out = net.evaluate(x, domain="log")
    assert np.all(np.isfinite(out)) and np.abs(out).max() > 1000
    tree = builders.tree_of(net)
    names = {v: ("node", v) if tree.children(v) else ("leaf", v[0]) for v in tree.nodes}
    log_w = {v: np.log(net.data(names[v])) for v in tree.nodes}
    with np.errstate(divide="ignore"):
        ref = hand_log_forward(tree, log_w, np.log(x))
    assert np.allclose(out, ref, rtol=1e-10)
    value, grads = value_and_grad(net, x, lambda o: (o.sum(), np.ones_like(o)), domain="log")
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads.values())


def test_underflowing_gemm_rows_are_recomputed_exactly():
    # one-hot features pick the entry of each column that is far below the column maximum:
    # exp(theta - column max) underflows to 0 in the shifted GEMM
    net = builders.shallow_convac(4, M=2, Z=3, classes=2, seed=0)
    net = positive(net)
    for i in range(4):
        w = np.array([[0.0, -1.0, 2.0], [-900.0, -800.0, -1000.0]])  # theta; row 1 is the selected feature
        net.set_data(("leaf", i), np.exp(w))  # exp(-900) underflows in the weights themselves
    logs = {("leaf", i): np.array([[0.0, -1.0, 2.0], [-900.0, -800.0, -1000.0]]) for i in range(4)}
    from tn.treeexec import tree_plan
    plan = tree_plan(net, tuple(range(4)))
    arrays = [logs[n] if n in logs else np.log(net.data(n)) for n in net.tensor_names]
    weights = plan.prepare(arrays, "log", logs=True)
    x = np.zeros((4, 2, 2))
    x[:, :, 1] = 1.0
    with np.errstate(divide="ignore"):
        lx = np.log(x)
    out = plan(None, lx, weights=weights)
    root = np.log(net.data(net.tensor_names[-1]))
    expected = logsumexp(4 * np.array([-900.0, -800.0, -1000.0])[:, None] + root, axis=0)
    assert np.allclose(out, expected, rtol=1e-12)
    _, grads, _ = plan.value_and_grad(weights, lx, lambda o: (o.sum(), np.ones_like(o)))
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    # d out / d theta_leaf[1, z] = 2 * softmax weight of component z (one class sum per class, 2 classes)
    p = np.exp(4 * np.array([-900.0, -800.0, -1000.0])[:, None] + root - expected)
    assert np.allclose(grads[0][1], 2 * p.sum(axis=1), rtol=1e-9)


def test_float32_in_float32_gradients_out():
    net = positive(builders.deep_convac(8, M=2, widths=3, seed=0, dtype=np.float32))
    x = np.random.default_rng(0).random((8, 4, 2)).astype(np.float32)
    for domain in ("linear", "log"):
        _, grads = value_and_grad(net, x, lambda o: (o.sum(), np.ones_like(o)), domain=domain)
        assert net.evaluate(x, domain=domain).dtype == np.float32
        assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


def test_domain_errors_name_the_tensor_or_leg():
    net = builders.deep_convac(4, M=2, widths=2, seed=0)  # Gaussian weights: some negative
    x = np.random.default_rng(0).random((4, 3, 2))
    with pytest.raises(DomainError, match=r"tensor \('leaf', \d\)|tensor \('node'"):
        net.evaluate(x, domain="log")
    pos = positive(net)
    x[2, 1, 0] = -1.0
    with pytest.raises(DomainError, match="features for leg 2"):
        pos.evaluate(x, domain="log")
    with pytest.raises(SettingError, match="domain"):
        pos.evaluate(np.abs(x), domain="exp")
    with pytest.raises(SettingError, match="tree executor"):
        pos.evaluate(np.abs(x), domain="log", method="einsum")
    blob = TensorNetwork()  # a 3-index tensor: not a tree of matrices
    blob.add_tensor("A", np.ones((2, 2, 3)), (0, 1, "y"))
    with pytest.raises(StructureError, match="domain='log' needs a tree network"):
        blob.evaluate(np.ones((2, 1, 2)), legs=(0, 1), domain="log")


def test_weights_are_restacked_after_set_data():
    net = builders.deep_convac(8, M=2, widths=2, seed=0)
    x = np.random.default_rng(1).random((8, 3, 2))
    before = net.evaluate(x)
    name = ("leaf", 3)
    net.set_data(name, 2 * net.data(name))
    assert np.allclose(net.evaluate(x), 2 * before)
