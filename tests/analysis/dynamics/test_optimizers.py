"""analysis.dynamics.rule_descent (AdaGrad, AdaDelta baselines) and adaptive steps of gradient_descent."""

import numpy as np
import pytest

from analysis import dynamics as dyn
from builders.linear import deep_linear
from tn.errors import DynamicsError, UnknownNameError


def problem(seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    return dyn.lp_regression_loss(X, y, p=4), rng.standard_normal((1, 4))


def hand_adagrad(loss, w, lr, steps, eps=1e-10):
    total = np.zeros_like(w)
    for _ in range(steps):
        g = loss(w)[1]
        total += g * g
        w = w - lr * g / (np.sqrt(total) + eps)
    return w


def hand_adadelta(loss, w, lr, steps, rho=0.95, eps=1e-6):
    eg, ex = np.zeros_like(w), np.zeros_like(w)
    for _ in range(steps):
        g = loss(w)[1]
        eg = rho * eg + (1 - rho) * g ** 2
        dx = -np.sqrt(ex + eps) / np.sqrt(eg + eps) * g
        ex = rho * ex + (1 - rho) * dx ** 2
        w = w + lr * dx
    return w


@pytest.mark.parametrize("rule,hand", [("adagrad", hand_adagrad), ("adadelta", hand_adadelta)])
def test_rules_match_their_textbook_updates(rule, hand):
    loss, w0 = problem()
    W, h = dyn.rule_descent(w0, loss, rule, lr=0.05 if rule == "adagrad" else 1.0, steps=40, record_every=10)
    assert np.allclose(W, hand(loss, w0, 0.05 if rule == "adagrad" else 1.0, 40))
    assert h.step == [0, 10, 20, 30, 40] and h.loss[-1] < h.loss[0]


def test_gd_rule_is_depth_one_gradient_descent():
    loss, w0 = problem(1)
    net = deep_linear((4, 1), init="gaussian", seed=0)
    net.set_data(("W", 1), w0)
    dyn.gradient_descent(net, loss, lr=0.01, steps=25)
    W, _ = dyn.rule_descent(w0, loss, "gd", lr=0.01, steps=25)
    assert np.allclose(W, net.to_dense())


def test_rule_errors():
    loss, w0 = problem()
    with pytest.raises(UnknownNameError, match="rmsprop.*gd, adagrad, adadelta"):
        dyn.rule_descent(w0, loss, "rmsprop", lr=0.1, steps=2)
    with pytest.raises(DynamicsError, match="expects shape"):
        dyn.rule_descent(np.zeros((2, 4)), loss, "gd", lr=0.1, steps=2)
    with pytest.raises(DynamicsError, match="diverged"):
        dyn.rule_descent(w0, loss, "gd", lr=10.0, steps=50, diverge_factor=10.0)


def test_callable_lr_and_max_move_bound_every_step():
    target = np.random.default_rng(2).standard_normal((5, 5))
    loss = dyn.squared_loss(target)
    seen = []

    def lr(params):
        seen.append([p.copy() for p in params])
        return 1e6                                    # far too large alone: max_move must bound it
    net = deep_linear((5, 5, 5), init="gaussian", scale=1e-3, seed=0)
    dyn.gradient_descent(net, loss, lr=lr, steps=30, max_move=0.1)
    assert len(seen) == 30
    for before, after in zip(seen, seen[1:]):
        move = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before)))
        size = np.sqrt(sum(np.sum(b ** 2) for b in before))
        assert move <= 0.1 * size * (1 + 1e-9)
    assert np.linalg.norm(net.to_dense()) > 1e2 * np.linalg.norm(seen[0][1] @ seen[0][0])   # it grew, fast
    with pytest.raises(DynamicsError, match="max_move"):
        dyn.gradient_descent(net, loss, lr=0.1, steps=1, max_move=-1.0)
