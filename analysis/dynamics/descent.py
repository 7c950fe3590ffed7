"""Gradient descent on a network's tensors, its history, and the balancedness of deep linear chains (theory §7)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from tn.errors import DynamicsError
from tn.gradients import value_and_grad

from .losses import Loss


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
                     diverge_factor=1e6, progress=False, optimize="auto", max_move=None):
    """Gradient descent on the tensors of a network for a loss of its contraction, in place.

    Parameters
    ----------
    net : TensorNetwork or NetworkSum
        Numeric; its tensors are updated with ``set_data`` (pass ``net.copy()`` to keep the original).
    loss : Loss or callable
        ``loss(out) -> (value, dvalue/dout)`` of the contracted output (``net.output`` order).
    lr : float or callable
        Step size, or ``lr(params) -> float`` called every step with the trained arrays (a list, in
        ``wrt`` order) for a step that adapts to the current weights (e.g. to their curvature).
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
    max_move : float, optional
        Adaptive step: each step's size is min(lr, max_move * ||theta|| / ||grad||) (Frobenius norms over
        all trained tensors), so no step moves the parameters by more than this fraction of their norm.
        It follows the gradient-flow trajectory (a time reparametrization) while crossing the long
        plateaus of small initializations in few steps; ``lr`` still bounds it where curvature matters.

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
    >>> from analysis.dynamics import squared_loss
    >>> net = deep_linear((3, 3, 3), init="balanced", scale=0.1, seed=0)
    >>> h = gradient_descent(net, squared_loss(np.eye(3)), lr=0.5, steps=400, record_every=100)
    >>> h.step
    [0, 100, 200, 300, 400]
    >>> bool(h.loss[-1] < 1e-6), bool(np.allclose(net.to_dense(), np.eye(3), atol=1e-3))
    (True, True)
    """
    if not callable(lr):
        _check_positive(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise DynamicsError(f"steps={steps!r} must be a non-negative int")
    _check_positive(record_every, "record_every", integer=True)
    if max_move is not None:
        _check_positive(max_move, "max_move")
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
        params = [data(n) for n in names]
        step = _check_positive(lr(params), "lr(params)") if callable(lr) else lr
        if max_move is not None:
            step = _adaptive_step(step, max_move, params, [grads[n] for n in names])
        for n in names:
            net.set_data(n, data(n) - step * grads[n])
        rec.tick()
    rec.close()
    return rec.history


def _adaptive_step(lr, max_move, params, grads):
    g = np.sqrt(sum(float(np.sum(np.abs(x) ** 2)) for x in grads))
    theta = np.sqrt(sum(float(np.sum(np.abs(x) ** 2)) for x in params))
    return lr if g == 0 else min(lr, max_move * theta / g)


__all__ = ["History", "chain_layers", "balancedness", "gradient_descent"]
