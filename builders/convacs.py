"""Convolutional arithmetic circuits (ConvACs) over any mode tree (theory §2)."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral

import numpy as np

from tn.errors import BuildError, TreeError, WidthError

from .compiler import TreeSpec, compile_tree, default_names, fill_params
from .init import DEFAULT_INIT
from .modetree import ModeTree, as_node

SHARES = (None, "level", "level_slot")
POOLINGS = {"contiguous": ModeTree.balanced, "interleaved": ModeTree.interleaved, "mirror": ModeTree.mirror}


def _is_int(x):
    return isinstance(x, Integral) and not isinstance(x, bool)


def check_size(value, what, error=BuildError):
    """A positive int, or ``error`` naming the value."""
    if not _is_int(value) or value < 1:
        raise error(f"{what}={value!r} must be a positive int")
    return int(value)


def resolve_widths(tree, widths) -> dict:
    """Per-node hyperedge sizes from one int, one int per level (entry k for level k+1), or a dict per node.

    Examples
    --------
    >>> resolve_widths(ModeTree.balanced(4), [3, 5])
    {(0, 1): 3, (2, 3): 3, (0, 1, 2, 3): 5}
    """
    if _is_int(widths):
        r = check_size(widths, "widths", WidthError)
        return {v: r for v in tree.internal_nodes}
    if isinstance(widths, Mapping):
        given = {as_node(k): v for k, v in widths.items()}
        missing = [v for v in tree.internal_nodes if v not in given]
        extra = [k for k in given if k not in tree or not tree.children(k)]
        if missing or extra:
            raise WidthError(f"widths dict must name every internal node exactly: missing {missing}, "
                             f"not internal nodes of the tree {extra}")
        return {v: check_size(given[v], f"widths[{v}]", WidthError) for v in tree.internal_nodes}
    try:
        if isinstance(widths, (str, bytes)):
            raise TypeError
        per_level = list(widths)
    except TypeError:
        raise WidthError(f"widths={widths!r} must be an int, a sequence (one per level) or a dict per node") from None
    if len(per_level) != tree.depth:
        raise WidthError(f"widths={per_level!r} has {len(per_level)} entries, the tree has depth {tree.depth} "
                         f"(one width per level 1..{tree.depth})")
    sizes = [check_size(r, f"widths[{k}]", WidthError) for k, r in enumerate(per_level)]
    return {v: sizes[tree.level(v) - 1] for v in tree.internal_nodes}


def share_keys(tree, share, prefix=()) -> dict:
    """Parameter key of every node's outgoing matrix for a weight-sharing pattern.

    ``None``: one matrix per node (key = tensor name); ``"level"``: one per level (key
    ``("level", l)``); ``"level_slot"``: one per level and child slot (``("level", l, slot)``).
    """
    if share not in SHARES:
        raise BuildError(f"share={share!r} is not one of {SHARES!r}")
    if share is None:
        return default_names(tree, prefix)
    keys = {}
    for v in tree.nodes:
        key = ("level", tree.level(v)) + ((tree.slot(v),) if share == "level_slot" else ())
        keys[v] = prefix + key
    return keys


def as_tree(tree) -> ModeTree:
    if isinstance(tree, ModeTree):
        return tree
    if isinstance(tree, (tuple, list)):
        return ModeTree.from_nested(tree)
    raise TreeError(f"tree={tree!r} must be a ModeTree or nested tuples of positions")


def convac_spec(tree, M, widths, classes=1, *, share=None, prefix=()) -> TreeSpec:
    """The :class:`~builders.compiler.TreeSpec` (no weights yet) of a ConvAC; used by convac and mixed."""
    tree = as_tree(tree)
    M = check_size(M, "M")
    classes = check_size(classes, "classes")
    names = default_names(tree, prefix)
    keys = names if share is None else share_keys(tree, share, prefix)  # unshared: each key is its name
    return TreeSpec(tree, M, classes, resolve_widths(tree, widths), keys, names)


def convac(tree=None, M=None, widths=None, classes=1, *, grid=None, window=None, pooling=None, share=None, seed=0,
           init=DEFAULT_INIT, dtype=np.float64, params=None):
    """The ConvAC (tree decomposition) of a mode tree, compiled to a tensor network.

    Representation layer of M functions per position (open leg ``i`` of size M), a 1x1 conv per
    position (``("leaf", i)``), then at every internal node ``v`` product pooling (hyperedge
    ``("h", v)`` of size r_v) and a 1x1 conv ``("node", v)``; the root's conv has the class leg ``"y"``.

    Parameters
    ----------
    tree : ModeTree or nested tuples, optional
        ``ModeTree.flat(N)`` gives the shallow network (CP), ``ModeTree.balanced(N)`` the deep one (HT),
        ``ModeTree.grid(H, W, ...)`` an image geometry. Omit it to build ``ModeTree.grid(*grid, window, pooling)``.
    M : int
        Number of representation functions (size of every input leg).
    widths : int, sequence or dict
        Hyperedge size r_v: one int; one per level (entry k for nodes of level k+1, i.e. the
        channels after the k-th conv); or a dict node -> int naming every internal node.
    classes : int
        Size of the class leg ``"y"`` (always present).
    share : None, "level" or "level_slot"
        Weight sharing: none, one matrix per level, or per level and child slot.
    seed, init, dtype
        Random weights (see :mod:`builders.init`: ``"gaussian"``, ``"orthonormal"``, ``"integer"``).
    grid : (H, W), optional
        The image the positions are the pixels of (row-major, p = row * W + col; theory §9). Recorded in
        ``metadata["grid"]`` (also taken from a tree made by :meth:`ModeTree.grid`), so that grid
        partitions (``"top-bottom"``, ``"checkerboard"``, masks, ...) resolve on the network.
    window, pooling
        With ``grid`` and no ``tree``: the :meth:`ModeTree.grid` window (default (2, 2)) and pooling
        (``"square"``, the default, or ``"mirror"``).
    params : dict, optional
        Parameter key -> (n_in, n_out) array, used instead of random weights (keys as in
        :func:`builders.get_params`).

    Returns
    -------
    tn.TensorNetwork
        Output legs ``(0, ..., N-1, "y")``; ``metadata["builder"] == "convac"``.

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.convac(builders.ModeTree.balanced(4), M=2, widths=[3, 2], classes=2)
    >>> net.output, net.to_dense().shape
    ((0, 1, 2, 3, 'y'), (2, 2, 2, 2, 2))
    >>> x = np.random.default_rng(0).random((5, 4, 2))      # (batch, position, feature)
    >>> tracks, _ = builders.reference.unpack(net)
    >>> np.allclose(net.evaluate(list(x.transpose(1, 0, 2))), builders.reference.tree_forward(tracks, x))
    True
    >>> builders.convac(grid=(4, 4), M=2, widths=2, pooling="mirror").metadata["grid"]
    [4, 4]
    """
    for name, value in (("M", M), ("widths", widths)):
        if value is None:
            raise BuildError(f"convac needs {name}")
    tree, grid = grid_tree(tree, grid, window, pooling)
    spec = convac_spec(tree, M, widths, classes, share=share)
    fill_params(spec, init, seed, dtype, params)
    meta = {"builder": "convac", "share": share, "init": init if params is None else "given", "seed": seed,
            "dtype": np.dtype(dtype).name}
    if grid is not None:
        meta["grid"] = list(grid)
    return compile_tree(spec, meta)


def grid_tree(tree, grid, window=None, pooling=None):
    """``(tree, grid)`` for :func:`convac`: the given tree (its own grid, or ``grid`` declared over it),
    or ``ModeTree.grid(*grid, window, pooling)`` when no tree is given.

    Examples
    --------
    >>> grid_tree(None, (1, 4))
    (ModeTree(((0, 1), (2, 3))), (1, 4))
    """
    if tree is None:
        if grid is None:
            raise BuildError("convac needs a tree (a ModeTree or nested tuples) or grid=(H, W)")
        shape = _grid_shape(grid)
        return ModeTree.grid(*shape, window=(2, 2) if window is None else window,
                             pooling="square" if pooling is None else pooling), shape
    if window is not None or pooling is not None:
        raise BuildError("window= and pooling= build the tree from grid=(H, W); the given tree already fixes the "
                         "pooling (pass one or the other)")
    tree = as_tree(tree)
    if grid is None:
        return tree, tree.grid
    shape = _grid_shape(grid)
    if shape[0] * shape[1] != tree.N:
        raise BuildError(f"grid={shape!r} has {shape[0] * shape[1]} pixels, the tree {tree.N} positions")
    if tree.grid is not None and tree.grid != shape:
        raise BuildError(f"grid={shape!r} differs from the tree's own grid {tree.grid!r}")
    return tree, shape


def _grid_shape(grid) -> tuple:
    if (not isinstance(grid, (tuple, list)) or len(grid) != 2 or not all(_is_int(x) and x >= 1 for x in grid)):
        raise BuildError(f"grid={grid!r} must be a pair (H, W) of positive ints")
    return int(grid[0]), int(grid[1])


def shallow_convac(N, M, Z, classes=1, *, seed=0, init=DEFAULT_INIT, dtype=np.float64):
    """The shallow ConvAC: a flat tree with Z components = the CP decomposition of rank <= Z.

    Examples
    --------
    >>> import numpy as np, builders
    >>> A = builders.shallow_convac(6, M=2, Z=3).to_dense()[..., 0]
    >>> int(np.linalg.matrix_rank(A.reshape(8, 8)))
    3
    """
    net = convac(ModeTree.flat(N), M, check_size(Z, "Z", WidthError), classes, seed=seed, init=init, dtype=dtype)
    net.metadata["builder"] = "shallow_convac"
    return net


def deep_convac(N=None, M=None, widths=None, classes=1, *, pooling="contiguous", arity=2, grid=None, window=None,
                share=None, seed=0, init=DEFAULT_INIT, dtype=np.float64):
    """The deep ConvAC over a regular pooling geometry (contiguous = the HT decomposition).

    ``pooling`` is ``"contiguous"`` (``ModeTree.balanced(N, arity)``), ``"interleaved"``
    (``ModeTree.interleaved(N, arity)``) or ``"mirror"`` (binary only). With ``grid=(H, W)`` the
    positions are an image's pixels (N may be omitted) and the tree is ``ModeTree.grid(H, W, window,
    pooling)``, pooling ``"square"`` (or ``"contiguous"``) or ``"mirror"`` (theory §9). Other
    arguments as :func:`convac`.

    Examples
    --------
    >>> import builders
    >>> builders.tree_of(builders.deep_convac(4, M=2, widths=2, pooling="mirror"))
    ModeTree(((0, 3), (1, 2)))
    >>> net = builders.deep_convac(grid=(8, 8), M=2, widths=[2, 2, 2], pooling="mirror")
    >>> net.metadata["grid"], net.metadata["pooling"], builders.tree_of(net).by_level()[1][1]
    ([8, 8], 'mirror', (1, 6, 57, 62))
    """
    if grid is not None:
        return _deep_grid_convac(N, M, widths, classes, grid, (2, 2) if window is None else window, pooling, arity,
                                 share=share, seed=seed, init=init, dtype=dtype)
    if N is None:
        raise BuildError("deep_convac needs N (or grid=(H, W) for an image)")
    if window is not None:
        raise BuildError(f"window={window!r} is the pooling window of an image: give grid=(H, W) too (a sequence "
                         "pools arity positions: arity=)")
    if pooling not in POOLINGS:
        raise BuildError(f"pooling={pooling!r} is not one of {', '.join(map(repr, POOLINGS))}")
    if pooling == "mirror":
        if arity != 2:
            raise TreeError(f"mirror pooling of a sequence is binary, got arity={arity!r}; for the 2D mirror pooling "
                            "of an image (windows of 4) pass grid=(H, W)")
        tree = ModeTree.mirror(N)
    else:
        tree = POOLINGS[pooling](N, arity)
    net = convac(tree, M, widths, classes, share=share, seed=seed, init=init, dtype=dtype)
    net.metadata.update({"builder": "deep_convac", "pooling": pooling})
    return net


def _deep_grid_convac(N, M, widths, classes, grid, window, pooling, arity, **kwargs):
    shape = _grid_shape(grid)
    if N is not None and N != shape[0] * shape[1]:
        raise BuildError(f"N={N!r} differs from the {shape[0]} x {shape[1]} = {shape[0] * shape[1]} pixels of grid")
    if arity != 2:
        raise BuildError(f"arity={arity!r} does not apply to a grid: its windows are window={window!r}")
    grid_pooling = {"contiguous": "square", "square": "square", "mirror": "mirror"}.get(pooling)
    if grid_pooling is None:
        raise BuildError(f"pooling={pooling!r} on a grid must be 'square' (or 'contiguous') or 'mirror'")
    net = convac(None, M, widths, classes, grid=shape, window=window, pooling=grid_pooling, **kwargs)
    net.metadata.update({"builder": "deep_convac", "pooling": grid_pooling, "window": _json_window(window)})
    return net


def _json_window(window):
    return [list(w) for w in window] if isinstance(window[0], (tuple, list)) else list(window)
