"""Generalized tensor decompositions: rectifier networks as ConvACs with another product (theory §11).

For an associative, commutative g, the generalized product of the children's channels replaces the
product pooling of a ConvAC (Cohen & Shashua, ICML 2016). The registered operators (:data:`G_OPERATORS`,
a :class:`tn.registry.Registry`; add your own with ``G_OPERATORS.register(name, fold)``, ``fold`` taking
the list of the children's activations):

- ``"product"``: g(a, b) = a b: linear activation and product pooling, the ConvAC itself;
- ``"relu-max"``: g(a, b) = max(a, b, 0): ReLU activation and max pooling;
- ``"relu-sum"``: g(a, b) = max(a, 0) + max(b, 0): ReLU activation and average (sum) pooling.

The network's graph is the ConvAC graph of the same tree and widths (its min-cut is the multilinear
bound), but only for g = product is its contraction the network's function: the others are evaluated by
:func:`forward` (and their grid tensors by :func:`analysis.grid_tensor`). With integer weights and
templates every operation is exact (Python integers).
"""

from __future__ import annotations

import numpy as np

from tn.errors import BuildError
from tn.registry import Registry

from .convacs import convac
from .reference import unpack

G_OPERATORS = Registry("generalized product g")


@G_OPERATORS.register("product")
def _product(values):
    out = values[0]
    for v in values[1:]:
        out = out * v
    return out


@G_OPERATORS.register("relu-max")
def _relu_max(values):
    out = np.maximum(values[0], 0)
    for v in values[1:]:
        out = np.maximum(out, v)
    return out


@G_OPERATORS.register("relu-sum")
def _relu_sum(values):
    out = np.maximum(values[0], 0)
    for v in values[1:]:
        out = out + np.maximum(v, 0)
    return out


def _templates(M, templates):
    if templates is None:
        return np.eye(M, dtype=np.int64)
    F = np.asarray(templates)
    if F.shape != (M, M) or F.dtype.kind not in "iuf" or not np.all(np.isfinite(F)):
        raise BuildError(f"templates must be a finite real (M, M) = ({M}, {M}) matrix (row d = the features "
                         f"f_1..f_M of template point d), got shape {F.shape} and dtype {F.dtype}")
    return F


def generalized(tree, M, widths, g="product", classes=1, *, templates=None, seed=0, init="gaussian",
                dtype=np.float64, params=None):
    """A ConvAC-shaped network whose pooling is the generalized product ``g`` (theory §11).

    Parameters
    ----------
    tree, M, widths, classes, seed, init, dtype, params
        As for :func:`builders.convac` (``init="integer"`` for exact grid tensors).
    g : str
        A name in :data:`G_OPERATORS`: ``"product"``, ``"relu-max"`` or ``"relu-sum"``.
    templates : (M, M) array, optional
        The representation matrix F = [f_d(x^(i))]: row i holds the M features of template point i; the
        grid tensor is the network on all M^N combinations of template points. Default the identity (for
        g = product the grid tensor is then the coefficient tensor).

    Returns
    -------
    tn.TensorNetwork
        The ConvAC graph with these weights; ``metadata`` has ``builder="generalized"``, ``g`` and
        ``templates``.

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.generalized(builders.ModeTree.flat(3), M=2, widths=2, g="relu-max", init="integer")
    >>> x = np.array([[[1, 0], [0, 1], [1, 1]]])          # one input: (batch, position, feature)
    >>> a = {i: net.data(("leaf", i)) for i in range(3)}
    >>> pooled = np.maximum.reduce([np.zeros(2, int)] + [x[0, i] @ a[i] for i in range(3)])
    >>> bool(np.all(builders.generalized_forward(net, x)[0] == pooled @ net.data(("node", (0, 1, 2)))))
    True
    """
    G_OPERATORS.get(g)  # unknown names: UnknownNameError listing the valid ones
    F = _templates(M, templates)
    net = convac(tree, M, widths, classes, seed=seed, init=init, dtype=dtype, params=params)
    net.metadata.update(builder="generalized", g=G_OPERATORS.canonical(g), templates=F.tolist())
    return net


def generalized_forward(net, x):
    """Forward pass of a :func:`generalized` network: x (B, N, M) features -> scores (B, classes).

    Leaf i computes ``x[:, i] @ a^i``; an internal node folds its children's outputs with g, then applies
    its 1x1 conv. Integer arrays stay exact (object dtype of Python integers, no overflow).

    Examples
    --------
    >>> import numpy as np, builders
    >>> net = builders.generalized(builders.ModeTree.balanced(4), M=2, widths=2)      # g = product
    >>> x = np.random.default_rng(0).random((3, 4, 2))
    >>> np.allclose(builders.generalized_forward(net, x), net.evaluate(list(x.transpose(1, 0, 2))))
    True
    """
    if "g" not in net.metadata:
        raise BuildError(f"{net!r} was not made by builders.generalized (its metadata has no 'g')")
    fold = G_OPERATORS.get(net.metadata["g"])
    (tree, weights), = unpack(net)[0]
    x = np.asarray(x)
    exact = _is_integral(x) and all(_is_integral(w) for w in weights.values())
    if exact:
        x = _python_ints(x)
        weights = {v: _python_ints(w) for v, w in weights.items()}
    if x.ndim != 3 or x.shape[1:] != (tree.N, weights[(0,)].shape[0]):
        raise BuildError(f"x must have shape (batch, N={tree.N}, M={weights[(0,)].shape[0]}), got {x.shape}")
    out = {}
    for v in tree.nodes:
        kids = tree.children(v)
        pooled = fold([out.pop(c) for c in kids]) if kids else x[:, v[0], :]
        out[v] = pooled @ weights[v]
    return out[tree.root]


def templates_of(net):
    """The (M, M) template matrix a :func:`generalized` network was built with."""
    return np.asarray(net.metadata["templates"])


def _python_ints(a):
    return np.rint(a).astype(np.int64).astype(object) if a.dtype.kind == "f" else a.astype(object)


def _is_integral(a):
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return True
    return a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.rint(a)))


__all__ = ["G_OPERATORS", "generalized", "generalized_forward", "templates_of"]
