"""A disjoint-set forest over hashable items (path halving, union by size): the one union-find of the engine."""

from __future__ import annotations


class UnionFind:
    """Disjoint sets of hashable items; an item is its own set until joined.

    Examples
    --------
    >>> uf = UnionFind()
    >>> uf.union("a", "b"), uf.union("b", "a"), uf.connected("a", "b"), uf.connected("a", "c")
    (True, False, True, False)
    """

    __slots__ = ("_parent", "_size")

    def __init__(self, items=()):
        self._parent = {x: x for x in items}
        self._size = dict.fromkeys(self._parent, 1)

    def find(self, x):
        """The representative of ``x``'s set (adds ``x`` as a singleton if new)."""
        parent = self._parent
        if x not in parent:
            parent[x], self._size[x] = x, 1
            return x
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, x, y) -> bool:
        """Join the sets of ``x`` and ``y``; False if they were already one set."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return False
        if self._size[rx] < self._size[ry]:
            rx, ry = ry, rx
        self._parent[ry] = rx
        self._size[rx] += self._size[ry]
        return True

    def connected(self, x, y) -> bool:
        return self.find(x) == self.find(y)


__all__ = ["UnionFind"]
