"""Adaptive first-order baselines on the end-to-end matrix: AdaGrad and AdaDelta (theory §7, implicit acceleration).

Arora, Cohen & Hazan (ICML 2018) compare gradient descent on an overparameterized (deeper) linear model with
gradient descent and with the adaptive methods AdaGrad and AdaDelta on the linear model itself.
:data:`UPDATE_RULES` (a :class:`tn.registry.Registry`) holds the rules by name; a rule is a factory
``rule(shape, lr, **options) -> step``, ``step(grad) -> update`` (the update is subtracted), so
``UPDATE_RULES.register(name, factory)`` adds one.
"""

from __future__ import annotations

import numpy as np

from tn.errors import DynamicsError
from tn.registry import Registry

from .descent import _check_positive, _Recorder
from .losses import Loss

UPDATE_RULES = Registry("update rule")


@UPDATE_RULES.register("gd")
def _gd(shape, lr):
    return lambda g: lr * g


@UPDATE_RULES.register("adagrad")
def _adagrad(shape, lr, eps=1e-10):
    """AdaGrad (Duchi et al. 2011): per coordinate lr / sqrt(sum of squared past gradients)."""
    total = np.zeros(shape)

    def step(g):
        total[...] += g * g
        return lr * g / (np.sqrt(total) + eps)
    return step


@UPDATE_RULES.register("adadelta")
def _adadelta(shape, lr=1.0, rho=0.95, eps=1e-6):
    """AdaDelta (Zeiler 2012): RMS of past updates over RMS of past gradients, both decayed by rho."""
    g2, dx2 = np.zeros(shape), np.zeros(shape)

    def step(g):
        g2[...] = rho * g2 + (1 - rho) * g * g
        dx = np.sqrt(dx2 + eps) / np.sqrt(g2 + eps) * g
        dx2[...] = rho * dx2 + (1 - rho) * dx * dx
        return lr * dx
    return step


def rule_descent(W0, loss, rule, lr, steps, record_every=10, diverge_factor=1e6, **options):
    """Minimize ``loss`` over a matrix W by the update rule ``rule`` (a name in :data:`UPDATE_RULES`).

    Parameters
    ----------
    W0 : ndarray
    loss : Loss or callable
        ``loss(W) -> (value, grad)``.
    rule : str
        ``"gd"``, ``"adagrad"`` or ``"adadelta"`` (or a registered name).
    lr : float
        Step size (AdaDelta: a multiplier of its own step, 1 in the paper by Zeiler).
    steps, record_every, diverge_factor
        As for :func:`gradient_descent`.
    **options
        Passed to the rule (``eps``, ``rho``).

    Returns
    -------
    W : ndarray
    history : History

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.dynamics import squared_loss
    >>> W, h = rule_descent(np.zeros((1, 2)), squared_loss(np.ones((1, 2))), "adagrad", lr=0.5, steps=200)
    >>> bool(h.loss[-1] < 1e-6 * h.loss[0])
    True
    """
    W = np.array(W0, dtype=float)
    if isinstance(loss, Loss) and loss.shape != W.shape:
        raise DynamicsError(f"{loss.name} expects shape {loss.shape} but W0 has shape {W.shape}")
    _check_positive(lr, "lr")
    _check_positive(record_every, "record_every", integer=True)
    step = UPDATE_RULES.get(rule)(W.shape, lr, **options)
    rec = _Recorder(record_every, steps, lr, diverge_factor, False, rule)
    for k in range(steps + 1):
        value, G = loss(W)
        value = rec.check(k, value, [G])
        if rec.due(k, value, None):
            rec.record(k, value, None, None)
        if k == steps:
            break
        W = W - step(G)
    rec.close()
    return W, rec.history


__all__ = ["UPDATE_RULES", "rule_descent"]
