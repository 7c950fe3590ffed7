"""tn.gradients: environments and value_and_grad against central finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tn
from builders.linear import deep_linear, tensor_train
from tn.errors import MemoryLimitError, ShapeError, SymbolicTensorError, UnknownTensorError
from tn.gradients import environments, value_and_grad
from tn.testing import random_networks


def _terms(net):
    return list(net.terms) if hasattr(net, "terms") else [net]


def _set(net, name, array):
    for term in _terms(net):
        if name in term.tensor_names:
            term.set_data(name, array)


def _get(net, name):
    return next(t.data(name) for t in _terms(net) if name in t.tensor_names)


def check_directional(net, grads, scalar, seed=0, eps=1e-4, rtol=1e-6):
    """<grad, D> == (f(T + eps D) - f(T - eps D)) / (2 eps) for a random direction D per tensor."""
    rng = np.random.default_rng(seed)
    for name, g in grads.items():
        base = _get(net, name)
        assert g.shape == base.shape, name
        D = rng.standard_normal(base.shape)
        _set(net, name, base + eps * D)
        up = scalar()
        _set(net, name, base - eps * D)
        down = scalar()
        _set(net, name, base)
        fd = (up - down) / (2 * eps)
        assert np.isclose(fd, np.sum(g * D), rtol=rtol, atol=1e-9), (name, fd, np.sum(g * D))


@settings(max_examples=60, deadline=None)
@given(random_networks(), st.integers(0, 2**16))
def test_environments_match_finite_differences_on_random_hypergraphs(case, seed):
    net, arrays, eq = case
    rng = np.random.default_rng(seed)
    G = rng.standard_normal(np.shape(np.einsum(eq, *arrays)))
    env = environments(net, G)
    assert set(env) == set(net.tensor_names)

    def scalar():  # independent reference: plain np.einsum on the current arrays
        return float(np.sum(G * np.einsum(eq, *(net.data(n) for n in net.tensor_names))))

    check_directional(net, env, scalar, seed)


@settings(max_examples=25, deadline=None)
@given(random_networks(max_tensors=4, max_inds=6), st.integers(0, 2**16))
def test_every_entry_of_every_environment(case, seed):
    net, arrays, eq = case
    G = np.random.default_rng(seed).standard_normal(np.shape(np.einsum(eq, *arrays)))
    env = environments(net, G)
    for k, name in enumerate(net.tensor_names):
        for idx in np.ndindex(arrays[k].shape):  # the network is linear in each tensor: exact differences
            unit = np.zeros(arrays[k].shape)
            unit[idx] = 1.0
            ops = list(arrays)
            ops[k] = unit
            assert np.isclose(env[name][idx], np.sum(G * np.einsum(eq, *ops)), atol=1e-9)


def test_nonlinear_loss_and_summed_open_legs():
    net = tensor_train(5, 3, [2, 4, 3, 2], classes=2, seed=3)
    target = np.random.default_rng(1).standard_normal(2)

    def loss(out):  # output=("y",): the position legs are summed on their cores alone (broadcast case)
        r = np.tanh(out) - target
        return float(np.sum(r**2)), 2 * r * (1 - np.tanh(out) ** 2)

    value, grads = value_and_grad(net, loss, output=("y",))
    assert np.isclose(value, loss(net.contract(output=("y",)))[0])
    check_directional(net, grads, lambda: loss(net.contract(output=("y",)))[0])


def test_deep_linear_closed_form():
    net = deep_linear((4, 3, 5, 2), init="gaussian", seed=2)
    W = [net.data(("W", j)) for j in (1, 2, 3)]
    G = np.random.default_rng(0).standard_normal((2, 4))
    env = environments(net, G)
    assert np.allclose(env[("W", 1)], (W[2] @ W[1]).T @ G)
    assert np.allclose(env[("W", 2)], W[2].T @ G @ W[0].T)
    assert np.allclose(env[("W", 3)], G @ (W[1] @ W[0]).T)


def test_tensor_train_with_features_and_wrt():
    net = tensor_train(6, 2, 3, classes=2, seed=0)
    X = np.random.default_rng(4).standard_normal((6, 7, 2))
    fed = net.copy()
    for t in range(6):
        fed.add_tensor(("x", t), X[t], ("batch", t))
    fed.set_output(("batch", "y"))
    assert np.allclose(fed.contract(), net.evaluate(X))
    G = np.random.default_rng(5).standard_normal((7, 2))
    cores = [("G", t) for t in range(6)]
    env = environments(fed, G, wrt=cores)
    assert set(env) == set(cores)
    full = environments(fed, G)
    assert all(np.allclose(env[c], full[c]) for c in cores)
    check_directional(fed, env, lambda: float(np.sum(G * fed.contract())))


def test_single_tensor_scalar_output_and_natural_path():
    one = tn.TensorNetwork()
    A = np.arange(6.0).reshape(2, 3)
    one.add_tensor("A", A, ("i", "j"))
    one.set_output(("j", "i"))
    G = np.arange(6.0).reshape(3, 2)
    assert np.allclose(environments(one, G)["A"], G.T)
    one.set_output(())  # full sum: the gradient is ones, broadcast
    assert np.allclose(environments(one)["A"], np.ones((2, 3)))
    net = deep_linear((3, 3, 3, 3), seed=0)
    assert np.allclose(environments(net, optimize="natural")[("W", 2)], environments(net, optimize="greedy")[("W", 2)])


def test_builders_networks():
    import builders
    nets = [builders.deep_convac(8, M=2, widths=2, classes=2, seed=1), builders.shallow_convac(4, 2, 3, seed=1)]
    if hasattr(builders, "dilated_convnet"):
        nets.append(builders.dilated_convnet(8, 2, 2, seed=1))
    if hasattr(builders, "mixed_dilated"):
        nets.append(builders.mixed_dilated(8, 2, 2, seed=1))  # a NetworkSum sharing tensors
    for net in nets:
        G = np.random.default_rng(0).standard_normal(np.shape(net.contract()))
        env = environments(net, G)
        check_directional(net, env, lambda: float(np.sum(G * net.contract())))


def test_errors():
    net = deep_linear((3, 4, 3), seed=0)
    with pytest.raises(ShapeError, match="shape"):
        environments(net, np.ones((2, 2)))
    with pytest.raises(UnknownTensorError, match="nope"):
        environments(net, wrt=["nope"])
    with pytest.raises(MemoryLimitError, match="gradients refused"):
        environments(net, memory_limit=16)
    sym = tn.TensorNetwork()
    sym.add_tensor("A", (2, 2), ("i", "j"))
    with pytest.raises(SymbolicTensorError):
        environments(sym)


def test_guard_counts_every_intermediate_the_backward_pass_keeps():
    net = deep_linear((8,) * 9, seed=0)  # 8 factors 8x8: each intermediate 64 elements, 7 of them kept
    largest = net.cost().largest_intermediate_bytes
    assert largest == 64 * 8
    # at least: 8 inputs + 7 kept intermediates + the output + 8 gradients, 64 elements each
    assert tn.gradients.peak_bytes(net) >= (8 + 7 + 1 + 8) * 64 * 8
    with pytest.raises(MemoryLimitError, match="gradients refused: the sweep keeps every intermediate"):
        environments(net, memory_limit=largest + 8)  # enough for the forward contraction, not for the sweep
    assert len(environments(net, memory_limit=tn.gradients.peak_bytes(net))) == 8


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_gradient_estimate_is_within_1_5x_of_the_measured_peak(dtype):
    import tracemalloc
    net = deep_linear((256,) * 6, seed=0, dtype=dtype)  # intermediates of 256 KiB+: Python overheads vanish
    estimate = tn.gradients.peak_bytes(net)
    environments(net)  # compile the programs outside the measurement
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    grads = environments(net)
    measured = tracemalloc.get_traced_memory()[1] - before + sum(a.nbytes for a in net.arrays())
    tracemalloc.stop()
    assert all(g.dtype == dtype for g in grads.values())
    assert 1 / 1.5 <= measured / estimate <= 1.5
