"""A network's cut structure and its directed capacity graph for max-flow.

:class:`CutGraph` extracts, once per network structure, what every cut method needs: tensors,
bonds (parallel bonds between two tensors merged, their sizes multiplied), hyperedges (an index on
three or more tensors, or on two tensors and open) and open legs. :class:`CutProblem` adds a
partition (A, B) of open legs; open legs in neither side are *fixed* (projected on one value) and
carry no capacity: a fixed single-tensor leg is dropped and a fixed hyperedge index disconnects its
tensors (slicing a delta tensor at one value leaves no link).

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
"""

from __future__ import annotations

import math
import weakref
from decimal import Context, Decimal
from functools import lru_cache

import networkx as nx

RESOLUTION_BITS = 32
SOURCE, SINK = "source", "sink"


class CutGraph:
    """Partition-independent cut structure of a :class:`tn.TensorNetwork`.

    Attributes
    ----------
    tensors : tuple of tensor names (ids are positions in this tuple)
    sizes : dict index -> int
    output, input_legs : tuples of open legs (``open``: the same as a frozenset)
    bonds : dict (i, j) -> list of labels, i < j tensor ids, parallel bonds merged
    hyperedges : list of (label, tuple of tensor ids)
    hyper_id : dict label -> position in ``hyperedges``
    leg_tensor : dict open single-tensor leg -> tensor id
    """

    def __init__(self, net):
        self.tensors = tuple(net.tensor_names)
        tid = {name: i for i, name in enumerate(self.tensors)}
        self.sizes = net.size_dict
        self.output = tuple(net.output)
        self.input_legs = tuple(net.input_legs)
        self.open = opened = frozenset(self.output)
        self.bonds, self.hyperedges, self.hyper_id, self.leg_tensor = {}, [], {}, {}
        for ind, where in net.index_map.items():
            ids = tuple(tid[t] for t in where)
            if len(ids) >= 3 or (len(ids) == 2 and ind in opened):
                self.hyper_id[ind] = len(self.hyperedges)
                self.hyperedges.append((ind, ids))
            elif len(ids) == 2:
                self.bonds.setdefault((min(ids), max(ids)), []).append(ind)
            elif ind in opened:
                self.leg_tensor[ind] = ids[0]
        self._tree = None

    def tree(self):
        """The compiled :class:`analysis.treedp.TreeDP`, or None when the graph has a cycle (cached)."""
        if self._tree is None:
            from .treedp import TreeDP
            self._tree = TreeDP.compile(self) or False
        return self._tree or None


_GRAPHS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def cut_graph(net) -> CutGraph:
    """The :class:`CutGraph` of ``net``, cached until its structure or input legs change."""
    key = (net.structure_key(), tuple(net.input_legs))
    hit = _GRAPHS.get(net)
    if hit is not None and hit[0] == key:
        return hit[1]
    graph = CutGraph(net)
    _GRAPHS[net] = (key, graph)
    return graph


class CutProblem:
    """A :class:`CutGraph` with a partition: ``A`` and ``B`` frozensets of open legs."""

    def __init__(self, graph: CutGraph, A, B):
        self.graph, self.A, self.B = graph, frozenset(A), frozenset(B)

    def side_of(self, leg):
        """``"A"``, ``"B"`` or None (fixed) for an open leg."""
        return "A" if leg in self.A else ("B" if leg in self.B else None)

    def separation(self, cut) -> tuple:
        """Graph search without the ``cut`` labels: ``(separates, tensor ids joined to A)``.

        Independent of any flow graph: a union-find over tensors and the two terminals in which
        every uncut bond, uncut unfixed hyperedge and uncut open leg of A or B joins its ends.
        """
        g, cut = self.graph, set(cut)
        n = len(g.tensors)
        parent = list(range(n + 2))
        src, snk = n, n + 1

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(x, y):
            parent[find(x)] = find(y)

        terminal = {"A": src, "B": snk}
        for (i, j), labels in g.bonds.items():
            if any(label not in cut for label in labels):
                union(i, j)
        for label, ids in g.hyperedges:
            side = self.side_of(label) if label in g.open else "inner"
            if label in cut or side is None:
                continue
            for t in ids:
                union(ids[0], t)
            if side in terminal:
                union(ids[0], terminal[side])
        for leg, t in g.leg_tensor.items():
            side = self.side_of(leg)
            if side is not None and leg not in cut:
                union(t, terminal[side])
        root = find(src)
        return root != find(snk), tuple(t for t in range(n) if find(t) == root)


def product(sizes, labels) -> int:
    """Exact product of the sizes of ``labels`` (Python int)."""
    return math.prod(sizes[label] for label in labels)


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


__all__ = ["CutGraph", "CutProblem", "cut_graph", "flow_graph", "scaled_log2", "certified_bits", "product",
           "RESOLUTION_BITS", "SOURCE", "SINK"]
