"""Mixed tensor decompositions (theory §6): two tree networks exchanging activations at mixture nodes.

Track X in {a, b} computes, at node v, the pooling (product) of its children's outputs and then its
conv W_X^v; at a mixture node, W_X^v is applied to the *other* track's pooling instead. Unrolled from
each root this is one tree network per track, glued from pieces of both trees at mixture nodes; the
two networks use the weights of both tracks (every tensor is named ``("a", ...)`` or ``("b", ...)``
after its own tree) and the mixed score is their sum, a :class:`tn.NetworkSum`.
"""

from __future__ import annotations

import numpy as np

from tn import NetworkSum
from tn.errors import BuildError, WidthError

from .compiler import TreeSpec, compile_tree, fill_params, to_json
from .convacs import convac_spec
from .dilated import default_dilations, dilated_spec, tree_params
from .modetree import ModeTree, as_node

TRACKS = ("a", "b")


def _glued(specs, k, mixture) -> TreeSpec:
    """The tree network that track k's output unrolls to."""
    owner = {}

    def walk(track, v):
        owner[v] = track
        src = 1 - track if v in mixture else track
        kids = specs[src].tree.children(v)
        return tuple(walk(src, c) for c in kids) if kids else v[0]

    tree = ModeTree.from_nested(walk(k, specs[k].tree.root))
    width = {}
    for v in tree.internal_nodes:  # the pooling at v is the owner's of v's children
        width[v] = specs[owner[tree.children(v)[0]]].width[v]
    a, b = specs
    return TreeSpec(tree, a.M, a.classes, width, {v: specs[owner[v]].keys[v] for v in tree.nodes},
                    {v: specs[owner[v]].names[v] for v in tree.nodes}, {**a.params, **b.params})


def _check_mixture(specs, mixture_nodes):
    a, b = (s.tree for s in specs)
    common = [v for v in a.nodes if v in b]
    if mixture_nodes is None:
        chosen = common
    else:
        chosen = [as_node(v) for v in mixture_nodes]
        for v in chosen:
            for name, t in zip(TRACKS, (a, b)):
                if v not in t:
                    raise BuildError(f"mixture node {v} is not a node of tree_{name} {t!r}")
    for v in chosen:
        if a.children(v) and specs[0].width[v] != specs[1].width[v]:
            raise WidthError(f"mixture node {v} has width {specs[0].width[v]} in tree_a and {specs[1].width[v]} "
                             "in tree_b: exchanged activations need equal widths")
    return frozenset(chosen)


def _mixed_sum(specs, mixture, meta) -> NetworkSum:
    meta = {**meta, "mixture_nodes": [list(v) for v in sorted(mixture, key=lambda v: (len(v), v))],
            "tracks": [{"tree": to_json(s.tree.to_nested()), "keys": [to_json(s.keys[v]) for v in s.tree.nodes]}
                       for s in specs]}
    terms = [compile_tree(_glued(specs, k, mixture), {**meta, "term": TRACKS[k]}) for k in range(2)]
    total = NetworkSum(terms, name=meta["builder"])
    total.metadata.update(meta)
    return total


def mixed(tree_a, tree_b, M, widths, mixture_nodes=None, classes=1, *, widths_b=None, share=None, seed=0,
          init="gaussian", dtype=np.float64) -> NetworkSum:
    """The mixed decomposition of two ConvACs over ``tree_a`` and ``tree_b``.

    Parameters
    ----------
    tree_a, tree_b : ModeTree or nested tuples
        Mode trees over the same positions.
    M, widths, classes, share, seed, init, dtype
        As :func:`builders.convac` (``widths`` for tree_a; ``widths_b`` for tree_b, default ``widths``).
    mixture_nodes : iterable of position sets, optional
        Nodes present in both trees where the tracks exchange activations; default: every node in
        both (leaves exchange identical features, so they never matter). Widths must agree there.

    Returns
    -------
    tn.NetworkSum
        Two tree networks (``metadata["term"]`` ``"a"`` and ``"b"``), tensors ``("a", "leaf", i)``,
        ``("b", "node", v)``, ...; :func:`builders.reference.unpack` gives the tracks.

    Examples
    --------
    >>> import numpy as np, builders
    >>> T = builders.ModeTree
    >>> s = builders.mixed(T.balanced(4), T.mirror(4), M=2, widths=2)
    >>> sorted(map(tuple, s.metadata["mixture_nodes"]))
    [(0,), (0, 1, 2, 3), (1,), (2,), (3,)]
    >>> tracks, mix = builders.reference.unpack(s)
    >>> np.allclose(s.to_dense(), builders.reference.coefficient_tensor(tracks, mix))
    True
    """
    specs = [convac_spec(tree_a, M, widths, classes, share=share, prefix=("a",)),
             convac_spec(tree_b, M, widths if widths_b is None else widths_b, classes, share=share, prefix=("b",))]
    if specs[0].tree.N != specs[1].tree.N:
        raise BuildError(f"tree_a has {specs[0].tree.N} positions, tree_b {specs[1].tree.N}")
    mixture = _check_mixture(specs, mixture_nodes)
    for k, s in enumerate(specs):
        fill_params(s, init, (seed, k), dtype)
    meta = {"builder": "mixed", "share": share, "init": init, "seed": seed, "dtype": np.dtype(dtype).name}
    return _mixed_sum(specs, mixture, meta)


def mixed_dilated(N, M, widths, dilations_a=None, dilations_b=None, mixture_levels=None, classes=1, *, seed=0,
                  init="gaussian", dtype=np.float64, params=None) -> NetworkSum:
    """Two interconnected dilated ConvNets (theory §6): after each mixture layer they swap activations.

    Layer l can be a mixture layer when both networks used the same set of dilations in layers
    1..l (then their level-l nodes coincide); the default is every such layer. ``params`` takes
    ``{"a": ..., "b": ...}`` time-domain weights (see :func:`builders.reference_forward`).

    Examples
    --------
    >>> import numpy as np, builders
    >>> s = builders.mixed_dilated(8, M=2, widths=2, dilations_a=(1, 2, 4), dilations_b=(2, 1, 4))
    >>> s.metadata["mixture_levels"]
    [2, 3]
    >>> x = np.random.default_rng(0).standard_normal((3, 8, 2))
    >>> ref = builders.reference_forward(builders.dilated_params(s), x)
    >>> np.allclose(s.evaluate(list(x.transpose(1, 0, 2))), ref)
    True
    """
    dils = [default_dilations(N) if d is None else tuple(d) for d in (dilations_a, dilations_b)]
    specs = [dilated_spec(N, M, widths, d, classes, prefix=(t,)) for d, t in zip(dils, TRACKS)]
    L = len(dils[0])
    valid = [l for l in range(1, L + 1) if sorted(dils[0][:l]) == sorted(dils[1][:l])]
    levels = valid if mixture_levels is None else sorted(set(mixture_levels))
    bad = [l for l in levels if l not in valid]
    if bad:
        raise BuildError(f"mixture level(s) {bad} invalid for dilations {dils[0]} and {dils[1]}: layers 1..l must "
                         f"use the same set of dilations in both (valid levels: {valid})")
    for k, s in enumerate(specs):
        given = None if params is None else tree_params(params.get(TRACKS[k]), (TRACKS[k],))
        fill_params(s, init, (seed, k), dtype, given)
    tree_a = specs[0].tree
    mixture = _check_mixture(specs, [v for v in tree_a.nodes if tree_a.level(v) in levels])
    meta = {"builder": "mixed_dilated", "dilations_a": list(dils[0]), "dilations_b": list(dils[1]),
            "mixture_levels": levels, "init": init if params is None else "given", "seed": seed,
            "dtype": np.dtype(dtype).name}
    return _mixed_sum(specs, mixture, meta)
