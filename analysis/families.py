"""Partition families: a known count and random access, never materialized.

A family describes partitions of ``n`` input positions (the network's ``input_legs`` in order);
``family.masks(start, stop)`` returns rows ``start .. stop - 1`` as a bool matrix (True = side A),
computed from the row numbers alone, so a worker can unrank its own chunk and two chunkings of one
family see the same rows. Built-in families:

``AllBalanced(n)`` (``"balanced"``)
    every balanced partition once: A has n // 2 positions and, for even n, holds position 0 (so
    (A, B) and (B, A) are not both listed): C(n, n/2) / 2 rows for even n, C(n, n // 2) for odd n,
    in the order of :func:`analysis.partitions.balanced_partitions`.
``OfSize(n, k)`` (``"size:k"``)
    every A of k positions, C(n, k) rows in lexicographic order.
``RandomK(n, K, seed)`` (``"random:K"`` or ``"random:K:SEED"``)
    K balanced partitions drawn uniformly (with repetition) from blocks of :data:`RANDOM_BLOCK` rows,
    each block seeded by ``(seed, block)``.
``Masks(rows)`` (``"masks"``: an explicit bool matrix) and ``Generated(fn, count, n)`` (rows from a
    picklable function ``fn(start, stop) -> bool matrix``).

Lexicographic unranking uses the combinatorial number system: the rows of a chunk are decided
position by position, all at once, from a table of binomials (int64 while the count fits, exact
Python ints beyond). :data:`FAMILIES` is the registry of named families; :func:`make_family`
resolves a name, a family or a bool matrix.

Examples
--------
>>> fam = make_family("balanced", 6)
>>> fam.count, fam.masks(0, 2).astype(int).tolist()
(10, [[1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0]])
>>> make_family("size:2", 4).masks(5, 6).astype(int).tolist()
[[0, 0, 1, 1]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np

from tn.errors import PartitionError, UnknownNameError
from tn.registry import Registry

from .partitions import Partition

RANDOM_BLOCK = 4096
_INT64_SAFE = 2**62


class PartitionFamily:
    """Base class: ``n`` positions, ``count`` rows, ``masks(start, stop)``; subclasses set ``name``."""

    name = "family"

    def masks(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def _check_range(self, start, stop):
        if not 0 <= start <= stop <= self.count:
            raise PartitionError(f"rows {start}..{stop} are outside family {self.name!r} of {self.count} rows")

    def partition(self, legs, rank: int) -> Partition:
        """Row ``rank`` as a :class:`Partition` of ``legs`` (the network's input legs)."""
        legs = tuple(legs)
        if len(legs) != self.n:
            raise PartitionError(f"family {self.name!r} splits {self.n} positions, got {len(legs)} legs")
        row = self.masks(rank, rank + 1)[0]
        A = tuple(leg for leg, a in zip(legs, row) if a)
        return Partition(",".join(map(str, A)), A, tuple(leg for leg, a in zip(legs, row) if not a))

    def __len__(self):
        return self.count

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, n={self.n}, count={self.count:,})"


@lru_cache(maxsize=64)
def _binomials(n: int, exact: bool) -> np.ndarray:
    """``table[a, b] = C(a, b)`` for 0 <= a, b <= n: exact Python ints, or int64 clipped at 2**62 (an entry
    above every rank compares the same either way, and is never subtracted)."""
    table = np.zeros((n + 1, n + 2), dtype=object if exact else np.int64)
    for a in range(n + 1):
        for b in range(a + 1):
            table[a, b] = comb(a, b) if exact else min(comb(a, b), _INT64_SAFE)
    return table


def unrank_combinations(n: int, k: int, ranks) -> np.ndarray:
    """Bool rows (len(ranks), n): the k-subsets of range(n) with these lexicographic ranks.

    Rank r is decided position by position: the subsets that take position i next number
    C(n - i - 1, k' - 1) (k' positions still to take); r below that takes i, else skips those.

    >>> from itertools import combinations
    >>> rows = unrank_combinations(5, 2, range(10))
    >>> [tuple(map(int, row.nonzero()[0])) for row in rows] == list(combinations(range(5), 2))
    True
    """
    if len(ranks) <= 8:  # a few rows (a witness): plain Python beats n numpy passes
        return np.array([_unrank_one(n, k, int(x)) for x in ranks], dtype=bool).reshape(len(ranks), n)
    exact = comb(n, k) >= _INT64_SAFE
    if exact:
        r = np.array([int(x) for x in ranks], dtype=object)
    else:
        r = np.arange(ranks.start, ranks.stop) if isinstance(ranks, range) else np.array(ranks, dtype=np.int64)
    out = np.zeros((n, len(r)), dtype=bool)  # filled a position (row) at a time, returned transposed
    if k == 0 or len(r) == 0:
        return out.T
    table = _binomials(n, exact)  # its last column is 0: need == 0 looks up C(., -1) = 0, never taken
    need = np.full(len(r), k, dtype=np.intp)
    for i in range(n):
        ahead = table[n - i - 1][need - 1]
        take = r < ahead
        out[i] = take
        r -= np.where(take, 0, ahead)
        need -= take
    return out.T


def _unrank_one(n, k, rank) -> list:
    row = []
    for i in range(n):
        ahead = comb(n - i - 1, k - 1) if k else 0
        row.append(rank < ahead)
        if rank < ahead:
            k -= 1
        else:
            rank -= ahead
    return row


def rank_combination(row) -> int:
    """The lexicographic rank of one subset (bool row), the inverse of :func:`unrank_combinations`.

    >>> rank_combination([False, False, True, True, False])
    7
    """
    row = [bool(x) for x in row]
    n, need, rank = len(row), sum(row), 0
    for i, taken in enumerate(row):
        if need == 0:
            break
        if taken:
            need -= 1
        else:
            rank += comb(n - i - 1, need - 1)
    return rank


@dataclass(frozen=True, repr=False)
class OfSize(PartitionFamily):
    """Every A of ``k`` of the ``n`` positions, lexicographic; with ``first``, position 0 always in A."""

    n: int
    k: int
    first: bool = False

    def __post_init__(self):
        if not 1 <= self.k <= self.n - 1:
            raise PartitionError(f"partition family size:{self.k} needs 1 <= k <= {self.n - 1} (n = {self.n})")

    @property
    def name(self):
        return f"size:{self.k}"

    @property
    def count(self):
        return comb(self.n - 1, self.k - 1) if self.first else comb(self.n, self.k)

    def masks(self, start, stop):
        self._check_range(start, stop)
        if not self.first:
            return unrank_combinations(self.n, self.k, range(start, stop))
        rest = unrank_combinations(self.n - 1, self.k - 1, range(start, stop))
        return np.concatenate([np.ones((1, len(rest)), dtype=bool), rest.T]).T


class AllBalanced(OfSize):
    """Every balanced partition once (see the module docstring): the order of ``balanced_partitions``."""

    def __init__(self, n):
        if n < 2:
            raise PartitionError(f"balanced partitions need at least 2 positions, got {n}")
        super().__init__(n, n // 2, n % 2 == 0)

    @property
    def name(self):
        return "balanced"

    def __reduce__(self):
        return AllBalanced, (self.n,)


@dataclass(frozen=True, repr=False)
class RandomK(PartitionFamily):
    """``K`` random balanced partitions (A of n // 2 positions); row i depends on ``seed`` and i only."""

    n: int
    K: int
    seed: int = 0

    def __post_init__(self):
        if self.K < 1 or self.seed < 0 or self.n < 2:
            raise PartitionError(f"partition family random:{self.K}:{self.seed} needs K >= 1, seed >= 0 and "
                                 f"n >= 2 (n = {self.n})")

    @property
    def name(self):
        return f"random:{self.K}:{self.seed}"

    @property
    def count(self):
        return self.K

    def masks(self, start, stop):
        self._check_range(start, stop)
        blocks = []
        for b in range(start // RANDOM_BLOCK, (stop - 1) // RANDOM_BLOCK + 1 if stop > start else 0):
            keys = np.random.default_rng([self.seed, b]).random((RANDOM_BLOCK, self.n))
            block = np.zeros((RANDOM_BLOCK, self.n), dtype=bool)
            np.put_along_axis(block, np.argsort(keys, axis=1)[:, : self.n // 2], True, axis=1)
            lo, hi = max(start - b * RANDOM_BLOCK, 0), min(stop - b * RANDOM_BLOCK, RANDOM_BLOCK)
            blocks.append(block[lo:hi])
        return np.concatenate(blocks) if blocks else np.zeros((0, self.n), dtype=bool)


class Masks(PartitionFamily):
    """An explicit bool matrix of rows (True = side A)."""

    name = "masks"

    def __init__(self, rows):
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.dtype != bool:
            raise PartitionError(f"partition masks must be a 2-d bool matrix, got dtype {rows.dtype} and shape "
                                 f"{rows.shape}")
        self.rows, self.n, self.count = rows, rows.shape[1], rows.shape[0]

    def masks(self, start, stop):
        self._check_range(start, stop)
        return self.rows[start:stop]


class Generated(PartitionFamily):
    """Rows from ``fn(start, stop) -> bool matrix``: ``count`` of them over ``n`` positions.

    ``fn`` must be deterministic (a chunk is computed where it runs) and, for dask, picklable.
    """

    def __init__(self, fn, count, n, name="generated"):
        self.fn, self.count, self.n, self.name = fn, int(count), int(n), name

    def masks(self, start, stop):
        self._check_range(start, stop)
        rows = np.asarray(self.fn(start, stop))
        if rows.shape != (stop - start, self.n) or rows.dtype != bool:
            raise PartitionError(f"partition generator {self.name!r} returned dtype {rows.dtype} and shape "
                                 f"{rows.shape} for rows {start}..{stop}, expected bool ({stop - start}, {self.n})")
        return rows


FAMILIES = Registry("partition family", hint="or a PartitionFamily, or a bool matrix of rows")
FAMILIES.register("balanced", lambda n: AllBalanced(n), args="")
FAMILIES.register("size", lambda n, k: OfSize(n, k), args="k")
FAMILIES.register("random", lambda n, K, seed=0: RandomK(n, K, seed), args="K[:SEED]")


def family_names() -> tuple:
    """The names :func:`make_family` understands, with their arguments."""
    return tuple(name + (f":{FAMILIES.info(name)['args']}" if FAMILIES.info(name)["args"] else "")
                 for name in FAMILIES.names())


def make_family(spec, n: int) -> PartitionFamily:
    """Resolve ``spec`` (a :class:`PartitionFamily`, a bool matrix, or a name such as ``"balanced"``,
    ``"size:3"``, ``"random:1000:7"``) for ``n`` positions.

    >>> make_family("random:5", 8).count
    5
    >>> make_family("size:x", 8)
    Traceback (most recent call last):
    ...
    tn.errors.PartitionError: partition family 'size:x': arguments must be integers, got ['x']
    """
    if isinstance(spec, PartitionFamily):
        family = spec
    elif isinstance(spec, np.ndarray):
        family = Masks(spec)
    elif isinstance(spec, str):
        head, *args = spec.split(":")
        if head not in FAMILIES:
            raise UnknownNameError(f"unknown partition family {spec!r}; valid names: {', '.join(family_names())}, "
                                   "or a PartitionFamily, or a bool matrix of rows")
        try:
            values = [int(a) for a in args]
        except ValueError:
            raise PartitionError(f"partition family {spec!r}: arguments must be integers, got {args!r}") from None
        try:
            family = FAMILIES.get(head)(n, *values)
        except TypeError:
            raise PartitionError(f"partition family {spec!r}: write it as "
                                 f"{head}{':' if FAMILIES.info(head)['args'] else ''}"
                                 f"{FAMILIES.info(head)['args']}") from None
    else:
        raise PartitionError(f"cannot make a partition family of {type(spec).__name__} {spec!r}")
    if family.n != n:
        raise PartitionError(f"partition family {family.name!r} splits {family.n} positions, the network has {n} "
                             "input legs")
    return family


__all__ = [
    "FAMILIES",
    "RANDOM_BLOCK",
    "AllBalanced",
    "Generated",
    "Masks",
    "OfSize",
    "PartitionFamily",
    "RandomK",
    "family_names",
    "make_family",
    "rank_combination",
    "unrank_combinations",
]
