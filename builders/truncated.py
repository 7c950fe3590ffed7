"""Depth-truncated ConvACs (Cohen, Sharir & Shashua COLT 2016, the depth-truncation theorem).

A balanced binary network of L levels truncated at level ``levels`` keeps the first ``levels - 1``
levels of size-2 pooling and then pools the N / 2^(levels-1) remaining nodes globally at the root.
``levels = 1`` is the shallow (CP) network, ``levels = log2 N`` the full deep (HT) one. The paper's
claim: matching the deep network on every partition needs a top width of r^(2^(L - levels)).
"""

from __future__ import annotations

import numpy as np

from tn.errors import TreeError

from .compiler import TreeSpec, compile_tree, default_names, fill_params
from .convacs import as_tree, check_size, resolve_widths, share_keys
from .modetree import ModeTree


def truncated_tree(N, levels) -> ModeTree:
    """The mode tree of :func:`truncated_convac`: ``levels - 1`` levels of contiguous pairs, then one root.

    Examples
    --------
    >>> truncated_tree(8, 2)
    ModeTree(((0, 1), (2, 3), (4, 5), (6, 7)))
    >>> truncated_tree(8, 3) == ModeTree.balanced(8), truncated_tree(4, 1) == ModeTree.flat(4)
    (True, True)
    """
    N = check_size(N, "N", TreeError)
    levels = check_size(levels, "levels", TreeError)
    block = 2 ** (levels - 1)
    if N % block or N // block < 2:
        raise TreeError(f"truncated tree: N={N} must be a multiple of 2^(levels-1)={block} with at least two "
                        f"blocks under the root (levels={levels} allows N >= {2 * block})")
    items = list(range(N))
    for _ in range(levels - 1):
        items = [(items[k], items[k + 1]) for k in range(0, len(items), 2)]
    return ModeTree(tuple(items))


def truncated_convac(N, M, widths, levels, classes=1, *, seed=0, init="gaussian", dtype=np.float64,
                     symbolic=False):
    """The ConvAC of a balanced binary tree truncated at ``levels`` levels (global pooling at the root).

    Parameters
    ----------
    N : int
        Number of input positions, a multiple of 2^(levels-1) with N / 2^(levels-1) >= 2.
    M : int
        Size of every input leg.
    widths : int or sequence of ``levels`` ints
        Hyperedge sizes per level (entry k for the nodes of level k+1; the last one is the root's, the
        "top width"), as for :func:`builders.convac`.
    levels : int
        Number of pooling levels, >= 1 (1 = shallow, log2 N = the full deep network).
    classes : int
    seed, init, dtype
        Random weights, as for :func:`builders.convac`.
    symbolic : bool
        Shapes only (no arrays): for min-cut queries at widths far too large to store (e.g. 2^128).

    Returns
    -------
    tn.TensorNetwork
        Tensors named as for :func:`builders.convac`; ``metadata["builder"] == "truncated_convac"`` and
        ``metadata["levels"]``.

    Examples
    --------
    >>> import builders, analysis
    >>> net = builders.truncated_convac(16, M=2, widths=[2, 2], levels=2)
    >>> len(builders.tree_of(net).children(tuple(range(16))))
    8
    >>> [analysis.mincut(net, f"blocks:{K}").bound for K in (2, 4, 8)]
    [2, 2, 2]
    >>> deep = builders.deep_convac(16, M=2, widths=2)                 # needs top width 2^(2^(4-2)) = 16
    >>> [analysis.mincut(deep, f"blocks:{K}").bound for K in (2, 4, 8)]
    [16, 4, 2]
    >>> wide = builders.truncated_convac(16, M=2, widths=[2, 16], levels=2, symbolic=True)
    >>> [analysis.mincut(wide, f"blocks:{K}").bound for K in (2, 4, 8)]
    [16, 16, 16]
    """
    tree = as_tree(truncated_tree(N, levels))
    M, classes = check_size(M, "M"), check_size(classes, "classes")
    spec = TreeSpec(tree, M, classes, resolve_widths(tree, widths), share_keys(tree, None), default_names(tree))
    if symbolic:
        spec.params = {spec.keys[v]: spec.shape(v) for v in tree.nodes}
    else:
        fill_params(spec, init, seed, dtype)
    meta = {"builder": "truncated_convac", "levels": levels, "share": None, "seed": seed,
            "init": "symbolic" if symbolic else init, "dtype": np.dtype(dtype).name}
    return compile_tree(spec, meta)


__all__ = ["truncated_convac", "truncated_tree"]
