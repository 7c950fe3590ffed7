"""Level-batched forward passes on tree networks of matrices.

A ConvAC, a dilated ConvNet or a CP network is a tree of matrices joined by delta hyperedges:
every tensor has one index toward the inputs ("down") and one toward the output ("up"); every
junction (hyperedge or plain bond) multiplies the messages of its children elementwise (product
pooling). With a batch of features on the input legs, the forward pass sends a (B, dim) message
up every edge. Instead of one numpy call per tensor, this executor groups the tensors of one tree
height with the same weight shape and the same message source, and runs each group as one stacked
``np.matmul`` (one plain GEMM when the group shares one weight array, as in a dilated ConvNet), and
each group of junctions as one elementwise product per child slot: O(depth) numpy calls for N inputs.

:func:`tree_plan` returns ``None`` for any network this does not fit (the engine then contracts
along an einsum path), so callers can always ask.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np

from .cost import ContractionCost


class TreePlan:
    """A compiled level-batched forward pass (structure only; arrays are supplied per call).

    ``steps`` run in order; each creates one group of messages (an array (rows, B, width)).
    ``free[k]`` lists the groups no step after step k reads. Every group is written into a
    preallocated buffer (``np.matmul(..., out=)``, ``np.multiply(..., out=)``); ``buffer_of`` maps
    groups to buffers so that a buffer whose group is no longer read is reused by a later group
    (:func:`_assign_buffers`). The buffers of the last batch size and dtype are kept between calls (per
    thread): fresh multi-megabyte allocations page-fault on every call, reused ones do not, which
    is most of the difference to a plain layer-by-layer numpy forward. :meth:`release` drops them.
    """

    def __init__(self, steps, root, legs, sizes, free):
        self.steps, self.root, self.legs, self.sizes, self.free = steps, root, legs, sizes, free
        self.buffer_of, self.capacity = _assign_buffers(steps, sizes, free)
        self._local = threading.local()

    def cost(self, batch, itemsize=8):
        """Exact :class:`~tn.cost.ContractionCost` for a batch of ``batch`` rows (path = []).

        The peak counts the caller's features and every buffer (they are all held during a call).
        """
        flops, largest, largest_gid = 0, 0, 0
        for step in self.steps:
            rows, width = self.sizes[step[1]]
            flops += rows * width * (step[6] if step[0] == "matmul" else len(step[2]) - 1)  # k - 1 products
            if rows * width > largest:
                largest, largest_gid = rows * width, step[1]
        peak = self.sizes[0][0] * self.sizes[0][1] + sum(self.capacity)
        return ContractionCost(flops * batch, largest * batch, ("batch", f"group{largest_gid}"), peak * batch, [],
                               itemsize)

    def release(self):
        """Drop this thread's kept buffers."""
        self._local.__dict__.clear()

    def _buffers(self, batch, dtype):
        key = (batch, np.dtype(dtype))
        if getattr(self._local, "key", None) != key:
            self._local.key = key
            self._local.buffers = [np.empty(cap * batch, dtype) for cap in self.capacity]
        return self._local.buffers

    def __call__(self, arrays, features):
        """Run on the network's arrays (in tensor order); ``features``: (B, dim) arrays aligned with ``self.legs``,
        or one (n_legs, B, dim) array. Returns a new (B, width) array."""
        feats = features if isinstance(features, np.ndarray) else np.stack(features)  # (n_legs, B, M)
        dtype = np.result_type(feats.dtype, *{a.dtype for a in arrays})
        batch = feats.shape[1]
        buffers = self._buffers(batch, dtype)
        store = {0: feats}
        for step in self.steps:
            rows, width = self.sizes[step[1]]
            out = buffers[self.buffer_of[step[1]]][:rows * batch * width].reshape(rows, batch, width)
            if step[0] == "matmul":
                _, _, src, where, positions, transposed, _ = step
                _apply(_gather(store[src], where), [arrays[p] for p in positions], transposed, out)
            else:
                (src, where), *rest = step[2]
                np.multiply(_gather(store[src], where), _gather(store[rest[0][0]], rest[0][1]), out=out)
                for src, where in rest[1:]:
                    np.multiply(out, _gather(store[src], where), out=out)
            store[step[1]] = out
        gid, row = self.root
        return store[gid][row].copy()


def _assign_buffers(steps, sizes, free):
    """Group -> buffer index, and each buffer's capacity (elements per batch row).

    A group takes the smallest idle buffer large enough (a buffer is idle once the step that last
    reads its group has run), else a new one: a binary tree then ping-pongs between two buffers the
    way a fresh-allocation forward reuses freed memory, so the memory written is still in cache.
    """
    buffer_of, capacity, idle = {}, [], []
    for k, step in enumerate(steps):
        rows, width = sizes[step[1]]
        fits = [b for b in idle if capacity[b] >= rows * width]
        if fits:
            best = min(fits, key=capacity.__getitem__)
            idle.remove(best)
        else:
            best = len(capacity)
            capacity.append(rows * width)
        buffer_of[step[1]] = best
        idle += [buffer_of[g] for g in free[k] if g in buffer_of]  # last read by step k: free from k + 1 on
    return buffer_of, capacity


def _gather(array, rows):
    return array if rows is None else array[rows]


def _apply(x, weights, transposed, out):
    """Messages x (n, B, din) times each tensor's matrix, oriented (din, dout), into ``out`` (n, B, dout)."""
    first = weights[0]
    if all(w is first for w in weights):  # one shared weight: a single GEMM over n*B rows
        n, b, din = x.shape
        np.matmul(x.reshape(n * b, din), first.T if transposed else first, out=out.reshape(n * b, out.shape[2]))
        return
    stack = np.stack(weights)
    np.matmul(x, stack.transpose(0, 2, 1) if transposed else stack, out=out)


def tree_plan(net, legs):
    """Compile the level-batched plan for feeding ``legs``, or ``None`` if the network is not a matrix tree.

    Requirements: every tensor is a matrix; every fed leg sits on exactly one tensor; exactly one
    open leg is left unfed and sits on one tensor (the root); the graph of tensors and junctions is
    a tree in which every tensor has exactly one index toward the inputs.
    """
    legs = tuple(legs)
    fed = set(legs)
    unfed = [i for i in net.output if i not in fed]
    where = net.index_map
    if len(unfed) != 1 or len(where[unfed[0]]) != 1 or any(len(where[leg]) != 1 for leg in legs):
        return None
    if not legs or len({net.size(leg) for leg in legs}) != 1:
        return None  # features are stacked into one (n_legs, B, M) array
    if any(len(net.inds(t)) != 2 for t in net.tensor_names):
        return None
    root = where[unfed[0]][0]
    # orient from the root: each tensor's up index leads to its parent junction
    up = {root: unfed[0]}
    children = defaultdict(list)  # junction index -> child tensors
    down = {}
    stack, seen_junctions = [root], set()
    while stack:
        t = stack.pop()
        (d,) = [i for i in net.inds(t) if i != up[t]]
        down[t] = d
        if d in fed:
            continue
        if d in seen_junctions or d in net.output:
            return None  # a cycle, or an open leg in the middle of the tree
        seen_junctions.add(d)
        for c in where[d]:
            if c == t:
                continue
            if c in up:
                return None
            up[c] = d
            children[d].append(c)
            stack.append(c)
        if not children[d]:
            return None  # a dangling summed index: not a product junction
    if len(up) != len(net):
        return None  # a part of the network is not connected to the root
    return _schedule(net, legs, root, up, down, children)


def _schedule(net, legs, root, up, down, children):
    # plans are cached by structure, which tensor names are not part of: refer to tensors by position
    position = {name: p for p, name in enumerate(net.tensor_names)}
    leg_row = {leg: k for k, leg in enumerate(legs)}
    height, location = {}, {}  # node -> height; node -> (group id, row)
    order = []
    for t in _postorder(root, down, children):
        order.append(t)
        d = down[t]
        if d in leg_row:
            height[t] = 0
        else:
            height[d] = 1 + max(height[c] for c in children[d])
            height[t] = height[d]
    groups = defaultdict(list)  # key -> member nodes, in first-seen order
    junctions, tensors = defaultdict(list), defaultdict(list)
    for t in order:
        d = down[t]
        if d not in leg_row and len(children[d]) > 1:
            junctions[height[d]].append(d)
        tensors[height[t]].append(t)
    steps = []
    sizes = {0: (len(legs), net.size(legs[0]) if legs else 0)}  # group -> (rows, width)

    def new_group(rows, width):
        sizes[len(sizes)] = (rows, width)
        return len(sizes) - 1

    def rows_of(src, rows):
        """How to gather rows: None (all, in order), a slice (an arithmetic progression: a view), or indices."""
        rows = np.asarray(rows, dtype=np.intp)
        if len(rows) == sizes[src][0] and np.array_equal(rows, np.arange(len(rows))):
            return None
        step = rows[1] - rows[0] if len(rows) > 1 else 1
        if step > 0 and np.array_equal(rows, rows[0] + step * np.arange(len(rows))):
            return slice(int(rows[0]), int(rows[-1]) + 1, int(step))
        return rows

    def source(node):
        """(group, row) holding the message that flows up from a junction or a fed leg."""
        if node in leg_row:
            return 0, leg_row[node]
        if len(children[node]) == 1:  # a plain bond passes its child's message through
            return location[children[node][0]]
        return location[node]

    for h in range(max(height.values()) + 1):
        groups.clear()
        for d in junctions[h]:
            srcs = sorted(location[c] for c in children[d])
            groups[("prod", tuple(s[0] for s in srcs))].append((d, srcs))
        for key, members in groups.items():
            gid = new_group(len(members), net.size(members[0][0]))
            slots = [(src, rows_of(src, [m[1][s][1] for m in members])) for s, src in enumerate(key[1])]
            steps.append(("prod", gid, slots))
            for row, (d, _) in enumerate(members):
                location[d] = (gid, row)
        groups.clear()
        for t in tensors[h]:
            src = source(down[t])
            transposed = net.inds(t)[0] == up[t]
            groups[(src[0], net.shape(t), transposed)].append((t, src[1]))
        for (src, shape, transposed), members in groups.items():
            din, dout = shape[::-1] if transposed else shape
            gid = new_group(len(members), dout)
            steps.append(("matmul", gid, src, rows_of(src, [m[1] for m in members]), tuple(position[m[0]] for m in members),
                          transposed, din))
            for row, (t, _) in enumerate(members):
                location[t] = (gid, row)
    return TreePlan(steps, location[root], legs, sizes, _free_lists(steps, location[root][0]))


def _free_lists(steps, keep):
    """For each step, the groups read for the last time there (never the result group ``keep``)."""
    last = {}
    for k, step in enumerate(steps):
        reads = [step[2]] if step[0] == "matmul" else [s for s, _ in step[2]]
        for g in reads:
            last[g] = k
    free = [[] for _ in steps]
    for g, k in last.items():
        if g != keep:
            free[k].append(g)
    return free


def _postorder(root, down, children):
    out, stack = [], [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            out.append(t)
            continue
        stack.append((t, True))
        for c in reversed(children.get(down[t], ())):
            stack.append((c, False))
    return out
