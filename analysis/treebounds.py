"""Theorem 7 of Cohen, Tamari & Shashua (theory §6): rank bounds of one tree decomposition from its tree alone.

For a binary mode tree T, all widths r, product pooling, representation functions spanning R^r (so
M >= r) and the paper's baseline head (the root's product is the output, ``head=None``):

- Theta(I; T) is the tiling of I by maximal tree nodes (nodes inside I whose parent is not);
- rank [A]_{I, I^c} <= r^{min(|Theta(I)|, |Theta(I^c)|)};
- rank [A]_{I, I^c} >= r^{#{sibling pairs (nu1, nu2) in Theta(I) x Theta(I^c) of depth > 1}} for
  almost all weights (depth = distance from the root: the root's two children, whose split the
  baseline head leaves at rank 1, never count).

Both are exact Python ints; :func:`analysis.mincut` lies between them on such networks.
"""

from __future__ import annotations

from dataclasses import dataclass

from builders import ModeTree, tree_of
from builders.convacs import check_size
from tn.errors import PartitionError, TreeError

from .partitions import Partition


@dataclass(frozen=True)
class TreeRankBounds:
    """``lower <= rank <= upper`` for one partition; ``theta``/``theta_c`` tile I and its complement."""

    lower: int
    upper: int
    theta: tuple
    theta_c: tuple
    deep_pairs: tuple

    def as_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "theta": [list(v) for v in self.theta],
                "theta_c": [list(v) for v in self.theta_c], "deep_pairs": [[list(a), list(b)] for a, b in self.deep_pairs]}


def tiling(tree, inside) -> tuple:
    """Theta(I; T): the maximal nodes of ``tree`` whose positions all lie in ``inside``, left to right."""
    out, stack = [], [tree.root]
    while stack:
        v = stack.pop()
        if inside.issuperset(v):
            out.append(v)
        elif not inside.isdisjoint(v):
            stack.extend(reversed(tree.children(v)))
    return tuple(out)


def tree_rank_bounds(tree, partition, r) -> TreeRankBounds:
    """Theorem 7's bounds on rank [A]_{I, I^c} for a binary mode tree of width ``r`` everywhere.

    Parameters
    ----------
    tree : ModeTree or a network built from one (e.g. ``builders.dilated_convnet(..., head=None)``)
    partition : iterable of positions (I), or an :class:`~analysis.partitions.Partition` (its A)
        I must be a non-empty proper subset of the positions.
    r : int
        The width of every node.

    Returns
    -------
    TreeRankBounds

    Examples
    --------
    The paper's Corollary 8 partition on the baseline dilations (1, 2, 4, 8) (theory §6):

    >>> from builders import ModeTree
    >>> b = tree_rank_bounds(ModeTree.from_dilations(16, (1, 2, 4, 8)), [0, 2, 4, 6, 8, 9, 12, 13], r=2)
    >>> b.lower, b.upper, len(b.theta), len(b.deep_pairs)
    (64, 64, 6, 6)
    """
    if not isinstance(tree, ModeTree):
        tree = tree_of(tree)
    bad = [v for v in tree.internal_nodes if len(tree.children(v)) != 2]
    if bad:
        raise TreeError(f"Theorem 7 is stated for binary mode trees; node {bad[0]} has "
                        f"{len(tree.children(bad[0]))} children")
    r = check_size(r, "r")
    inside = frozenset(partition.A if isinstance(partition, Partition) else partition)
    positions = frozenset(range(tree.N))
    if not inside or not inside < positions:
        raise PartitionError(f"partition I={sorted(inside, key=repr)!r} must be a non-empty proper subset of the "
                             f"positions 0..{tree.N - 1}")
    theta, theta_c = tiling(tree, inside), tiling(tree, positions - inside)
    in_c = set(theta_c)
    pairs = []
    for v in theta:
        parent = tree.parent(v)
        if parent is not None and parent != tree.root:
            sibling = next(c for c in tree.children(parent) if c != v)
            if sibling in in_c:
                pairs.append((v, sibling))
    return TreeRankBounds(r ** len(pairs), r ** min(len(theta), len(theta_c)), theta, theta_c, tuple(pairs))


__all__ = ["TreeRankBounds", "tiling", "tree_rank_bounds"]
