"""Theorem 1 of Cohen & Shashua (ICLR 2017): rank bounds of a deep ConvAC from its pooling geometry (theory §9).

For a partition (I, J) of the positions of a ConvAC over a mode tree with widths r_v, M representation
functions, the maximal rank of the matricization [A^y]_{I,J} satisfies

- **lower**: >= prod over the level-1 nodes v that I and J both meet of min(r_v, M) (the paper's
  min(r_0, M)^S, S = the number of split level-1 windows);
- **upper**: <= c(root), where c(leaf) = 1 and, for an internal node v with children u,
  c(v) = min(M^min(|I_v|, |J_v|), r_v * prod_u c(u)) (I_v, J_v = the partition restricted to v).

The paper states it for square 2 x 2 pooling; both arguments hold on any mode tree (the upper recursion is
a cut of the network: the minority side's open legs, or v's hyperedge and the children's cuts), so the
min-cut of §4 always lies between the two: lower <= rank <= min-cut <= upper.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import log2

from tn.errors import PartitionError

from .bounds import mincut
from .partitions import make_partition


@dataclass(frozen=True)
class PoolingBounds:
    """Theorem 1's two bounds beside the min-cut bound, for one partition.

    ``split`` lists the level-1 nodes (windows) both sides meet; ``S = len(split)``.
    """

    partition: str
    lower: int
    upper: int
    mincut: int
    split: tuple

    @property
    def S(self) -> int:
        return len(self.split)

    def as_dict(self) -> dict:
        return {"partition": self.partition, "S": self.S, "lower": self.lower, "mincut": self.mincut,
                "upper": self.upper, "log2_lower": log2(self.lower), "log2_mincut": log2(self.mincut),
                "log2_upper": log2(self.upper)}


def pooling_bounds(network, partition, result=None) -> PoolingBounds:
    """Theorem 1's lower and upper bounds on the rank of a partition of a ConvAC, beside its min-cut.

    Parameters
    ----------
    network : tn.TensorNetwork
        A network made by a tree builder (:func:`builders.convac`, :func:`builders.deep_convac`, ...).
    partition : partition spec
        Anything :func:`analysis.make_partition` takes; it must split all the positions (no fixed or
        class legs on a side).
    result : MinCutResult, optional
        The partition's min-cut, if already computed (else it is computed here).

    Returns
    -------
    PoolingBounds
        Exact ints ``lower <= mincut <= upper``.

    Examples
    --------
    >>> import builders
    >>> net = builders.deep_convac(grid=(4, 4), M=2, widths=2)
    >>> b = pooling_bounds(net, "checkerboard")
    >>> b.S, b.lower, b.mincut, b.upper
    (4, 16, 16, 32)
    >>> pooling_bounds(net, "top-bottom").upper
    2
    """
    from builders import (
        tree_of,  # analysis may import builders; only this function needs it
    )

    tree = tree_of(network)
    part = make_partition(network, partition)
    positions = set(range(tree.N))
    if not set(part.A) <= positions or not set(part.B) <= positions or len(part.A) + len(part.B) != tree.N:
        raise PartitionError(f"Theorem 1 bounds need a partition of all {tree.N} positions into two sides; "
                             f"{part.name!r} has A={list(part.A)[:8]}..., B={list(part.B)[:8]}...")
    M = int(network.metadata["M"])
    width = {tuple(v): int(r) for v, r in network.metadata["widths"]}
    in_A = set(part.A)
    count, c, lower, split = {}, {}, 1, []
    for v in tree.postorder():
        kids = tree.children(v)
        if not kids:
            count[v], c[v] = (1, 0) if v[0] in in_A else (0, 1), 1
            continue
        a, b = sum(count[u][0] for u in kids), sum(count[u][1] for u in kids)
        count[v] = (a, b)
        through = width[v]
        for u in kids:
            through *= c[u]
        c[v] = min(M ** min(a, b), through)
        if tree.level(v) == 1 and a and b:
            lower *= min(width[v], M)
            split.append(v)
    if result is None:
        result = mincut(network, part)
    return PoolingBounds(part.name, lower, c[tree.root], result.bound, tuple(split))


__all__ = ["PoolingBounds", "pooling_bounds"]
