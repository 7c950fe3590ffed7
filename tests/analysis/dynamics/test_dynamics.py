"""analysis.dynamics: factor-space descent, the end-to-end rule, singular value dynamics, completion."""

import numpy as np
import pytest

from analysis import dynamics as dyn
from builders.linear import deep_linear, tensor_train
from tn.errors import DynamicsError
from tn.gradients import value_and_grad


def factors(net):
    return [net.data(n) for n in dyn.chain_layers(net)]


def problem(seed=0, n=6):
    rng = np.random.default_rng(seed)
    return dyn.squared_loss(rng.standard_normal((n, n)))


def one_factor_step(dims, loss, lr, seed=0, scale=1.0):
    """(W_e before, its loss gradient, W_e after one gradient step on the balanced factors)."""
    net = deep_linear(dims, init="balanced", scale=scale, seed=seed)
    W = net.to_dense()
    G = loss(W)[1]
    dyn.gradient_descent(net, loss, lr=lr, steps=1)
    return W, G, net.to_dense()


def test_balanced_initialization_stays_balanced():
    loss = problem()
    drift = []
    for lr in (0.02, 0.01):
        net = deep_linear((6, 6, 6, 6), init="balanced", seed=1)
        h = dyn.gradient_descent(net, loss, lr=lr, steps=int(0.4 / lr), record_every=5)
        assert h.balancedness[0].max() < 1e-12 and len(h.balancedness[0]) == 2
        assert h.loss[-1] < h.loss[0]
        drift.append(max(b.max() for b in h.balancedness))
    # per-step change is lr^2 (G_{j+1}^T G_{j+1} - G_j G_j^T): over a fixed time 0.4 the drift is O(lr)
    assert drift[0] < 0.05 and 1.6 < drift[0] / drift[1] < 2.4


def test_unbalanced_differences_are_conserved_to_second_order():
    net = deep_linear((5, 5, 5), init="gaussian", scale=0.3, seed=2)
    before = [b.T @ b - a @ a.T for a, b in zip(factors(net)[:-1], factors(net)[1:])]
    dyn.gradient_descent(net, problem(n=5), lr=1e-3, steps=10)
    after = [b.T @ b - a @ a.T for a, b in zip(factors(net)[:-1], factors(net)[1:])]
    assert np.linalg.norm(after[0] - before[0]) < 1e-4 * np.linalg.norm(before[0])


@pytest.mark.parametrize("dims", [(6, 6, 6), (5, 7, 4, 6), (4, 4, 4, 4, 4)])
def test_factor_descent_matches_end_to_end_rule_to_second_order(dims):
    loss = dyn.squared_loss(np.random.default_rng(3).standard_normal((dims[-1], dims[0])))
    gaps = []
    for lr in (1e-2, 5e-3):
        W, G, after = one_factor_step(dims, loss, lr)
        rule = W - lr * dyn.end_to_end_direction(W, G, len(dims) - 1)
        gaps.append(np.linalg.norm(after - rule))
        assert gaps[-1] < 1e-2 * np.linalg.norm(after - W)  # second order next to the first-order move
    assert 3.5 < gaps[0] / gaps[1] < 4.5  # ~ lr^2


def test_depth_one_rule_is_plain_gradient_descent():
    loss = problem(4)
    W0 = np.random.default_rng(0).standard_normal((6, 6))
    net = deep_linear((6, 6), init="gaussian", seed=0)
    net.set_data(("W", 1), W0)
    dyn.gradient_descent(net, loss, lr=0.1, steps=20)
    W, h = dyn.end_to_end_descent(W0, loss, lr=0.1, steps=20, depth=1, record_every=5)
    assert np.allclose(W, net.to_dense()) and h.step == [0, 5, 10, 15, 20]
    assert len(h.singular_values) == 5 and h.balancedness == []


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_singular_values_move_as_predicted(depth):
    dims = (5,) * (depth + 1)
    loss = dyn.squared_loss(np.random.default_rng(5).standard_normal((5, 5)))
    errors = []
    for lr in (1e-3, 5e-4):
        W, G, after = one_factor_step(dims, loss, lr, seed=1)
        predicted = dyn.singular_value_velocity(W, G, depth)
        measured = (np.linalg.svd(after, compute_uv=False) - np.linalg.svd(W, compute_uv=False)) / lr
        errors.append(np.max(np.abs(measured - predicted)) / np.max(np.abs(predicted)))
    assert errors[0] < 1e-2 and 1.6 < errors[0] / errors[1] < 2.4  # the prediction is exact to O(lr)


def test_depth_slows_small_singular_values():
    W = np.diag([2.0, 0.1])
    G = -np.eye(2)
    for depth in (2, 3):
        v = dyn.singular_value_velocity(W, G, depth)
        assert np.allclose(v, depth * np.array([2.0, 0.1]) ** (2 - 2 / depth))


def test_fractional_power_clips_and_has_identity_at_zero():
    S = np.diag([4.0, -1e-17, 0.0])
    assert np.allclose(dyn.fractional_power(S, 0.5), np.diag([2.0, 0.0, 0.0]))
    assert np.allclose(dyn.fractional_power(S, 0.0), np.eye(3))
    A = np.random.default_rng(0).standard_normal((4, 2))
    half = dyn.fractional_power(A @ A.T, 0.5)
    assert np.allclose(half @ half, A @ A.T)


def test_end_to_end_direction_matches_the_sum_of_powers():
    rng = np.random.default_rng(1)
    W, G = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    N = 3
    direct = sum(dyn.fractional_power(W @ W.T, (j - 1) / N) @ G @ dyn.fractional_power(W.T @ W, (N - j) / N)
                 for j in range(1, N + 1))
    assert np.allclose(dyn.end_to_end_direction(W, G, N), direct)


def test_losses():
    rng = np.random.default_rng(0)
    target, out = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    mask = rng.random((3, 4)) < 0.5
    mask[0, 0] = True
    value, grad = dyn.squared_loss(target, mask)(out)
    assert np.isclose(value, 0.5 * np.mean((out - target)[mask] ** 2))
    assert np.allclose(grad[~mask], 0)
    X, y = rng.standard_normal((10, 4)), rng.standard_normal(10)
    loss = dyn.lp_regression_loss(X, y, p=4)
    W = rng.standard_normal((1, 4))
    value, grad = loss(W)
    assert np.isclose(value, np.mean((X @ W[0] - y) ** 4))
    D, eps = rng.standard_normal((1, 4)), 1e-6
    assert np.isclose((loss(W + eps * D)[0] - loss(W - eps * D)[0]) / (2 * eps), np.sum(grad * D), rtol=1e-6)


def test_tensor_train_descent_without_matrix_output():
    net = tensor_train(4, 2, 2, classes=1, seed=0)
    target = tensor_train(4, 2, 2, classes=1, seed=1).to_dense()
    h = dyn.gradient_descent(net, dyn.squared_loss(target), lr=0.5, steps=60, record_every=20, progress=True)
    assert h.loss[-1] < 0.5 * h.loss[0] and h.singular_values == [] and h.balancedness == []


def test_tol_stops_early():
    net = deep_linear((3, 3), init="gaussian", seed=0)
    h = dyn.gradient_descent(net, dyn.squared_loss(np.eye(3)), lr=1.0, steps=1000, record_every=100, tol=1e-10)
    assert h.step[-1] < 1000 and h.loss[-1] <= 1e-10


def test_bad_input_raises_with_history():
    net = deep_linear((3, 4, 2), seed=0)
    with pytest.raises(DynamicsError, match=r"shape \(3, 3\).*\(2, 3\)"):
        dyn.gradient_descent(net, dyn.squared_loss(np.zeros((3, 3))), lr=0.1, steps=3)
    with pytest.raises(DynamicsError, match="lr"):
        dyn.gradient_descent(net, dyn.squared_loss(np.zeros((2, 3))), lr=-1.0, steps=3)
    with pytest.raises(DynamicsError, match="mask"):
        dyn.squared_loss(np.zeros((2, 3)), np.ones((3, 2), bool))
    with pytest.raises(DynamicsError, match="non-finite"):
        dyn.squared_loss(np.full((2, 3), np.nan))
    with pytest.raises(DynamicsError, match="diverged") as err:
        dyn.gradient_descent(net, dyn.squared_loss(10 * np.ones((2, 3))), lr=5.0, steps=200, record_every=1)
    assert len(err.value.history) >= 1 and err.value.history.step[0] == 0

    def poisoned(out):
        poisoned.calls += 1
        return (np.nan if poisoned.calls > 3 else 0.0), np.zeros_like(out)
    poisoned.calls = 0
    with pytest.raises(DynamicsError, match="non-finite loss") as err:
        dyn.gradient_descent(net, poisoned, lr=0.1, steps=10, record_every=1)
    assert err.value.history.step == [0, 1, 2]
    with pytest.raises(DynamicsError, match="gradient has shape"):
        dyn.end_to_end_direction(np.ones((2, 3)), np.ones((3, 2)), 2)
    with pytest.raises(DynamicsError, match="diverged") as err:
        dyn.end_to_end_descent(np.ones((2, 3)), dyn.squared_loss(10 * np.ones((2, 3))), lr=5.0, steps=100, depth=2)
    assert len(err.value.history) >= 1


def test_effective_rank():
    assert dyn.effective_rank(np.zeros((3, 3))) == 0.0
    assert np.isclose(dyn.effective_rank(np.eye(5)), 5.0)
    assert np.isclose(dyn.effective_rank(np.array([3.0, 1.0])), np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))))
    M = dyn.random_low_rank((20, 30), 3, seed=0)
    assert 1.0 < dyn.effective_rank(M) <= 3.0 + 1e-9


def test_nuclear_norm_completion_and_soft_impute():
    M = dyn.random_low_rank((25, 25), 2, seed=0)
    mask = dyn.observation_mask(M.shape, 400, seed=0)
    X, info = dyn.nuclear_norm_completion(M, mask)
    assert info["observed_rel_residual"] < 1e-3
    assert np.linalg.norm((X - M)[~mask]) / np.linalg.norm(M[~mask]) < 1e-2
    with pytest.raises(DynamicsError, match="did not converge"):
        dyn.soft_impute(M, mask, lam=1e-3, max_iter=2)
    with pytest.raises(DynamicsError, match="n_observed"):
        dyn.observation_mask((3, 3), 10)


def test_deep_matrix_completion_finds_low_rank():
    """Depth 3 from small init on a small completion problem: low effective rank, good test error."""
    M = dyn.random_low_rank((20, 20), 1, seed=0)
    mask = dyn.observation_mask(M.shape, 120, seed=1)
    net = deep_linear((20, 20, 20, 20), init="gaussian", scale=0.05, seed=0)
    h = dyn.gradient_descent(net, dyn.squared_loss(M, mask), lr=3.0, steps=1500, record_every=500, tol=1e-8)
    W = net.to_dense()
    assert dyn.effective_rank(W) < 1.5
    assert np.linalg.norm((W - M)[~mask]) / np.linalg.norm(M[~mask]) < 0.1, h.loss[-1]


def test_value_and_grad_agrees_with_dynamics_loss():
    net = deep_linear((3, 3, 3), seed=0)
    loss = dyn.squared_loss(np.eye(3))
    value, grads = value_and_grad(net, loss)
    assert np.isclose(value, loss(net.to_dense())[0]) and set(grads) == set(net.tensor_names)


def test_descent_on_a_sum_of_networks_sharing_tensors():
    import builders
    if not hasattr(builders, "mixed_dilated"):
        pytest.skip("builders.mixed_dilated not available")
    net = builders.mixed_dilated(4, 2, 2, seed=0)
    target = builders.mixed_dilated(4, 2, 2, seed=1).to_dense()
    h = dyn.gradient_descent(net, dyn.squared_loss(target), lr=3e-3, steps=30, record_every=10)
    assert h.loss[-1] < h.loss[0]
