"""Mixed decompositions (theory §6, Cohen-Tamari-Shashua eq. 4): half-channel swaps, hybrid terms, Corollary 8."""

import itertools

import numpy as np
import pytest
from builders_helpers import features, nested_trees, score
from builders_helpers import rank_mod_p as helpers_rank_mod_p
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from builders import ModeTree, reference, reference_forward
from builders.mixtures import MixedNetwork
from tn import NetworkSum
from tn.errors import BuildError, ShapeError, TermLimitError, WidthError

P = 1_000_003  # < 2^20: products of two residues and short dot products stay exact in float64


def _strip(params, track):
    return {k[1:]: v for k, v in params.items() if k[0] == track}


def time_domain_mod_p(params, N, M):
    """The time-domain network (theory §6, both heads, swaps) on every one-hot input, mod P: A[d_0..d_{N-1}, y]."""
    x = np.eye(M)[np.indices((M,) * N).reshape(N, -1).T]          # (M^N, N, M)
    nets = [params["a"], params["b"]] if "a" in params else [params]
    swap = dict(zip(params.get("mixture_levels", ()), params.get("swap", ())))

    def lin(a, W):
        W = np.asarray(W, dtype=float)
        return np.mod(a.reshape(-1, a.shape[-1]) @ W.T, P).reshape(a.shape[:-1] + (len(W),))

    h = [x for _ in nets]
    for layer in range(1, len(nets[0]["dilations"]) + 1):
        new = []
        for p, hk in zip(nets, h):
            d = p["dilations"][layer - 1]
            earlier = np.zeros_like(hk)
            earlier[:, d:] = hk[:, :-d]
            new.append(np.mod(lin(earlier, p["U"][layer - 1]) * lin(hk, p["V"][layer - 1]), P))
        h = new
        s = swap.get(layer, 0)
        if s:
            h = [np.concatenate([h[1 - k][..., :s], h[k][..., s:]], axis=-1) for k in range(2)]
    outs = [hk[:, -1] if p["W"] is None else lin(hk[:, -1], p["W"]) for p, hk in zip(nets, h)]
    return np.mod(sum(outs), P).reshape((M,) * N + (-1,))


def rank_mod_p(matrix):
    """Exact rank over GF(P) (Gaussian elimination in the helpers); builders.reference.rank_mod_p must agree."""
    rank = helpers_rank_mod_p(matrix, P)
    assert reference.rank_mod_p(matrix, P) == rank
    return rank


def matricize_class0(A, rows):
    T = A[..., 0]
    cols = [i for i in range(T.ndim) if i not in rows]
    return np.transpose(T, list(rows) + cols).reshape(int(np.prod([T.shape[i] for i in rows])), -1)


def random_time_params(rng, dilations, M, widths, classes=1, head=None, high=None):
    """Time-domain weights; integers in [0, P) when ``high`` is None, else Gaussian."""
    sizes = [M] + list(widths)
    draw = (lambda s: rng.integers(0, P, s)) if high is None else (lambda s: rng.standard_normal(s))
    return {"dilations": tuple(dilations), "U": [draw((sizes[l + 1], sizes[l])) for l in range(len(dilations))],
            "V": [draw((sizes[l + 1], sizes[l])) for l in range(len(dilations))],
            "W": None if head is None else draw((classes, sizes[-1]))}


# ---------------------------------------------------------------------- semantics
def test_root_exchange_by_hand():
    """Two balanced N = 4 ConvACs mixed at the root, swap s: each root conv reads s channels of the other's pooling."""
    T = ModeTree.balanced(4)
    for s in (1, 2, 3):
        net = builders.mixed(T, T, M=2, widths=[2, 3], mixture_nodes=[T.root], swap=s, seed=s)
        p = builders.get_params(net)

        def pooled(t, p=p):  # (d0, d1, d2, d3, channel) of track t below the root conv
            lo = np.einsum("ap,bp,pq->abq", p[(t, "leaf", 0)], p[(t, "leaf", 1)], p[(t, "node", (0, 1))])
            hi = np.einsum("ap,bp,pq->abq", p[(t, "leaf", 2)], p[(t, "leaf", 3)], p[(t, "node", (2, 3))])
            return np.einsum("abq,cdq->abcdq", lo, hi)

        pa, pb = pooled("a"), pooled("b")
        root = (0, 1, 2, 3)
        mixed_a = np.concatenate([pb[..., :s], pa[..., s:]], axis=-1)
        mixed_b = np.concatenate([pa[..., :s], pb[..., s:]], axis=-1)
        expected = mixed_a @ p[("a", "node", root)] + mixed_b @ p[("b", "node", root)]
        assert np.allclose(net.to_dense(), expected)
        x = np.random.default_rng(s).standard_normal((4, 4, 2))
        assert np.allclose(net.evaluate(features(x)), score(expected, x))


PAIRS = [
    (ModeTree.balanced(8), ModeTree.interleaved(8)),
    (ModeTree.balanced(8), ModeTree.mirror(8)),
    (ModeTree.balanced(8), ModeTree.balanced(8)),
    (ModeTree.from_dilations(8, (1, 2, 4)), ModeTree.from_dilations(8, (2, 1, 4))),
    (ModeTree.balanced(9, 3), ModeTree.from_nested(((0, 1, 2), (3, 4, 5, 6, 7, 8)))),
]


@pytest.mark.parametrize("pair", range(len(PAIRS)))
@pytest.mark.parametrize("swap", [None, 1, 2, 3])
def test_evaluate_dense_and_terms_match_the_swap_recursion(pair, swap):
    a, b = PAIRS[pair]
    net = builders.mixed(a, b, M=2, widths=3, swap=swap, classes=2, seed=pair)
    tracks, swaps = reference.unpack(net)
    assert set(swaps) == {v for v in a.internal_nodes if v in b} and set(swaps.values()) == {swap or 1}
    A = reference.coefficient_tensor(tracks, swaps)
    assert np.allclose(net.to_dense(), A)
    assert np.allclose(sum(t.to_dense() for t in net.terms), A)  # the hybrid trees, one by one
    x = np.random.default_rng(pair).standard_normal((5, a.N, 2))
    out = net.evaluate(features(x))
    assert np.allclose(out, score(A, x)) and np.allclose(out, reference.tree_forward(tracks, x, swaps))
    assert np.allclose(NetworkSum(net.terms).evaluate(features(x)), out)
    assert len(net.terms) == net.n_terms <= 2 * 2 ** len(swaps)


@settings(max_examples=25, deadline=None)
@given(a=nested_trees(min_n=4, max_n=7), b=nested_trees(min_n=4, max_n=7), data=st.data())
def test_random_tree_pairs(a, b, data):
    if a.N != b.N:
        b = ModeTree.random(a.N, seed=data.draw(st.integers(0, 50)))
    common = [v for v in a.internal_nodes if v in b]
    mix = data.draw(st.lists(st.sampled_from(common), unique=True))
    r = data.draw(st.integers(1, 3))
    s = data.draw(st.integers(0, r)) if mix else 0  # a swap without mixture nodes is an error (tested below)
    net = builders.mixed(a, b, M=2, widths=r, mixture_nodes=mix, swap=s, seed=data.draw(st.integers(0, 9)))
    tracks, swaps = reference.unpack(net)
    assert swaps == ({v: s for v in mix} if s else {})
    assert np.allclose(net.to_dense(), reference.coefficient_tensor(tracks, swaps))
    x = np.random.default_rng(0).standard_normal((3, a.N, 2))
    assert np.allclose(net.evaluate(features(x)), reference.tree_forward(tracks, x, swaps))
    for term in net.terms:  # each term is a tree network over a glued mode tree, masked at partial exchanges
        tree = builders.tree_of(term)
        assert set(term.hyperedges()) == {("h", v) for v in tree.internal_nodes}
        masks = [n for n in term.tensor_names if n[0] == "mask"]
        assert all(0 < s < r and n[2] in mix for n in masks)


def test_full_swap_terms_are_the_glued_trees():
    """swap = width: the old full exchange, two terms, each track's convs over the other's subtrees."""
    a, b = ModeTree.from_dilations(8, (1, 2, 4)), ModeTree.from_dilations(8, (2, 1, 4))
    halves = [(0, 1, 2, 3), (4, 5, 6, 7)]
    net = builders.mixed(a, b, M=2, widths=2, mixture_nodes=halves, swap=2)
    assert net.n_terms == 2
    for term, mine, other, below in zip(net.terms, "ab", "ba", (b, a)):
        assert builders.tree_of(term) == below
        expected = {(mine, "node", a.root)} | {(mine, "node", h) for h in halves}
        expected |= {(other, "node", v) for v in below.by_level()[1]} | {(other, "leaf", i) for i in range(8)}
        assert set(term.tensor_names) == expected


def test_no_exchange_is_the_plain_sum():
    a, b = ModeTree.balanced(8), ModeTree.mirror(8)
    for kwargs in ({"swap": 0}, {"mixture_nodes": []}):
        net = builders.mixed(a, b, M=2, widths=[2, 3, 2], classes=2, seed=4, **kwargs)
        params = builders.get_params(net)
        net_a = builders.convac(a, 2, [2, 3, 2], classes=2, params=_strip(params, "a"))
        net_b = builders.convac(b, 2, [2, 3, 2], classes=2, params=_strip(params, "b"))
        assert net.n_terms == 2 and not net.swaps
        assert np.allclose(net.to_dense(), net_a.to_dense() + net_b.to_dense())


@pytest.mark.parametrize("head", ["convac", None])
@pytest.mark.parametrize("da, db", [((1, 2, 4), (2, 1, 4)), ((1, 2, 4), (1, 4, 2)), ((2, 1, 4, 8), (1, 2, 8, 4))])
def test_mixed_dilated_matches_the_time_domain_networks(head, da, db):
    """Compiled evaluate == time-domain reference == dense sum of the hybrid terms, for every swap 1..r."""
    N, r = 2 ** len(da), 3
    L = len(da)
    valid = [l for l in range(1, L + 1) if sorted(da[:l]) == sorted(db[:l])]
    x = np.random.default_rng(N).standard_normal((6, N, 2))
    choices = [c for k in range(len(valid) + 1) for c in itertools.combinations(valid, k)]
    for k, levels in enumerate(choices if N < 16 else [tuple(valid), tuple(valid[:1])]):
        for swap in range(1, r + 1) if levels else (0,):  # no mixture levels: the plain sum, nothing to swap
            if head is None and L in levels and swap > 2:
                continue  # the last layer has the 2 class channels
            net = builders.mixed_dilated(N, 2, r, da, db, mixture_levels=levels, swap=swap, classes=2, head=head,
                                         seed=k + swap)
            params = builders.dilated_params(net)
            assert params["mixture_levels"] == levels and params["swap"] == (swap,) * len(levels)
            ref = reference_forward(params, x)
            assert np.allclose(net.evaluate(features(x)), ref)
            if N < 16:  # the dense sum of the hybrid terms (at N = 16: test_corollary_8_network_...)
                assert np.allclose(score(net.to_dense(), x), ref)


def test_mixed_dilated_without_mixture_is_the_sum_of_two_dilated_convnets():
    for head in ("convac", None):
        net = builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 1, 4), mixture_levels=[], classes=2, head=head)
        p = builders.dilated_params(net)
        nets = [builders.dilated_convnet(8, 2, 2, d, classes=2, head=head, params=p[t])
                for d, t in (((1, 2, 4), "a"), ((2, 1, 4), "b"))]
        assert np.allclose(net.to_dense(), nets[0].to_dense() + nets[1].to_dense())


def test_headless_root_swap_changes_no_sum():
    """Without a head, exchanging output channels between the two summands is no exchange at all."""
    kw = {"classes": 2, "head": None, "seed": 3}
    net = builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 1, 4), mixture_levels=[2, 3], swap=1, **kw)
    assert set(net.swaps) == set(builders.tree_of(net.terms[0]).by_level()[2])
    assert builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 1, 4), **kw).metadata["mixture_levels"] == [2]
    x = np.random.default_rng(0).standard_normal((3, 8, 2))
    assert np.allclose(net.evaluate(features(x)), reference_forward(builders.dilated_params(net), x))


# ---------------------------------------------------------------------- limits, weights, round trip
def test_expansion_limit_and_evaluate_at_scale():
    net = builders.mixed_dilated(64, 2, 2, (1, 2, 4, 8, 16, 32), (2, 1, 8, 4, 32, 16), head=None, max_terms=100)
    assert len(net.swaps) == 16 + 4 and net.n_terms == 2 * 2 ** 20  # 16 blocks of 4, then 4 of 16: 2 * (2^4)^4 * 2^4
    with pytest.raises(TermLimitError, match=r"2,097,152 hybrid-tree terms.*max_terms=100.*evaluate\(\)"):
        net.to_dense()
    x = np.random.default_rng(0).standard_normal((4, 64, 2)) / np.sqrt(2)
    assert np.allclose(net.evaluate(features(x)), reference_forward(builders.dilated_params(net), x))


def test_set_params_and_masks_reach_terms_and_evaluate():
    T = ModeTree.balanced(8)
    net = builders.mixed(T, T, M=2, widths=2, mixture_nodes=[(0, 1), (0, 1, 2, 3)], share="level")
    names = builders.param_names(net)[("a", "level", 0)]  # every leaf of track a
    holders = [(t, n) for t in net.terms for n in names if n in t.tensor_names]
    assert len({id(t) for t, _ in holders}) > 1 and len({id(t.data(n)) for t, n in holders}) == 1
    builders.set_params(net, {("a", "level", 0): np.ones((2, 2))})
    assert all(np.array_equal(t.data(n), np.ones((2, 2))) for t, n in holders)
    net.set_data(("mask", "swap", (0, 1)), np.array([0.5, 2.0]))
    x = np.random.default_rng(0).standard_normal((3, 8, 2))
    assert np.allclose(net.evaluate(features(x)), NetworkSum(net.terms).evaluate(features(x)))


def test_unequal_widths_allowed_away_from_mixture_nodes():
    a, b = ModeTree.balanced(8), ModeTree.interleaved(8)
    net = builders.mixed(a, b, M=2, widths=[2, 3, 2], widths_b=[3, 4, 2])
    tracks, swaps = reference.unpack(net)
    assert list(swaps) == [a.root]
    assert np.allclose(net.to_dense(), reference.coefficient_tensor(tracks, swaps))


def test_save_load_round_trip(tmp_path):
    import tn
    net = builders.mixed_dilated(8, 2, 4, (1, 2, 4), (2, 1, 4), swap=1, classes=2, head=None)
    net.save(tmp_path / "mixed")
    back = tn.load(tmp_path / "mixed")
    assert back.metadata == net.metadata and back.metadata["swap"] == 1 and back.metadata["head"] is None
    x = np.random.default_rng(0).standard_normal((3, 8, 2))
    assert np.allclose(back.evaluate(features(x)), reference_forward(builders.dilated_params(back), x))
    assert np.allclose(back.evaluate(features(x)), net.evaluate(features(x)))
    assert reference.unpack(back)[1] == net.swaps
    assert isinstance(back, MixedNetwork) and back.n_terms == net.n_terms
    assert np.allclose(back.to_dense(), net.to_dense())
    assert all(np.array_equal(back.data(n), net.data(n)) for n in net.tensor_names)


def test_save_keeps_replaced_masks_name_and_max_terms(tmp_path):
    import tn
    net = builders.mixed(ModeTree.balanced(4), ModeTree.mirror(4), M=2, widths=2, max_terms=64)
    root = net.specs[0].tree.root
    net.set_data(("mask", "keep", root), [0.5, 0.25])
    net.name, net.max_terms = "renamed", 7
    net.save(tmp_path / "m")
    back = tn.load(tmp_path / "m")
    assert back.name == "renamed" and back.max_terms == 7
    assert np.array_equal(back.data(("mask", "keep", root)), [0.5, 0.25])
    assert np.allclose(back.to_dense(), net.to_dense())


def test_a_malformed_mixed_file_is_a_serialization_error(tmp_path):
    import json
    import zipfile

    import tn
    from tn.errors import SerializationError
    builders.mixed_dilated(8, 2, 2).save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for edit, match in ((lambda d: d["metadata"].pop("mixture"), "KeyError: 'mixture'"),
                        (lambda d: d["metadata"]["mixture"][0].__setitem__(1, 9), "swap=9 at mixture node")):
        doc = json.loads(members["network.json"])
        edit(doc)
        with zipfile.ZipFile(tmp_path / "bad", "w") as zf:
            for n, data in members.items():
                zf.writestr(n, json.dumps(doc) if n == "network.json" else data)
        with pytest.raises(SerializationError, match=f"cannot rebuild a 'mixed'.*{match}"):
            tn.load(tmp_path / "bad")


def test_a_mixed_network_too_large_to_expand_saves_its_tracks(tmp_path):
    import tn
    net = builders.mixed_dilated(256, 2, 2)   # about 2^256 hybrid terms: the file holds the two tracks
    assert net.n_terms > 2**200
    net.save(tmp_path / "big")
    back = tn.load(tmp_path / "big")
    assert isinstance(back, MixedNetwork) and back.swaps == net.swaps and back.n_terms == net.n_terms
    x = np.random.default_rng(1).random((256, 4, 2))
    assert np.allclose(back.evaluate(x), net.evaluate(x))
    with pytest.raises(TermLimitError, match=r"about 2\^25[0-9]"):
        back.terms


def test_a_file_of_an_unregistered_kind_names_its_module(tmp_path, monkeypatch):
    import tn
    from tn.errors import SerializationError
    from tn.io import KINDS
    net = builders.mixed_dilated(8, 2, 2)
    net.save(tmp_path / "m")
    monkeypatch.setattr(KINDS, "_entries", {})  # as if builders.mixtures were never imported
    with pytest.raises(SerializationError, match=r"not 'mixed' \(files of this kind are read after `import "
                                                 r"builders\.mixtures`\)"):
        tn.load(tmp_path / "m")


@pytest.mark.parametrize("make, error, match", [
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.mirror(8), 2, 2, mixture_nodes=[(0, 1)]),
     BuildError, r"\(0, 1\) is not a node of tree_b"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.mirror(8), 2, 2, mixture_nodes=[(3,)]), BuildError,
     r"\(3,\) is a leaf"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.balanced(8), 2, [2, 2, 2], widths_b=[3, 2, 2]),
     WidthError, r"\(0, 1\) has width 2 in tree_a and 3"),
    (lambda: builders.mixed_dilated(16, 2, 2, mixture_levels=[], swap=1), BuildError, "no mixture node to act on"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.balanced(8), 2, 2, swap=3), WidthError,
     r"swap=3 at mixture node .*0\.\.2"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.balanced(8), 2, 2, swap=-1), WidthError, "swap=-1"),
    (lambda: builders.mixed(ModeTree.balanced(8), ModeTree.balanced(4), 2, 2), BuildError, "8 positions"),
    (lambda: builders.mixed(ModeTree.balanced(4), ModeTree.balanced(4), 2, 2, max_terms=0), BuildError, "max_terms=0"),
    (lambda: builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 1, 4), mixture_levels=[1]), BuildError,
     r"level\(s\) \[1\]"),
    (lambda: builders.mixed_dilated(8, 2, 2, (1, 2, 4), (2, 2, 4)), BuildError, r"\(2, 2, 4\)"),
    (lambda: builders.mixed_dilated(8, 2, 2, head="wout"), BuildError, "head='wout'"),
    (lambda: builders.mixed_dilated(8, 2, 2, mixture_levels=[3], swap=2, head=None), WidthError, "swap=2"),
    (lambda: builders.dilated_params(builders.mixed(ModeTree.balanced(4), ModeTree.mirror(4), 2, 2)), BuildError,
     "mixed_dilated"),
    (lambda: builders.mixed_dilated(4, 2, 2).evaluate({i: np.ones((2, 2)) for i in range(3)}), ShapeError,
     r"missing \[3\]"),
    (lambda: builders.mixed_dilated(4, 2, 2).evaluate([np.ones((2, 2))] * 3), ShapeError, "3 feature matrices"),
    (lambda: builders.mixed_dilated(4, 2, 2).evaluate([np.ones((2, 3))] * 4), ShapeError, r"\(B, 2\)"),
])
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ---------------------------------------------------------------------- Corollary 8 (theory §6), exactly
N16_A = (0, 2, 4, 6, 8, 9, 12, 13)
T16, TBAR16 = (1, 2, 4, 8), (2, 1, 8, 4)


def test_corollary_8_at_n16_exactly():
    """rank T = 64 = r^6, rank Tbar = 64, rank (T + Tbar) = 112, rank mixed = 256 = r^8; T needs width 4 (mod P)."""
    rng = np.random.default_rng(8)
    pa, pb = (random_time_params(rng, d, 2, [2, 2, 2, 1]) for d in (T16, TBAR16))

    def rank(params):
        return rank_mod_p(matricize_class0(time_domain_mod_p(params, 16, 2), N16_A))

    A_T, A_Tb = time_domain_mod_p(pa, 16, 2), time_domain_mod_p(pb, 16, 2)
    assert rank_mod_p(matricize_class0(A_T, N16_A)) == 64 and rank_mod_p(matricize_class0(A_Tb, N16_A)) == 64
    assert rank_mod_p(matricize_class0(np.mod(A_T + A_Tb, P), N16_A)) == 112
    mixed = {"a": pa, "b": pb, "mixture_levels": (2,), "swap": (1,)}
    assert rank(mixed) == 256
    onehot = np.eye(2)[np.indices((2,) * 16).reshape(16, -1).T]  # the engine's exact route agrees (benchmarks/mixed.py)
    assert np.array_equal(reference_forward(mixed, onehot, prime=P).reshape((2,) * 16 + (1,)),
                          time_domain_mod_p(mixed, 16, 2))
    assert [rank(random_time_params(rng, T16, 2, [w, w, w, 1])) for w in (3, 4)] == [144, 256]


def test_corollary_8_network_is_the_time_domain_network():
    """The compiled N = 16 mixed network (four blocks of 4, swap 1, no head) is the network whose ranks we count."""
    rng = np.random.default_rng(9)
    pa, pb = (random_time_params(rng, d, 2, [2, 2, 2, 1], high=1) for d in (T16, TBAR16))
    net = builders.mixed_dilated(16, 2, 2, T16, TBAR16, mixture_levels=[2], swap=1, head=None,
                                 params={"a": pa, "b": pb})
    assert sorted(net.swaps) == [tuple(range(k, k + 4)) for k in range(0, 16, 4)] and net.n_terms == 32
    x = np.random.default_rng(1).standard_normal((8, 16, 2))
    ref = reference_forward({"a": pa, "b": pb, "mixture_levels": (2,), "swap": (1,)}, x)
    assert np.allclose(net.evaluate(features(x)), ref)
    assert np.allclose(score(net.to_dense(optimize="natural"), x), ref)
