"""The directed capacity graph of a cut problem, certified integer capacities, and the max-flow cut method.

:func:`flow_graph` builds the directed networkx graph: a bond of capacity c becomes two opposite
arcs of capacity c; a hyperedge of size D becomes a split vertex, arcs of "infinite" capacity from
its tensors into ``h_in``, one arc ``h_in -> h_out`` of capacity log2 D and infinite arcs from
``h_out`` back to its tensors, so a delta tensor costs log2 D once; open legs in A hang from the
super-source, open legs in B from the super-sink (an open hyperedge joins its delta like a tensor).

**Exact integer capacities.** When every index size is a power of one integer base b (as in every
builder: sizes 2, 4, 8 ... or 3, 9 ...), the capacity of an arc is the exponent of its product in
base b, an exact integer, and a minimum cut of exponents is a minimum cut of products: the flow is
solved once, at that resolution (:func:`log_units`).

**Scaled capacities otherwise.** Capacity = ``round(log2(dim) * 2**bits)`` computed to < 1 unit of
error (exactly via :mod:`decimal` when floats would not be enough), where ``bits`` starts at
:data:`RESOLUTION_BITS` (= 32, a resolution of 2**-32 in log2 units). Round-off cannot decide the
cut: two cuts of products P* < P differ by at least log2(1 + 1/P) >= 1/P in log2, while the
rounded values of two cuts err by less than 2E units (E = number of finite arcs). So when
``2**bits > 2 * E * P`` for the product P of the cut found, no cut has a smaller exact product;
:func:`certified_bits` checks that and the flow method re-runs at the larger resolution it names
otherwise (e.g. at N = 1024 odd-even, P = 2**512: one re-run with ~530-bit integer capacities).

Flow functions live in :data:`FLOW_FUNCS`: networkx's five (``flow_func(G, s, t, capacity=...) ->
residual network``; ``preflow_push`` is the default and the reference) and ``"scipy"``
(:func:`scipy_flow`, scipy's compiled Dinic on arrays, marked ``arrays=True``). scipy counts in
int32 and silently wraps above 2**31, so it answers only exact integer capacities whose total stays
below :data:`SCIPY_MAX_CAPACITY`; anything else goes to networkx's default. :class:`FlowBatch`
answers many partitions of one network with cycles, reusing one array graph and changing only the
terminal arcs.
"""

from __future__ import annotations

import math
import weakref
from decimal import Context, Decimal
from functools import lru_cache

import networkx as nx
import numpy as np
from networkx.algorithms import flow as nx_flow

from tn.errors import BoundViolationError
from tn.registry import Registry

from .cutgraph import CutProblem, product

RESOLUTION_BITS = 32
SOURCE, SINK = "source", "sink"
DEFAULT_FLOW_FUNC = "preflow_push"
SCIPY_MAX_CAPACITY = 2**31 - 1  # scipy.sparse.csgraph.maximum_flow stores capacities and flows as int32

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


# ---------------------------------------------------------------------- exact integer units
@lru_cache(maxsize=4096)
def power_root(dim: int) -> tuple:
    """``(r, e)`` with ``r ** e == dim`` and ``r`` as small as possible (``(1, 0)`` for 1).

    >>> power_root(8), power_root(36), power_root(7)
    ((2, 3), (6, 2), (7, 1))
    """
    if dim == 1:
        return 1, 0
    for e in range(dim.bit_length() - 1, 1, -1):
        r = round(dim ** (1.0 / e)) if dim < 2**1000 else round(2 ** (math.log2(dim) / e))
        for cand in (r - 1, r, r + 1):
            if cand >= 2 and cand**e == dim:
                return power_root(cand)[0], power_root(cand)[1] * e
    return dim, 1


_UNITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def log_units(graph):
    """``(base, {label: exponent})`` when every index size of ``graph`` is a power of one integer base, else None.

    Sizes 1 count as ``base ** 0``; a graph of sizes 1 only gets base 2. Exponents are exact ints,
    so capacities in these units decide a minimum cut exactly (cached per :class:`CutGraph`).

    >>> from tn import TensorNetwork
    >>> from analysis.cutgraph import CutGraph
    >>> net = TensorNetwork()
    >>> _ = net.add_tensor("A", (9, 3), ("i", "j")); _ = net.add_tensor("B", (3, 81), ("j", "k"))
    >>> log_units(CutGraph(net))
    (3, {'i': 2, 'j': 1, 'k': 4})
    """
    hit = _UNITS.get(graph)
    if hit is None:
        roots = {label: power_root(size) for label, size in graph.sizes.items()}
        bases = {r for r, e in roots.values() if e}
        hit = (False,) if len(bases) > 1 else (bases.pop() if bases else 2, {k: e for k, (_, e) in roots.items()})
        _UNITS[graph] = hit
    return hit if hit[0] else None


# ---------------------------------------------------------------------- the capacity graph
def _arcs(problem: CutProblem):
    """Finite arcs ``{(u, v): [labels]}`` and infinite arcs ``[(u, v)]`` of ``problem`` (networkx node names)."""
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
    return labels, infinite


def _capacity(sizes, arc, bits, units):
    return sum(units[label] for label in arc) if units is not None else scaled_log2(product(sizes, arc), bits)


def flow_graph(problem: CutProblem, bits: int = RESOLUTION_BITS, units=None):
    """The directed capacity graph of ``problem`` (see the module docstring).

    Capacities are ``scaled_log2(product, bits)``, or with ``units`` (a label -> exponent dict from
    :func:`log_units`) the exact exponents. Returns ``(G, arc_labels, n_finite_arcs)``: nodes are
    tensor ids, ``("in", j)`` / ``("out", j)`` for hyperedge j, :data:`SOURCE` and :data:`SINK`;
    ``arc_labels[(u, v)]`` lists the index labels an arc stands for (absent on infinite arcs).
    """
    labels, infinite = _arcs(problem)
    G = nx.DiGraph()
    G.add_nodes_from((SOURCE, SINK))
    G.add_nodes_from(range(len(problem.graph.tensors)))
    total = 0
    for (u, v), arc in labels.items():
        cap = _capacity(problem.graph.sizes, arc, bits, units)
        total += cap
        G.add_edge(u, v, capacity=cap)
    G.add_edges_from(infinite, capacity=total + 1)
    return G, labels, len(labels)


def _node_ids(graph) -> dict:
    """networkx node names -> array ids: tensors, then (in, out) per hyperedge, then source and sink."""
    nt, nh = len(graph.tensors), len(graph.hyperedges)
    ids = {t: t for t in range(nt)}
    for j in range(nh):
        ids["in", j], ids["out", j] = nt + 2 * j, nt + 2 * j + 1
    ids[SOURCE], ids[SINK] = nt + 2 * nh, nt + 2 * nh + 1
    return ids


def _pattern(n, tails, heads):
    """A fixed CSR pattern for arcs (u, v) on nodes 0..n-1: ``(indptr, indices, entry of each arc, entry tails)``."""
    keys = np.asarray(tails, dtype=np.int64) * n + np.asarray(heads, dtype=np.int64)
    unique, entry = np.unique(keys, return_inverse=True)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(unique // n, minlength=n), out=indptr[1:])
    return indptr, (unique % n).astype(np.int32), entry.ravel(), (unique // n).astype(np.intp)


def _fits_int32(data, entry_tails, s) -> bool:
    return data.max(initial=0) < SCIPY_MAX_CAPACITY and data[entry_tails == s].sum() < SCIPY_MAX_CAPACITY


def _scipy_solve(n, indptr, indices, entry_tails, data, s, t):
    """Dinic on the CSR graph ``(data, indices, indptr)``: ``(flow value, source-side mask)``, cut checked."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow
    C = csr_array((data.astype(np.int32), indices, indptr), shape=(n, n))
    result = maximum_flow(C, s, t, method="dinic")
    F = result.flow
    if F.indptr.shape == indptr.shape and np.array_equal(F.indices, indices) and np.array_equal(F.indptr, indptr):
        # reverse arcs already in our pattern; copies, as eliminate_zeros edits the index arrays in place
        residual = csr_array((data - F.data, indices.copy(), indptr.copy()), shape=(n, n))
    else:
        residual = (C - F).tocsr()
    residual.eliminate_zeros()
    reach = np.zeros(n, dtype=bool)
    reach[breadth_first_order(residual, s, directed=True, return_predecessors=False)] = True
    value = int(result.flow_value)
    cut = int(data[reach[entry_tails] & ~reach[indices]].sum())
    if reach[t] or cut != value:
        raise BoundViolationError(f"scipy maximum_flow returned flow value {value} but the cut it leaves has "
                                  f"capacity {cut}" + (" and joins source and sink" if reach[t] else ""))
    return value, reach


def scipy_flow(n, tails, heads, caps, s, t):
    """Max-flow with scipy's Dinic: ``(flow value, bool mask of the nodes on the source side)``, or None.

    ``tails, heads, caps``: the arcs of a graph on nodes ``0..n-1`` (int arrays; parallel arcs are
    summed). None when the capacities are not integers, or an arc or the total out of ``s`` reaches
    :data:`SCIPY_MAX_CAPACITY` (scipy counts in int32 and would wrap around silently): the caller
    falls back to networkx. The answer is checked: the cut found must have the flow's value.

    >>> import numpy as np
    >>> tails, heads, caps = np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3]), np.array([3, 2, 1, 5])
    >>> value, reach = scipy_flow(4, tails, heads, caps, 0, 3)
    >>> value, reach.tolist()
    (3, [True, True, False, False])
    >>> scipy_flow(4, tails, heads, caps * 2**30, 0, 3) is None
    True
    """
    caps = np.asarray(caps)
    if caps.dtype.kind not in "iu" or (caps < 0).any():
        return None
    indptr, indices, entry, entry_tails = _pattern(n, tails, heads)
    data = np.bincount(entry, weights=caps, minlength=len(indices)) if len(caps) else np.zeros(0)
    if not _fits_int32(data, entry_tails, s):
        return None
    return _scipy_solve(n, indptr, indices, entry_tails, data, s, t)


scipy_flow.arrays = True  # takes arrays, not a networkx graph
FLOW_FUNCS.register("scipy", scipy_flow, source="scipy", arrays=True)


def _reach(problem, flow_func, bits, units):
    """The networkx node names on the source side of a minimum cut, and the arc labels."""
    if getattr(flow_func, "arrays", False):
        arc_labels, infinite = _arcs(problem)
        ids = _node_ids(problem.graph)
        caps = [_capacity(problem.graph.sizes, arc, bits, units) for arc in arc_labels.values()]
        caps += [sum(caps) + 1] * len(infinite)
        ends = np.array([(ids[u], ids[v]) for u, v in (*arc_labels, *infinite)], dtype=np.intp).reshape(-1, 2)
        caps = np.array(caps, dtype=object)
        caps = caps.astype(np.int64) if len(caps) and caps.max() < 2**62 else caps
        answer = flow_func(len(ids), ends[:, 0], ends[:, 1], caps, ids[SOURCE], ids[SINK])
        if answer is not None:
            names = list(ids)
            return {names[i] for i in np.flatnonzero(answer[1])}, arc_labels
        flow_func = FLOW_FUNCS.get(DEFAULT_FLOW_FUNC)
    G, arc_labels, _ = flow_graph(problem, bits, units)
    _, (reach, _) = nx.minimum_cut(G, SOURCE, SINK, flow_func=flow_func)
    return reach, arc_labels


def flow_method(problem, flow_func):
    """The ``"flow"`` cut method: one exact solve in integer units when sizes allow, else certified resolutions."""
    units = log_units(problem.graph)
    bits = RESOLUTION_BITS
    while True:
        reach, arc_labels = _reach(problem, flow_func, bits, units and units[1])
        cut = [label for (u, v), labels in arc_labels.items() if u in reach and v not in reach for label in labels]
        if units is not None:
            return cut, None
        bits = certified_bits(len(arc_labels), product(problem.graph.sizes, cut), bits)
        if bits is None:
            return cut, None


class FlowBatch:
    """Exact min cuts of many partitions of ``legs`` on one network with cycles (integer units only).

    The array graph is built once: every inner arc, and for each leg both of its terminal arcs
    (source -> leg for side A, leg -> sink for side B); a query only switches terminal capacities
    on or off and runs :func:`scipy_flow`'s solver (networkx ``preflow_push`` on the same arcs when
    the capacities do not fit scipy's int32). Use :meth:`build`, which returns None when the
    sizes are not powers of one base.

    Examples
    --------
    >>> from tn import TensorNetwork
    >>> from analysis.cutgraph import cut_graph
    >>> ring = TensorNetwork()          # a periodic MPS of 4 sites: bonds of size 2 around a cycle
    >>> for k in range(4):
    ...     _ = ring.add_tensor(k, (4, 2, 2), (k, ("b", k), ("b", (k + 1) % 4)))
    >>> batch = FlowBatch.build(cut_graph(ring), ring.input_legs)
    >>> batch.base, batch.exponents([[True, True, False, False], [True, False, True, False]]).tolist()
    (2, [2, 4])
    """

    def __init__(self, graph, legs, base, units):
        self.graph, self.legs, self.base = graph, tuple(legs), base
        ids = _node_ids(graph)
        self.n, self.s, self.t = len(ids), ids[SOURCE], ids[SINK]
        inner_labels, infinite = _arcs(CutProblem(graph, self.legs, ()))
        inner = [(u, v, _capacity(graph.sizes, arc, 0, units)) for (u, v), arc in inner_labels.items()
                 if u != SOURCE]
        infinite = [(u, v) for u, v in infinite if u != SOURCE]
        finite = sum(c for _, _, c in inner) + sum(units[leg] for leg in self.legs if leg in graph.leg_tensor)
        big = finite + 1
        arcs, caps, column, side = [], [], [], []
        for u, v, c in inner:
            arcs.append((ids[u], ids[v])), caps.append(c), column.append(-1), side.append(0)
        for u, v in infinite:
            arcs.append((ids[u], ids[v])), caps.append(big), column.append(-1), side.append(0)
        for (u, v), _ in zip(list(arcs), range(len(arcs))):  # zero reverse arcs: scipy then keeps our pattern
            arcs.append((v, u)), caps.append(0), column.append(-1), side.append(0)
        for k, leg in enumerate(self.legs):
            if leg in graph.leg_tensor:
                t = graph.leg_tensor[leg]
                ends, c = ((ids[SOURCE], t), (t, ids[SINK])), units[leg]
            else:
                j = graph.hyper_id[leg]
                ends, c = ((ids[SOURCE], ids["in", j]), (ids["out", j], ids[SINK])), big
            for which, (u, v) in zip((1, -1), ends):
                arcs += [(u, v), (v, u)]
                caps += [c, 0]
                column += [k, -1]
                side += [which, 0]
        arcs = np.array(arcs, dtype=np.int64).reshape(-1, 2)
        self.tails, self.heads = arcs[:, 0], arcs[:, 1]
        self.caps, self.column, self.side = np.array(caps, dtype=np.int64), np.array(column), np.array(side)
        self.indptr, self.indices, self.entry, self.entry_tails = _pattern(self.n, self.tails, self.heads)
        self.terminal = np.flatnonzero(self.column >= 0)
        self.fits = big < SCIPY_MAX_CAPACITY and big * (len(self.legs) + 1) < SCIPY_MAX_CAPACITY

    @classmethod
    def build(cls, graph, legs):
        """A :class:`FlowBatch` for ``legs`` of ``graph``, or None when its sizes are not powers of one base."""
        units = log_units(graph)
        return None if units is None else cls(graph, legs, units[0], units[1])

    def exponents(self, inside) -> np.ndarray:
        """int64 array (Q,): the minimum cut of each row, as an exponent of :attr:`base` (exact)."""
        inside = np.asarray(inside, dtype=bool)
        out = np.empty(len(inside), dtype=np.int64)
        caps = self.caps.copy()
        term, col, side = self.terminal, self.column[self.terminal], self.side[self.terminal]
        for q, row in enumerate(inside):
            caps[term] = np.where(row[col] == (side > 0), self.caps[term], 0)
            data = np.bincount(self.entry, weights=caps, minlength=len(self.indices)).astype(np.int64)
            if self.fits:
                out[q] = _scipy_solve(self.n, self.indptr, self.indices, self.entry_tails, data, self.s, self.t)[0]
            else:
                out[q] = self._networkx_value(data)
        return out

    def _networkx_value(self, data):
        G = nx.DiGraph()
        G.add_nodes_from((self.s, self.t))
        keep = data > 0
        G.add_weighted_edges_from(zip(self.entry_tails[keep].tolist(), self.indices[keep].tolist(),
                                      data[keep].tolist()), weight="capacity")
        return nx.minimum_cut_value(G, self.s, self.t, flow_func=FLOW_FUNCS.get(DEFAULT_FLOW_FUNC))


__all__ = [
    "FLOW_FUNCS",
    "RESOLUTION_BITS",
    "SCIPY_MAX_CAPACITY",
    "SINK",
    "SOURCE",
    "FlowBatch",
    "certified_bits",
    "flow_func_names",
    "flow_graph",
    "flow_method",
    "log_units",
    "power_root",
    "resolve_flow_func",
    "scaled_log2",
    "scipy_flow",
]
