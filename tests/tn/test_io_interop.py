import numpy as np
import pytest
from hypothesis import given, settings

from tn import NetworkSum, TensorNetwork

from tn.testing import random_networks


def same_structure(a, b):
    assert a.tensor_names == b.tensor_names
    assert [a.inds(n) for n in a.tensor_names] == [b.inds(n) for n in b.tensor_names]
    assert a.size_dict == b.size_dict and a.output == b.output and a.input_legs == b.input_legs


@settings(max_examples=30, deadline=None)
@given(random_networks())
def test_save_load_round_trip(tmp_path_factory, case):
    net, arrays, _ = case
    net.metadata = {"tree": ((0, 1), (2, 3)), "M": 2, "widths": [2, 3], "nodes": {(0, 1): 2}}
    path = tmp_path_factory.mktemp("io") / "n.tnet"
    net.save(path)
    back = TensorNetwork.load(path)
    same_structure(net, back)
    assert back.metadata == net.metadata
    for name in net.tensor_names:
        assert np.array_equal(net.data(name), back.data(name)) and net.data(name).dtype == back.data(name).dtype


@settings(max_examples=20, deadline=None)
@given(random_networks(symbolic=True))
def test_symbolic_round_trip(tmp_path_factory, case):
    net = case[0]
    path = tmp_path_factory.mktemp("io") / "s.tnet"
    net.save(path)
    back = TensorNetwork.load(path)
    same_structure(net, back)
    assert back.is_symbolic and back.cost().flops == net.cost().flops


def test_sum_round_trip_keeps_sharing(tmp_path):
    W = np.arange(6.0).reshape(2, 3)
    W.flags.writeable = False  # a read-only array is shared as is (a writeable one is copied per tensor)
    a, b = TensorNetwork(), TensorNetwork()
    a.add_tensor("W", W, ("i", "j"))
    b.add_tensor("W", W, ("i", "k"))
    b.add_tensor("D", np.eye(3) * 2, ("k", "j"))
    total = NetworkSum([a, b], name="mix")
    total.metadata = {"builder": "mixed", "mixture_nodes": [(0, 1)]}
    total.save(tmp_path / "s.tnet")
    back = NetworkSum.load(tmp_path / "s.tnet")
    assert isinstance(back, NetworkSum) and back.name == "mix" and back.metadata == total.metadata
    assert back.terms[0].data("W") is back.terms[1].data("W")
    assert np.allclose(back.to_dense(), 3 * W)


def test_natural_path_survives_round_trip(tmp_path):
    net = TensorNetwork()
    for k in range(4):
        net.add_tensor(k, np.ones((2, 2)), (k, k + 1))
    net.set_natural_path([(0, 1), (0, 2), (0, 1)])
    net.save(tmp_path / "c.tnet")
    assert TensorNetwork.load(tmp_path / "c.tnet").natural_path == [(0, 1), (0, 2), (0, 1)]


@settings(max_examples=25, deadline=None)
@given(random_networks(max_tensors=5, max_inds=7))
def test_google_tensornetwork_cross_check(case):
    import tensornetwork as gtn
    net, arrays, eq = case
    nodes, out = net.to_tensornetwork()
    result = gtn.contractors.greedy(nodes, output_edge_order=out, ignore_edge_order=False)
    assert np.allclose(result.tensor, np.einsum(eq, *arrays))
    back = TensorNetwork.from_tensornetwork(*net.to_tensornetwork())
    assert back.tensor_names == net.tensor_names and back.output == net.output  # no extra "sum" tensors
    assert [back.inds(n) for n in back.tensor_names] == [net.inds(n) for n in net.tensor_names]
    assert np.allclose(back.to_dense(), np.einsum(eq, *arrays))


@settings(max_examples=25, deadline=None)
@given(random_networks(max_tensors=5, max_inds=7))
def test_quimb_cross_check(case):
    pytest.importorskip("quimb")
    net, arrays, eq = case
    qnet, out = net.to_quimb()
    value = qnet.contract(output_inds=out) if out else qnet.contract(output_inds=())
    value = np.asarray(getattr(value, "data", value))
    assert np.allclose(value, np.einsum(eq, *arrays))
    back = TensorNetwork.from_quimb(qnet, output=out)
    assert back.tensor_names == net.tensor_names and back.output == net.output
    assert [back.inds(n) for n in back.tensor_names] == [net.inds(n) for n in net.tensor_names]
    assert np.allclose(back.to_dense(), np.einsum(eq, *arrays))
