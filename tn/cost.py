"""Exact cost accounting of a contraction path, in Python ints.

A path is in opt_einsum's *linear* format: each step names positions in the current list
of operands; those operands are removed and their contraction is appended at the end.
Costs follow cotengra's convention: the FLOP count of one pairwise (or k-ary) contraction is
the product of the sizes of every index involved (one multiply-add per element of the joint
index space); intermediates keep exactly the indices still needed by another operand or by
the output, so a hyperedge stays alive until its last tensor has been absorbed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


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
        the step's result and one transposed copy of its larger operand (as numpy's tensordot makes).
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


def path_cost(inputs, output, size_dict, path, itemsize=8) -> ContractionCost:
    """Replay ``path`` over ``inputs`` (sequences of indices) and count its exact cost."""
    operands = [tuple(t) for t in inputs]
    live = [size_of(t, size_dict) for t in operands]
    counts = Counter(i for t in operands for i in set(t))
    output = tuple(output)
    keep_always = set(output)
    flops, total = 0, sum(live)
    peak, largest, largest_inds = total, 0, ()
    for step in path:
        step = tuple(sorted(step, reverse=True))
        taken = [operands.pop(p) for p in step]
        taken_sizes = [live.pop(p) for p in step]
        freed = sum(taken_sizes)
        total -= freed
        joint = set().union(*map(set, taken))
        for t in taken:
            counts.subtract(set(t))
        if len(operands) == 0:
            kept = output  # the last step produces the output, in order
        else:
            kept = tuple(i for i in _ordered_union(taken) if i in keep_always or counts[i] > 0)
        flops += size_of(joint, size_dict)
        size = size_of(kept, size_dict)
        # numpy's tensordot may copy its operands into a transposed layout: count the larger one again
        copies = max(taken_sizes) if len(taken) > 1 else 0
        peak = max(peak, total + freed + size + copies)
        if size > largest:
            largest, largest_inds = size, kept
        operands.append(kept)
        live.append(size)
        total += size
        counts.update(set(kept))
    if len(operands) == 1 and operands[0] != output:
        # a single tensor left needs a final reduction / transpose to the output
        size = size_of(output, size_dict)
        flops += size_of(operands[0], size_dict) if set(operands[0]) != set(output) else 0
        if size > largest:
            largest, largest_inds = size, output
    return ContractionCost(flops, largest, largest_inds, peak, [tuple(p) for p in path], itemsize)


def _ordered_union(tensors):
    seen = {}
    for t in tensors:
        for i in t:
            seen.setdefault(i, None)
    return seen.keys()
