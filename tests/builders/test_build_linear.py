"""builders.linear: deep linear networks and tensor trains."""

import numpy as np
import pytest

from builders.linear import balanced_factors, deep_linear, tensor_train
from tn.errors import BuildError, WidthError


def factors(net):
    return [net.data(("W", j)) for j in range(1, len(net.metadata["dims"]))]


def product(ws):
    out = ws[0]
    for w in ws[1:]:
        out = w @ out
    return out


@pytest.mark.parametrize("init", ["balanced", "gaussian", "identity", "orthogonal"])
@pytest.mark.parametrize("dims", [(3, 2), (4, 3, 5, 2), (5, 5, 5, 5, 5)])
def test_structure_and_end_to_end(init, dims):
    net = deep_linear(dims, init=init, seed=1)
    n = len(dims) - 1
    assert net.tensor_names == tuple(("W", j) for j in range(1, n + 1))
    assert net.output == ("out", "in") and net.input_legs == ("in",)
    assert [net.shape(("W", j)) for j in range(1, n + 1)] == [(dims[j], dims[j - 1]) for j in range(1, n + 1)]
    assert net.inds(("W", 1))[1] == "in" and net.inds(("W", n))[0] == "out"
    if n > 1:
        assert net.inds(("W", 1))[0] == ("d", 1)
    assert net.natural_path is not None and net.metadata["builder"] == "deep_linear"
    W = product(factors(net))
    assert np.allclose(net.to_dense(), W)
    assert np.allclose(net.contract(optimize="natural"), W)
    X = np.random.default_rng(0).standard_normal((7, dims[0]))
    assert np.allclose(net.evaluate({"in": X}), X @ W.T)


@pytest.mark.parametrize("dims", [(4, 3, 5, 2), (6, 6, 6), (2, 8, 8, 3), (5, 1, 1, 1)])
def test_balanced_is_exactly_balanced(dims):
    ws = factors(deep_linear(dims, init="balanced", seed=3))
    for a, b in zip(ws[:-1], ws[1:]):
        assert np.allclose(b.T @ b, a @ a.T, atol=1e-12)


def test_balanced_factors_reproduce_a_target():
    rng = np.random.default_rng(0)
    target = rng.standard_normal((3, 2)) @ rng.standard_normal((2, 6))  # rank 2 <= min width 2
    ws = balanced_factors(target, (6, 4, 2, 5, 3), seed=1)
    assert np.allclose(product(ws), target)
    with pytest.raises(WidthError, match="shape"):
        balanced_factors(target, (5, 3))


def test_scales():
    g = factors(deep_linear((200, 300, 100), init="gaussian", scale=0.01, seed=0))
    assert np.isclose(g[0].std(), 0.01, rtol=0.05) and np.isclose(g[1].std(), 0.01, rtol=0.05)
    default = factors(deep_linear((400, 300), init="gaussian", seed=0))[0]
    assert np.isclose(default.std(), 1 / np.sqrt(400), rtol=0.05)
    ident = deep_linear((3, 3, 3), init="identity", scale=0.5)
    assert np.allclose(ident.to_dense(), 0.25 * np.eye(3))
    small = deep_linear((100, 100, 100), init="balanced", scale=1e-3, seed=0).to_dense()
    assert np.isclose(small.std(), 1e-3, rtol=0.05)


@pytest.mark.parametrize("bad", [(3,), (), (3, 0), (3, 2.5), (3, True), "ab", 5])
def test_bad_dims(bad):
    with pytest.raises(WidthError):
        deep_linear(bad)


def test_bad_init_and_scale():
    with pytest.raises(BuildError, match="init"):
        deep_linear((2, 2), init="unitary")
    for scale in (0, -1.0, float("nan"), "big"):
        with pytest.raises(BuildError, match="scale"):
            deep_linear((2, 2), scale=scale)


def test_tensor_train_structure_and_values():
    net = tensor_train(4, 3, [2, 5, 4], classes=2, seed=7)
    assert net.output == (0, 1, 2, 3, "y") and net.input_legs == (0, 1, 2, 3)
    assert [net.shape(("G", t)) for t in range(4)] == [(3, 2), (2, 3, 5), (5, 3, 4), (4, 3, 2)]
    G = [net.data(("G", t)) for t in range(4)]
    dense = np.einsum("aA,AbB,BcC,Cdy->abcdy", *G)
    assert np.allclose(net.to_dense(), dense)
    assert np.allclose(net.contract(optimize="natural"), dense)
    X = np.random.default_rng(1).standard_normal((4, 6, 3))
    assert np.allclose(net.evaluate(X), np.einsum("abcdy,na,nb,nc,nd->ny", dense, *X))
    assert net.metadata["widths"] == [2, 5, 4]


def test_tensor_train_edge_cases_and_errors():
    one = tensor_train(1, 4, [], classes=3)
    assert one.output == (0, "y") and one.shape(("G", 0)) == (4, 3)
    assert tensor_train(3, 2, 4).metadata["widths"] == [4, 4]
    with pytest.raises(WidthError, match="bonds"):
        tensor_train(4, 2, [2, 2])
    with pytest.raises(WidthError):
        tensor_train(0, 2, 2)
    with pytest.raises(WidthError):
        tensor_train(3, 2, [2, -1])
    with pytest.raises(BuildError):
        tensor_train(3, 2, 2, scale=0)


@pytest.mark.parametrize("dims", [(6,) * 51, (4, 7, 3, 5)])
def test_orthogonal_factors_are_haar_isometries(dims):
    ws = factors(deep_linear(dims, init="orthogonal", seed=3))
    for w in ws:                                     # orthonormal columns, or rows when wide
        small = min(w.shape)
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        assert np.allclose(gram, np.eye(small))
    if len(set(dims)) == 1:                          # equal widths: the end-to-end matrix is orthogonal
        assert np.allclose(np.linalg.svd(product(ws), compute_uv=False), 1.0, atol=1e-12)
    again = factors(deep_linear(dims, init="orthogonal", seed=4))
    assert not np.allclose(ws[0], again[0])          # seeded, random


def test_orthogonal_sign_correction_gives_an_unbiased_first_entry():
    firsts = [deep_linear((3, 3), init="orthogonal", seed=s).data(("W", 1))[0, 0] for s in range(400)]
    assert abs(np.mean(firsts)) < 0.1 and np.mean(np.array(firsts) > 0) == pytest.approx(0.5, abs=0.1)
