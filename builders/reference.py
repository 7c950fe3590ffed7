"""Plain-numpy references, independent of the tensor-network engine (used by the tests).

- :func:`coefficient_tensor`: the recursion of theory §2 (outer products with a shared channel,
  then a 1x1 conv at every node), for one tree or for a mixed pair of trees (theory §6 exchange);
- :func:`tree_forward`: the same networks as direct batched forward passes over the tree;
- :func:`reference_forward`: dilated ConvNets (and interconnected mixed pairs) in the time domain,
  layer by layer over the sequence with zero padding, knowing nothing about trees (exactly mod p
  on request);
- :func:`rank_mod_p`: the rank of an integer matrix over GF(p) (plain Gaussian elimination).

A *track* is a pair ``(tree, weights)`` with ``weights[node]`` the (n_in, n_out) matrix on the edge
from ``node`` to its parent; :func:`unpack` reads the tracks of a built network or mixed sum.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np

from tn import NetworkSum
from tn.errors import BuildError

from .compiler import from_json, get_params, tree_of
from .modetree import ModeTree


def unpack(net):
    """``(tracks, swaps)`` of a built network (one track, no swaps) or a mixed network (two tracks).

    ``swaps[node]`` is the number of leading channels the two tracks exchange at a mixture node.
    A headless root (``head=None``) has no entry in its track's weights.
    """
    if not isinstance(net, NetworkSum):
        tree = tree_of(net)
        names = [from_json(name) for name, _ in net.metadata["params"]]  # tree.nodes order; a headless root has none
        return [(tree, {v: net.data(n) for v, n in zip(tree.nodes, names)})], {}
    meta = net.metadata
    params = get_params(net)
    tracks = []
    for track in meta["tracks"]:
        tree = ModeTree.from_nested(from_json(track["tree"]))
        tracks.append((tree, {from_json(v): params[from_json(k)] for v, k in track["keys"]}))
    return tracks, {from_json(v): s for v, s in meta["mixture"]}


def _run(tracks, swaps, leaf, pool):
    """Bottom-up over all tracks at once; at a mixture node the tracks trade their first s pooled channels."""
    pooled = [{} for _ in tracks]
    out = [{} for _ in tracks]
    nodes = sorted({v for tree, _ in tracks for v in tree.nodes}, key=len)
    for _, group in groupby(nodes, key=len):
        group = list(group)
        for k, (tree, _) in enumerate(tracks):
            for v in (v for v in group if v in tree):
                kids = tree.children(v)
                pooled[k][v] = pool([out[k][c] for c in kids]) if kids else leaf(v[0])
        for k, (tree, weights) in enumerate(tracks):
            for v in (v for v in group if v in tree):
                positions, values = pooled[k][v]
                s = swaps.get(v, 0)
                if s:
                    other = pooled[1 - k][v][1]
                    values = np.concatenate([other[..., :s], values[..., s:]], axis=-1)
                out[k][v] = positions, (values @ weights[v] if v in weights else values)
    return [out[k][tree.root] for k, (tree, _) in enumerate(tracks)]


def coefficient_tensor(tracks, swaps=None):
    """The coefficient tensor A[d_0, ..., d_{N-1}, y] (theory §2), summed over the tracks.

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.convac(builders.ModeTree.random(5, seed=1), M=2, widths=3)
    >>> A = builders.reference.coefficient_tensor(builders.reference.unpack(net)[0])
    >>> np.allclose(A, net.to_dense())
    True
    """
    M = tracks[0][1][(0,)].shape[0]

    def leaf(i):
        return (i,), np.eye(M)

    def pool(children):
        positions, acc = children[0]
        for pos, values in children[1:]:
            r = acc.shape[-1]
            acc = (acc.reshape(-1, 1, r) * values.reshape(1, -1, r)).reshape(acc.shape[:-1] + values.shape)
            positions = positions + pos
        order = np.argsort(positions)
        return tuple(np.sort(positions)), np.transpose(acc, tuple(order) + (len(positions),))

    return sum(values for _, values in _run(tracks, swaps or {}, leaf, pool))


def tree_forward(tracks, x, swaps=None):
    """Batched forward pass over the tree(s): x of shape (B, N, M) -> scores (B, classes).

    Leaf i computes ``x[:, i] @ a^i``; an internal node multiplies its children's outputs
    elementwise and applies its 1x1 conv (none at a headless root); mixed tracks exchange their
    first ``swaps[v]`` pooled channels at each mixture node ``v``.
    """
    x = np.asarray(x)

    def leaf(i):
        return (i,), x[:, i, :]

    def pool(children):
        return (), np.prod([values for _, values in children], axis=0)

    return sum(values for _, values in _run(tracks, swaps or {}, leaf, pool))


def reference_forward(params, x, prime=None):
    """Time-domain forward pass of a dilated ConvNet (theory §6), or of a mixed pair of them.

    Parameters
    ----------
    params : dict
        ``{"dilations": (d_1..d_L), "U": [U^1..U^L], "V": [V^1..V^L], "W": W_out}`` with U^l, V^l of
        shape (r_l, r_{l-1}) (r_0 = M) and W_out of shape (classes, r_L) or None (no head: the
        output is h^L[N-1]), as returned by :func:`builders.dilated_params`; for a mixed pair
        ``{"a": params_a, "b": params_b, "mixture_levels": (l, ...), "swap": (s, ...)}``: after
        layer l the two networks exchange their first s channels (at every time step), and the
        outputs are summed.
    x : array (B, N, M)
        Features per time step.
    prime : int, optional
        Compute exactly modulo this prime (< 2^24): weights and features are integers and every
        product and sum is reduced, in float64 (exact while the widest layer times prime^2 < 2^53).

    Returns
    -------
    ndarray (B, classes): ``W_out h^L[N-1]`` (or ``h^L[N-1]``) where ``h^l[t] = (U^l h^{l-1}[t-d_l]) * (V^l h^{l-1}[t])``
    and ``h^{l-1}[t] = 0`` for t < 0; each layer is evaluated at the time steps the output reads.

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.dilated_convnet(8, M=2, widths=3, dilations=(2, 1, 4))
    >>> x = np.random.default_rng(0).standard_normal((4, 8, 2))
    >>> ref = builders.reference_forward(builders.dilated_params(net), x)
    >>> np.allclose(net.evaluate(list(x.transpose(1, 0, 2))), ref)
    True
    >>> p = {"dilations": (1,), "U": [np.array([[3]])], "V": [np.array([[5]])], "W": None}
    >>> builders.reference_forward(p, np.array([[[2], [4]]]), prime=7)   # (3 * 2) * (5 * 4) = 120 = 1 mod 7
    array([[1.]])
    """
    if prime is not None and not 2 <= prime < 2 ** 24:
        raise BuildError(f"prime={prime!r} must be below 2^24 (exact float64 arithmetic)")
    reduce_ = (lambda a: a) if prime is None else (lambda a: np.mod(a, prime))
    x = reduce_(np.asarray(x, dtype=float if prime is not None else None))
    nets = [params["a"], params["b"]] if "a" in params else [params]
    swap = dict(zip(params.get("mixture_levels", ()), params.get("swap", ())))

    def lin(a, W):  # a @ W.T as one GEMM over all leading axes
        W = np.asarray(W) if prime is None else np.asarray(W, dtype=float)
        return reduce_(a.reshape(-1, a.shape[-1]) @ W.T).reshape(a.shape[:-1] + (len(W),))

    # only the time steps the last output reads are computed (both networks on one grid, as they swap):
    # times[l] at layer l, h[k] of shape (B, len(times[l]), r_l)
    N, L = x.shape[1], len(nets[0]["dilations"])
    times = [[N - 1]]
    for layer in range(L, 0, -1):
        reads = {t - p["dilations"][layer - 1] for p in nets for t in times[0]}
        times.insert(0, sorted({u for u in reads.union(times[0]) if u >= 0}))
    h = [x[:, times[0]] for _ in nets]
    for layer in range(1, L + 1):
        column = {t: j for j, t in enumerate(times[layer - 1])}
        now = [column[t] for t in times[layer]]
        new = []
        for p, hk in zip(nets, h):
            earlier = [column.get(t - p["dilations"][layer - 1], -1) for t in times[layer]]  # -1: before the start
            padded = np.concatenate([hk, np.zeros_like(hk[:, :1])], axis=1)  # h[t] = 0 for t < 0
            new.append(reduce_(lin(padded[:, earlier], p["U"][layer - 1]) * lin(hk[:, now], p["V"][layer - 1])))
        h = new
        s = swap.get(layer, 0)
        if s:
            h = [np.concatenate([h[1 - k][..., :s], h[k][..., s:]], axis=-1) for k in range(2)]
    return reduce_(sum(hk[:, -1, :] if p["W"] is None else lin(hk[:, -1, :], p["W"]) for p, hk in zip(nets, h)))


def rank_mod_p(matrix, prime):
    """Rank over GF(prime) of an integer-valued matrix, by Gaussian elimination (prime < 2^31).

    Examples
    --------
    >>> import numpy as np
    >>> rank_mod_p(np.array([[1, 2], [2, 4]]), 7), rank_mod_p(np.array([[1, 2], [3, 4]]), 2)
    (1, 1)
    """
    if not 2 <= prime < 2 ** 31:
        raise BuildError(f"prime={prime!r} must be below 2^31 (products of residues stay in int64)")
    a = np.mod(np.rint(np.asarray(matrix)).astype(np.int64), prime)
    rank, (rows, cols) = 0, a.shape
    for c in range(cols):
        nonzero = np.nonzero(a[rank:, c])[0]
        if not len(nonzero):
            continue
        pivot = rank + nonzero[0]
        a[[rank, pivot]] = a[[pivot, rank]]
        a[rank] = a[rank] * pow(int(a[rank, c]), prime - 2, prime) % prime
        others = np.nonzero(a[:, c])[0]
        others = others[others != rank]
        a[others] = (a[others] - a[others, c][:, None] * a[rank]) % prime
        rank += 1
        if rank == rows:
            break
    return rank
