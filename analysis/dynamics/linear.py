"""Deep linear networks: the end-to-end update rule, fractional powers and singular-value dynamics (theory §7)."""

from __future__ import annotations

import numpy as np

from tn.errors import DynamicsError

from .descent import _check_positive, _Recorder
from .losses import Loss


# ------------------------------------------------------------------------------ end-to-end dynamics
def fractional_power(S, alpha):
    """S^alpha for a symmetric positive semi-definite S, by eigendecomposition.

    Eigenvalues below zero (rounding) are clipped to 0; ``alpha = 0`` gives the identity.

    Examples
    --------
    >>> import numpy as np
    >>> np.allclose(fractional_power(np.diag([4.0, 9.0]), 0.5), np.diag([2.0, 3.0]))
    True
    """
    lam, U = np.linalg.eigh(S)
    return (U * np.power(np.clip(lam, 0.0, None), alpha)) @ U.T


def _gram_eigs(W):
    lam, U = np.linalg.eigh(W @ W.T)
    mu, V = np.linalg.eigh(W.T @ W)
    return np.clip(lam, 0.0, None), U, np.clip(mu, 0.0, None), V


def end_to_end_direction(W, G, depth):
    """sum_{j=1..N} [W W^T]^{(j-1)/N} G [W^T W]^{(N-j)/N}: the preconditioned gradient of depth N.

    Computed from one eigendecomposition of each Gram matrix: with W W^T = U diag(l) U^T and
    W^T W = V diag(m) V^T, the sum is U [(U^T G V) * K] V^T with K_pq = sum_j l_p^{(j-1)/N} m_q^{(N-j)/N}.

    Examples
    --------
    >>> import numpy as np
    >>> W, G = np.diag([4.0, 1.0]), np.ones((2, 2))
    >>> np.allclose(end_to_end_direction(W, G, 1), G)
    True
    >>> np.allclose(end_to_end_direction(W, G, 2), np.diag([4.0, 1.0]) @ G + G @ np.diag([4.0, 1.0]))
    True
    """
    W, G = np.asarray(W, dtype=float), np.asarray(G, dtype=float)
    if W.ndim != 2 or G.shape != W.shape:
        raise DynamicsError(f"the gradient has shape {G.shape} but the end-to-end matrix has shape {W.shape}")
    depth = _check_positive(depth, "depth", integer=True)
    lam, U, mu, V = _gram_eigs(W)
    j = np.arange(1, depth + 1)[:, None, None]
    K = np.sum(np.power(lam[None, :, None], (j - 1) / depth) * np.power(mu[None, None, :], (depth - j) / depth),
               axis=0)
    return U @ ((U.T @ G @ V) * K) @ V.T


def end_to_end_descent(W0, loss, lr, steps, depth, record_every=10, tol=None, diverge_factor=1e6,
                       progress=False):
    """The end-to-end update rule of a depth-``depth`` balanced linear network, applied to W_e.

    Parameters
    ----------
    W0 : ndarray
        Initial end-to-end matrix.
    loss : Loss or callable
        ``loss(W) -> (value, grad L(W))``.
    lr, steps, record_every, tol, diverge_factor, progress
        As for :func:`gradient_descent`.
    depth : int
        N; ``depth=1`` is plain gradient descent on W_e.

    Returns
    -------
    W : ndarray
        The final end-to-end matrix.
    history : History
        Loss and singular values (no balancedness: there are no factors).

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.dynamics import squared_loss
    >>> W, h = end_to_end_descent(0.1 * np.eye(2), squared_loss(np.eye(2)), lr=0.5, steps=300, depth=3)
    >>> np.allclose(W, np.eye(2), atol=1e-4)
    True
    """
    W = np.array(W0, dtype=float)
    if W.ndim != 2:
        raise DynamicsError(f"the end-to-end matrix must be 2-D, got shape {W.shape}")
    if isinstance(loss, Loss) and loss.shape != W.shape:
        raise DynamicsError(f"{loss.name} expects shape {loss.shape} but W0 has shape {W.shape}")
    _check_positive(lr, "lr")
    _check_positive(depth, "depth", integer=True)
    _check_positive(record_every, "record_every", integer=True)
    rec = _Recorder(record_every, steps, lr, diverge_factor, progress, f"end-to-end (N={depth})")
    for k in range(steps + 1):
        value, G = loss(W)
        value = rec.check(k, value, [G])
        if rec.due(k, value, tol):
            rec.record(k, value, W, None)
        if k == steps or (tol is not None and value <= tol):
            break
        W = W - lr * end_to_end_direction(W, G, depth)
        rec.tick()
    rec.close()
    return W, rec.history


def singular_value_velocity(W, G, depth):
    """The theory's d sigma_r/dt = -N (sigma_r^2)^{1 - 1/N} <G, u_r v_r^T> for every singular value of W.

    Returns the velocities in the order of ``np.linalg.svd(W)`` (descending singular values).

    Examples
    --------
    >>> import numpy as np
    >>> singular_value_velocity(np.diag([4.0, 1.0]), -np.eye(2), 2).tolist()
    [8.0, 2.0]
    """
    W, G = np.asarray(W, dtype=float), np.asarray(G, dtype=float)
    if G.shape != W.shape:
        raise DynamicsError(f"the gradient has shape {G.shape} but W has shape {W.shape}")
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    return -depth * (s**2) ** (1.0 - 1.0 / depth) * np.einsum("ir,ij,rj->r", u, G, vt)


__all__ = ["fractional_power", "end_to_end_direction", "end_to_end_descent", "singular_value_velocity"]
