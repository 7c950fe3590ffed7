import itertools

import numpy as np
import pytest
from builders_helpers import features, nested_trees, score
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from builders import ModeTree, reference, reference_forward
from tn import NetworkSum
from tn.errors import BuildError, WidthError

PAIRS = [
    (ModeTree.balanced(8), ModeTree.interleaved(8)),
    (ModeTree.balanced(8), ModeTree.mirror(8)),
    (ModeTree.balanced(8), ModeTree.balanced(8)),
    (ModeTree.from_dilations(8, (1, 2, 4)), ModeTree.from_dilations(8, (2, 1, 4))),
    (ModeTree.balanced(9, 3), ModeTree.from_nested(((0, 1, 2), (3, 4, 5, 6, 7, 8)))),
]


def _strip(params, track):
    return {k[1:]: v for k, v in params.items() if k[0] == track}


def test_mixing_only_at_leaves_is_the_sum_of_two_convacs():
    a, b = ModeTree.balanced(8), ModeTree.mirror(8)
    s = builders.mixed(a, b, M=2, widths=[2, 3, 2], mixture_nodes=[(i,) for i in range(8)], classes=2)
    params = builders.get_params(s)
    net_a = builders.convac(a, 2, [2, 3, 2], classes=2, params=_strip(params, "a"))
    net_b = builders.convac(b, 2, [2, 3, 2], classes=2, params=_strip(params, "b"))
    assert np.allclose(s.to_dense(), net_a.to_dense() + net_b.to_dense())


def test_root_exchange_by_hand():
    """Two balanced N = 4 trees mixed at the root only: each root conv reads the other's pooling."""
    T = ModeTree.balanced(4)
    s = builders.mixed(T, T, M=2, widths=[2, 3], mixture_nodes=[T.root])
    p = builders.get_params(s)

    def pooled(t):  # (d0, d1, d2, d3, channel) of track t below the root conv
        lo = np.einsum("ap,bp,pq->abq", p[(t, "leaf", 0)], p[(t, "leaf", 1)], p[(t, "node", (0, 1))])
        hi = np.einsum("ap,bp,pq->abq", p[(t, "leaf", 2)], p[(t, "leaf", 3)], p[(t, "node", (2, 3))])
        return np.einsum("abq,cdq->abcdq", lo, hi)

    root = (0, 1, 2, 3)
    expected = pooled("b") @ p[("a", "node", root)] + pooled("a") @ p[("b", "node", root)]
    assert np.allclose(s.to_dense(), expected)


@pytest.mark.parametrize("pair", range(len(PAIRS)))
def test_dense_and_evaluate_match_the_exchange_recursion(pair):
    a, b = PAIRS[pair]
    s = builders.mixed(a, b, M=2, widths=2, classes=2, seed=pair)
    assert isinstance(s, NetworkSum) and len(s.terms) == 2
    tracks, mix = reference.unpack(s)
    assert mix == {v for v in a.nodes if v in b}
    A = reference.coefficient_tensor(tracks, mix)
    assert np.allclose(s.to_dense(), A)
    x = np.random.default_rng(pair).standard_normal((5, a.N, 2))
    out = s.evaluate(features(x))
    assert np.allclose(out, score(A, x))
    assert np.allclose(out, reference.tree_forward(tracks, x, mix))


@settings(max_examples=25, deadline=None)
@given(a=nested_trees(min_n=4, max_n=7), b=nested_trees(min_n=4, max_n=7), data=st.data())
def test_random_tree_pairs(a, b, data):
    if a.N != b.N:
        b = ModeTree.random(a.N, seed=data.draw(st.integers(0, 50)))
    common = [v for v in a.nodes if v in b]
    mix = data.draw(st.lists(st.sampled_from(common), unique=True))
    s = builders.mixed(a, b, M=2, widths=2, mixture_nodes=mix, seed=data.draw(st.integers(0, 9)))
    tracks, _ = reference.unpack(s)
    assert np.allclose(s.to_dense(), reference.coefficient_tensor(tracks, mix))
    for term in s.terms:  # each term is a tree network over a glued mode tree
        tree = builders.tree_of(term)
        assert set(term.hyperedges()) == {("h", v) for v in tree.internal_nodes}


def test_terms_are_glued_trees_using_both_tracks():
    a, b = ModeTree.from_dilations(8, (1, 2, 4)), ModeTree.from_dilations(8, (2, 1, 4))
    halves = [(0, 1, 2, 3), (4, 5, 6, 7)]
    s = builders.mixed(a, b, M=2, widths=2, mixture_nodes=halves)
    for term, mine, other, below in zip(s.terms, "ab", "ba", (b, a)):
        # above the halves: this track's convs; below them: the other track's level-1 convs and leaves
        assert builders.tree_of(term) == below
        expected = {(mine, "node", a.root)} | {(mine, "node", h) for h in halves}
        expected |= {(other, "node", v) for v in below.by_level()[1]} | {(other, "leaf", i) for i in range(8)}
        assert set(term.tensor_names) == expected


@pytest.mark.parametrize("da, db", [((1, 2, 4), (2, 1, 4)), ((1, 2, 4), (1, 4, 2)), ((4, 2, 1), (1, 2, 4)),
                                    ((2, 1, 4, 8), (1, 2, 8, 4))])
def test_mixed_dilated_matches_interconnected_time_domain_networks(da, db):
    N = 2 ** len(da)
    valid = [l for l in range(1, len(da) + 1) if sorted(da[:l]) == sorted(db[:l])]
    rng = np.random.default_rng(N)
    x = rng.standard_normal((6, N, 2))
    for k in range(len(valid) + 1):
        for levels in itertools.combinations(valid, k):
            s = builders.mixed_dilated(N, 2, 2, da, db, mixture_levels=levels, classes=2, seed=k)
            params = builders.dilated_params(s)
            assert params["mixture_levels"] == levels
            assert np.allclose(s.evaluate(features(x)), reference_forward(params, x))
    tracks, mix = reference.unpack(s)
    assert np.allclose(s.to_dense(), reference.coefficient_tensor(tracks, mix))


def _holders(s):
    """key -> list of (term index, tensor name), asserting one array object per key."""
    out = {}
    for key, names in builders.param_names(s).items():
        out[key] = [(k, n) for k, t in enumerate(s.terms) for n in names if n in t]
        arrays = [s.terms[k].data(n) for k, n in out[key]]
        assert all(arr is arrays[0] for arr in arrays)
    return out


def test_mixed_dilated_uses_each_layer_once_and_round_trips():
    s = builders.mixed_dilated(8, 2, 3, (1, 2, 4), (2, 1, 4))
    assert s.metadata["mixture_levels"] == [2, 3]
    holders = _holders(s)
    assert len(holders) == 2 * 7
    # layer-wide exchanges: every activation is consumed once, so every layer's weights sit in one term
    assert all(len({k for k, _ in h}) == 1 for h in holders.values())
    again = builders.mixed_dilated(8, 2, 3, (1, 2, 4), (2, 1, 4), params=builders.dilated_params(s))
    assert np.array_equal(again.to_dense(), s.to_dense())


def test_shared_weights_cross_terms_under_a_partial_exchange():
    T = ModeTree.balanced(8)
    s = builders.mixed(T, T, M=2, widths=2, mixture_nodes=[(0, 1)], share="level")
    holders = _holders(s)
    assert {k for k, _ in holders[("a", "level", 0)]} == {0, 1}
    assert ("a", "leaf", 0) in s.terms[1] and ("a", "leaf", 2) in s.terms[0]  # leaves under (0, 1) swap terms
    tracks, mix = reference.unpack(s)
    assert np.allclose(s.to_dense(), reference.coefficient_tensor(tracks, mix))
    new = np.ones((2, 2))
    builders.set_params(s, {("a", "level", 0): new})  # by key: every tensor in every term
    shared = [s.terms[k].data(n) for k, n in holders[("a", "level", 0)]]
    assert all(a is shared[0] for a in shared) and np.array_equal(shared[0], new)


def test_unequal_widths_allowed_away_from_mixture_nodes():
    a, b = ModeTree.balanced(8), ModeTree.interleaved(8)
    s = builders.mixed(a, b, M=2, widths=[2, 3, 2], widths_b=[3, 4, 2])
    tracks, mix = reference.unpack(s)
    assert np.allclose(s.to_dense(), reference.coefficient_tensor(tracks, mix))


@pytest.mark.parametrize("make, error, match", [
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.mirror(8), 2, 2, mixture_nodes=[(0, 1)]),
     BuildError, r"\(0, 1\) is not a node of tree_b"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.balanced(8), 2, [2, 2, 2], widths_b=[3, 2, 2]),
     WidthError, r"\(0, 1\) has width 2 in tree_a and 3"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.balanced(4), 2, 2), BuildError, "8 positions"),
    (lambda: builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 1, 4), mixture_levels=[1]), BuildError,
     r"level\(s\) \[1\]"),
    (lambda: builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 2, 4)), BuildError, r"\(2, 2, 4\)"),
    (lambda: builders.dilated_params(builders.mixed(ModeTree.balanced(4), ModeTree.mirror(4), 2, 2)), BuildError,
     "mixed_dilated"),
])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_save_load_round_trip(tmp_path):
    import tn
    s = builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 1, 4), classes=2)
    s.save(tmp_path / "mixed")
    back = tn.load(tmp_path / "mixed")
    x = np.random.default_rng(0).standard_normal((3, 8, 2))
    assert np.allclose(back.evaluate(features(x)), reference_forward(builders.dilated_params(back), x))
    assert [builders.tree_of(t) for t in back.terms] == [builders.tree_of(t) for t in s.terms]
