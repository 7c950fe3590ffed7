"""Labels that stay cheap to hash when they are long.

A mode-tree node is the tuple of its positions, so the root of an N-position tree is an N-tuple and the
labels built from it (``("h", root)``, ``("node", root)``) are as long. Python recomputes a tuple's hash
on every dict lookup, and a flat (CP) network looks its root up once per leaf: N^2 work in all (a build
at N = 2^17 took minutes). :class:`Positions` is a tuple that computes its hash once; tree nodes and
labels read from files use it from :data:`LONG` positions on.
"""

from __future__ import annotations

LONG = 32  # tree nodes of at least this many positions are Positions (shorter ones hash faster as plain tuples)


class Positions(tuple):
    """A tuple (of positions) that caches its hash; equal to, and hashing like, the plain tuple.

    Examples
    --------
    >>> p = Positions(range(4))
    >>> p == (0, 1, 2, 3), hash(p) == hash((0, 1, 2, 3)), {(0, 1, 2, 3): "root"}[p]
    (True, True, 'root')
    """

    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            self._hash = value = tuple.__hash__(self)
            return value

    def __reduce__(self):  # the cached hash is not part of the value
        return type(self), (tuple(self),)


__all__ = ["LONG", "Positions"]
