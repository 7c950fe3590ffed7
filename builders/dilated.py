"""Dilated ConvNets (theory §6) compiled through the mode tree their dilation schedule induces."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral

import numpy as np

from tn import NetworkSum
from tn.errors import BuildError, TreeError, WidthError

from .compiler import TreeSpec, compile_tree, default_names, fill_params, get_params
from .convacs import check_size, resolve_widths
from .init import DEFAULT_INIT
from .modetree import ModeTree


def default_dilations(N):
    """1, 2, 4, ..., N/2 (N a power of 2)."""
    if isinstance(N, bool) or not isinstance(N, int) or N < 2 or N & (N - 1):
        raise TreeError(f"dilated ConvNet: N={N!r} must be a power of 2 (>= 2) for the default dilations")
    return tuple(1 << k for k in range(N.bit_length() - 1))


HEADS = ("convac", None)


def check_head(head):
    if head not in HEADS:
        raise BuildError(f"head={head!r} must be 'convac' (output W h^L[N-1]) or None (the paper's baseline: the "
                         "last layer's product is the output)")
    return head


def dilated_spec(N, M, widths, dilations=None, classes=1, prefix=(), head="convac") -> TreeSpec:
    """The tree spec of a dilated ConvNet: U^l on every earlier-child edge into level l, V^l on every later one.

    ``head=None``: no W at the root; the last layer has ``classes`` channels and ``widths`` gives
    the L - 1 layers below it (one int, or L - 1 entries).
    """
    dilations = default_dilations(N) if dilations is None else tuple(dilations)
    tree = ModeTree.from_dilations(N, dilations)
    if isinstance(widths, Mapping):
        raise WidthError("a dilated ConvNet shares weights across time: widths must be one int or one per layer, "
                         f"got a dict {widths!r}")
    classes = check_size(classes, "classes")
    if check_head(head) is None:
        try:
            hidden = [widths] * (tree.depth - 1) if isinstance(widths, Integral) else list(widths)
        except TypeError:
            raise WidthError(f"widths={widths!r} must be an int or a sequence (one per layer)") from None
        if len(hidden) != tree.depth - 1:
            raise WidthError(f"widths={widths!r}: with head=None the last of the {tree.depth} layers has the "
                             f"{classes} class channels, so give {tree.depth - 1} widths (or one int)")
        widths = hidden + [classes]
    keys = {}
    for v in tree.nodes:
        parent = tree.parent(v)
        if parent is not None:
            keys[v] = prefix + ("UV"[tree.slot(v)], tree.level(parent))
        elif head is not None:
            keys[v] = prefix + ("W",)
    return TreeSpec(tree, check_size(M, "M"), classes, resolve_widths(tree, widths), keys,
                    default_names(tree, prefix), head=head is not None)


def tree_params(params, prefix=()) -> dict:
    """Time-domain parameters (see :func:`builders.reference_forward`) -> tree keys, (n_in, n_out) arrays.

    ``params["W"]`` may be None (or absent): the headless network.
    """
    try:
        W = params.get("W")
        out = {} if W is None else {prefix + ("W",): np.asarray(W).T}
        for kind in "UV":
            out.update({prefix + (kind, l): np.asarray(m).T for l, m in enumerate(params[kind], 1)})
    except (KeyError, TypeError, AttributeError) as err:
        raise BuildError(f"dilated params need 'U' and 'V' (lists of (r_l, r_(l-1)) arrays) and 'W' (an array, or "
                         f"None without a head): {err!r}") from None
    return out


def dilated_convnet(N, M, widths, dilations=None, classes=1, *, head="convac", seed=0, init=DEFAULT_INIT,
                    dtype=np.float64, params=None):
    """A dilated ConvNet with size-2 filters and multiplicative combination, as a tree tensor network.

    ``h^l[t] = (U^l h^{l-1}[t - d_l]) * (V^l h^{l-1}[t])``, output ``W h^L[N-1]`` (theory §6), or
    with ``head=None`` the paper's baseline network: the output is ``h^L[N-1]`` itself. The
    network is the ConvAC of ``ModeTree.from_dilations(N, dilations)`` in which every level-l node
    reuses U^l (edge from its earlier child) and V^l (later child): its tensors are named after
    tree nodes like every builder, and tensors of one layer hold the same (transposed) arrays.

    Parameters
    ----------
    N : int
        Sequence length.
    M : int
        Features per time step.
    widths : int or sequence
        Channels r_1..r_L of the layers (one int for all); with ``head=None``, r_1..r_{L-1}
        (the last layer has ``classes`` channels).
    dilations : sequence of int, optional
        Default 1, 2, 4, ..., N/2; any permutation of these gives another mode tree.
    classes : int
        Rows of W (size of the class leg ``"y"``).
    head : "convac" or None
        ``"convac"``: a dense W (classes, r_L) after the last layer. None: no W; the root's
        product pooling is the class leg itself, so each class's coefficient tensor is one outer
        product across the root's two children (rank 1 across that split).
    seed, init, dtype
        Random weights (:mod:`builders.init`).
    params : dict, optional
        Time-domain weights ``{"U": [...], "V": [...], "W": ...}`` to use instead of random ones.

    Returns
    -------
    tn.TensorNetwork
        Read its weights back with :func:`dilated_params`, run the time-domain reference with
        :func:`builders.reference_forward`.

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.dilated_convnet(8, M=2, widths=[2, 3, 2], dilations=(4, 2, 1))
    >>> builders.tree_of(net) == builders.ModeTree.interleaved(8)
    True
    >>> p = builders.dilated_params(net)
    >>> p["dilations"], [u.shape for u in p["U"]], p["W"].shape
    ((4, 2, 1), [(2, 2), (3, 2), (2, 3)], (1, 2))
    >>> base = builders.dilated_convnet(8, M=2, widths=3, classes=2, head=None)
    >>> [u.shape for u in builders.dilated_params(base)["U"]], builders.dilated_params(base)["W"]
    ([(3, 2), (3, 3), (2, 3)], None)
    """
    dilations = default_dilations(N) if dilations is None else tuple(dilations)
    spec = dilated_spec(N, M, widths, dilations, classes, head=head)
    fill_params(spec, init, seed, dtype, None if params is None else tree_params(params))
    meta = {"builder": "dilated_convnet", "dilations": list(dilations), "head": head,
            "init": init if params is None else "given", "seed": seed, "dtype": np.dtype(dtype).name}
    return compile_tree(spec, meta)


def _time_params(params, dilations, prefix=()):
    L = len(dilations)
    W = params.get(prefix + ("W",))
    return {"dilations": tuple(dilations), "W": None if W is None else W.T,
            "U": [params[prefix + ("U", l)].T for l in range(1, L + 1)],
            "V": [params[prefix + ("V", l)].T for l in range(1, L + 1)]}


def dilated_params(net) -> dict:
    """Time-domain weights of a :func:`dilated_convnet` (or :func:`builders.mixed_dilated`) network.

    Returns ``{"dilations", "U", "V", "W"}`` (U^l, V^l of shape (r_l, r_{l-1}), W (classes, r_L),
    or None without a head); for a mixed network ``{"a": ..., "b": ..., "mixture_levels": (...),
    "swap": (...)}`` (``swap[k]`` channels exchanged after layer ``mixture_levels[k]``). The
    arrays are views of the network's tensors. Input of :func:`builders.reference_forward`.
    """
    params = get_params(net)
    if isinstance(net, NetworkSum):
        meta = net.metadata
        if meta.get("builder") != "mixed_dilated":
            raise BuildError(f"dilated_params needs a mixed_dilated sum, got builder {meta.get('builder')!r}")
        return {"a": _time_params(params, meta["dilations_a"], ("a",)),
                "b": _time_params(params, meta["dilations_b"], ("b",)),
                "mixture_levels": tuple(meta["mixture_levels"]), "swap": tuple(meta["swap_per_level"])}
    if net.metadata.get("builder") != "dilated_convnet":
        raise BuildError(f"dilated_params needs a dilated_convnet network, got builder {net.metadata.get('builder')!r}")
    return _time_params(params, net.metadata["dilations"])
