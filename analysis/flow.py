"""The directed capacity graph of a cut problem, certified integer capacities, and the max-flow cut method.

:func:`flow_graph` builds the directed networkx graph: a bond of capacity c becomes two opposite
arcs of capacity c; a hyperedge of size D becomes a split vertex, arcs of "infinite" capacity from
its tensors into ``h_in``, one arc ``h_in -> h_out`` of capacity log2 D and infinite arcs from
``h_out`` back to its tensors, so a delta tensor costs log2 D once; open legs in A hang from the
super-source, open legs in B from the super-sink (an open hyperedge joins its delta like a tensor).

**Integer capacities.** Capacity = ``round(log2(dim) * 2**bits)`` computed to < 1 unit of error
(exactly via :mod:`decimal` when floats would not be enough), where ``bits`` starts at
:data:`RESOLUTION_BITS` (= 32, a resolution of 2**-32 in log2 units). Round-off cannot decide the
cut: two cuts of products P* < P differ by at least log2(1 + 1/P) >= 1/P in log2, while the
rounded values of two cuts err by less than 2E units (E = number of finite arcs). So when
``2**bits > 2 * E * P`` for the product P of the cut found, no cut has a smaller exact product;
:func:`certified_bits` checks that and the flow method re-runs at the larger resolution it names
otherwise (e.g. at N = 1024 odd-even, P = 2**512: one re-run with ~530-bit integer capacities).

Flow functions live in :data:`FLOW_FUNCS` (networkx's five; register more with the same signature
as networkx's, ``flow_func(G, s, t, capacity=...) -> residual network``).
"""

from __future__ import annotations

import math
from decimal import Context, Decimal
from functools import lru_cache

import networkx as nx
from networkx.algorithms import flow as nx_flow

from tn.registry import Registry

from .cutgraph import CutProblem, product

RESOLUTION_BITS = 32
SOURCE, SINK = "source", "sink"
DEFAULT_FLOW_FUNC = "preflow_push"

FLOW_FUNCS = Registry("flow_func", hint="or a networkx flow function")
for _fn in (nx_flow.preflow_push, nx_flow.edmonds_karp, nx_flow.shortest_augmenting_path, nx_flow.dinitz,
            nx_flow.boykov_kolmogorov):
    FLOW_FUNCS.register(_fn.__name__, _fn, source="networkx")


def flow_func_names() -> tuple:
    return FLOW_FUNCS.names()


def resolve_flow_func(flow_func):
    """``(name, callable)`` for a flow-function name, a networkx flow callable, or None (the default)."""
    if flow_func is None:
        flow_func = DEFAULT_FLOW_FUNC
    if callable(flow_func):
        return getattr(flow_func, "__name__", repr(flow_func)), flow_func
    return FLOW_FUNCS.canonical(flow_func), FLOW_FUNCS.get(flow_func)


@lru_cache(maxsize=4096)
def scaled_log2(dim: int, bits: int) -> int:
    """``round(log2(dim) * 2**bits)`` with an error below one unit, for any ``bits``.

    >>> scaled_log2(8, 4), scaled_log2(3, 10)
    (48, 1623)
    """
    if dim == 1:
        return 0
    if bits + math.log2(math.log2(dim) + 1) < 48:  # a float keeps the error far below one unit
        return round(math.log2(dim) * 2.0 ** bits)
    ctx = Context(prec=int((bits + dim.bit_length().bit_length()) * 0.30103) + 20)
    value = ctx.multiply(ctx.divide(ctx.ln(Decimal(dim)), ctx.ln(Decimal(2))), Decimal(2**bits))
    return int(value.to_integral_value())


def certified_bits(n_arcs: int, bound: int, bits: int):
    """None if a cut of product ``bound`` found at resolution ``bits`` is certified exact, else the bits needed."""
    need = (2 * n_arcs * bound).bit_length()
    return None if bits > need else need + 1


def flow_graph(problem: CutProblem, bits: int = RESOLUTION_BITS):
    """The directed capacity graph of ``problem`` (see the module docstring).

    Returns ``(G, arc_labels, n_finite_arcs)``: nodes are tensor ids, ``("in", j)`` / ``("out", j)`` for
    hyperedge j, :data:`SOURCE` and :data:`SINK`; ``arc_labels[(u, v)]`` lists the index labels an arc
    stands for (absent on infinite arcs).
    """
    g = problem.graph
    labels: dict = {}

    def add(u, v, label):
        labels.setdefault((u, v), []).append(label)

    for (i, j), bond in g.bonds.items():
        for label in bond:
            add(i, j, label)
            add(j, i, label)
    infinite = []
    for j, (label, ids) in enumerate(g.hyperedges):
        side = problem.side_of(label) if label in g.open else "inner"
        if side is None:
            continue
        h_in, h_out = ("in", j), ("out", j)
        add(h_in, h_out, label)
        infinite += [(t, h_in) for t in ids] + [(h_out, t) for t in ids]
        if side == "A":
            infinite.append((SOURCE, h_in))
        elif side == "B":
            infinite.append((h_out, SINK))
    for leg, t in g.leg_tensor.items():
        side = problem.side_of(leg)
        if side == "A":
            add(SOURCE, t, leg)
        elif side == "B":
            add(t, SINK, leg)
    G = nx.DiGraph()
    G.add_nodes_from((SOURCE, SINK))
    G.add_nodes_from(range(len(g.tensors)))
    total = 0
    for (u, v), arc in labels.items():
        cap = scaled_log2(product(g.sizes, arc), bits)
        total += cap
        G.add_edge(u, v, capacity=cap)
    G.add_edges_from(infinite, capacity=total + 1)
    return G, labels, len(labels)


def flow_method(problem, flow_func):
    """The ``"flow"`` cut method: max-flow at :data:`RESOLUTION_BITS`, re-run at the certified resolution if needed."""
    bits = RESOLUTION_BITS
    while True:
        G, arc_labels, n_arcs = flow_graph(problem, bits)
        _, (reach, _) = nx.minimum_cut(G, SOURCE, SINK, flow_func=flow_func)
        cut = [label for (u, v), labels in arc_labels.items() if u in reach and v not in reach for label in labels]
        bits = certified_bits(n_arcs, product(problem.graph.sizes, cut), bits)
        if bits is None:
            return cut, None


__all__ = ["flow_graph", "flow_method", "scaled_log2", "certified_bits", "resolve_flow_func", "flow_func_names",
           "FLOW_FUNCS", "RESOLUTION_BITS", "SOURCE", "SINK"]
