"""Matrix and tensor chains: deep linear networks and tensor trains (theory §5, §7).

A depth-N linear network x -> W_N ... W_1 x is the chain network of its factors, with open legs
``"in"`` (dimension d_0) and ``"out"`` (d_N); the min-cut between them is the smallest width, the
largest rank the end-to-end matrix can have. A tensor train (matrix product state) is the
coefficient tensor of a recurrent arithmetic net: one core per input position, bonds between
consecutive positions and a class leg ``"y"`` on the last core.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from tn import TensorNetwork
from tn.errors import BuildError, WidthError

from .init import check_allocation, rng_for

INITS = ("balanced", "gaussian", "identity", "orthogonal")


def _positive_int(value, what):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise WidthError(f"{what}={value!r} must be a positive int")
    return int(value)


def _dims(dims, min_len, what):
    try:
        dims = list(dims)
    except TypeError:
        raise WidthError(f"{what} must be a sequence of positive ints, got {type(dims).__name__}") from None
    if len(dims) < min_len:
        raise WidthError(f"{what}={dims!r} needs at least {min_len} entries")
    return [_positive_int(d, f"{what}[{k}]") for k, d in enumerate(dims)]


def _chain_path(n):
    """Natural path of a chain of ``n`` tensors in insertion order: sweep from the first to the last."""
    if n == 1:
        return [(0,)]
    return [(0, 1)] + [(0, n - 2 - s) for s in range(n - 2)]


def _scale(scale, default):
    if scale is None:
        return default
    if isinstance(scale, bool) or not isinstance(scale, Real) or not np.isfinite(scale) or scale <= 0:
        raise BuildError(f"scale={scale!r} must be a positive finite number")
    return float(scale)


def _orthonormal_columns(rng, rows, cols):
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def _haar(rng, rows, cols):
    """A Haar-random (rows, cols) matrix with orthonormal columns, or orthonormal rows when wide."""
    return _orthonormal_columns(rng, rows, cols) if rows >= cols else _orthonormal_columns(rng, cols, rows).T


def balanced_factors(target, dims, seed=0):
    """Factors W_1..W_N (W_j of shape (d_j, d_{j-1})) of ``target`` that are exactly balanced.

    With the SVD target = U S V^T truncated to r = min(dims) and random matrices O_j
    (d_j x r) with orthonormal columns (O_0 = V, O_N = U), W_j = O_j S^{1/N} O_{j-1}^T, so
    W_N ... W_1 = target (if its rank is at most r) and W_{j+1}^T W_{j+1} = O_j S^{2/N} O_j^T = W_j W_j^T
    (Arora, Cohen, Golowich, Hu 2019).

    Parameters
    ----------
    target : ndarray (d_N, d_0)
    dims : sequence of int
        (d_0, d_1, ..., d_N).
    seed : int or numpy Generator
        Draws the frames O_1..O_{N-1}.

    Returns
    -------
    list of ndarray
        [W_1, ..., W_N].

    Examples
    --------
    >>> import numpy as np
    >>> T = np.arange(6.0).reshape(2, 3)
    >>> W1, W2, W3 = balanced_factors(T, (3, 4, 2, 2))
    >>> np.allclose(W3 @ W2 @ W1, T), np.allclose(W2.T @ W2, W1 @ W1.T)
    (True, True)
    """
    dims = _dims(dims, 2, "dims")
    target = np.asarray(target, dtype=float)
    if target.shape != (dims[-1], dims[0]):
        raise WidthError(f"target has shape {target.shape}, dims {dims} need ({dims[-1]}, {dims[0]})")
    n, r = len(dims) - 1, min(dims)
    u, s, vt = np.linalg.svd(target, full_matrices=False)
    root = np.diag(s[:r] ** (1.0 / n))
    rng = rng_for(seed)
    frames = [vt[:r].T] + [_orthonormal_columns(rng, d, r) for d in dims[1:-1]] + [u[:, :r]]
    return [frames[j] @ root @ frames[j - 1].T for j in range(1, n + 1)]


def deep_linear(dims, init="balanced", scale=None, seed=0, dtype=np.float64):
    """The depth-N linear network W_N ... W_1 as a chain tensor network.

    Parameters
    ----------
    dims : sequence of int
        (d_0, d_1, ..., d_N), N >= 1: input dimension, hidden widths, output dimension.
    init : {"balanced", "gaussian", "identity", "orthogonal"}
        ``"balanced"``: exactly balanced factors (:func:`balanced_factors`) of a random end-to-end
        matrix with i.i.d. N(0, scale^2) entries (default scale 1/sqrt(d_0)). ``"gaussian"``:
        independent factors with i.i.d. N(0, scale^2) entries (default scale 1/sqrt(d_{j-1}),
        variance preserving). ``"identity"``: W_j = scale * I (rectangular identity; default
        scale 1), balanced whenever all widths are equal. ``"orthogonal"``: W_j = scale * a Haar-random
        matrix with orthonormal columns (or rows, when wide), from a sign-corrected QR of a Gaussian
        matrix (default scale 1): with equal widths every factor and the end-to-end matrix are exact
        isometries (all singular values 1) at any depth (Xiao et al. 2018, dynamical isometry).
    scale : float, optional
        See ``init``; e.g. a small value for the small-initialization regime.
    seed : int
    dtype : numpy dtype

    Returns
    -------
    TensorNetwork
        Tensors ``("W", j)`` for j = 1..N with indices (``("d", j)``, ``("d", j-1)``), the first
        input index being ``"in"`` and the last output index ``"out"``; output ``("out", "in")``
        (so ``to_dense()`` is the end-to-end matrix), input leg ``"in"`` for ``evaluate``, the
        chain's natural path, and ``metadata`` with builder, dims, init and scale.

    Raises
    ------
    WidthError
        ``dims`` not a sequence of at least two positive ints.
    BuildError
        Unknown ``init`` or a bad ``scale``.

    Examples
    --------
    >>> import numpy as np
    >>> net = deep_linear((4, 3, 3, 2), init="balanced", seed=1)
    >>> net.output, net.shape(("W", 1)), net.shape(("W", 3))
    (('out', 'in'), (3, 4), (2, 3))
    >>> W = [net.data(("W", j)) for j in (1, 2, 3)]
    >>> np.allclose(net.to_dense(), W[2] @ W[1] @ W[0])
    True
    >>> np.allclose(W[1].T @ W[1], W[0] @ W[0].T)
    True
    >>> iso = deep_linear((8,) * 101, init="orthogonal", seed=0)          # depth 100, an exact isometry
    >>> np.allclose(np.linalg.svd(iso.to_dense(), compute_uv=False), 1.0)
    True
    """
    dims = _dims(dims, 2, "dims")
    if init not in INITS:
        raise BuildError(f"init={init!r} is not one of {INITS}")
    n = len(dims) - 1
    check_allocation([(dims[j], dims[j - 1]) for j in range(1, n + 1)], dtype, "building the network")
    rng = rng_for(seed)
    if init == "balanced":
        s = _scale(scale, 1.0 / np.sqrt(dims[0]))
        factors = balanced_factors(s * rng.standard_normal((dims[-1], dims[0])), dims, seed=rng)
    elif init == "gaussian":
        factors = [_scale(scale, 1.0 / np.sqrt(dims[j - 1])) * rng.standard_normal((dims[j], dims[j - 1]))
                   for j in range(1, n + 1)]
    elif init == "orthogonal":
        s = _scale(scale, 1.0)
        factors = [s * _haar(rng, dims[j], dims[j - 1]) for j in range(1, n + 1)]
    else:
        s = _scale(scale, 1.0)
        factors = [s * np.eye(dims[j], dims[j - 1]) for j in range(1, n + 1)]

    def label(j):
        return "in" if j == 0 else "out" if j == n else ("d", j)

    net = TensorNetwork(name=f"deep_linear{tuple(dims)}")
    for j, w in enumerate(factors, 1):
        net.add_tensor(("W", j), w.astype(dtype), (label(j), label(j - 1)))
    net.set_output(("out", "in"))
    net.set_input_legs(("in",))
    net.set_natural_path(_chain_path(n))
    net.metadata.update(builder="deep_linear", dims=dims, init=init, scale=scale, seed=seed)
    return net


def tensor_train(N, M, widths, classes=1, scale=1.0, seed=0, dtype=np.float64):
    """A tensor train (MPS): the coefficient tensor of a recurrent arithmetic net over N positions.

    Core t (t = 0..N-1) carries the input leg ``t`` (dimension M), the bond ``("b", t-1)`` to its
    left neighbour and ``("b", t)`` to its right one (widths r_0..r_{N-2}); the last core carries
    the class leg ``"y"`` instead of a right bond. A recurrent arithmetic net
    h_t = (W^hh h_{t-1}) * (W^hI f(x_t)) is the case of equal cores.

    Parameters
    ----------
    N : int
        Number of input positions (>= 1).
    M : int
        Dimension of each input leg.
    widths : int or sequence of int
        One bond dimension for all bonds, or N-1 of them.
    classes : int
        Dimension of the class leg ``"y"``.
    scale : float
        Entries of core t are N(0, scale^2 / (M * r_{t-1})) (r_{-1} = 1), so that contracting with
        unit features keeps values of order ``scale``.
    seed : int
    dtype : numpy dtype

    Returns
    -------
    TensorNetwork
        Tensors ``("G", t)``, output ``(0, ..., N-1, "y")``, input legs ``0..N-1``, the left-to-right
        natural path, and ``metadata`` (builder, N, M, widths, classes).

    Examples
    --------
    >>> import numpy as np
    >>> net = tensor_train(4, 2, 3, classes=2)
    >>> net.output, net.shape(("G", 0)), net.shape(("G", 3))
    ((0, 1, 2, 3, 'y'), (2, 3), (3, 2, 2))
    >>> X = np.random.default_rng(0).standard_normal((4, 5, 2))     # 4 positions, batch 5, M = 2
    >>> net.evaluate(X).shape
    (5, 2)
    """
    N, M = _positive_int(N, "N"), _positive_int(M, "M")
    classes = _positive_int(classes, "classes")
    if isinstance(widths, Integral) and not isinstance(widths, bool):
        widths = [widths] * (N - 1)
    widths = _dims(widths, 0, "widths")
    if len(widths) != N - 1:
        raise WidthError(f"widths={widths!r}: a train over N={N} positions has {N - 1} bonds")
    scale = _scale(scale, 1.0)
    check_allocation([(widths[t - 1] if t else 1, M, widths[t] if t < N - 1 else classes) for t in range(N)], dtype,
                     "building the network")
    rng = rng_for(seed)
    net = TensorNetwork(name=f"tensor_train(N={N}, M={M})")
    for t in range(N):
        left = [("b", t - 1)] if t > 0 else []
        right = [("b", t)] if t < N - 1 else ["y"]
        shape = tuple([widths[t - 1]] if t > 0 else []) + (M, widths[t] if t < N - 1 else classes)
        std = scale / np.sqrt(M * (widths[t - 1] if t > 0 else 1))
        net.add_tensor(("G", t), (std * rng.standard_normal(shape)).astype(dtype), (*left, t, *right))
    net.set_output((*range(N), "y"))
    net.set_input_legs(tuple(range(N)))
    net.set_natural_path(_chain_path(N))
    net.metadata.update(builder="tensor_train", N=N, M=M, widths=widths, classes=classes, seed=seed)
    return net


__all__ = ["INITS", "balanced_factors", "deep_linear", "tensor_train"]
