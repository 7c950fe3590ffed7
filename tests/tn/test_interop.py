"""Interop round trips keep what a network means: names, labels, input legs, the class leg, metadata, sums."""

import numpy as np
import pytest

import builders
from analysis import mincut
from tn import NetworkSum, TensorNetwork
from tn.interop import from_quimb, from_tensornetwork, to_quimb, to_tensornetwork
from tn.testing import shared_sum


def _routes():
    yield "tensornetwork", to_tensornetwork, from_tensornetwork
    try:
        import quimb  # noqa: F401  (CI installs the extra: the quimb route must be tested there)
    except ImportError:
        return
    yield "quimb", to_quimb, from_quimb


ROUTES = list(_routes())


def test_quimb_is_installed_in_ci():
    import os
    if os.environ.get("CI"):
        assert any(name == "quimb" for name, _, _ in ROUTES), "CI must install the quimb extra"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r[0])
def test_builder_network_round_trip_keeps_partitions(route):
    _, export, back = route
    net = builders.deep_convac(8, M=2, widths=[2, 3, 4], classes=3)
    out = back(*export(net))
    assert out.tensor_names == net.tensor_names and out.output == net.output
    assert out.input_legs == net.input_legs == tuple(range(8))  # the class leg "y" stays a non-input leg
    assert out.metadata == net.metadata and out.name == net.name
    assert np.allclose(out.to_dense(), net.to_dense())
    for part in ("odd-even", "left-right", "blocks:2"):  # "odd-even" means the same positions after the trip
        assert mincut(out, part).A == mincut(net, part).A and mincut(out, part).bound == mincut(net, part).bound
    assert builders.tree_of(out) == builders.tree_of(net)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r[0])
def test_network_sum_exports_per_term(route):
    _, export, back = route
    net = builders.mixed(builders.ModeTree.balanced(8), builders.ModeTree.interleaved(8), M=2, widths=2)
    pairs = export(net)
    assert isinstance(pairs, list) and len(pairs) == len(net.terms)
    out = back(pairs)
    assert isinstance(out, NetworkSum) and len(out.terms) == len(net.terms)
    assert np.allclose(out.to_dense(), net.to_dense())
    assert mincut(out, "odd-even").bound == mincut(net, "odd-even").bound


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r[0])
def test_shared_tensors_share_again(route):
    _, export, back = route
    s, W, D = shared_sum(1)
    out = back(export(s))
    assert out.terms[0].data("W") is out.terms[1].data("W")  # set_data on the sum updates both terms again
    assert np.allclose(out.to_dense(), W + W @ D)


def test_google_copy_node_with_two_dangling_legs_imports():
    import tensornetwork as gtn
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3))
    A, C = gtn.Node(a), gtn.CopyNode(3, 3, dtype=np.float64)
    A[1] ^ C[0]
    out = [A[0], C[1], C[2]]
    net = from_tensornetwork([A, C], output_edge_order=out)
    expected = np.einsum("ij,jk,jl->ikl", a, np.eye(3), np.eye(3))  # T[i, k, l] = a[i, k] delta(k, l)
    assert net.to_dense().shape == (2, 3, 3) and np.allclose(net.to_dense(), expected)


def test_summed_index_on_one_tensor_stays_summed():
    net = TensorNetwork()
    net.add_tensor("A", np.arange(6.0).reshape(2, 3), ("i", "s"))
    net.set_output(("i",))
    for _, export, back in ROUTES:
        out = back(*export(net))
        assert out.tensor_names == ("A",) and out.inds("A") == ("i", "s")
        assert np.allclose(out.to_dense(), [3.0, 12.0])
