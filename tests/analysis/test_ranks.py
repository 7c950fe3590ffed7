"""Exact ranks mod p along the cut, certified lower bounds and the verdicts of validate (theory §10).

The reference for every rank is computed here, independently of analysis.ranks: the dense tensor with
Python-int arithmetic (np.einsum on object arrays), then plain Gaussian elimination mod p.
"""

import math
import string

import numpy as np
import pytest
from analysis_nets import balanced, convac, flat, mirror
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import mincut, validate
from analysis.ranks import (
    RANK_METHODS,
    RankResult,
    exact_rank,
    mod_einsum,
    modular_network,
    random_prime,
    rank_lower_bound,
    rank_mod,
    row_basis,
)
from analysis.validation import GAP_THRESHOLD
from tn import NetworkSum, TensorNetwork
from tn.errors import (
    BoundViolationError,
    PartitionError,
    RankError,
    SymbolicTensorError,
)
from tn.testing import random_matrix_trees, random_networks

SMALL_PRIME = 10007  # small enough that a rank can drop mod p, so exactness mod p is really tested


def gauss_rank(rows, p) -> int:
    """Rank mod p of a list of integer rows by textbook Gaussian elimination."""
    rows = [[int(v) % p for v in row] for row in rows]
    rank, cols = 0, len(rows[0]) if rows else 0
    for c in range(cols):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][c]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        inv = pow(rows[rank][c], p - 2, p)
        rows[rank] = [v * inv % p for v in rows[rank]]
        for r in range(len(rows)):
            if r != rank and rows[r][c]:
                f = rows[r][c]
                rows[r] = [(a - f * b) % p for a, b in zip(rows[r], rows[rank])]
        rank += 1
    return rank


def dense_mod(net, A, B):
    """[T]_{A,B} of an integer network as a matrix of Python ints (other open legs fixed to 0)."""
    terms = net.terms if isinstance(net, NetworkSum) else [net]
    total = None
    for t in terms:
        labels = {}
        for i in t.size_dict:
            labels.setdefault(i, string.ascii_letters[len(labels)])
        rest = [i for i in t.output if i not in A and i not in B]
        order = list(A) + list(B) + rest
        eq = ",".join("".join(labels[i] for i in t.inds(n)) for n in t.tensor_names) + "->" + \
            "".join(labels[i] for i in order)
        T = np.einsum(eq, *[np.asarray(t.data(n)).astype(object) for n in t.tensor_names])
        T = T[(Ellipsis,) + (0,) * len(rest)] if rest else T
        total = T if total is None else total + T
    rows = math.prod(net.size(i) for i in A)
    return total.reshape(rows, -1).tolist()


def integer_copy(net, seed, high=SMALL_PRIME):
    """The same structure with integer weights in [0, high)."""
    rng = np.random.default_rng(seed)
    out = TensorNetwork()
    for name in net.tensor_names:
        out.add_tensor(name, rng.integers(0, high, size=net.shape(name)), net.inds(name))
    out.set_output(net.output)
    out.set_input_legs(net.input_legs)
    return out


def split_output(draw, legs):
    legs = list(legs)
    A = draw(st.lists(st.sampled_from(legs), min_size=1, max_size=len(legs) - 1, unique=True))
    rest = [i for i in legs if i not in A]
    B = draw(st.lists(st.sampled_from(rest), min_size=1, max_size=len(rest), unique=True))
    return A, B


# ---------------------------------------------------------------------- exact rank == dense Gaussian elimination
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), case=random_networks(max_tensors=5, max_inds=8, max_size=3))
def test_exact_rank_equals_dense_elimination_on_random_hypergraphs(data, case):
    """Bonds, hyperedges (open ones too), cycles: own integer weights, a small prime, any split of the legs."""
    net, _, _ = case
    if len(net.output) < 2:
        return
    net = integer_copy(net, data.draw(st.integers(0, 2**16)))
    A, B = split_output(data.draw, net.output)
    result = exact_rank(net, A, B, prime=SMALL_PRIME, weights="own", max_dim=10**6)
    assert result.rank == gauss_rank(dense_mod(net, A, B), SMALL_PRIME)
    assert result.rank <= mincut(net, A, B).bound and result.prime == SMALL_PRIME


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), case=random_matrix_trees(max_leaves=7, max_width=3))
def test_exact_rank_on_trees_including_the_class_leg(data, case):
    net, _n, _M = case
    net = integer_copy(net, data.draw(st.integers(0, 2**16)))
    A, B = split_output(data.draw, net.output)  # "y" may land on either side, or stay fixed
    result = exact_rank(net, A, B, prime=SMALL_PRIME, weights="own")
    assert result.rank == gauss_rank(dense_mod(net, A, B), SMALL_PRIME)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_exact_rank_of_sums(data, seed):
    """A sum's sides are stacked (sketched with the same random inputs): the rank of the summed tensor."""
    tree_a = data.draw(st.sampled_from([balanced(8), mirror(8), flat(8)]))
    tree_b = data.draw(st.sampled_from([balanced(8), mirror(8), ((0, 4), (1, 5), (2, 6), (3, 7))]))
    width = data.draw(st.integers(1, 3))
    net = NetworkSum([integer_copy(convac(tree_a, M=2, width=width, symbolic=True), seed),
                      integer_copy(convac(tree_b, M=2, width=width, symbolic=True), seed + 1)])
    A = data.draw(st.sampled_from([[0, 1, 2, 3], [0, 2, 4, 6], [0, 1, 4, 5], [0, 7], [3, "y"]]))
    B = [i for i in range(8) if i not in A]
    result = exact_rank(net, A, B, weights="own", seed=seed)
    assert result.route == "sketch"
    assert result.rank == gauss_rank(dense_mod(net, A, B), result.prime)


def test_a_sum_whose_summed_cut_exceeds_max_dim_but_whose_matrix_is_small():
    """Corollary 8's mixed network (theory §6): 40 hybrid terms whose cuts sum to 2592 > max_dim, but the
    matricization is 256 x 256, which is what the sketch needs; rank 256 = the paper's number."""
    import builders
    net = builders.mixed_dilated(16, 2, 2, dilations_b=(2, 1, 8, 4), mixture_levels=[2], swap=1, head=None)
    A = [0, 2, 4, 6, 8, 9, 12, 13]
    result = exact_rank(net, A, max_dim=2048)
    assert result.route == "sketch" and result.cut_dim > 2048 and result.rank == 256
    row, = validate(net, [A])
    assert row.verdict == "certified-tight" and row.rank_lower == row.rank_upper == 256
    with pytest.raises(RankError, match=r"dimension \d+ and its matricization is 256 x 256, above max_dim=100"):
        exact_rank(net, A, max_dim=100)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), case=random_networks(max_tensors=5, max_inds=8, max_size=3, symbolic=True))
def test_random_weights_rank_is_the_dense_rank_and_below_the_bound(data, case):
    """weights='random' certifies the structure: symbolic networks are fine."""
    net, _, _ = case
    if len(net.output) < 2:
        return
    A, B = split_output(data.draw, net.output)
    seed = data.draw(st.integers(0, 100))
    result = exact_rank(net, A, B, seed=seed, max_dim=10**6)
    assert result.rank <= mincut(net, A, B).bound
    assert result.rank == gauss_rank(dense_mod(modular_network(net, result.prime, seed=seed), A, B), result.prime)


def test_exact_rank_matches_theory_section_4():
    """Generic ConvACs are tight on trees (theory §4 table), at N well beyond a dense tensor."""
    for tree, part, bound in [(balanced(8), "left-right", 2), (balanced(8), "odd-even", 16),
                              (mirror(8), "left-right", 16), (flat(8), "odd-even", 2)]:
        net = convac(tree, M=2, width=2, symbolic=True)
        assert exact_rank(net, part).rank == bound == mincut(net, part).bound
    big = convac(balanced(256), M=2, width=4, symbolic=True)
    # blocks:64 puts two whole level-6 subtrees in A, each hanging by one width-4 edge: 4 * 4
    assert exact_rank(big, "blocks:64").rank == mincut(big, "blocks:64").bound == 16


def test_shared_weights_stay_shared():
    """Two tensors holding one array get one draw: T = W x W (rank 1 symmetric), not W x V."""
    W = np.ones((3, 3))
    W.flags.writeable = False  # read-only arrays are shared, not copied, by add_tensor
    net = TensorNetwork()
    net.add_tensor("P", W, ("a", "k"))
    net.add_tensor("Q", W, ("b", "k"))
    net.set_output(("a", "b"))
    mod = modular_network(net, 101)
    assert mod.data("P") is mod.data("Q")


# ---------------------------------------------------------------------- lower bounds
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), case=random_matrix_trees(max_leaves=8, max_width=3))
def test_lower_bound_is_below_the_exact_rank(data, case):
    net, n, _M = case
    if n < 2:
        return
    A, B = split_output(data.draw, list(range(n)))
    k = data.draw(st.integers(1, 20))
    lower = rank_lower_bound(net, A, B, k=k, seed=3, prime=SMALL_PRIME)
    exact = exact_rank(net, A, B, seed=3, prime=SMALL_PRIME)  # same weights: same prime and seed
    assert lower.rank <= exact.rank and lower.rank <= k


def test_lower_bound_is_the_rank_of_a_submatrix():
    net = integer_copy(convac(balanced(8), M=2, width=2, symbolic=True), 5)
    lower = rank_lower_bound(net, "odd-even", k=300, weights="own", prime=SMALL_PRIME)
    assert lower.k == 16  # a side has only 2^4 configurations: all of them, the whole matrix
    assert lower.rank == gauss_rank(dense_mod(net, [0, 2, 4, 6], [1, 3, 5, 7]), SMALL_PRIME)


def test_lower_bound_at_n_64_without_any_cut():
    net = convac(balanced(64), M=2, width=2, symbolic=True)
    r = rank_lower_bound(net, "odd-even", k=32)
    assert r.rank == 32 and r.route == "submatrix"  # bound 2^32: the exact route would need a 2^32 cut


# ---------------------------------------------------------------------- modular linear algebra
@pytest.mark.parametrize("use_flint", [True, False])
def test_row_basis_and_rank_against_elimination(monkeypatch, use_flint):
    from analysis import ranks
    if use_flint:
        pytest.importorskip("flint")
    else:
        monkeypatch.setattr(ranks, "_flint", lambda: None)
    rng = np.random.default_rng(0)
    for shape, inner in [((90, 60), 40), ((70, 70), 70), ((8, 5), 3), ((200, 30), 30)]:
        m = rng.integers(0, SMALL_PRIME, (shape[0], inner)) @ rng.integers(0, SMALL_PRIME, (inner, shape[1]))
        expected = gauss_rank(m.tolist(), SMALL_PRIME)
        basis = row_basis(m % SMALL_PRIME, SMALL_PRIME)
        assert rank_mod(m % SMALL_PRIME, SMALL_PRIME) == len(basis) == expected == \
            gauss_rank(basis.tolist(), SMALL_PRIME)
        stacked = np.concatenate([basis, m % SMALL_PRIME])  # the basis spans every row
        assert gauss_rank(stacked.tolist(), SMALL_PRIME) == expected


def test_mod_einsum_is_exact_for_large_primes_and_long_sums():
    p = random_prime(5)
    rng = np.random.default_rng(1)
    for inner in (3, 100, 5000):
        x, y = rng.integers(0, p, (4, inner)), rng.integers(0, p, (inner, 3))
        expected = (x.astype(object) @ y.astype(object)) % p
        assert (mod_einsum("ij,jk->ik", x, y, p, inner) == expected).all()
    x, y = rng.integers(0, p, (5, 6)), rng.integers(0, p, (6, 5))  # a hyperedge: batch index kept
    expected = np.einsum("ib,bi->ib", x.astype(object), y.astype(object)) % p
    assert (mod_einsum("ib,bi->ib", x, y, p, 1) == expected).all()


# ---------------------------------------------------------------------- errors
def test_errors_are_clear():
    net = convac(balanced(8), M=2, width=2)
    with pytest.raises(RankError, match=r"weights='own' needs integer weights: tensor \('W', "):
        exact_rank(net, "left-right", weights="own")
    with pytest.raises(RankError, match="prime=12"):
        exact_rank(net, "left-right", prime=12)
    with pytest.raises(RankError, match="max_dim=8"):
        exact_rank(net, "odd-even", max_dim=8)
    with pytest.raises(RankError, match="weights='bogus'"):
        exact_rank(net, "odd-even", weights="bogus")
    with pytest.raises(SymbolicTensorError):
        exact_rank(convac(balanced(4), symbolic=True), "left-right", weights="own")
    with pytest.raises(PartitionError):
        exact_rank(net, "left-right", cut=mincut(net, "odd-even"))
    with pytest.raises(RankError, match="k=0"):
        rank_lower_bound(net, "left-right", k=0)


# ---------------------------------------------------------------------- verdicts
def rank_one_node_network(seed=0):
    """A deep ConvAC (N = 8, widths 2) with integer weights whose left half's top node matrix has rank 1."""
    net = integer_copy(convac(balanced(8), M=2, width=2, symbolic=True), seed, high=7)
    u, v = np.array([[1], [2]]), np.array([[3, 1]])
    net.set_data(("W", ((0, 1), (2, 3))), u @ v)
    return net


def test_rank_deficient_network_is_strict_with_the_right_rank():
    net = rank_one_node_network()
    for part, A in [("left-right", [0, 1, 2, 3]), ("blocks:2", [0, 1, 4, 5])]:
        B = [i for i in range(8) if i not in A]
        expected = gauss_rank(dense_mod(net, A, B), 2**31 - 1)
        assert expected == int(np.linalg.matrix_rank(np.array(dense_mod(net, A, B), dtype=float)))
        (row,) = validate(net, [part], weights="own")
        assert expected < row.rank_upper == row.bound
        assert (row.verdict, row.tight, row.rank, row.rank_lower) == ("strict", False, expected, expected)
    # the same architecture with random weights attains its bound
    assert {r.verdict for r in validate(net, ["left-right", "blocks:2"])} == {"certified-tight"}


def test_float_ranks_never_give_strict():
    """Gaussian deep ConvAC: float ranks fall short of the bound with gaps near 1; exact certifies tightness."""
    net = convac(balanced(16), M=2, width=lambda node: 4 if len(str(node)) > 40 else 2, seed=1)
    rows = validate(net, [f"random:{s}" for s in range(6)] + ["odd-even"], rank_method="float")
    assert all(r.verdict == "undetermined" and r.tight is None and r.rank_lower is None for r in rows)
    exact = validate(net, [f"random:{s}" for s in range(6)] + ["odd-even"])
    assert all(r.verdict == "certified-tight" and r.tight and r.rank == r.rank_upper for r in exact)
    for f, e in zip(rows, exact):
        if f.rank < e.rank_upper and f.gap < GAP_THRESHOLD:
            assert "likely strict" not in f.note


def test_float_rank_above_the_bound_is_round_off_not_a_violation():
    """Issue 17: CP, N = 8, M = 4, Z = 2, columns v and v + 1e-5 w: T = v^(x8) - (v + 1e-5 w)^(x8) cancels to
    ~1e-5 of its terms, and the dense SVD's round-off puts values above numpy's tolerance: float rank > bound 2."""
    rng = np.random.default_rng(0)
    v, w = rng.standard_normal(4), rng.standard_normal(4)
    net = TensorNetwork()
    for i in range(8):
        net.add_tensor(("leaf", i), np.stack([v, v + 1e-5 * w], axis=1), (i, "z"))
    net.add_tensor("root", np.array([[1.0], [-1.0]]), ("z", "y"))
    net.set_output(tuple(range(8)) + ("y",))
    net.set_input_legs(tuple(range(8)))
    (row,) = validate(net, ["odd-even"], spectrum_method="dense", rank_method="float")
    assert row.bound == 2 and row.rank > 2 and "round-off" in row.note and row.verdict == "undetermined"
    (row,) = validate(net, ["odd-even"], spectrum_method="dense")
    assert (row.verdict, row.rank, row.tight) == ("certified-tight", 2, True)


def test_only_an_exact_rank_above_the_bound_raises():
    RANK_METHODS.register("exact", lambda net, part, cut=None, **_: RankResult(cut.bound + 1, "exact", 101, 0.0,
                                                                               cut.bound, "echelon"),
                          replace=True, certified=True)
    with pytest.raises(BoundViolationError, match="exact rank 3"):
        validate(convac(balanced(8), M=2, width=2), ["left-right"])


def test_upper_is_capped_at_the_matrix_size_also_for_sums():
    net = NetworkSum([convac(flat(4), M=2, width=3, seed=1), convac(flat(4), M=2, width=3, seed=2)])
    (row,) = validate(net, [[0]])
    assert sum(t.bound for t in mincut(net, [0]).terms) == 4  # each term's cut is leg 0: 2 + 2 summed ...
    assert row.rank_upper == 2 == row.bound                   # ... but one leg of size 2: rank <= 2
    assert row.verdict == "certified-tight" and row.rank == 2


def test_lower_bound_rows_when_the_cut_is_too_large():
    net = convac(balanced(32), M=2, width=2, seed=0)
    (row,) = validate(net, ["odd-even"], k=16)
    assert row.rank_method == "lower" and row.rank_lower == 16 and row.rank_upper == 2**16
    assert row.verdict == "undetermined" and row.tight is None


def test_symbolic_network_gets_a_verdict_without_entropies():
    (row,) = validate(convac(balanced(16), M=2, width=2, symbolic=True), ["odd-even"])
    assert row.verdict == "certified-tight" and row.entropy is None and row.spectrum_method == "unavailable"


def test_cli_shows_a_verdict_on_every_row_of_the_readme_example(capsys):
    """README: deep_convac --N 64 --widths 2,2,4,4,8,8 --partition left-right --partition odd-even --validate."""
    import json

    from analysis.cli import main
    args = ["deep_convac", "--N", "64", "--M", "2", "--widths", "2,2,4,4,8,8", "--partition", "left-right",
            "--partition", "odd-even", "--validate", "--json"]
    assert main(args) in (0, None)
    lr, oe = json.loads(capsys.readouterr().out)["rows"]
    assert (lr["verdict"], lr["rank_lower"], lr["rank_upper"], lr["tight"]) == ("certified-tight", 8, 8, True)
    assert oe["verdict"] == "undetermined" and oe["tight"] is None and 1 <= oe["rank_lower"] <= oe["rank_upper"]
    assert main([*args[:-1], "--rank-method", "float", "--json"]) in (0, None)
    lr, _ = json.loads(capsys.readouterr().out)["rows"]
    assert lr["verdict"] == "undetermined" and lr["rank"] == 8  # a float rank never decides
    assert main([*args, "--rank-method", "bogus"]) == 2
    assert "unknown rank method 'bogus'" in capsys.readouterr().err


def test_a_sums_sketch_respects_max_dim_on_the_cut_too(monkeypatch):
    """k = min(D, |A|, |B|) rows per side, and k * D within max_dim^2: a small side cannot let a huge D through."""
    import builders
    from analysis import ranks
    net = builders.mixed(builders.ModeTree.balanced(8), builders.ModeTree.interleaved(8), M=2, widths=2,
                         mixture_nodes=[])
    shapes = []
    real = ranks._matmul_mod
    monkeypatch.setattr(ranks, "_matmul_mod", lambda x, y, p: shapes.append((x.shape, y.shape)) or real(x, y, p))
    result = exact_rank(net, [0])  # |A| = 2, D = 4: both sketches are 2 x 4
    assert result.rank == 2 and shapes[-1] == ((2, 4), (4, 2))
    with pytest.raises(RankError, match="above max_dim=2"):
        exact_rank(net, [0], max_dim=2)  # k = 2 but k * D = 8 > 4


def test_validate_falls_back_to_the_lower_bound_when_a_sums_exact_route_is_refused():
    import builders
    net = builders.mixed(builders.ModeTree.balanced(8), builders.ModeTree.interleaved(8), M=2, widths=2,
                         mixture_nodes=[])
    row, = validate(net, [[0]], max_dim=2)  # exact_rank refuses (k * D = 8 > 2^2); rank_lower_bound answers
    assert row.rank_method == "lower" and row.rank_lower == row.rank_upper == 2 and row.verdict == "certified-tight"
