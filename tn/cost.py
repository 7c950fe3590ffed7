"""Exact cost accounting of a contraction path, in Python ints.

A path is in opt_einsum's *linear* format: each step names positions in the current list
of operands; those operands are removed and their contraction is appended at the end.
:func:`replay` walks a path once and says, for every step, which operands it takes and which
indices its result keeps: exactly the indices still needed by another operand or by the output,
so a hyperedge stays alive until its last tensor has been absorbed. It is the one place of that
rule: the cost below, the gradient sweep (:mod:`tn.gradients`) and the gram spectrum use it.

The cost convention, exactly:

- the FLOP count of a step is the product of the sizes of every index of its operands (one
  multiply-add per element of the joint index space), summed over the steps;
- an index summed on one tensor alone (on no other operand, not in the output) is counted in the
  step that absorbs that tensor; a network left with one tensor that differs from the output (a
  single-tensor network, or a final transpose-free reduction) adds that tensor's size once.

On networks where every index is on two or more tensors or in the output this is cotengra's
``ContractionTree.contraction_cost()`` for the same pairwise path. cotengra differs on the two
other cases: it sums indices on one tensor alone before contracting, for free, and a single-tensor
network costs it 0. With every index of size 3, ``a,bcd,efg->`` along ``[(0, 1), (0, 1)]`` costs
3^4 + 3^3 = 108 here and 2 in cotengra; ``abc->`` costs 27 here and 0 there
(``tests/tn/test_contraction.py`` checks both against cotengra).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from .gcpause import gc_paused


def size_of(inds, size_dict) -> int:
    """Number of elements of a tensor with these indices (exact int)."""
    return math.prod(size_dict[i] for i in inds)


@dataclass(frozen=True)
class ContractionCost:
    """What one contraction along one path costs.

    Attributes
    ----------
    flops : int
        Sum over contraction steps of the size of the joint index space of the step.
    largest_intermediate : int
        Elements of the largest tensor created (the final result included).
    largest_intermediate_inds : tuple
        Indices of that tensor.
    largest_intermediate_bytes, peak_memory_bytes : int
        The same in bytes for ``itemsize``; the peak counts every live operand (inputs included),
        the step's result and one transposed copy of its larger operand (as numpy's tensordot makes);
        inputs count until the end (the network, or the caller for features, holds them).
    path : list of tuple of int
        The linear-format path these numbers belong to.
    itemsize : int
        Bytes per element used for the byte counts.
    terms : tuple of ContractionCost
        For a :class:`~tn.NetworkSum`: each term's own cost (``path`` is then empty); else empty.
    """

    flops: int
    largest_intermediate: int
    largest_intermediate_inds: tuple
    peak_memory: int
    path: list = field(repr=False)
    itemsize: int = 8
    terms: tuple = field(default=(), repr=False)

    @property
    def largest_intermediate_bytes(self) -> int:
        return self.largest_intermediate * self.itemsize

    @property
    def peak_memory_bytes(self) -> int:
        return self.peak_memory * self.itemsize

    def log(self, base=2) -> dict:
        """The costs as logarithms (floats, safe for sizes far beyond float range)."""
        return {name: _log(getattr(self, name), base)
                for name in ("flops", "largest_intermediate", "largest_intermediate_bytes", "peak_memory_bytes")}

    def as_dict(self) -> dict:
        return {"flops": self.flops, "largest_intermediate": self.largest_intermediate,
                "largest_intermediate_bytes": self.largest_intermediate_bytes,
                "peak_memory_bytes": self.peak_memory_bytes, "path": [list(p) for p in self.path],
                "log2": self.log(2)}


def _log(value: int, base) -> float:
    if value <= 0:
        return float("-inf")
    shift = max(value.bit_length() - 64, 0)  # keep 64 significant bits: float conversion never overflows
    return (math.log2(value >> shift) + shift) / math.log2(base)


def replay(inputs, output, path):
    """Walk a linear-format ``path`` over ``inputs``; yield ``(ids, taken, kept)`` per step.

    ``ids`` are the SSA ids of the step's operands (inputs are 0..n-1, step s creates n + s), in
    descending order of their positions in the linear path, ``taken`` their index tuples in that
    order, ``kept`` the result's indices: those of the operands (first appearance, in that order)
    still on another operand or in ``output``; the last step keeps ``output`` itself, in order.
    Positions are resolved in O(log n) (a sorted list of live ids), so a replay costs O(n log n)
    plus the operands' indices, whatever the path.

    Examples
    --------
    >>> [(ids, kept) for ids, _, kept in replay([("i", "h"), ("h", "j"), ("h", "k")], ("i", "j", "k"), [(0, 1), (0, 1)])]
    [((1, 0), ('h', 'j', 'i')), ((3, 2), ('i', 'j', 'k'))]
    """
    operands = [tuple(t) for t in inputs]
    counts = {}
    for t in operands:
        for i in set(t):
            counts[i] = counts.get(i, 0) + 1
    output = tuple(output)
    keep_always = set(output)
    alive = SortedList(range(len(operands)))
    for step in path:
        positions = sorted(step, reverse=True)
        ids = tuple(alive[p] for p in positions)
        for p in positions:
            del alive[p]
        taken = [operands[k] for k in ids]
        for t in taken:
            for i in set(t):
                counts[i] -= 1
        if alive:
            kept = tuple(i for i in _ordered_union(taken) if i in keep_always or counts[i] > 0)
        else:
            kept = output
        for i in set(kept):
            counts[i] += 1
        alive.add(len(operands))
        operands.append(kept)
        yield ids, taken, kept


@gc_paused
def path_cost(inputs, output, size_dict, path, itemsize=8) -> ContractionCost:
    """Replay ``path`` over ``inputs`` (sequences of indices) and count its exact cost (module docstring).

    Examples
    --------
    >>> sizes = dict.fromkeys("abcdefg", 3)
    >>> path_cost([("a",), ("b", "c", "d"), ("e", "f", "g")], (), sizes, [(0, 1), (0, 1)]).flops
    108
    """
    live = [size_of(t, size_dict) for t in inputs]  # by SSA id
    output = tuple(output)
    flops, total, n_inputs = 0, sum(live), len(inputs)
    peak, largest, largest_inds = total, 0, ()
    last, left = (tuple(inputs[0]) if len(inputs) == 1 else None), len(inputs)
    for ids, taken, kept in replay(inputs, output, path):
        taken_sizes = [live[k] for k in ids]
        freed = sum(live[k] for k in ids if k >= n_inputs)  # inputs stay: the network (or caller) holds them
        total -= freed
        flops += size_of(set().union(*taken), size_dict)
        size = size_of(kept, size_dict)
        # numpy's tensordot may copy its operands into a transposed layout: count the larger one again
        copies = max(taken_sizes) if len(taken) > 1 else 0
        peak = max(peak, total + freed + size + copies)
        if size > largest:
            largest, largest_inds = size, kept
        live.append(size)
        total += size
        last, left = kept, left - len(ids) + 1
    if left == 1 and last != output:
        # a single tensor left needs a final reduction / transpose to the output
        size = size_of(output, size_dict)
        flops += size_of(last, size_dict) if set(last) != set(output) else 0
        if size > largest:
            largest, largest_inds = size, output
    return ContractionCost(flops, largest, largest_inds, peak, [tuple(p) for p in path], itemsize)


def _ordered_union(tensors):
    seen = {}
    for t in tensors:
        for i in t:
            seen.setdefault(i, None)
    return seen.keys()
