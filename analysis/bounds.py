"""Min-cut bounds on the rank of a matricization: the :func:`mincut` facade and its method registry.

Every cut method has one signature, ``method(problem, flow_func) -> (labels, value)``: it gets a
:class:`~analysis.cutgraph.CutProblem` and a resolved networkx flow function (or None) and returns
the index labels of a minimum cut, plus the exact product it claims (or None). The facade then
re-checks every answer independently of the method: the product of the cut's index sizes is
recomputed as a Python int (and must equal the claimed value), and a graph search without the cut
labels must find no path from an A leg to a B leg; otherwise :class:`~tn.errors.BoundViolationError`.

Built-in methods: ``"tree"`` (the exact dynamic program of :mod:`analysis.treedp`, tree-shaped
networks only), ``"flow"`` (networkx max-flow on :func:`analysis.flow.flow_graph`, certified
exact, see there) and ``"auto"`` (``"tree"`` when the network is tree-shaped and no ``flow_func``
was asked for, else ``"flow"``). Add your own with :func:`register_method`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from tn import NetworkSum
from tn.errors import BoundViolationError, PartitionError, StructureError
from tn.registry import Registry

from .cutgraph import CutProblem, cut_graph, product
from .flow import FLOW_FUNCS, FlowBatch, flow_func_names, flow_method, resolve_flow_func
from .partitions import Partition, make_partition
from .treedp import tree_dp


@dataclass(frozen=True)
class MinCutResult:
    """A certified minimum cut between two sets of open legs.

    Attributes
    ----------
    log2_bound : float
        log2 of ``bound``.
    bound : int
        Exact product of the sizes of the cut indices: rank [T]_{A,B} <= bound.
    cut : tuple
        Index labels cut (bonds, hyperedges, or open legs).
    sides : (tuple, tuple)
        Tensor names still joined to A after removing the cut, and all other tensors.
    method : str
        The cut method that answered (``"tree"``, ``"flow"``, a registered name, or ``"sum"``).
    flow_func : str or None
        Name of the networkx flow function used, None for non-flow methods.
    seconds : float
        Wall time of the query, checks included.
    A, B : tuple
        The two sides of the partition (open legs).
    terms : tuple of MinCutResult
        For a :class:`tn.NetworkSum`: each term's own cut (the bound is their sum); else empty.
    """

    log2_bound: float
    bound: int
    cut: tuple
    sides: tuple
    method: str
    flow_func: str | None
    seconds: float
    A: tuple = ()
    B: tuple = ()
    terms: tuple = field(default=(), repr=False)

    def as_dict(self) -> dict:
        """JSON-ready dict (labels as given; ``bound`` stays an exact int)."""
        return {"A": list(self.A), "B": list(self.B), "log2_bound": self.log2_bound, "bound": self.bound,
                "cut": list(self.cut), "method": self.method, "flow_func": self.flow_func,
                "seconds": self.seconds}


# ---------------------------------------------------------------------- method registry
CUT_METHODS = Registry("cut method", extra=("auto",))


def register_method(name, fn, uses_flow_func=False, replace=False):
    """Register a cut method ``fn(problem, flow_func) -> (labels, exact value or None)`` under ``name``."""
    CUT_METHODS.register(name, fn, replace=replace, uses_flow_func=uses_flow_func)


def method_names() -> tuple:
    return ("auto", *CUT_METHODS.names())


def _tree_method(problem, flow_func):
    dp = tree_dp(problem.graph)
    if dp is None:
        raise StructureError("method='tree' needs a tree-shaped network (tensors and hyperedges forming a forest); "
                             "this one has a cycle: use method='flow' or 'auto'")
    return dp.solve(problem)


register_method("tree", _tree_method)
register_method("flow", flow_method, uses_flow_func=True)


def _pick_method(method, graph, flow_func) -> str:
    if isinstance(method, str) and method.lower() == "auto":
        return "tree" if flow_func is None and tree_dp(graph) is not None else "flow"
    return CUT_METHODS.canonical(method)


# ---------------------------------------------------------------------- facade
def mincut(net, A, B=None, method="auto", flow_func=None) -> MinCutResult:
    """Minimum cut between open legs ``A`` and ``B``: an exact upper bound on rank [T]_{A,B}.

    Capacities are log2 of the index sizes; a hyperedge (delta tensor) costs log2 D once; open legs
    in neither A nor B (by default the non-input legs, e.g. the class leg) are fixed and cost nothing.

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum
        For a sum the bound is min(sum of the terms' bounds (rank is subadditive), the product of
        A's leg sizes, that of B's); ``terms`` of the result holds each term's cut.
    A : iterable of open legs, partition name or :class:`~analysis.partitions.Partition`
        See :func:`analysis.partitions.make_partition` (e.g. ``"left-right"``, ``"blocks:4"``).
    B : iterable of open legs, optional
        Default: the input legs not in A.
    method : str
        ``"auto"``, ``"tree"``, ``"flow"`` or a name added with :func:`register_method`.
    flow_func : str or callable, optional
        A networkx flow function or its name (:data:`FLOW_FUNCS`); default ``preflow_push``.
        Giving one makes ``"auto"`` use max-flow.

    Returns
    -------
    MinCutResult

    Examples
    --------
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()          # a 4-leg MPS with bond sizes 3, 2, 3
    >>> for k, (left, right) in enumerate([(None, "a"), ("a", "b"), ("b", "c"), ("c", None)]):
    ...     bonds = tuple(i for i in (left, right) if i)
    ...     _ = net.add_tensor(k, (4,) + tuple({"a": 3, "b": 2, "c": 3}[i] for i in bonds), (k,) + bonds)
    >>> r = mincut(net, [0, 1])
    >>> r.bound, r.cut, r.method
    (2, ('b',), 'tree')
    >>> mincut(net, "odd-even", method="flow", flow_func="dinitz").bound   # legs 0, 2 | 1, 3
    12
    """
    if isinstance(net, NetworkSum):
        return _mincut_sum(net, A, B, method, flow_func)
    start = time.perf_counter()
    part = make_partition(net, A, B)
    graph = cut_graph(net)
    problem = CutProblem(graph, part.A, part.B)
    name = _pick_method(method, graph, flow_func)
    fn, uses_flow = CUT_METHODS.get(name), CUT_METHODS.info(name)["uses_flow_func"]
    ff_name, ff = resolve_flow_func(flow_func) if uses_flow else (None, None)
    labels, claimed = fn(problem, ff)
    return _certify(net, problem, labels, claimed, name, ff_name, start)


def _certify(net, problem, labels, claimed, method, ff_name, start) -> MinCutResult:
    graph = problem.graph
    labels = tuple(dict.fromkeys(labels))
    unknown = [label for label in labels if label not in graph.sizes]
    if unknown:
        raise BoundViolationError(f"cut method {method!r} returned unknown index labels {unknown!r}")
    bound = product(graph.sizes, labels)
    if claimed is not None and claimed != bound:
        raise BoundViolationError(f"cut method {method!r} claimed a cut of product {claimed} but its indices "
                                  f"{labels!r} multiply to {bound}")
    separates, a_side = problem.separation(labels)
    if not separates:
        raise BoundViolationError(f"cut method {method!r} returned {labels!r}, which leaves a path from A "
                                  f"{sorted(problem.A, key=repr)!r} to B {sorted(problem.B, key=repr)!r}")
    on_a = set(a_side)
    sides = (tuple(graph.tensors[t] for t in a_side),
             tuple(name for t, name in enumerate(graph.tensors) if t not in on_a))
    output = graph.output
    return MinCutResult(math.log2(bound), bound, labels, sides, method, ff_name, time.perf_counter() - start,
                        tuple(i for i in output if i in problem.A), tuple(i for i in output if i in problem.B))


def _mincut_sum(net, A, B, method, flow_func) -> MinCutResult:
    """rank(X + Y) <= rank X + rank Y, and no matricization exceeds its row or column count.

    The bound is min(sum of the terms' bounds, prod of A's leg sizes, prod of B's), all exact ints;
    ``terms`` keeps every term's own cut. When a side's legs are the smaller cut, they are ``cut``.
    """
    start = time.perf_counter()
    part = make_partition(net, A, B)
    terms = tuple(mincut(t, Partition(part.name, part.A, part.B), method=method, flow_func=flow_func)
                  for t in net.terms)
    total = sum(r.bound for r in terms)
    sides_dims = [math.prod(net.size(i) for i in legs) for legs in (part.A, part.B)]
    bound = min(total, *sides_dims)
    if bound == total:
        cut = tuple(dict.fromkeys(label for r in terms for label in r.cut))
        sides = tuple(tuple(dict.fromkeys(n for r in terms for n in r.sides[k])) for k in (0, 1))
    else:  # cutting one side's open legs beats the terms' cuts together
        k = sides_dims.index(bound)
        cut = tuple(part.A if k == 0 else part.B)
        sides = ((), net.tensor_names) if k == 0 else (net.tensor_names, ())
    return MinCutResult(math.log2(bound), bound, cut, sides, "sum", terms[0].flow_func,
                        time.perf_counter() - start, part.A, part.B, terms)


def mincut_batch(net, partitions, legs=None) -> np.ndarray:
    """log2 min-cut bounds of many partitions at once (vectorized tree DP, one pass per tree level).

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum
        For a sum, row q is log2 min(sum of the terms' bounds, prod of A's sizes, prod of B's), as
        :func:`mincut` gives.
    partitions : bool array (Q, len(legs)), or a sequence of partition specs
        Row q puts leg k in A when True, in B when False. Specs must split all of ``legs``.
    legs : sequence, optional
        The columns; default ``net.input_legs``. Other open legs are fixed.

    Returns
    -------
    float64 array (Q,) of log2 bounds (for a sum: ~1e-12 relative unless one term or side
    dominates): exact multiples of log2(base) when every size is a power of
    one base (the DP then runs on integer exponents), else ~1e-12 relative. Networks with cycles
    use :class:`analysis.flow.FlowBatch` (one array graph, scipy's max-flow per row) when sizes are
    powers of one base, else one certified :func:`mincut` per row.

    Examples
    --------
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()
    >>> _ = net.add_tensor("L", (2, 2, 4), (0, 1, "m")); _ = net.add_tensor("R", (4, 2, 2), ("m", 2, 3))
    >>> mincut_batch(net, [[True, True, False, False], [True, False, True, False]])
    array([2., 2.])
    >>> from tn import NetworkSum
    >>> mincut_batch(NetworkSum([net, net]), [[True, True, False, False], [True, False, False, False]])
    array([2., 1.])
    """
    legs = tuple(net.input_legs) if legs is None else tuple(legs)
    if isinstance(partitions, np.ndarray) and partitions.dtype == bool:
        inside = partitions
    elif len(partitions) and all(isinstance(p, (str, Partition)) for p in partitions):
        sides = [set(make_partition(net, p).A) for p in partitions]  # each resolved once
        inside = np.array([[leg in side for leg in legs] for side in sides], dtype=bool)
    else:
        inside = np.asarray(partitions, dtype=bool)
    if inside.ndim != 2 or inside.shape[1] != len(legs):
        raise StructureError(f"partitions must be a boolean matrix with {len(legs)} columns (one per leg), "
                             f"got shape {inside.shape}")
    if isinstance(net, NetworkSum):
        total = np.logaddexp2.reduce([mincut_batch(t, inside, legs) for t in net.terms], axis=0)
        log_sizes = np.log2([net.size(leg) for leg in legs])
        return np.minimum(total, np.minimum(inside @ log_sizes, ~inside @ log_sizes))
    graph = cut_graph(net)
    dp = tree_dp(graph)
    if dp is not None:
        return dp.batch_log2(inside, legs)
    batch = FlowBatch.build(graph, legs)
    if batch is not None:
        return batch.exponents(inside) * math.log2(batch.base)
    cols = np.array(legs, dtype=object)
    return np.array([mincut(net, list(cols[row]), list(cols[~row]), method="flow").log2_bound for row in inside])


def resolve_cut(net, part, cut=None) -> tuple:
    """``(cut, per-term cuts)`` of partition ``part``: ``cut`` reused when given (it must be this partition's, a
    :class:`~tn.errors.PartitionError` otherwise), else solved; the per-term cuts are ``(cut,)`` for one network."""
    if cut is None:
        cut = mincut(net, part)
    elif (set(cut.A), set(cut.B)) != (set(part.A), set(part.B)):
        raise PartitionError(f"the cut given is for A={list(cut.A)!r}, not for partition {part.name!r}")
    return cut, (cut.terms or (cut,))


__all__ = [
    "resolve_cut",
    "CUT_METHODS",
    "FLOW_FUNCS",
    "MinCutResult",
    "flow_func_names",
    "method_names",
    "mincut",
    "mincut_batch",
    "register_method",
    "resolve_flow_func",
]
