"""builders.generalized / generalized_forward: rectifier networks as generalized decompositions (theory §11)."""

import numpy as np
import pytest
from builders_helpers import features
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from tn.errors import BuildError, UnknownNameError

G = {"product": lambda vals: np.prod(vals, axis=0),
     "relu-max": lambda vals: np.max([np.zeros_like(vals[0])] + list(vals), axis=0),
     "relu-sum": lambda vals: np.sum([np.maximum(v, 0) for v in vals], axis=0)}


def by_hand(net, g, x):
    """Layer by layer from the tensors' own arrays: leaf conv, then per node g over children and its conv."""
    tree = builders.tree_of(net)
    out = {}
    for v in sorted(tree.nodes, key=len):                    # every child is smaller than its parent
        kids = tree.children(v)
        if not kids:
            out[v] = x[:, v[0], :] @ net.data(("leaf", v[0]))
        else:
            out[v] = G[g]([out[c] for c in kids]) @ net.data(("node", v))
    return out[tree.root]


TREES = [builders.ModeTree.flat(4), builders.ModeTree.balanced(4), builders.ModeTree.from_nested(((0, 2, 4), (1, 3)))]


@pytest.mark.parametrize("g", sorted(G))
@pytest.mark.parametrize("tree", TREES, ids=str)
def test_forward_matches_a_hand_written_pass(g, tree):
    net = builders.generalized(tree, 3, 4, g=g, classes=2, seed=2)
    x = np.random.default_rng(0).standard_normal((7, tree.N, 3))
    assert np.allclose(builders.generalized_forward(net, x), by_hand(net, g, x))


def test_product_is_the_convac_contraction():
    net = builders.generalized(builders.ModeTree.balanced(8), 2, 3, seed=1)
    x = np.random.default_rng(1).random((5, 8, 2))
    assert np.allclose(builders.generalized_forward(net, x), net.evaluate(features(x)))


@given(seed=st.integers(0, 1000), g=st.sampled_from(sorted(G)))
@settings(max_examples=25, deadline=None)
def test_integer_weights_are_exact_python_integers(seed, g):
    net = builders.generalized(builders.ModeTree.balanced(4), 2, 3, g=g, init="integer", seed=seed)
    x = np.random.default_rng(seed).integers(-2, 3, (4, 4, 2))
    out = builders.generalized_forward(net, x)
    assert out.dtype == object and all(type(v) is int for v in out.ravel())
    assert np.array_equal(out.astype(np.int64), np.rint(by_hand(net, g, x.astype(float))).astype(np.int64))


def test_metadata_and_errors():
    net = builders.generalized(builders.ModeTree.flat(3), 2, 2, g="RELU-MAX")
    assert net.metadata["builder"] == "generalized" and net.metadata["g"] == "relu-max"
    assert builders.get("generalized") is builders.generalized
    with pytest.raises(UnknownNameError, match="relu-tanh.*product"):
        builders.generalized(builders.ModeTree.flat(3), 2, 2, g="relu-tanh")
    with pytest.raises(BuildError, match=r"templates.*\(2, 2\).*\(3, 2\)"):
        builders.generalized(builders.ModeTree.flat(3), 2, 2, templates=np.ones((3, 2)))
    with pytest.raises(BuildError, match="not made by builders.generalized"):
        builders.generalized_forward(builders.convac(builders.ModeTree.flat(3), 2, 2), np.ones((1, 3, 2)))
    with pytest.raises(BuildError, match=r"shape \(batch, N=3, M=2\)"):
        builders.generalized_forward(net, np.ones((1, 4, 2)))


def test_a_registered_operator_is_used():
    builders.G_OPERATORS.register("min", lambda vals: np.minimum.reduce(vals))
    net = builders.generalized(builders.ModeTree.flat(3), 2, 2, g="min", seed=0)
    x = np.random.default_rng(2).random((3, 3, 2))
    a = [x[:, i] @ net.data(("leaf", i)) for i in range(3)]
    assert np.allclose(builders.generalized_forward(net, x), np.minimum.reduce(a) @ net.data(("node", (0, 1, 2))))
