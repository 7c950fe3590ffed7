"""A network's partition-independent cut structure, and a partition of its open legs on it.

:class:`CutGraph` extracts, once per network structure, what every cut method needs: tensors,
bonds (parallel bonds between two tensors merged, their sizes multiplied), hyperedges (an index on
three or more tensors, or on two tensors and open) and open legs. :class:`CutProblem` adds a
partition (A, B) of open legs; open legs in neither side are *fixed* (projected on one value) and
carry no capacity: a fixed single-tensor leg is dropped and a fixed hyperedge index disconnects its
tensors (slicing a delta tensor at one value leaves no link).
"""

from __future__ import annotations

import math
import weakref

from tn.gcpause import gc_paused
from tn.unionfind import UnionFind


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

    @gc_paused
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
        uf = UnionFind(range(n + 2))
        terminal = {"A": n, "B": n + 1}
        for (i, j), labels in g.bonds.items():
            if any(label not in cut for label in labels):
                uf.union(i, j)
        for label, ids in g.hyperedges:
            side = self.side_of(label) if label in g.open else "inner"
            if label in cut or side is None:
                continue
            for t in ids:
                uf.union(ids[0], t)
            if side in terminal:
                uf.union(ids[0], terminal[side])
        for leg, t in g.leg_tensor.items():
            side = self.side_of(leg)
            if side is not None and leg not in cut:
                uf.union(t, terminal[side])
        root = uf.find(n)
        return root != uf.find(n + 1), tuple(t for t in range(n) if uf.find(t) == root)


def product(sizes, labels) -> int:
    """Exact product of the sizes of ``labels`` (Python int)."""
    return math.prod(sizes[label] for label in labels)


__all__ = ["CutGraph", "CutProblem", "cut_graph", "product"]
