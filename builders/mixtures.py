"""Mixed tensor decompositions (Cohen, Tamari & Shashua; theory §6, the paper's eq. 4).

Two tree decompositions, tracks ``a`` and ``b``, run bottom up. At each *mixture node* mu (an
internal node of both trees) they exchange the first ``s`` channels of their product pooling (the
paper: s = r/2), and both continue upward from the exchanged values; the score is the sum of the
two roots. ``s = 0`` everywhere is the plain sum of the two networks, ``s = r`` a full exchange.

A :class:`MixedNetwork` computes it two ways:

- :meth:`MixedNetwork.evaluate` runs both tracks and swaps at mixture nodes: twice the cost of one
  network, nothing expanded;
- its :attr:`~MixedNetwork.terms` (for ``to_dense``, min-cuts, exact ranks, Gram spectra) expand the
  exchanges: every channel at a mixture node comes from one of two sources, so the score is a sum of
  *hybrid trees* (pieces of both trees glued at mixture nodes). A term reads, at a partial mixture
  node, its source's pooling through a 0/1 channel mask (``("mask", "keep", mu)`` for its own
  channels, ``("mask", "swap", mu)`` for the other track's) before its own track's W^mu. Terms share
  the tracks' arrays and the masks. There are at most 2 * 2^|mixture| of them (:attr:`n_terms`,
  exact); beyond ``max_terms`` (default :data:`MAX_TERMS`) asking for them raises
  :class:`~tn.errors.TermLimitError`: ``evaluate`` still works; for structure use fewer mixture
  nodes or raise ``max_terms``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import replace
from functools import reduce
from itertools import product
from numbers import Integral

import numpy as np

from tn import NetworkSum, TensorNetwork
from tn.errors import (
    BuildError,
    ShapeError,
    TermLimitError,
    UnknownTensorError,
    WidthError,
)
from tn.io import KINDS
from tn.netsum import _sum_cost
from tn.network import read_only

from .compiler import (
    TreeSpec,
    compile_tree,
    default_names,
    fill_params,
    from_json,
    to_json,
    tree_of,
)
from .convacs import check_size, convac_spec
from .dilated import check_head, default_dilations, dilated_spec, tree_params
from .init import DEFAULT_INIT
from .modetree import ModeTree, as_node

TRACKS = ("a", "b")
MAX_TERMS = 4096


class MixedNetwork(NetworkSum):
    """Two tree networks exchanging the first ``swaps[mu]`` pooled channels at each mixture node mu.

    Built by :func:`mixed` and :func:`mixed_dilated`. ``tracks`` are the two plain tree networks
    (tensors ``("a", ...)``, ``("b", ...)``) holding every weight; :attr:`terms` are the hybrid
    trees, built on first use from the current weights (see the module doc).

    Saving writes the two tracks and the metadata (trees, swaps, head, max_terms), never the terms (a
    file kind of :mod:`tn.io`: ``"mixed"``); :func:`tn.load` gives back a MixedNetwork with the same
    weights, swaps, scores and structure.
    """

    tnet_kind = "mixed"

    def __init__(self, specs, swaps, metadata, max_terms=MAX_TERMS):
        self.specs = tuple(specs)
        self.swaps = dict(swaps)
        self.max_terms = check_size(max_terms, "max_terms")
        self.name = metadata["builder"]
        self.metadata = metadata
        track_meta = {k: metadata[k] for k in ("builder", "init", "seed", "dtype")}
        self.tracks = tuple(compile_tree(s, {**track_meta, "track": t}) for s, t in zip(self.specs, TRACKS))
        self.masks = {}
        for v, s in self.swaps.items():
            r = self.specs[0].width[v]
            if s < r:
                keep = np.ones(r, dtype=metadata["dtype"])
                keep[:s] = 0
                self.masks[("mask", "keep", v)] = read_only(keep, fresh=True)  # one array shared by all terms
                self.masks[("mask", "swap", v)] = read_only(1 - keep, fresh=True)
        self._terms = None

    def tnet_parts(self):
        """``(parts, metadata)``: what a ``.tnet`` file holds of a mixed network (see :mod:`tn.io`): the two
        tracks and a network of the masks (their current values: ``set_data`` may have replaced them)."""
        masks = TensorNetwork("masks")
        for name, array in self.masks.items():
            masks.add_tensor(name, array, ((name, "channel"),))
        return [*self.tracks, masks], {**self.metadata, "max_terms": self.max_terms}

    @classmethod
    def from_tracks(cls, parts, metadata, name=None):
        """Rebuild a mixed network from what :meth:`tnet_parts` gave (its two tracks, then its masks)."""
        if len(parts) not in (2, 3) or not all(isinstance(t, TensorNetwork) for t in parts):
            raise BuildError(f"a mixed network is saved as two tracks and its masks, got {len(parts)} part(s)")
        specs = [_track_spec(t, (letter,)) for t, letter in zip(parts, TRACKS)]
        swaps = {}
        for v, s in metadata["mixture"]:  # the builders' own checks: a node of both trees, equal widths, 0..r
            swaps.update(_check_swaps(specs, _check_mixture(specs, [from_json(v)]), s))
        net = cls(specs, swaps, metadata, metadata.get("max_terms", MAX_TERMS))
        for mask in parts[2].tensor_names if len(parts) == 3 else ():  # (files without it: the default masks)
            net.set_data(mask, parts[2].data(mask))
        if name is not None:
            net.name = name
        return net

    # ------------------------------------------------------------------ the expansion
    def _sources(self, k, v):
        """(source track, mask kind or None) of track k's pooling at node v."""
        s = self.swaps.get(v, 0)
        if not s:
            return ((k, None),)
        if s == self.specs[0].width[v]:
            return ((1 - k, None),)
        return ((k, "keep"), (1 - k, "swap"))

    @property
    def n_terms(self) -> int:
        """Number of hybrid-tree terms (exact, without building them)."""
        memo = {}

        def count(k, v):
            if (k, v) not in memo:
                memo[k, v] = sum(math.prod(count(src, c) for c in self.specs[src].tree.children(v))
                                 for src, _ in self._sources(k, v))
            return memo[k, v]

        return sum(count(k, s.tree.root) for k, s in enumerate(self.specs))

    def _variants(self, k, v, memo):
        """Track k's output at v, expanded: (nested subtree, ((node, owner track), ...), ((kind, node), ...))."""
        if (k, v) not in memo:
            out = []
            for src, kind in self._sources(k, v):
                kids = self.specs[src].tree.children(v)
                if not kids:
                    out.append((v[0], ((v, k),), ()))
                    continue
                for combo in product(*(self._variants(src, c, memo) for c in kids)):
                    out.append((tuple(c[0] for c in combo), sum((c[1] for c in combo), ((v, k),)),
                                sum((c[2] for c in combo), ((kind, v),) if kind else ())))
            memo[k, v] = out
        return memo[k, v]

    @property
    def terms(self) -> list:
        """The hybrid-tree terms (built once, sharing the tracks' arrays); TermLimitError beyond ``max_terms``."""
        if self._terms is None:
            n = self.n_terms
            if n > self.max_terms:
                raise TermLimitError(
                    f"this mixed network expands to {_count(n)} hybrid-tree terms, more than max_terms="
                    f"{self.max_terms:,}: evaluate() needs no expansion; for to_dense, min-cuts, ranks or spectra "
                    "use fewer mixture nodes (or swap=0 / the full width at some)"
                    + (f", or build it with max_terms >= {n:,} (tn-mincut --max-terms)" if n < 10**15 else ""))
            params = {spec.keys[v]: track.data(spec.names[v])  # the tracks hold the current weights
                      for spec, track in zip(self.specs, self.tracks) for v in spec.tensor_nodes}
            memo, terms = {}, []
            for k, spec in enumerate(self.specs):
                for nested, owner, masks in self._variants(k, spec.tree.root, memo):
                    terms.append(self._term(len(terms), k, nested, dict(owner), masks, params))
            self._terms = terms
        return self._terms

    def _term(self, index, k, nested, owner, masks, params):
        tree = ModeTree.from_nested(nested)
        specs = self.specs
        masks = {v: (("mask", kind, v), self.masks[("mask", kind, v)]) for kind, v in masks}
        spec = TreeSpec(tree, specs[0].M, specs[0].classes, {v: specs[owner[v]].width[v] for v in tree.internal_nodes},
                        {v: specs[owner[v]].keys[v] for v in tree.nodes if v in specs[owner[v]].keys},
                        {v: specs[owner[v]].names[v] for v in tree.nodes}, params, specs[0].head, masks)
        return compile_tree(spec, {"builder": self.name, "term": index, "track": TRACKS[k]})

    # ------------------------------------------------------------------ a NetworkSum without expanding
    @property
    def output(self) -> tuple:
        return self.tracks[0].output

    @property
    def input_legs(self) -> tuple:
        return self.tracks[0].input_legs

    @property
    def size_dict(self) -> dict:
        return {**self.tracks[0].size_dict, **self.tracks[1].size_dict}

    def size(self, ind) -> int:
        return self.tracks[0].size(ind)

    @property
    def is_symbolic(self) -> bool:
        return any(t.is_symbolic for t in self.tracks)

    @property
    def tensor_names(self) -> tuple:
        """Every weight tensor of both tracks, then the channel masks."""
        return self.tracks[0].tensor_names + self.tracks[1].tensor_names + tuple(self.masks)

    @property
    def dtype(self):
        return np.result_type(*(t.dtype for t in self.tracks))

    def __contains__(self, name) -> bool:
        return name in self.masks or any(name in t for t in self.tracks)

    def data(self, name):
        """The array of a weight (from its track) or of a mask."""
        if name in self.masks:
            return self.masks[name]
        for t in self.tracks:
            if name in t:
                return t.data(name)
        raise UnknownTensorError(f"the mixed network has no tensor named {name!r}")

    def set_data(self, name, data, check_finite=False):
        """Replace a weight (in its track and every built term) or a mask."""
        if name not in self:
            raise UnknownTensorError(f"the mixed network has no tensor named {name!r}")
        array = read_only(np.asarray(data))  # one stored array, shared by every holder
        if name in self.masks:
            if array.shape != self.masks[name].shape:
                raise ShapeError(f"mask {name!r} has shape {self.masks[name].shape}, new data has {array.shape}")
            self.masks[name] = array
        for t in [t for t in self.tracks if name in t] + [t for t in (self._terms or ()) if name in t]:
            t.set_data(name, array, check_finite)

    def copy(self, deep=False):
        """A new mixed network with the current weights (copied when ``deep``; else the same read-only arrays)."""
        specs = []
        for spec, track in zip(self.specs, self.tracks):
            params = {spec.keys[v]: track.data(spec.names[v]) for v in spec.tensor_nodes}
            if deep:
                params = {k: read_only(a.copy(), fresh=True) for k, a in params.items()}
            specs.append(replace(spec, params=params))
        new = MixedNetwork(specs, self.swaps, copy.deepcopy(self.metadata), self.max_terms)
        for name, mask in self.masks.items():
            new.set_data(name, mask)
        return new

    def evaluate_cost(self, batch, legs=None, batch_index="batch", optimize="auto", method="auto", dtype=None):
        """The cost of :meth:`evaluate`: one forward pass of each track (the channel exchanges are not counted)."""
        costs = [t.evaluate_cost(batch, legs, batch_index, optimize, method, dtype) for t in self.tracks]
        return _sum_cost(costs, batch * self.size("y"))

    def evaluate(self, features, legs=None, batch_index="batch", optimize="auto", memory_limit=None, method="auto"):
        """Scores (B, classes): both tracks forward, exchanging channels at mixture nodes (no expansion).

        ``features``: a mapping position -> (B, M) array, or one (B, M) array per leg of ``legs``
        (default: every input leg) as a sequence or a (N, B, M) array. Every position must be fed.
        The other arguments are :meth:`tn.NetworkSum.evaluate`'s; this pass has no path or
        method to choose and holds two (B, width) activations per tree level.

        Examples
        --------
        >>> import numpy as np, builders
        >>> s = builders.mixed_dilated(8, M=2, widths=4, head=None, classes=2)
        >>> x = np.random.default_rng(0).standard_normal((3, 8, 2))
        >>> out = s.evaluate(list(x.transpose(1, 0, 2)))
        >>> out.shape, np.allclose(out, builders.reference_forward(builders.dilated_params(s), x))
        ((3, 2), True)
        """
        x = self._features(features, legs)
        trees = [s.tree for s in self.specs]
        out = [{}, {}]
        for v in sorted(set(trees[0].nodes) | set(trees[1].nodes), key=len):
            pooled = {}
            for k, tree in enumerate(trees):
                if v in tree:
                    kids = tree.children(v)
                    pooled[k] = reduce(np.multiply, [out[k].pop(c) for c in kids]) if kids else x[v[0]]
            for k, p in pooled.items():
                srcs = self._sources(k, v)
                if len(srcs) == 2:
                    p = self.masks[("mask", "keep", v)] * p + self.masks[("mask", "swap", v)] * pooled[1 - k]
                elif srcs[0][0] != k:
                    p = pooled[1 - k]
                spec = self.specs[k]
                out[k][v] = p @ self.tracks[k].data(spec.names[v]) if v in spec.keys else p
        return out[0][trees[0].root] + out[1][trees[1].root]

    def _features(self, features, legs):
        legs = self.input_legs if legs is None else tuple(legs)
        if isinstance(features, Mapping):
            legs, features = tuple(features), [features[k] for k in features]
        if len(features) != len(legs):
            raise ShapeError(f"evaluate got {len(features)} feature matrices for {len(legs)} legs")
        x = dict(zip(legs, (np.asarray(f) for f in features)))
        missing = [i for i in self.input_legs if i not in x]
        extra = [i for i in x if i not in self.input_legs]
        if missing or extra:
            raise ShapeError(f"a mixed network's evaluate feeds every input leg: missing {missing}, unknown {extra} "
                             "(partial feeding is a structure query: use its terms)")
        M, B = self.specs[0].M, len(x[legs[0]])
        bad = {i: f.shape for i, f in x.items() if f.shape != (B, M)}
        if bad:
            raise ShapeError(f"features must have shape (B, {M}) = ({B}, {M}) on every leg; got {bad}")
        return x

    def __repr__(self):
        return (f"MixedNetwork({self.name}, {len(self.swaps)} mixture nodes, {self.n_terms} hybrid terms, "
                f"output={self.output!r})")


# ---------------------------------------------------------------------- building
def _track_spec(track, prefix) -> TreeSpec:
    """The filled :class:`TreeSpec` a track network was compiled from (its metadata and arrays)."""
    meta = track.metadata
    tree = tree_of(track)
    pairs = [(from_json(name), from_json(key)) for name, key in meta["params"]]
    names = default_names(tree, prefix)
    by_name = {n: v for v, n in names.items()}
    unknown = [n for n, _ in pairs if n not in by_name]
    if unknown:
        raise BuildError(f"track {prefix[0]!r}: tensor(s) {unknown[:4]!r} are not the track's tree nodes")
    keys = {by_name[n]: k for n, k in pairs}
    widths = {as_node(from_json(v)): int(w) for v, w in meta["widths"]}
    params = {k: track.data(n) for n, k in pairs}
    return TreeSpec(tree, int(meta["M"]), int(meta["classes"]), widths, keys, names, params,
                    head=tree.root in keys)


def _check_swaps(specs, nodes, swap) -> dict:
    """node -> channels exchanged there (default half the width); nodes exchanging 0 are dropped."""
    out = {}
    for v in nodes:
        r = specs[0].width[v]
        s = r // 2 if swap is None else swap
        if isinstance(s, bool) or not isinstance(s, Integral) or not 0 <= s <= r:
            raise WidthError(f"swap={swap!r} at mixture node {v}: must be an int in 0..{r} (the node's width)")
        if s:
            out[v] = int(s)
    return out


def _check_mixture(specs, mixture_nodes) -> list:
    a, b = (s.tree for s in specs)
    if mixture_nodes is None:
        chosen = [v for v in a.internal_nodes if v in b]
    else:
        chosen = list(dict.fromkeys(as_node(v) for v in mixture_nodes))
        for v in chosen:
            for name, t in zip(TRACKS, (a, b)):
                if v not in t:
                    raise BuildError(f"mixture node {v} is not a node of tree_{name} {t!r}")
            if len(v) == 1:
                raise BuildError(f"mixture node {v} is a leaf: both tracks read the same input there; mixture "
                                 "nodes are internal nodes of both trees")
    for v in chosen:
        if specs[0].width[v] != specs[1].width[v]:
            raise WidthError(f"mixture node {v} has width {specs[0].width[v]} in tree_a and {specs[1].width[v]} "
                             "in tree_b: exchanged activations need equal widths")
    return chosen


def _mixed_network(specs, mixture_nodes, swap, meta, max_terms) -> MixedNetwork:
    nodes = _check_mixture(specs, mixture_nodes)
    if swap and mixture_nodes is not None and not nodes:  # e.g. mixture_levels=[] with swap=1
        raise BuildError(f"swap={swap!r} has no mixture node to act on (no mixture nodes / levels: the plain sum)")
    swaps = _check_swaps(specs, nodes, swap)
    if not specs[0].head:  # exchanging output channels between the two summands changes no sum
        swaps.pop(specs[0].tree.root, None)
    meta = {**meta, "swap": swap, "max_terms": max_terms,
            "mixture": [[list(v), s] for v, s in sorted(swaps.items(), key=lambda e: (len(e[0]), e[0]))],
            "tracks": [{"tree": to_json(s.tree.to_nested()),
                        "keys": [[list(v), to_json(s.keys[v])] for v in s.tree.nodes if v in s.keys]} for s in specs]}
    return MixedNetwork(specs, swaps, meta, max_terms)


def mixed(tree_a, tree_b, M, widths, mixture_nodes=None, swap=None, classes=1, *, widths_b=None, share=None,
          max_terms=MAX_TERMS, seed=0, init=DEFAULT_INIT, dtype=np.float64) -> MixedNetwork:
    """The mixed decomposition of two ConvACs over ``tree_a`` and ``tree_b`` (theory §6).

    Parameters
    ----------
    tree_a, tree_b : ModeTree or nested tuples
        Mode trees over the same positions.
    M, widths, classes, share, seed, init, dtype
        As :func:`builders.convac` (``widths`` for tree_a; ``widths_b`` for tree_b, default ``widths``).
    mixture_nodes : iterable of position sets, optional
        Internal nodes of both trees where the tracks exchange channels; default: all of them.
        Widths must agree there. ``[]`` is the plain sum of the two ConvACs.
    swap : int, optional
        Leading channels of the product pooling exchanged at every mixture node; default half of
        the node's width (the paper's r/2); 0 = no exchange; the width = a full exchange.
    max_terms : int
        Largest hybrid-tree expansion :attr:`MixedNetwork.terms` builds.

    Returns
    -------
    MixedNetwork
        Tensors ``("a", "leaf", i)``, ``("b", "node", v)``, ...; :func:`builders.reference.unpack`
        gives the tracks and swaps.

    Examples
    --------
    >>> import numpy as np, builders
    >>> T = builders.ModeTree
    >>> s = builders.mixed(T.balanced(4), T.mirror(4), M=2, widths=2)
    >>> s.swaps, s.n_terms
    ({(0, 1, 2, 3): 1}, 4)
    >>> tracks, swaps = builders.reference.unpack(s)
    >>> np.allclose(s.to_dense(), builders.reference.coefficient_tensor(tracks, swaps))
    True
    """
    specs = [convac_spec(tree_a, M, widths, classes, share=share, prefix=("a",)),
             convac_spec(tree_b, M, widths if widths_b is None else widths_b, classes, share=share, prefix=("b",))]
    if specs[0].tree.N != specs[1].tree.N:
        raise BuildError(f"tree_a has {specs[0].tree.N} positions, tree_b {specs[1].tree.N}")
    for k, s in enumerate(specs):
        fill_params(s, init, (seed, k), dtype)
    meta = {"builder": "mixed", "share": share, "init": init, "seed": seed, "dtype": np.dtype(dtype).name}
    return _mixed_network(specs, mixture_nodes, swap, meta, max_terms)


def mixed_dilated(N, M, widths, dilations_a=None, dilations_b=None, mixture_levels=None, swap=None, classes=1, *,
                  head="convac", max_terms=MAX_TERMS, seed=0, init=DEFAULT_INIT, dtype=np.float64,
                  params=None) -> MixedNetwork:
    """Two interconnected dilated ConvNets (theory §6): after each mixture layer they trade ``swap`` channels.

    Layer l can be a mixture layer when both networks used the same set of dilations in layers
    1..l (then their level-l nodes coincide); the default is every such layer (but the last one
    without a head, where a swap changes no sum), ``[]`` is the plain sum. ``swap`` (default half of the layer's width) channels of h^l are exchanged at
    every time step. ``head`` as :func:`builders.dilated_convnet` (``None``: the paper's baseline,
    no W^out). ``params`` takes ``{"a": ..., "b": ...}`` time-domain weights (see
    :func:`builders.reference_forward`).

    Examples
    --------
    >>> import numpy as np, builders
    >>> s = builders.mixed_dilated(8, M=2, widths=2, dilations_a=(1, 2, 4), dilations_b=(2, 1, 4))
    >>> s.metadata["mixture_levels"], s.metadata["swap_per_level"], s.n_terms
    ([2, 3], [1, 1], 16)
    >>> x = np.random.default_rng(0).standard_normal((3, 8, 2))
    >>> ref = builders.reference_forward(builders.dilated_params(s), x)
    >>> np.allclose(s.evaluate(list(x.transpose(1, 0, 2))), ref)
    True
    """
    check_head(head)
    dils = [default_dilations(N) if d is None else tuple(d) for d in (dilations_a, dilations_b)]
    specs = [dilated_spec(N, M, widths, d, classes, prefix=(t,), head=head) for d, t in zip(dils, TRACKS)]
    L = len(dils[0])
    valid = [l for l in range(1, L + 1) if sorted(dils[0][:l]) == sorted(dils[1][:l])]
    if mixture_levels is None:  # without a head, a swap after the last layer changes no sum
        levels = [l for l in valid if head is not None or l < L]
    else:
        levels = sorted(set(mixture_levels))
    bad = [l for l in levels if l not in valid]
    if bad:
        raise BuildError(f"mixture level(s) {bad} invalid for dilations {dils[0]} and {dils[1]}: layers 1..l must "
                         f"use the same set of dilations in both (valid levels: {valid})")
    for k, s in enumerate(specs):
        given = None if params is None else tree_params(params.get(TRACKS[k]), (TRACKS[k],))
        fill_params(s, init, (seed, k), dtype, given)
    tree_a = specs[0].tree
    width = {tree_a.level(v): specs[0].width[v] for v in tree_a.internal_nodes}
    per_level = [width[l] // 2 if swap is None else swap for l in levels]
    meta = {"builder": "mixed_dilated", "dilations_a": list(dils[0]), "dilations_b": list(dils[1]), "head": head,
            "mixture_levels": levels, "swap_per_level": per_level, "init": init if params is None else "given",
            "seed": seed, "dtype": np.dtype(dtype).name}
    return _mixed_network(specs, [v for v in tree_a.internal_nodes if tree_a.level(v) in levels], swap, meta,
                          max_terms)


def _count(n: int) -> str:
    """A term count for a message: exact up to 10^15, else its power of two (counts reach 2^3000 and more)."""
    return f"{n:,}" if n < 10**15 else f"about 2^{math.log2(n):.1f}"


KINDS.register("mixed", MixedNetwork.from_tracks)
