"""analysis.training.fit and analysis.datasets, against independent computations."""

import time

import numpy as np
import pytest

import analysis
import builders
from analysis.datasets import blob_task, blobs, digit_task
from analysis.training import LOSSES, OPTIMIZERS, LinearPatches, as_function, fit
from tn.errors import SettingError, ShapeError, StructureError, UnknownNameError


def majority_task(n, N=16, seed=0):
    """Binary pixels; class = at least 2 of 4 pixels spread over the image are on (a ConvAC represents it exactly)."""
    b = np.random.default_rng(seed).integers(0, 2, (n, N))
    return b, (b[:, [0, N // 4 + 1, N // 2 + 2, N - 1]].sum(axis=1) >= 2).astype(int)


@pytest.mark.parametrize(("domain", "N"), [("log", 16), ("linear", 8)])  # linear: products of N signed factors
def test_fit_reaches_90_percent_on_a_separable_task_within_seconds(domain, N):
    X, y = majority_task(1500, N)
    Xt, yt = majority_task(500, N, seed=1)
    net = builders.deep_convac(N, M=2, widths=4, classes=2, seed=0)
    start = time.perf_counter()
    result = fit(net, X, y, representation="binary", epochs=12, lr=0.03, validation=(Xt, yt), progress=False,
                 domain=domain)
    assert time.perf_counter() - start < 60  # ~2 s on an idle core
    assert result.accuracy(Xt, yt) > 0.9
    assert result.history["val_accuracy"][-1] == pytest.approx(result.accuracy(Xt, yt))
    assert len(result.history["loss"]) == 12 and result.history["loss"][-1] < result.history["loss"][0]
    # the trained network is an ordinary one: its own forward gives the scores, min-cut applies
    x = np.stack([Xt, 1 - Xt], axis=2).transpose(1, 0, 2).astype(float)
    assert np.allclose(result.network.evaluate(x, domain=domain), result.scores(Xt))
    if domain == "log":
        assert all(np.all(result.network.data(n) > 0) for n in result.network.tensor_names)
    assert analysis.mincut(result.network, range(N // 2)).bound == 4


def test_shared_weights_stay_shared_and_have_one_parameter():
    X, y = majority_task(600)
    net = builders.deep_convac(16, M=2, widths=3, classes=2, share="level", seed=0)
    result = fit(net, X, y, representation="binary", epochs=2, lr=0.01, progress=False)
    assert set(result.params) == {("leaf", 0), ("node", (0, 1)), ("node", (0, 1, 2, 3)), ("node", tuple(range(8))),
                                  ("node", tuple(range(16)))}
    trained = result.network
    assert trained.data(("leaf", 0)) is trained.data(("leaf", 9))
    assert np.allclose(np.log(trained.data(("leaf", 5))), result.params[("leaf", 0)])
    assert not np.allclose(trained.data(("leaf", 0)), np.abs(net.data(("leaf", 0))))  # it moved


def test_dilated_and_float32():
    X, y = majority_task(400, N=8)
    net = builders.dilated_convnet(8, M=2, widths=3, classes=2, seed=0, dtype=np.float32)
    result = fit(net, X, y, representation="binary", epochs=3, lr=0.01, progress=False)
    assert {p.dtype for p in result.params.values()} == {np.dtype(np.float32)}
    assert result.scores(X).dtype == np.float32


def test_learned_linear_patches_and_as_function():
    rng = np.random.default_rng(0)
    n, N, P = 1200, 8, 3
    X = rng.standard_normal((n, N, P))
    y = (X[:, 0, 0] * X[:, 7, 1] > 0).astype(int)  # sign of a product of two distant patch features
    net = builders.deep_convac(N, M=4, widths=4, classes=2, seed=0, init="gaussian")  # tuned on this init
    rep = LinearPatches(P, 4, seed=0, scale=0.5)  # log domain: log features X @ A + c
    result = fit(net, X[:900], y[:900], representation=rep, epochs=25, lr=0.03, progress=False)
    assert result.accuracy(X[900:], y[900:]) > 0.85
    assert ("representation", "A") in result.params
    fn, params = result.as_function("numpy")
    assert np.allclose(fn(params, X[900:]), result.scores(X[900:]))
    moved = dict(params)
    moved[("representation", "A")] = params[("representation", "A")] * 2
    assert not np.allclose(fn(moved, X[:5]), fn(params, X[:5]))


@pytest.mark.parametrize("domain", ["log", "linear"])
def test_representation_gradient_equals_finite_differences(domain):
    """One step's gradient of the representation parameters, against the pure function (as_function)."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 4, 3)), np.array([0, 1, 1, 0, 1, 0])
    result = fit(builders.deep_convac(4, M=2, widths=3, classes=2, seed=0), X, y, domain=domain,
                 representation=LinearPatches(3, 2, seed=0, scale=0.5), iterations=1, lr=0.0, progress=False)
    model, state = result._model, result._state
    weights = model.weights(state)
    loss = LOSSES.get("cross_entropy")
    _, _, fgrad = model.plan.value_and_grad(weights, model.features(state, X), lambda s: loss(s, y), True)
    grads = result.representation.backward(X, fgrad, domain)
    fn, params = result.as_function("numpy")
    for key in (("representation", "A"), ("representation", "c")):
        D = rng.standard_normal(params[key].shape)
        moved = []
        for sign in (1, -1):
            p = dict(params)
            p[key] = params[key] + sign * 1e-6 * D
            moved.append(loss(fn(p, X), y)[0])
        assert np.sum(grads[key] * D) == pytest.approx((moved[0] - moved[1]) / 2e-6, rel=1e-5, abs=1e-9)


def test_as_function_log_domain_matches_and_jax_if_installed():
    X, y = majority_task(300, N=8)
    result = fit(builders.deep_convac(8, M=2, widths=2, classes=2, seed=0), X, y, representation="binary",
                 epochs=2, lr=0.01, progress=False)
    fn, params = as_function(result)
    assert np.allclose(fn(params, X[:20]), result.scores(X[:20]))
    jax = pytest.importorskip("jax")
    jfn, jparams = result.as_function("jax")
    assert np.allclose(np.asarray(jax.jit(jfn)(jparams, X[:20])), result.scores(X[:20]), rtol=1e-4)


def test_registries_losses_optimizers_schedules():
    X, y = majority_task(256, N=8)
    net = builders.deep_convac(8, M=2, widths=2, classes=2, seed=0)
    seen = []

    def my_loss(scores, labels):
        seen.append(len(labels))
        return LOSSES.get("squared")(scores, labels)

    result = fit(net, X, y, representation="binary", loss=my_loss, optimizer="sgd", optimizer_options={"momentum": 0.5}, batch_size=64,
                 iterations=10, lr=1e-3, schedule="step", progress=False)
    assert seen == [64] * 4 + [64] * 4 + [64] * 2 and result.history["epoch"] == [1, 2, 3]
    assert result.history["lr"] == [1e-3, 1e-3, pytest.approx(1e-4)]  # x 0.1 from 80% of the steps on
    assert "adam" in OPTIMIZERS and "cross_entropy" in LOSSES
    with pytest.raises(UnknownNameError, match="adam"):
        fit(net, X, y, optimizer="adamw", progress=False)


def test_cross_entropy_gradient_is_the_softmax_minus_one_hot():
    rng = np.random.default_rng(0)
    s, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    value, grad = LOSSES.get("cross_entropy")(s, y)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(5), y])))
    assert np.allclose(grad, (p - np.eye(3)[y]) / 5)


def test_fit_errors():
    X, y = majority_task(64, N=8)
    net = builders.deep_convac(8, M=2, widths=2, classes=2, seed=0)
    with pytest.raises(ShapeError, match=r"labels must lie in \[0, 2\)"):
        fit(net, X, y + 1, representation="binary", progress=False)
    with pytest.raises(ShapeError, match="64 samples"):
        fit(net, X, y[:10], representation="binary", progress=False)
    with pytest.raises(SettingError, match="batch_size"):
        fit(net, X, y, representation="binary", batch_size=0, progress=False)
    with pytest.raises(ShapeError, match="binary"):
        fit(net, X + 2, y, representation="binary", progress=False)
    with pytest.raises(ShapeError, match="M=2 features, the network.s legs have 4"):
        fit(builders.deep_convac(8, M=4, widths=2, classes=2), X, y, representation="binary", progress=False)
    with pytest.raises(StructureError, match="tree network"):
        fit(_not_a_tree(), X, y,
            representation="binary", progress=False)


def _not_a_tree():
    from tn import TensorNetwork
    net = TensorNetwork()
    net.add_tensor("A", np.ones((2, 2, 2)), (0, 1, "y"))
    return net


# ---------------------------------------------------------------------- datasets
def _close(img):
    """Binary closing with a 3 x 3 square, written out: dilate then erode, zero padding outside."""
    def shifts(a, fill):
        p = np.pad(a, 1, constant_values=fill)
        return [p[1 + dr:1 + dr + a.shape[0], 1 + dc:1 + dc + a.shape[1]] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    pad = np.pad(img, 2)
    dil = np.any(shifts(pad, False), axis=0)
    ero = np.all(shifts(dil, True), axis=0)
    return ero[2:-2, 2:-2] | img


def _scores_of(image):
    """(closedness, symmetry) of a blob image from its tile (the top-left quarter when the image repeats it)."""
    h = image.shape[0] // 2
    tile = image[:h, :h] if np.array_equal(image, np.tile(image[:h, :h], (2, 2))) else image
    tile = tile.astype(bool)
    area = tile.sum()
    if area == 0:
        return 0.0, 0.0
    return area / _close(tile).sum(), (tile & tile[:, ::-1]).sum() / area


def test_blob_scores_against_a_hand_written_closing_and_flip():
    images, scores = blobs(60, size=16, seed=3)
    assert set(np.unique(images)) <= {0, 1}
    for i, image in enumerate(images):
        c, s = _scores_of(image)
        assert scores["closedness"][i] == pytest.approx(c) and scores["symmetry"][i] == pytest.approx(s)


@pytest.mark.parametrize("task", ["closedness", "symmetry"])
def test_blob_tasks_are_deterministic_balanced_and_thresholded(task):
    a = blob_task(task, n_train=300, n_test=100, size=16, seed=5)
    b = blob_task(task, n_train=300, n_test=100, size=16, seed=5)
    c = blob_task(task, n_train=300, n_test=100, size=16, seed=6)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    X, y, Xt, yt = a
    assert X.shape == (300, 256) and Xt.shape == (100, 256)
    assert (y == 1).sum() == 150 and (yt == 1).sum() == 50  # top 40% vs bottom 40%: exactly balanced
    k = 0 if task == "closedness" else 1
    sc = np.array([_scores_of(img.reshape(16, 16))[k] for img in np.concatenate([X, Xt])])
    labels = np.concatenate([y, yt])
    assert sc[labels == 1].min() >= sc[labels == 0].max()  # the middle 20% of the pool is left out
    with pytest.raises(SettingError, match="even"):
        blob_task(task, n_train=301, n_test=100, size=16)


def test_digit_tasks():
    pytest.importorskip("sklearn")
    X, y, _, yt = digit_task("global", 200, 100, seed=0)
    assert X.shape == (200, 256, 2) and np.allclose(X.sum(axis=2), 1)
    assert y.sum() == 100 and yt.sum() == 50
    _, yl, _, _ = digit_task("local", 200, 100, seed=0)
    assert set(yl) <= set(range(10)) and len(set(yl)) > 5
    with pytest.raises(SettingError, match="digit task"):
        digit_task("nope")
    with pytest.raises(SettingError, match="digits=1"):
        digit_task("global", digits=1)
    _, y4, _, _ = digit_task("global", 200, 100, seed=0, digits=4)
    assert y4.sum() == 100
