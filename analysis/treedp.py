"""Exact min cuts on tree-shaped networks by dynamic programming (theory §4), single and batched.

A network is tree-shaped when its graph, with tensors and hyperedges as vertices, bonds as edges
(parallel bonds merged) and every hyperedge joined to its tensors, is a forest: every ConvAC and
dilated-ConvNet network is. Rooting each tree at a tensor and visiting children first:

- a tensor v on side s costs its open-leg penalties (the size of every leg of the other side) times,
  for each child, the child's best cost given s: through a bond of size w,
  ``min(f(c, s), w * f(c, not s))``; through a hyperedge h of size D,
  ``min(prod_c f(c, s), D * prod_c min(f(c, A), f(c, B)))`` (all its tensors on s, or the delta cut
  once with its tensors free).

The single query multiplies exact Python ints (products of sizes, so no round-off at all) and
backtracks the argmin to name the cut; the batched form runs the same recursion in log2 space with
numpy, one vectorized pass per tree level over a matrix of partitions (float64: exact when every size
is a power of two, else accurate to ~1e-12 relative).
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from tn.gcpause import gc_paused
from tn.unionfind import UnionFind

from .cutgraph import CutGraph, CutProblem, product
from .flow import log_units, power_root

_A, _B, _CUT = 0, 1, 2


class TreeDP:
    """The compiled rooted forest of a :class:`~analysis.cutgraph.CutGraph` (use :meth:`compile`).

    Node ids: tensors ``0..nt-1`` as in the cut graph, hyperedge j is node ``nt + j``.
    """

    def __init__(self, graph, parent, order, up_weight, up_labels, depth):
        self.graph, self.parent, self.order = graph, parent, order
        self.up_weight, self.up_labels, self.depth = up_weight, up_labels, depth
        self.nt = len(graph.tensors)
        self._levels = None

    @classmethod
    @gc_paused
    def compile(cls, graph: CutGraph):
        """A :class:`TreeDP` for ``graph``, or None if the graph has a cycle."""
        nt, nh = len(graph.tensors), len(graph.hyperedges)
        n = nt + nh
        adj = [[] for _ in range(n)]
        uf = UnionFind(range(n))

        def connect(u, v, weight, labels):
            if not uf.union(u, v):
                return False
            adj[u].append((v, weight, labels))
            adj[v].append((u, weight, labels))
            return True

        for (i, j), labels in graph.bonds.items():
            if not connect(i, j, product(graph.sizes, labels), tuple(labels)):
                return None
        for j, (label, ids) in enumerate(graph.hyperedges):
            for t in ids:
                if not connect(nt + j, t, graph.sizes[label], ()):
                    return None
        parent, depth = [-1] * n, [0] * n
        up_weight, up_labels = [1] * n, [()] * n
        seen, order = [False] * n, []
        inputs = set(graph.input_legs)  # root at the tensor of a non-input open leg (the class leg) first
        first = [t for leg, t in graph.leg_tensor.items() if leg not in inputs]
        for root in (*first, *range(nt)):
            if seen[root]:
                continue
            seen[root] = True
            queue = [root]
            for v in queue:
                order.append(v)
                for u, weight, labels in adj[v]:
                    if not seen[u]:
                        seen[u] = True
                        parent[u], depth[u] = v, depth[v] + 1
                        up_weight[u], up_labels[u] = weight, labels
                        queue.append(u)
        return cls(graph, parent, order, up_weight, up_labels, depth)

    # ------------------------------------------------------------------ one query, exact
    def _weights_and_forbidden(self, problem):
        """Effective hyperedge sizes (1 when fixed) and the all-A / all-B states open legs forbid."""
        g, nt = self.graph, self.nt
        weight = list(self.up_weight)
        forbid = (set(), set())
        for label, j in g.hyper_id.items():
            if label in g.open:
                side = problem.side_of(label)
                if side is None:
                    weight[nt + j] = 1
                else:  # the open leg is a member of the delta: its side's opposite state is impossible
                    forbid[_B if side == "A" else _A].add(nt + j)
        return weight, forbid

    def solve(self, problem: CutProblem):
        """``(cut labels, exact product)`` of a minimum cut of ``problem``."""
        g, nt, parent = self.graph, self.nt, self.parent
        n = len(parent)
        fa, fb, fm = [1] * n, [1] * n, [1] * n
        for leg, t in g.leg_tensor.items():
            if leg in problem.A:
                fb[t] *= g.sizes[leg]
            elif leg in problem.B:
                fa[t] *= g.sizes[leg]
        weight, (forbid_a, forbid_b) = self._weights_and_forbidden(problem)
        total = 1
        for v in reversed(self.order):
            p, a, b = parent[v], fa[v], fb[v]
            if v >= nt:  # hyperedge: its parent is a tensor
                cut = weight[v] * fm[v]
                fa[p] *= cut if v in forbid_a or cut < a else a
                fb[p] *= cut if v in forbid_b or cut < b else b
            elif p < 0:
                total *= min(a, b)
            elif p < nt:
                w = weight[v]
                fa[p] *= min(a, b * w)
                fb[p] *= min(b, a * w)
            else:
                fa[p] *= a
                fb[p] *= b
                fm[p] *= min(a, b)
        return self._backtrack(problem, fa, fb, fm, weight, (forbid_a, forbid_b)), total

    def _backtrack(self, problem, fa, fb, fm, weight, forbid):
        g, nt, parent = self.graph, self.nt, self.parent
        side = [_A] * len(parent)
        cut = []
        for v in self.order:
            p = parent[v]
            if p < 0:
                side[v] = _A if fa[v] <= fb[v] else _B
            elif v >= nt:
                s = side[p]
                stay = fa[v] if s == _A else fb[v]
                if v not in forbid[s] and stay <= weight[v] * fm[v]:
                    side[v] = s
                else:
                    side[v] = _CUT
                    label = g.hyperedges[v - nt][0]
                    if label not in g.open or problem.side_of(label) is not None:
                        cut.append(label)
            elif p >= nt:
                side[v] = side[p] if side[p] != _CUT else (_A if fa[v] <= fb[v] else _B)
            else:
                s, w = side[p], weight[v]
                mine, other = (fa[v], fb[v]) if s == _A else (fb[v], fa[v])
                if mine <= other * w:
                    side[v] = s
                else:
                    side[v] = 1 - s
                    cut.extend(self.up_labels[v])
        for leg, t in g.leg_tensor.items():
            if (leg in problem.A and side[t] == _B) or (leg in problem.B and side[t] == _A):
                cut.append(leg)
        return cut

    # ------------------------------------------------------------------ many queries, vectorized
    def _level_plan(self):
        """The batched DP's layout, compiled once.

        Nodes are renumbered by (depth, BFS order), so each level is one contiguous block of rows and
        children come sorted by parent: a level's messages read and write slices, not gathers.
        Per depth (deepest first) and kind of message (tensor -> tensor bond ``tt``, tensor ->
        hyperedge ``th``, hyperedge -> tensor ``ht``): child rows, parent rows, group starts, and
        the old node ids (for the weights).
        """
        if self._levels is not None:
            return self._levels
        nt, n = self.nt, len(self.parent)
        parent, depth = np.array(self.parent, dtype=np.intp), np.array(self.depth, dtype=np.intp)
        order = np.array(self.order, dtype=np.intp)
        old = order[np.argsort(depth[order], kind="stable")]  # row r holds node old[r]
        row = np.empty(n, dtype=np.intp)
        row[old] = np.arange(n)
        parent_row = np.where(parent[old] >= 0, row[np.maximum(parent[old], 0)], -1)
        is_hyper, parent_hyper = old >= nt, (parent[old] >= nt)
        levels = []
        for d in range(int(depth.max(initial=0)), 0, -1):
            at = depth[old] == d
            groups = []
            for kind, mask in (("tt", at & ~is_hyper & ~parent_hyper), ("th", at & ~is_hyper & parent_hyper),
                               ("ht", at & is_hyper)):
                ids = np.flatnonzero(mask)
                if ids.size == 0:
                    continue
                ids = ids[np.argsort(parent_row[ids], kind="stable")]
                par = parent_row[ids]
                starts = np.flatnonzero(np.r_[True, par[1:] != par[:-1]])
                sizes = np.diff(np.r_[starts, ids.size])
                arity = int(sizes[0]) if (sizes == sizes[0]).all() else None
                groups.append((kind, _as_slice(ids), _as_slice(par[starts]), starts, arity, old[ids]))
            levels.append(groups)
        self._levels = (levels, row, row[np.flatnonzero(parent < 0)])
        return self._levels

    def units(self):
        """``(base, exponent of each node's up weight, {label: exponent})`` when every size is a power of
        one base (:func:`analysis.flow.log_units`), else None."""
        units = log_units(self.graph)
        if units is None:
            return None
        base = units[0]
        return base, [power_root(w)[1] for w in self.up_weight], units[1]

    def batch_log2(self, inside, legs, chunk=None):
        """log2 of the min-cut bound for many partitions of ``legs`` at once.

        Parameters
        ----------
        inside : bool array (Q, len(legs))
            Row q puts leg k in A when ``inside[q, k]``, else in B.
        legs : sequence of open legs (the columns); other open legs are fixed.
        chunk : int, optional
            Partitions per vectorized pass (default: :func:`default_chunk`).

        Returns
        -------
        float64 array (Q,): exact multiples of log2(base) when every size is a power of one base
        (the DP then runs on integer exponents), else accurate to ~1e-12 relative.
        """
        exact = self.batch_exponents(inside, legs, chunk)
        if exact is not None:
            return exact[1] * math.log2(exact[0])
        g = self.graph
        up = [math.log2(w) for w in self.up_weight]
        return self._run(inside, legs, chunk, up, {leg: math.log2(g.sizes[leg]) for leg in legs}, np.float64)

    def batch_exponents(self, inside, legs, chunk=None):
        """``(base, int64 exponents)``: every min-cut bound as an exact power of ``base``, or None when the
        sizes are not powers of one base. Runs in float32 when every sum fits its 24-bit mantissa."""
        units = self.units()
        if units is None:
            return None
        base, up, label_units = units
        leg_units = {leg: label_units[leg] for leg in legs}
        total = sum(up) + sum(leg_units.values())
        dtype = np.float32 if total < 2**24 else np.float64
        return base, np.rint(self._run(inside, legs, chunk, up, leg_units, dtype)).astype(np.int64)

    def _run(self, inside, legs, chunk, up, leg_weight, dtype):
        g, nt, n = self.graph, self.nt, len(self.parent)
        inside = np.asarray(inside, dtype=bool)
        legs = tuple(legs)
        levels, row_of, roots = self._level_plan()
        up = np.array(up, dtype=dtype)
        weights = [[up[old][:, None] for *_, old in groups] for groups in levels]
        rows, cols, vals, hyper_cols = [], [], [], []
        for k, leg in enumerate(legs):
            if leg in g.leg_tensor:
                rows.append(row_of[g.leg_tensor[leg]])
                cols.append(k)
                vals.append(leg_weight[leg])
            else:
                hyper_cols.append((k, row_of[nt + g.hyper_id[leg]]))
        rows, cols = np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)
        vals = np.array(vals, dtype=dtype)[:, None]
        unique_rows = len(set(rows.tolist())) == len(rows)
        fixed = np.zeros(n, dtype=bool)  # an open hyperedge outside ``legs`` is fixed: cutting it is free
        fixed[[row_of[nt + j] for label, j in g.hyper_id.items() if label in g.open and label not in legs]] = True
        for groups, ws in zip(levels, weights):
            for k, (kind, ids, *_rest) in enumerate(groups):
                if kind == "ht":
                    ws[k] = np.where(fixed[ids][:, None], dtype(0), ws[k])
        chunk = chunk or default_chunk(n)
        out = np.empty(inside.shape[0])
        buffers = {}  # reused across passes: fresh large arrays would page-fault on every pass
        for start in range(0, inside.shape[0], chunk):
            x = inside[start:start + chunk].T
            q = x.shape[1]
            if q not in buffers:
                buffers = {q: tuple(np.empty((n, q), dtype) for _ in range(3))}
            fa, fb, fm = buffers[q]
            for f in (fa, fb, fm):
                f.fill(0)
            if unique_rows:  # the usual case: one input leg per tensor
                fa[rows], fb[rows] = vals * ~x[cols], vals * x[cols]
            else:
                np.add.at(fa, rows, vals * ~x[cols])
                np.add.at(fb, rows, vals * x[cols])
            for k, h in hyper_cols:
                fa[h] = np.where(x[k], dtype(0), dtype(np.inf))
                fb[h] = np.where(x[k], dtype(np.inf), dtype(0))
            for groups, ws in zip(levels, weights):
                for (kind, ids, par, starts, arity, _), w in zip(groups, ws):
                    a, b = fa[ids], fb[ids]
                    if kind == "ht":
                        cut = w + fm[ids]
                        a, b = np.minimum(a, cut), np.minimum(b, cut)
                    elif kind == "tt":
                        a, b = np.minimum(a, b + w), np.minimum(b, a + w)
                    else:
                        fm[par] += _group_sum(np.minimum(a, b), starts, arity)
                    fa[par] += _group_sum(a, starts, arity)
                    fb[par] += _group_sum(b, starts, arity)
            out[start:start + chunk] = np.minimum(fa[roots], fb[roots]).sum(axis=0)
        return out


def default_chunk(n_nodes: int) -> int:
    """Partitions per pass of the batched DP: work arrays of ~2 MB (cache-sized), at least 16 partitions so
    a pass over a large tree amortizes its per-level overhead (issue 19)."""
    return max(16, 2**18 // max(n_nodes, 1))


def _as_slice(ids):
    """A slice when ``ids`` is a contiguous increasing range (a view instead of a gather), else ``ids``."""
    if ids.size and ids[-1] - ids[0] == ids.size - 1 and (np.diff(ids) == 1).all():
        return slice(int(ids[0]), int(ids[-1]) + 1)
    return ids


def _group_sum(a, starts, arity):
    """Sums of consecutive row groups beginning at ``starts`` (a reshape when all groups have one size)."""
    if arity == 1:
        return a
    if arity is not None:
        return a.reshape(-1, arity, a.shape[1]).sum(axis=1)
    return np.add.reduceat(a, starts, axis=0)


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tree_dp(graph: CutGraph):
    """The compiled :class:`TreeDP` of ``graph``, or None when it has a cycle (cached per graph)."""
    hit = _COMPILED.get(graph)
    if hit is None:
        hit = _COMPILED[graph] = TreeDP.compile(graph) or False
    return hit or None


__all__ = ["TreeDP", "default_chunk", "tree_dp"]
