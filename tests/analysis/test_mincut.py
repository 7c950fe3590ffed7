import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import FLOW_FUNCS, mincut, mincut_batch, register_method
from analysis.cutgraph import CutProblem, cut_graph
from analysis.flow import certified_bits, flow_graph, scaled_log2
from analysis.treedp import tree_dp
from analysis_nets import balanced, brute_force_bound, convac, flat, mirror, mps
from tn import TensorNetwork
from tn.errors import BoundViolationError, PartitionError, StructureError, UnknownNameError
from tn.testing import random_networks


def _split(net, draw):
    legs = list(net.output)
    k = draw(st.integers(1, len(legs) - 1))
    order = draw(st.permutations(legs))
    return order[:k], order[k:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_brute_force_equals_flow_on_random_hypergraphs(data):
    net, _, _ = data.draw(random_networks(max_tensors=6, max_inds=8, symbolic=True, max_size=4))
    if len(net.output) < 2:
        return
    A, B = _split(net, data.draw)
    expected = brute_force_bound(net, A, B)
    values = {name: mincut(net, A, B, method="flow", flow_func=name).bound for name in FLOW_FUNCS}
    assert set(values.values()) == {expected}, values
    auto = mincut(net, A, B)
    assert auto.bound == expected


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_tree_dp_equals_flow_on_random_trees(data):
    n = data.draw(st.integers(2, 9))
    seed = data.draw(st.integers(0, 10**6))
    rng = np.random.default_rng(seed)

    def random_tree(positions):
        if len(positions) == 1:
            return int(positions[0])
        k = int(rng.integers(2, min(3, len(positions)) + 1))
        cuts = sorted(rng.choice(np.arange(1, len(positions)), k - 1, replace=False))
        parts = np.split(np.array(positions), cuts)
        return tuple(random_tree(list(p)) for p in parts)

    sizes = {}
    net = convac(random_tree(list(rng.permutation(n))), M=int(rng.integers(1, 5)),
                 width=lambda node: sizes.setdefault(node, int(rng.integers(1, 6))), classes=int(rng.integers(1, 4)),
                 symbolic=True)
    A = [leg for leg in range(n) if rng.random() < 0.5] or [0]
    if len(A) == n:
        A = A[:-1]
    with_class = data.draw(st.booleans())
    B = [leg for leg in range(n) if leg not in A] + (["y"] if with_class else [])
    tree, flow = mincut(net, A, B, method="tree"), mincut(net, A, B, method="flow")
    assert tree.bound == flow.bound
    assert mincut_batch(net, [[leg in A for leg in range(n)]], legs=list(range(n)))[0] == pytest.approx(
        mincut(net, A).log2_bound, abs=1e-9)


@pytest.mark.parametrize("tree, width, lr, oe", [
    (balanced(8), 2, 2, 16), (balanced(8), 3, 3, 16), (mirror(8), 2, 16, 16), (flat(8), 2, 2, 2)])
def test_spec_table_bounds(tree, width, lr, oe):
    net = convac(tree, M=2, width=width, symbolic=True)
    for method in ("tree", "flow"):
        assert mincut(net, "left-right", method=method).bound == lr
        assert mincut(net, "odd-even", method=method).bound == oe


def test_builders_networks_dp_equals_flow():
    import builders
    nets = [builders.deep_convac(16, M=2, widths=[2, 3, 2, 4]), builders.deep_convac(9, M=3, widths=2, arity=3),
            builders.shallow_convac(8, M=2, Z=3), builders.dilated_convnet(8, M=2, widths=2),
            builders.convac(builders.ModeTree.random(10, seed=3), M=2, widths=3)]
    for net in nets:
        assert tree_dp(cut_graph(net)) is not None
        for part in ("left-right", "odd-even", "blocks:2", "random:1", "random:2"):
            assert mincut(net, part, method="tree").bound == mincut(net, part, method="flow").bound


def test_spec_table_on_builders():
    import builders
    cases = [(builders.ModeTree.balanced(8), 2, 2, 16), (builders.ModeTree.balanced(8), 3, 3, 16),
             (builders.ModeTree.mirror(8), 2, 16, 16), (builders.ModeTree.flat(8), 2, 2, 2)]
    for tree, width, lr, oe in cases:
        net = builders.convac(tree, M=2, widths=width)
        assert (mincut(net, "left-right").bound, mincut(net, "odd-even").bound) == (lr, oe)


def test_balanced_formula_large_n():
    net = convac(balanced(256), M=2, width=4, symbolic=True)
    assert mincut(net, "left-right").bound == 4
    assert mincut(net, "odd-even").bound == 2**128  # min(M, r)^(N/2)
    assert mincut(net, "odd-even", method="flow").bound == 2**128


def test_result_fields_and_sides():
    net = mps(4, phys=4, bond=3)
    r = mincut(net, [0, 1])
    assert (r.bound, r.cut, r.log2_bound) == (3, (("b", 1),), math.log2(3))
    assert r.sides == ((("site", 0), ("site", 1)), (("site", 2), ("site", 3)))
    assert r.method == "tree" and r.flow_func is None and r.seconds >= 0
    f = mincut(net, [0, 1], method="flow", flow_func="dinitz")
    assert f.flow_func == "dinitz" and f.method == "flow"
    assert mincut(net, [0, 1], flow_func="edmonds_karp").method == "flow"  # auto + explicit flow func
    assert mincut(net, [0], [3]).bound == 3 and mincut(net, [0], [3]).A == (0,)


def test_parallel_bonds_are_summed():
    net = TensorNetwork()
    net.add_tensor("L", (4, 2, 3), ("a", "p", "q"))
    net.add_tensor("R", (2, 3, 8), ("p", "q", "b"))
    net.set_output(("a", "b"))
    for method in ("tree", "flow"):
        r = mincut(net, ["a"], method=method)
        assert r.bound == 4 and r.cut == ("a",)
    net2 = TensorNetwork()
    net2.add_tensor("L", (16, 2, 3), ("a", "p", "q"))
    net2.add_tensor("R", (2, 3, 16), ("p", "q", "b"))
    for method in ("tree", "flow"):
        r = mincut(net2, ["a"], method=method)
        assert r.bound == 6 and set(r.cut) == {"p", "q"}


def test_hyperedge_costs_once():
    net = TensorNetwork()  # a delta of size 5 on four tensors, each with a leg of size 9
    for k in range(4):
        net.add_tensor(k, (9, 5), (k, "h"))
    net.set_output(tuple(range(4)))
    for method in ("tree", "flow"):
        r = mincut(net, [0, 1], method=method)
        assert r.bound == 5 and r.cut == ("h",)


def test_open_hyperedge_and_fixed_legs():
    net = TensorNetwork()  # "x" is open and shared by two tensors: a delta with an open leg
    net.add_tensor("P", (3, 2, 4), ("x", 0, "m"))
    net.add_tensor("Q", (3, 2, 4), ("x", 1, "m"))
    net.set_output(("x", 0, 1))
    net.set_input_legs((0, 1))
    for method in ("auto", "flow"):  # x and m form a cycle: auto falls back to flow
        assert mincut(net, [0], method=method).bound == 2     # x fixed: P and Q meet only through m (4)
        assert mincut(net, [0, "x"], [1], method=method).bound == 2
        assert mincut(net, ["x"], [0, 1], method=method).bound == 3


def test_near_tie_round_off_never_decides():
    # left: 19 bonds of size 2 (product 2^19 = 524288); right: 12 bonds of size 3 (3^12 = 531441);
    # log2 values differ by 0.0195; at 2**-4 resolution rounding would prefer the wrong side.
    net = TensorNetwork()
    net.add_tensor("S", (2,) * 19 + (7,), tuple(("l", k) for k in range(19)) + ("a",))
    net.add_tensor("M", (2,) * 19 + (3,) * 12, tuple(("l", k) for k in range(19)) + tuple(("r", k) for k in range(12)))
    net.add_tensor("T", (3,) * 12 + (7,), tuple(("r", k) for k in range(12)) + ("b",))
    net.set_output(("a", "b"))
    for name in FLOW_FUNCS:
        assert mincut(net, ["a"], method="flow", flow_func=name).bound == 7
    chain = TensorNetwork()
    chain.add_tensor("S", (2,) * 19 + (10**6,), tuple(("l", k) for k in range(19)) + ("a",))
    chain.add_tensor("M", (2,) * 19 + (3,) * 12, tuple(("l", k) for k in range(19)) + tuple(("r", k) for k in range(12)))
    chain.add_tensor("T", (3,) * 12 + (10**6,), tuple(("r", k) for k in range(12)) + ("b",))
    chain.set_output(("a", "b"))
    for method in ("tree", "flow"):
        assert mincut(chain, ["a"], method=method).bound == 2**19
    # sizes 9 vs 2^3, 3 x 3 vs 8: exact comparison
    g = TensorNetwork()
    g.add_tensor("S", (9, 100), ("n", "a"))
    g.add_tensor("M", (9, 3, 3), ("n", "p", "q"))
    g.add_tensor("T", (3, 3, 100), ("p", "q", "b"))
    g.set_output(("a", "b"))
    assert mincut(g, ["a"], method="flow").bound == 9


def test_certified_resolution():
    assert certified_bits(10, 4, 32) is None
    assert certified_bits(10, 2**512, 32) > 512
    assert scaled_log2(2**40, 600) == 40 * 2**600
    assert abs(scaled_log2(3, 200) - round(math.log2(3) * 2**52) * 2**148) < 2**150


def test_flow_graph_shape():
    net = convac(balanced(4), M=2, width=3, symbolic=True)
    problem = CutProblem(cut_graph(net), {0, 1}, {2, 3})
    G, labels, n_arcs = flow_graph(problem)
    assert isinstance(G, nx.DiGraph)
    hyper = [(u, v) for (u, v) in labels if isinstance(u, tuple) and u[0] == "in"]
    assert len(hyper) == 3 and all(G.edges[e]["capacity"] == scaled_log2(3, 32) for e in hyper)
    assert n_arcs == len(labels)


def test_method_registry():
    net = mps(4)
    with pytest.raises(UnknownNameError, match="valid names: auto, tree, flow"):
        mincut(net, [0], method="nope")
    with pytest.raises(UnknownNameError, match="preflow_push, edmonds_karp"):
        mincut(net, [0], flow_func="nope")

    def everything(problem, flow_func):  # cut every leg of A: a valid, non-minimal cut
        return sorted(problem.A), None

    register_method("all-legs", everything)
    assert mincut(net, [0, 1], method="all-legs").bound == 4

    def wrong(problem, flow_func):
        return [], None

    register_method("wrong", wrong)
    with pytest.raises(BoundViolationError, match="leaves a path"):
        mincut(net, [0], method="wrong")
    register_method("liar", lambda problem, flow_func: (sorted(problem.A), 1))
    with pytest.raises(BoundViolationError, match="claimed"):
        mincut(net, [0], method="liar")


def test_tree_method_rejects_cycles():
    net = TensorNetwork()
    for k in range(3):
        net.add_tensor(k, (2, 2, 2), (k, ("b", k), ("b", (k + 1) % 3)))
    with pytest.raises(StructureError, match="cycle"):
        mincut(net, [0], method="tree")
    assert mincut(net, [0]).method == "flow" and mincut(net, [0]).bound == 2


@pytest.mark.parametrize("A, B, match", [([], None, "empty"), ([0], [0, 1], "overlap"), ([0, 99], None, "99"),
                                         (list(range(4)), None, "side B is empty")])
def test_bad_partitions(A, B, match):
    with pytest.raises(PartitionError, match=match):
        mincut(mps(4), A, B)


def test_batch_matches_single_queries():
    net = convac(balanced(32), M=2, width=3, symbolic=True)
    rng = np.random.default_rng(0)
    X = rng.random((50, 32)) < 0.5
    X[:, 0] = True
    X[:, 1] = False
    batch = mincut_batch(net, X)
    single = [mincut(net, list(np.flatnonzero(row))).log2_bound for row in X]
    assert np.allclose(batch, single, atol=1e-9)
    assert np.allclose(mincut_batch(net, ["left-right", "odd-even"]), [math.log2(3), 16])
    ring = TensorNetwork()  # a periodic MPS has a cycle, so the batch falls back to certified max-flow
    for k in range(6):
        ring.add_tensor(("site", k), rng.standard_normal((2, 3, 3)), (k, ("b", k), ("b", (k + 1) % 6)))
    ring.set_output(tuple(range(6)))
    assert tree_dp(cut_graph(ring)) is None
    rows = np.random.default_rng(1).random((12, 6)) < 0.5
    rows[:, 0], rows[:, 1] = True, False
    expected = [math.log2(brute_force_bound(ring, list(np.flatnonzero(r)), list(np.flatnonzero(~r)))) for r in rows]
    assert np.allclose(mincut_batch(ring, rows), expected)
    # halves of the ring: two bonds (3 x 3 = 9) or the three open legs of a side (2^3 = 8), whichever is smaller
    assert mincut_batch(ring, [[True, True, True, False, False, False]])[0] == pytest.approx(3.0)
    assert mincut_batch(ring, [[True, True, False, False, False, False]])[0] == pytest.approx(2.0)


def test_network_sum_bounds_add():
    from tn import NetworkSum
    a, b = mps(4, phys=3, bond=2, seed=1), mps(4, phys=3, bond=3, seed=2)
    r = mincut(NetworkSum([a, b]), [0, 1])
    assert r.bound == 5 and r.method == "sum" and [t.bound for t in r.terms] == [2, 3]
    r = mincut(NetworkSum([a, b, b, b]), [0, 1])  # 2 + 3 + 3 + 3 > 3 * 3: the rows of the matricization cap it
    assert r.bound == 9 and r.cut == (0, 1) and [t.bound for t in r.terms] == [2, 3, 3, 3]
