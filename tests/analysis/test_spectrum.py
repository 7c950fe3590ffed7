import math

import numpy as np
import pytest
from hypothesis import given, settings

from analysis import mincut
from analysis.measures import entanglement, geometric_measure, renyi_entropy, schmidt_rank, von_neumann_entropy
from analysis.spectrum import schmidt_spectrum
from analysis.validation import validate
from analysis_nets import balanced, convac, flat, matricization_rank, mirror, mps
from tn import TensorNetwork
from tn.errors import (BoundViolationError, MemoryLimitError, PartitionError, SpectrumError, SymbolicTensorError,
                       UnknownNameError)
from tn.testing import random_networks


def _close(d, g):
    n = max(len(d), len(g))
    d, g = np.pad(d, (0, n - len(d))), np.pad(g, (0, n - len(g)))
    return np.abs(d - g).max() <= 1e-8 * d[0]


@pytest.mark.parametrize("tree", [balanced(8), mirror(8), flat(6), ((0, 1, 2), (3, (4, 5)))])
@pytest.mark.parametrize("partition", ["left-right", "odd-even", "blocks:2", [0, 5], [1]])
def test_gram_equals_dense(tree, partition):
    net = convac(tree, M=2, width=3, classes=2, seed=4, orthonormal=True)
    dense = schmidt_spectrum(net, partition, method="dense")
    gram = schmidt_spectrum(net, partition, method="gram", full=True)
    assert gram.method == "gram" and gram.shape[0] == mincut(net, partition).bound
    assert _close(dense, gram.values)
    assert np.all(np.diff(dense) <= 0) and np.all(np.diff(gram.values) <= 1e-12 * gram.values[0])


@pytest.mark.parametrize("pooling", ["contiguous", "mirror", "interleaved"])
def test_gram_is_accurate_to_machine_precision_on_ill_conditioned_spectra(pooling):
    """Generic Gaussian weights, M = r = 3: singular values down to ~1e-9 s_1 (theory §3), which squaring
    into Gram matrices would lose; the QR-compressed factors keep them."""
    import builders
    net = builders.deep_convac(8, 3, 3, pooling=pooling, seed=1)
    for partition in ("left-right", "odd-even", "blocks:2"):
        dense = schmidt_spectrum(net, partition, method="dense")
        gram = schmidt_spectrum(net, partition, method="gram")
        n = min(len(dense), len(gram))
        assert np.abs(dense[:n] - gram[:n]).max() <= 1e-12 * dense[0]
        assert entanglement(gram).rank == entanglement(dense).rank


def test_gram_with_fixed_class_value_and_open_leg_cuts():
    net = convac(balanced(4), M=3, width=5, classes=3, seed=1, orthonormal=True)
    for value in range(3):
        d = schmidt_spectrum(net, [0, 1], method="dense", fixed={"y": value})
        g = schmidt_spectrum(net, [0, 1], method="gram", fixed={"y": value})
        assert _close(d, g)
    # the class leg on a side: a cut through open legs (M = 3 < width 5)
    d = schmidt_spectrum(net, [0], [1, 2, 3, "y"], method="dense")
    g = schmidt_spectrum(net, [0], [1, 2, 3, "y"], method="gram", full=True)
    assert g.cut == (0,) and _close(d, g.values)


def test_gram_large_n_in_seconds():
    import builders
    net = builders.deep_convac(1024, M=2, widths=4)
    for part, dim in (("left-right", 4), ("blocks:256", 16)):
        s = schmidt_spectrum(net, part, full=True)
        assert s.method == "gram" and s.shape == (dim, dim) and entanglement(s).rank == dim
    with pytest.raises(SpectrumError, match="2\\^512"):
        schmidt_spectrum(net, "odd-even")


def test_dense_guard_and_bad_method():
    net = convac(balanced(8), M=2, width=2)
    with pytest.raises(MemoryLimitError):
        schmidt_spectrum(net, "left-right", method="dense", memory_limit=64)
    with pytest.raises(UnknownNameError, match="auto, dense, gram"):
        schmidt_spectrum(net, "left-right", method="svd")
    with pytest.raises(SpectrumError, match="0..0"):
        schmidt_spectrum(net, "left-right", fixed={"y": 3})


@settings(max_examples=40, deadline=None)
@given(random_networks(max_tensors=5, max_inds=8, max_size=3))
def test_rank_never_exceeds_bound(case):
    net, _, _ = case
    if len(net.output) < 2:
        return
    A, B = net.output[: len(net.output) // 2], net.output[len(net.output) // 2:]
    s = schmidt_spectrum(net, A, B, full=True)
    assert entanglement(s).rank <= mincut(net, A, B).bound


@pytest.mark.parametrize("tree, M, width", [(balanced(8), 2, 2), (balanced(8), 2, 3), (mirror(8), 2, 2),
                                            (flat(8), 2, 2), (balanced(4), 3, 3), (((0, 1, 2), (3, 4)), 2, 4)])
def test_tight_on_tree_networks(tree, M, width):
    net = convac(tree, M=M, width=width, seed=7)
    for part in ("left-right", "odd-even", "blocks:2"):
        row = validate(net, [part])[0]
        assert row.tight and row.rank == matricization_rank(net, row.A, [i for i in range(len(row.A) * 0, 99)
                                                                          if i in net.output and i not in row.A])


def test_validate_raises_on_violation():
    from analysis import register_method
    register_method("too-small", lambda problem, flow_func: (sorted(problem.A)[:0] or [next(iter(problem.A))], None))
    net = mps(4, phys=2, bond=2)
    with pytest.raises(BoundViolationError):
        validate(net, [[0, 1]], method="too-small")


def test_entanglement_hand_computed():
    e = entanglement([2.0, 1.0, 1.0, 0.0])  # p = 4/6, 1/6, 1/6
    p = np.array([4, 1, 1]) / 6
    assert e.rank == 3 and e.gap == math.inf
    assert e.entropy == pytest.approx(-(p * np.log2(p)).sum())
    assert e.geometric == pytest.approx(1 / 3)
    assert e.renyi[2] == pytest.approx(-math.log2((p ** 2).sum()))
    assert e.renyi[math.inf] == pytest.approx(math.log2(1.5))
    assert renyi_entropy([1, 1, 1, 1], 0.5) == pytest.approx(2.0)
    assert von_neumann_entropy([5.0]) == 0 and geometric_measure([5.0]) == 0
    # a product state's entropies are +0 (printed "0", not "-0")
    assert all(math.copysign(1, renyi_entropy([5.0], a)) == 1 for a in (0, 0.5, 1, 2, math.inf))
    assert entanglement(np.zeros(3)).rank == 0 and entanglement(np.zeros(3)).entropy == 0
    rank, gap, tol = schmidt_rank([1.0, 1e-3, 1e-18])
    assert rank == 2 and gap == pytest.approx(1e15) and tol == pytest.approx(3 * np.finfo(float).eps)
    with pytest.raises(SpectrumError):
        entanglement([1.0, np.nan])


def test_validate_table_and_json():
    import json
    report = validate(convac(balanced(8), M=2, width=2), ["left-right", "odd-even"])
    rows = json.loads(report.to_json())
    assert [(r["partition"], r["bound"], r["rank"], r["tight"]) for r in rows] == [
        ("left-right", 2, 2, True), ("odd-even", 16, 16, True)]
    assert "left-right" in str(report) and "tight" in str(report)


def test_network_sum_spectrum_gram_equals_dense():
    from tn import NetworkSum
    s = NetworkSum([mps(4, bond=2, seed=1), mps(4, bond=2, seed=2)])
    dense = schmidt_spectrum(s, [0, 1])
    gram = schmidt_spectrum(s, [0, 1], method="gram", full=True)
    assert gram.shape == (4, 4)  # the direct sum of the two terms' cuts (2 + 2)
    assert entanglement(dense).rank <= mincut(s, [0, 1]).bound == 4
    assert _close(dense, gram.values)


@pytest.mark.parametrize("partition", ["left-right", "odd-even", "blocks:2", [0, 5], [1, 2, 3]])
@pytest.mark.parametrize("init", ["gaussian", "orthonormal"])
def test_mixed_decomposition_gram_equals_dense(partition, init):
    """Sums go through block Gram matrices: values agree to ~sqrt(eps) s_1, so ranks are compared on the
    well-conditioned (orthonormal) initialization only (Gaussian weights put values near 1e-9 s_1)."""
    import builders
    from builders import ModeTree
    net = builders.mixed(ModeTree.balanced(8), ModeTree.interleaved(8), 2, 2, seed=3, init=init)
    dense = schmidt_spectrum(net, partition, method="dense")
    gram = schmidt_spectrum(net, partition, method="gram", full=True)
    assert gram.shape[0] == sum(t.bound for t in mincut(net, partition).terms)  # the terms' cut dims add
    assert _close(dense, gram.values)
    if init == "orthonormal":
        assert entanglement(gram).rank == entanglement(dense).rank


def test_mixed_decomposition_gram_at_large_n():
    import builders
    from builders import ModeTree
    net = builders.mixed(ModeTree.balanced(64), ModeTree.from_dilations(64, [2, 1, 4, 8, 16, 32]), 2, 2, swap=2)
    s = schmidt_spectrum(net, "left-right", full=True)  # 2^64 entries: auto must take the gram route
    assert s.method == "gram" and entanglement(s).rank == mincut(net, "left-right").bound == 4


def test_symbolic_network_has_no_spectrum():
    net = TensorNetwork()
    net.add_tensor("T", (2, 2), ("a", "b"))
    from tn.errors import SymbolicTensorError
    with pytest.raises(SymbolicTensorError):
        schmidt_spectrum(net, ["a"])


def test_gram_falls_back_to_gram_matrices_when_an_input_leg_is_shared(monkeypatch):
    import analysis.spectrum as spectrum
    rng = np.random.default_rng(7)
    net = TensorNetwork()
    net.add_tensor("P", rng.standard_normal((5, 2)), (0, "k"))  # input leg 0 on two tensors: an open hyperedge
    net.add_tensor("Q", rng.standard_normal((5, 2)), (0, "l"))
    net.add_tensor("R", rng.standard_normal((2, 2, 3, 3)), ("k", "l", 1, 2))
    net.set_output((0, 1, 2))
    calls, original = [], spectrum._gram_matrix
    monkeypatch.setattr(spectrum, "_gram_matrix", lambda *args: calls.append(args) or original(*args))
    dense = schmidt_spectrum(net, [0], method="dense")
    gram = schmidt_spectrum(net, [0], method="gram", full=True)
    assert gram.cut == ("k", "l") and calls  # the cut {k, l} (dim 4) leaves leg 0 on both P and Q
    assert _close(dense, gram.values)


def test_entanglement_of_huge_singular_values_does_not_overflow():
    values = np.array([3e200, 3e200, 1e199])
    scaled = values / 1e200
    big, small = entanglement(values), entanglement(scaled)
    assert big.rank == small.rank == 3
    assert big.entropy == pytest.approx(small.entropy) and math.isfinite(big.entropy)
    assert geometric_measure(values) == pytest.approx(geometric_measure(scaled))


def test_spectrum_input_checks():
    net = convac(balanced(4), M=2, width=2)
    with pytest.raises(PartitionError, match="fixed legs \\[0\\] are also on a side"):
        schmidt_spectrum(net, [0, 1], fixed={0: 1})
    with pytest.raises(SpectrumError, match=">= 0"):
        entanglement(np.array([-1.0, 0.5]))
    with pytest.raises(SpectrumError, match="array of singular values"):
        entanglement("abc")
    sym = TensorNetwork()
    sym.add_tensor("T", (2, 2), ("a", "b"))
    with pytest.raises(SymbolicTensorError):
        schmidt_spectrum(sym, ["a"], method="gram")


def test_gram_handles_cuts_of_many_trivial_legs_and_caps_the_count():
    import builders
    from builders import ModeTree
    s = schmidt_spectrum(builders.deep_convac(256, M=2, widths=1), "left-right", method="gram")
    assert len(s) == 1 and s[0] > 0  # a cut of 64+ size-1 indices: numpy's 64-axis limit must not bite
    net = builders.mixed(ModeTree.balanced(4), ModeTree.interleaved(4), 2, 4)
    g = schmidt_spectrum(net, "odd-even", method="gram", full=True)
    assert g.shape[0] > 4 and len(g.values) == 4  # at most min(dim A, dim B) = 4 values


def test_gram_log2_scale_equals_dense_when_the_scale_is_kept_apart(monkeypatch):
    """With the scale always kept apart, values * 2**log2_scale is still the dense spectrum."""
    import analysis.spectrum as spectrum
    monkeypatch.setattr(spectrum, "FOLD_MAX_LOG2", 0)
    net = convac(balanced(8), M=2, width=3, classes=1, seed=2, orthonormal=True)
    dense = schmidt_spectrum(net, "odd-even", method="dense")
    gram = schmidt_spectrum(net, "odd-even", method="gram", full=True)
    assert gram.values[0] == 1.0 and gram.log2_scale != 0.0
    assert _close(dense, gram.values * 2.0**gram.log2_scale)
    assert np.allclose(gram.log2_values[:2], np.log2(dense[:2]))


def test_gram_works_past_the_float64_range():
    """Every tensor times 16 (s_1 ~ 2^2000 at N = 256): finite normalized values, the scale apart, and the
    scale moves by exactly 10 when one more tensor is multiplied by 2^10 (the values do not move)."""
    import builders
    net = builders.deep_convac(256, M=2, widths=2, seed=0)
    for name in net.tensor_names:
        net.set_data(name, net.data(name) * 16.0)
    s = schmidt_spectrum(net, "left-right", method="gram", full=True)
    assert s.log2_scale > 1024 and s.values[0] == 1.0 and np.all(np.isfinite(s.values))
    assert 1 <= entanglement(s).rank <= mincut(net, "left-right").bound
    leaf = ("leaf", 0)
    net.set_data(leaf, net.data(leaf) * 2.0**10)
    scaled = schmidt_spectrum(net, "left-right", method="gram", full=True)
    assert scaled.log2_scale == pytest.approx(s.log2_scale + 10, abs=1e-9)
    assert np.allclose(scaled.values, s.values, rtol=1e-10)
    with pytest.raises(SpectrumError, match="full=True"):
        schmidt_spectrum(net, "left-right", method="gram")


@pytest.mark.slow
def test_gram_at_n_4096_is_finite():
    import builders
    net = builders.deep_convac(4096, M=2, widths=2, seed=1)
    s = schmidt_spectrum(net, "left-right", method="gram", full=True)
    assert np.all(np.isfinite(s.values)) and math.isfinite(s.log2_scale) and s.log2_scale > 2048


@pytest.mark.parametrize("method", ["dense", "gram"])
def test_float32_networks_get_float64_spectra(method):
    import builders
    net32 = builders.deep_convac(8, M=2, widths=3, seed=3, dtype=np.float32)
    net64 = net32.copy()
    for name in net64.tensor_names:
        net64.set_data(name, net32.data(name).astype(np.float64))
    s32 = schmidt_spectrum(net32, "odd-even", method=method)
    assert s32.dtype == np.float64
    assert np.allclose(s32, schmidt_spectrum(net64, "odd-even", method=method), rtol=1e-12, atol=0)
