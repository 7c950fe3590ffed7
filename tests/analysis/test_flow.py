"""Exact integer flow units, scipy's max-flow with its int32 guard, and the batched flow route."""

import math

import networkx as nx
import numpy as np
import pytest
from analysis_nets import balanced, brute_force_bound, convac, ring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import flow, mincut, mincut_batch
from analysis.cutgraph import CutProblem, cut_graph
from analysis.flow import FlowBatch, log_units, power_root, scipy_flow
from tn import TensorNetwork


@st.composite
def power_networks(draw, base=2):
    """Random hypergraphs whose sizes are all powers of ``base`` (exponents 0..3), at least 2 open legs."""
    n = draw(st.integers(2, 6))
    k = draw(st.integers(2, 9))
    sizes = [base ** draw(st.integers(0, 3)) for _ in range(k)]
    where = [sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=min(n, 4)))) for _ in range(k)]
    net = TensorNetwork()
    for t in range(n):
        mine = [j for j in range(k) if t in where[j]]
        net.add_tensor(t, tuple(sizes[j] for j in mine), tuple(f"i{j}" for j in mine))
    labels = sorted(net.index_map, key=str)
    out = draw(st.lists(st.sampled_from(labels), min_size=2, max_size=min(5, len(labels)), unique=True))
    net.set_output(tuple(out))
    split = draw(st.integers(1, len(out) - 1))
    return net, out[:split], out[split:]


def test_power_root_and_units():
    assert [power_root(d) for d in (1, 2, 3, 4, 27, 64, 100, 2**90, 3**40)] == [
        (1, 0), (2, 1), (3, 1), (2, 2), (3, 3), (2, 6), (10, 2), (2, 90), (3, 40)]
    net = convac(balanced(4), M=4, width=8, symbolic=True)
    base, units = log_units(cut_graph(net))
    assert base == 2 and all(2 ** units[label] == net.size(label) for label in units)
    assert log_units(cut_graph(convac(balanced(4), M=2, width=3, symbolic=True))) is None
    assert log_units(cut_graph(convac(balanced(4), M=9, width=3, symbolic=True)))[0] == 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(power_networks(base=2))
def test_scipy_and_networkx_cuts_agree_on_integer_capacities(case):
    net, A, B = case
    expected = brute_force_bound(net, A, B)
    for name in ("scipy", "preflow_push", "dinitz"):
        assert mincut(net, A, B, method="flow", flow_func=name).bound == expected, name


@settings(max_examples=80, deadline=None)
@given(st.integers(3, 9), st.integers(0, 2**16))
def test_scipy_flow_equals_networkx_on_random_digraphs(n, seed):
    rng = np.random.default_rng(seed)
    arcs = rng.integers(0, n, size=(3 * n, 2))
    arcs = arcs[arcs[:, 0] != arcs[:, 1]]
    caps = rng.integers(0, 50, size=len(arcs))
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for (u, v), c in zip(arcs.tolist(), caps.tolist()):
        G.add_edge(u, v, capacity=G.edges[u, v]["capacity"] + c if G.has_edge(u, v) else c)
    value, reach = scipy_flow(n, arcs[:, 0], arcs[:, 1], caps, 0, n - 1)
    assert value == nx.maximum_flow_value(G, 0, n - 1)
    assert reach[0] and not reach[n - 1]
    cut = sum(c for (u, v), c in zip(arcs.tolist(), caps.tolist()) if reach[u] and not reach[v])
    assert cut == value


def test_int32_guard_falls_back():
    tails, heads = np.array([0, 1]), np.array([1, 2])
    assert scipy_flow(3, tails, heads, np.array([2**31 - 2, 5]), 0, 2) is not None
    assert scipy_flow(3, tails, heads, np.array([2**31, 5]), 0, 2) is None       # would wrap in int32
    assert scipy_flow(3, tails, heads, np.array([2**30, 2**30]), 0, 2) is not None
    assert scipy_flow(3, np.array([0, 0]), np.array([1, 1]), np.array([2**30, 2**30]), 0, 1) is None  # summed
    assert scipy_flow(3, tails, heads, np.array([1.5, 2.0]), 0, 2) is None       # not integers
    # sizes 3 and 2 have no common base: 32-bit scaled capacities exceed int32, networkx answers
    net = convac(balanced(8), M=2, width=3, symbolic=True)
    for part in ("left-right", "odd-even", [0, 5, 6]):
        assert mincut(net, part, method="flow", flow_func="scipy").bound == mincut(net, part, method="tree").bound


def test_batched_flow_guard_falls_back_to_networkx(monkeypatch):
    net = ring(10, phys=2, bond=4, chord=(0, 5))
    rows = np.random.default_rng(1).random((30, 10)) < 0.5
    rows[:, 0], rows[:, 1] = True, False
    fast = FlowBatch.build(cut_graph(net), net.input_legs)
    assert fast.fits
    expected = fast.exponents(rows)
    monkeypatch.setattr(flow, "SCIPY_MAX_CAPACITY", 8)
    slow = FlowBatch.build(cut_graph(net), net.input_legs)
    assert not slow.fits
    assert slow.exponents(rows).tolist() == expected.tolist()
    legs = np.array(net.input_legs)
    assert [2 ** int(e) for e in expected] == [mincut(net, list(legs[r]), list(legs[~r])).bound for r in rows]


def test_exact_units_solve_once(monkeypatch):
    calls = []
    real = flow.flow_graph
    monkeypatch.setattr(flow, "flow_graph", lambda *a, **k: calls.append(a[1:]) or real(*a, **k))
    net = convac(balanced(64), M=2, width=4, symbolic=True)
    assert mincut(net, "odd-even", method="flow").bound == 2**32
    assert len(calls) == 1  # no re-run at the certified resolution: integer exponents are exact
    net3 = convac(balanced(8), M=2, width=3, symbolic=True)
    calls.clear()
    assert mincut(net3, "odd-even", method="flow").bound == 16
    assert calls and calls[0][0] == flow.RESOLUTION_BITS


@pytest.mark.parametrize("net", [ring(9), ring(12, phys=4, bond=2), ring(10, phys=2, bond=4, chord=(2, 7)),
                                 ring(8, phys=3, bond=3)])
def test_flow_batch_equals_mincut(net):
    n = len(net.input_legs)
    rows = np.random.default_rng(n).random((40, n)) < 0.5
    rows[:, 0], rows[:, -1] = True, False
    legs = np.array(net.input_legs)
    expected = [mincut(net, list(legs[r]), list(legs[~r])).log2_bound for r in rows]
    assert mincut_batch(net, rows) == pytest.approx(expected, abs=1e-12)
    batch = FlowBatch.build(cut_graph(net), net.input_legs)
    base = batch.base
    assert [base ** int(e) for e in batch.exponents(rows)] == [round(2**x) for x in expected]


def test_flow_batch_open_hyperedge_leg():
    net = TensorNetwork()  # "x" is open and on two tensors (a delta with an open leg), and a cycle P-Q-R
    net.add_tensor("P", (2, 2, 4, 2), ("x", 0, "m", "pr"))
    net.add_tensor("Q", (2, 2, 4, 2), ("x", 1, "m", "qr"))
    net.add_tensor("R", (2, 2, 2), (2, "pr", "qr"))
    net.set_output(("x", 0, 1, 2))
    batch = FlowBatch.build(cut_graph(net), net.output)
    rows = np.array([[a, b, c, d] for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)], dtype=bool)[1:-1]
    got = batch.exponents(rows)
    for row, e in zip(rows, got):
        A = [leg for leg, r in zip(net.output, row) if r]
        B = [leg for leg, r in zip(net.output, row) if not r]
        assert 2 ** int(e) == brute_force_bound(net, A, B) == mincut(net, A, B).bound


def test_flow_graph_in_units():
    net = convac(balanced(4), M=4, width=2, symbolic=True)
    problem = CutProblem(cut_graph(net), {0, 1}, {2, 3})
    G, labels, _ = flow.flow_graph(problem, units=log_units(problem.graph)[1])
    assert {G.edges[e]["capacity"] for e in labels} == {1, 2}  # width 2 -> 1, M = 4 -> 2
    assert math.isclose(nx.maximum_flow_value(G, flow.SOURCE, flow.SINK), 1)
