"""Losses of a network's contracted output for the descent routines (theory §7)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from tn.errors import DynamicsError


# ----------------------------------------------------------------------------------------- losses
class Loss:
    """A loss of the contracted output: ``loss(out) -> (value, dvalue/dout)``.

    Parameters
    ----------
    fn : callable
        ``fn(out) -> (value, gradient)``.
    shape : tuple
        The output shape the loss expects (checked before a descent starts).
    name : str
    """

    def __init__(self, fn, shape, name):
        self.fn, self.shape, self.name = fn, tuple(shape), name

    def __call__(self, out):
        out = np.asarray(out)
        if out.shape != self.shape:
            raise DynamicsError(f"{self.name} expects an output of shape {self.shape}, got {out.shape}")
        return self.fn(out)

    def __repr__(self):
        return f"Loss({self.name}, shape={self.shape})"


def squared_loss(target, mask=None) -> Loss:
    """Half the mean squared error over the observed entries: 0.5 * mean_{mask} (out - target)^2.

    Parameters
    ----------
    target : ndarray
    mask : boolean ndarray of ``target``'s shape, optional
        Observed entries (matrix completion); default all.

    Examples
    --------
    >>> import numpy as np
    >>> loss = squared_loss(np.zeros((2, 2)), mask=np.eye(2, dtype=bool))
    >>> value, grad = loss(np.ones((2, 2)))
    >>> float(value), grad.tolist()
    (0.5, [[0.5, 0.0], [0.0, 0.5]])
    """
    target = np.asarray(target, dtype=float)
    mask = np.ones(target.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != target.shape:
        raise DynamicsError(f"mask has shape {mask.shape} but the target has shape {target.shape}")
    count = int(mask.sum())
    if count == 0:
        raise DynamicsError("the mask observes no entry")
    if not np.all(np.isfinite(target[mask])):
        raise DynamicsError("the target has non-finite observed entries")
    weight = mask / count

    def fn(out):
        residual = (out - target) * weight
        return 0.5 * float(np.sum(residual * (out - target))), residual

    return Loss(fn, target.shape, "squared loss" if mask.all() else f"squared loss on {count} observed entries")


def lp_regression_loss(X, y, p=4) -> Loss:
    """Mean l_p regression loss of a linear model W_e (shape (k, d)): (1/m) sum_i ||W_e x_i - y_i||_p^p.

    Parameters
    ----------
    X : ndarray (m, d)
        Samples in rows.
    y : ndarray (m,) or (m, k)
    p : float >= 1

    Examples
    --------
    >>> import numpy as np
    >>> loss = lp_regression_loss(np.eye(2), np.array([1.0, -1.0]), p=4)
    >>> value, grad = loss(np.zeros((1, 2)))      # residuals -1, 1
    >>> float(value), grad.tolist()
    (1.0, [[-2.0, 2.0]])
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise DynamicsError(f"X must be a (samples, features) matrix, got shape {X.shape}")
    Y = y.reshape(-1, 1) if y.ndim == 1 else y
    if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise DynamicsError(f"y has shape {y.shape} but X has {X.shape[0]} samples")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise DynamicsError("X or y holds non-finite values")
    if isinstance(p, bool) or not isinstance(p, Real) or not p >= 1:
        raise DynamicsError(f"p={p!r} must be a number >= 1")
    m = X.shape[0]

    def fn(out):
        r = X @ out.T - Y
        a = np.abs(r)
        return float(np.sum(a**p) / m), (p / m) * (np.sign(r) * a ** (p - 1)).T @ X

    return Loss(fn, (Y.shape[1], X.shape[1]), f"l_{p:g} regression loss")


__all__ = ["Loss", "squared_loss", "lp_regression_loss"]
