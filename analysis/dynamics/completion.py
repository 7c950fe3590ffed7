"""Matrix completion: effective rank, low-rank ground truths, observation masks and the nuclear-norm baseline."""

from __future__ import annotations

import numpy as np

from tn.errors import DynamicsError


# ------------------------------------------------------------------------- ranks and matrix completion
def effective_rank(x) -> float:
    """Effective rank (Roy & Vetterli): exp of the Shannon entropy of the singular values normalized to sum 1.

    Parameters
    ----------
    x : ndarray
        A matrix, or a 1-D array of its singular values. The zero matrix has effective rank 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(effective_rank(np.diag([1.0, 1.0, 1.0, 0.0])), 12)
    3.0
    """
    x = np.asarray(x, dtype=float)
    s = np.abs(x) if x.ndim == 1 else np.linalg.svd(x, compute_uv=False)
    total = s.sum()
    if total == 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def random_low_rank(shape, rank, seed=0):
    """A random matrix of the given rank with Gaussian factors, scaled to unit root-mean-square entry."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((shape[0], rank)) @ rng.standard_normal((rank, shape[1]))
    return M / np.sqrt(np.mean(M**2))


def observation_mask(shape, n_observed, seed=0):
    """A boolean mask with ``n_observed`` entries chosen uniformly without replacement."""
    total = int(np.prod(shape))
    if not 0 < n_observed <= total:
        raise DynamicsError(f"n_observed={n_observed} must be in 1..{total} for shape {tuple(shape)}")
    mask = np.zeros(total, dtype=bool)
    mask[np.random.default_rng(seed).choice(total, n_observed, replace=False)] = True
    return mask.reshape(shape)


def _svt(X, lam):
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    s = np.maximum(s - lam, 0.0)
    return (u * s) @ vt, s


def soft_impute(target, mask, lam, X0=None, tol=1e-7, max_iter=10_000):
    """Minimize 0.5 ||P_mask(X - target)||_F^2 + lam ||X||_* by soft-impute to convergence.

    Soft-impute (Mazumder, Hastie, Tibshirani 2010) is proximal gradient descent with step 1 on
    this objective: X <- SVT_lam(P_mask(target) + P_mask^perp(Y)); here with Nesterov (FISTA)
    extrapolation Y = X_k + (t_{k-1} - 1) / t_k (X_k - X_{k-1}), restarted whenever the objective
    goes up. Stops when ||X_{k+1} - X_k||_F <= tol * ||P_mask(target)||_F.

    Returns
    -------
    X : ndarray
    iterations : int

    Raises
    ------
    DynamicsError
        If it has not converged after ``max_iter`` iterations.
    """
    target, mask = np.asarray(target, dtype=float), np.asarray(mask, dtype=bool)
    if mask.shape != target.shape:
        raise DynamicsError(f"mask has shape {mask.shape} but the target has shape {target.shape}")
    observed = np.where(mask, target, 0.0)
    scale = max(np.linalg.norm(observed), 1e-300)
    X = np.zeros_like(target) if X0 is None else np.array(X0, dtype=float)
    Y, t, objective = X, 1.0, np.inf
    for it in range(1, max_iter + 1):
        new, s = _svt(np.where(mask, observed, Y), lam)
        value = 0.5 * np.sum((new - observed)[mask] ** 2) + lam * s.sum()
        change = np.linalg.norm(new - X)
        if value > objective:  # restart the momentum (from X: a rounding-level rise at the optimum ends the run)
            if change <= tol * scale:
                return X, it
            Y, t = X, 1.0
            continue
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        Y = new + ((t - 1.0) / t_next) * (new - X)
        X, t, objective = new, t_next, value
        if change <= tol * scale:
            return X, it
    raise DynamicsError(f"soft-impute with lam={lam:.3g} did not converge in {max_iter} iterations "
                        f"(last change {change / scale:.3g} of the data norm > tol={tol:g})")


def nuclear_norm_completion(target, mask, lam_min_ratio=1e-4, stages=20, tol=1e-7, max_iter=10_000):
    """Nuclear-norm minimization subject to the observations, by soft-impute with continuation.

    Solves the penalized problem of :func:`soft_impute` to convergence for a geometric sequence of
    ``stages`` penalties from the largest singular value of the observed matrix down to
    ``lam_min_ratio`` times it, each stage warm-started from the previous one; the last solution
    approximates min ||X||_* s.t. X = target on the mask.

    Returns
    -------
    X : ndarray
    info : dict
        ``lam`` (final penalty), ``iterations`` (total), ``observed_rel_residual``
        (||P_mask(X - target)|| / ||P_mask(target)||).

    Examples
    --------
    >>> import numpy as np
    >>> M = random_low_rank((30, 30), 2, seed=0)
    >>> mask = observation_mask(M.shape, 600, seed=1)
    >>> X, info = nuclear_norm_completion(M, mask)
    >>> bool(np.linalg.norm((X - M)[~mask]) / np.linalg.norm(M[~mask]) < 1e-2)
    True
    """
    target, mask = np.asarray(target, dtype=float), np.asarray(mask, dtype=bool)
    observed = np.where(mask, target, 0.0)
    top = np.linalg.norm(observed, 2)
    X, total = None, 0
    for lam in top * np.geomspace(1.0, lam_min_ratio, stages):
        X, it = soft_impute(target, mask, lam, X0=X, tol=tol, max_iter=max_iter)
        total += it
    residual = np.linalg.norm((X - target)[mask]) / max(np.linalg.norm(observed), 1e-300)
    return X, {"lam": float(lam), "iterations": total, "observed_rel_residual": float(residual)}


__all__ = ["effective_rank", "random_low_rank", "observation_mask", "soft_impute", "nuclear_norm_completion"]
