"""Optimization dynamics of factorizations: gradient descent on a network's tensors (theory §7).

A network whose contraction is a matrix or tensor (a deep linear network, a tensor train, a ConvAC)
is trained by plain gradient descent on its factors for a loss of its contracted output; the
gradients come from :func:`tn.gradients.value_and_grad` (all environments in one sweep). The
history records the loss, the singular values of the end-to-end matrix and, for deep linear
networks, the balancedness ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F of every pair of layers.

Beside it, the **end-to-end update rule** of balanced deep linear networks is applied to W_e
directly:

    W_e <- W_e - eta * sum_{j=1..N} [W_e W_e^T]^{(j-1)/N} grad L(W_e) [W_e^T W_e]^{(N-j)/N},

with fractional powers of the positive semi-definite Gram matrices by symmetric eigendecomposition
(tiny negative eigenvalues from rounding clipped to zero, and P^0 = I). Factor-space descent from a
balanced initialization and this rule agree to O(eta^2) per step, and the singular values of W_e
move as d sigma_r / dt = -N (sigma_r^2)^{1 - 1/N} <grad L(W_e), u_r v_r^T>.

Also: losses (squared loss with an optional observation mask, as in matrix completion; l_p
regression), the effective rank of Roy & Vetterli, and the nuclear-norm baseline of matrix
completion by soft-impute with a decreasing penalty, each stage run to convergence.

Bad input (mismatched shapes, a non-finite loss, a diverging step size) raises
:class:`tn.errors.DynamicsError`; the history up to the failure is attached as ``.history``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from tn.errors import DynamicsError
from tn.gradients import value_and_grad


# ---------------------------------------------------------------------------------------- history
@dataclass
class History:
    """What a descent recorded every ``record_every`` steps (and at its last step).

    Attributes
    ----------
    step : list of int
    loss : list of float
    singular_values : list of ndarray
        Singular values (descending) of the end-to-end matrix, when the output is a matrix.
    balancedness : list of ndarray
        ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F for j = 1..N-1, when the layers of a chain are known.
    seconds : float
        Wall time of the run so far.
    """

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    singular_values: list = field(default_factory=list)
    balancedness: list = field(default_factory=list)
    seconds: float = 0.0

    def __len__(self):
        return len(self.step)

    def as_dict(self) -> dict:
        """JSON-able lists."""
        return {"step": list(self.step), "loss": [float(v) for v in self.loss],
                "singular_values": [np.asarray(s).tolist() for s in self.singular_values],
                "balancedness": [np.asarray(b).tolist() for b in self.balancedness],
                "seconds": self.seconds}


def _fail(message, history):
    err = DynamicsError(message)
    err.history = history
    raise err


def _check_positive(value, what, integer=False):
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value) or value <= 0:
        raise DynamicsError(f"{what}={value!r} must be a positive {'int' if integer else 'finite number'}")
    return value


def _progress(total, enabled, desc):
    """A tqdm bar if asked for and installed, else None."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False)


class _Recorder:
    """Appends to a History every ``every`` steps; stops the run on non-finite or diverging losses."""

    def __init__(self, every, steps, lr, diverge_factor, progress, desc):
        self.history, self.every, self.steps, self.lr = History(), every, steps, lr
        self.diverge_factor, self.first = diverge_factor, None
        self.bar = _progress(steps, progress, desc)
        self.start = time.perf_counter()

    def check(self, k, value, grads):
        """Raise DynamicsError (with the history) if this step's loss or gradient is unusable."""
        value = float(value)
        if not np.isfinite(value) or not all(np.all(np.isfinite(g)) for g in grads):
            self.close()
            _fail(f"non-finite loss or gradient at step {k} (loss {value!r}, lr={self.lr}); "
                  "check the data and lower the step size", self.history)
        if self.first is None:
            self.first = max(value, np.finfo(float).tiny)
        elif value > self.diverge_factor * self.first:
            self.close()
            _fail(f"gradient descent diverged at step {k}: loss {value:.3g} exceeds {self.diverge_factor:g} times "
                  f"the initial loss {self.first:.3g}; lower the step size lr={self.lr}", self.history)
        return value

    def due(self, k, value, tol):
        return k % self.every == 0 or k == self.steps or (tol is not None and value <= tol)

    def record(self, k, value, matrix, factors):
        h = self.history
        h.step.append(k)
        h.loss.append(value)
        if matrix is not None and np.ndim(matrix) == 2:
            h.singular_values.append(np.linalg.svd(matrix, compute_uv=False))
        if factors is not None and len(factors) > 1:
            h.balancedness.append(balancedness(factors))
        h.seconds = time.perf_counter() - self.start
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{value:.3g}", refresh=False)

    def tick(self):
        if self.bar is not None:
            self.bar.update()

    def close(self):
        self.history.seconds = time.perf_counter() - self.start
        if self.bar is not None:
            self.bar.close()


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


# ------------------------------------------------------------------------------- deep linear chains
def chain_layers(net) -> list | None:
    """Factor names W_1..W_N of a ``builders.deep_linear`` network (from its metadata), else None."""
    if net.metadata.get("builder") != "deep_linear":
        return None
    return [("W", j) for j in range(1, len(net.metadata["dims"]))]


def balancedness(factors) -> np.ndarray:
    """||W_{j+1}^T W_{j+1} - W_j W_j^T||_F for consecutive factors (input side first).

    Examples
    --------
    >>> import numpy as np
    >>> balancedness([np.eye(2), 2 * np.eye(2)]).tolist()
    [4.242640687119285]
    """
    for j in range(len(factors) - 1):
        if factors[j + 1].shape[1] != factors[j].shape[0]:
            raise DynamicsError(f"factor {j + 2} has shape {factors[j + 1].shape}, it cannot follow "
                                f"factor {j + 1} of shape {factors[j].shape}")
    return np.array([np.linalg.norm(b.T @ b - a @ a.T) for a, b in zip(factors[:-1], factors[1:])])


def gradient_descent(net, loss, lr, steps, record_every=10, layers=None, wrt=None, tol=None,
                     diverge_factor=1e6, progress=False, optimize="auto"):
    """Gradient descent on the tensors of a network for a loss of its contraction, in place.

    Parameters
    ----------
    net : TensorNetwork or NetworkSum
        Numeric; its tensors are updated with ``set_data`` (pass ``net.copy()`` to keep the original).
    loss : Loss or callable
        ``loss(out) -> (value, dvalue/dout)`` of the contracted output (``net.output`` order).
    lr : float
        Step size.
    steps : int
        Number of updates.
    record_every : int
        Record the history every this many steps (and at the first and last).
    layers : list of tensor names, optional
        A chain W_1..W_N (input side first) whose balancedness to record; default the layers of a
        ``builders.deep_linear`` network, none otherwise.
    wrt : iterable of tensor names, optional
        Tensors to train (default all).
    tol : float, optional
        Stop once the loss is at most ``tol``.
    diverge_factor : float
        Stop with :class:`DynamicsError` once the loss exceeds this multiple of its initial value.
    progress : bool
        Show a tqdm progress bar (if tqdm is installed).
    optimize
        Contraction path, as for ``net.contract``.

    Returns
    -------
    History

    Raises
    ------
    DynamicsError
        Mismatched loss and output shapes, bad parameters, a non-finite loss or gradient, or a
        diverging run; ``err.history`` holds the history so far.

    Examples
    --------
    >>> import numpy as np
    >>> from builders.linear import deep_linear
    >>> net = deep_linear((3, 3, 3), init="balanced", scale=0.1, seed=0)
    >>> h = gradient_descent(net, squared_loss(np.eye(3)), lr=0.5, steps=400, record_every=100)
    >>> h.step
    [0, 100, 200, 300, 400]
    >>> bool(h.loss[-1] < 1e-6), bool(np.allclose(net.to_dense(), np.eye(3), atol=1e-3))
    (True, True)
    """
    _check_positive(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise DynamicsError(f"steps={steps!r} must be a non-negative int")
    _check_positive(record_every, "record_every", integer=True)
    shape = tuple(net.size(i) for i in net.output)
    if isinstance(loss, Loss) and loss.shape != shape:
        raise DynamicsError(f"{loss.name} expects an output of shape {loss.shape} but the network's output "
                            f"{net.output!r} has shape {shape}")
    layers = chain_layers(net) if layers is None else list(layers)
    terms = list(net.terms) if hasattr(net, "terms") else [net]
    names = list(dict.fromkeys(n for t in terms for n in t.tensor_names) if wrt is None else wrt)

    def data(name):  # a NetworkSum holds a shared tensor in several terms, with one array
        return next(t.data(name) for t in terms if name in t.tensor_names)

    rec = _Recorder(record_every, steps, lr, diverge_factor, progress, "gradient descent")
    captured = {}

    def capture(out):
        captured["out"] = out
        return loss(out)

    for k in range(steps + 1):
        value, grads = value_and_grad(net, capture, optimize=optimize, wrt=names)
        value = rec.check(k, value, grads.values())
        if rec.due(k, value, tol):
            rec.record(k, value, captured["out"], None if layers is None else [data(n) for n in layers])
        if k == steps or (tol is not None and value <= tol):
            break
        for n in names:
            net.set_data(n, data(n) - lr * grads[n])
        rec.tick()
    rec.close()
    return rec.history


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
        if value > objective:  # restart the momentum
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


__all__ = ["History", "Loss", "squared_loss", "lp_regression_loss", "chain_layers", "balancedness",
           "gradient_descent", "fractional_power", "end_to_end_direction", "end_to_end_descent",
           "singular_value_velocity", "effective_rank", "random_low_rank", "observation_mask", "soft_impute",
           "nuclear_norm_completion"]
