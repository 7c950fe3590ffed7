"""Nothing lost, nothing silently wrong: ownership of arrays, labels, size-0 axes, traces, limits (issue 17)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
import tn
from analysis import mincut
from builders import ModeTree
from tn import NetworkSum, TensorNetwork, errors


def one_tensor():
    A = np.arange(6.0).reshape(2, 3)
    net = TensorNetwork()
    net.add_tensor("A", A, ("i", "j"))
    return A, net


# ---------------------------------------------------------------------- ownership
def test_a_one_tensor_dense_is_the_callers_own_array():
    A, net = one_tensor()
    d = net.to_dense()
    d[0, 0] = 99
    assert A[0, 0] == 0 and net.data("A")[0, 0] == 0
    assert not np.may_share_memory(net.to_dense(order=("j", "i")), net.data("A"))
    assert not np.may_share_memory(net.contract(), net.data("A"))


def test_the_network_copies_a_writeable_array_and_hands_out_read_only_ones():
    A, net = one_tensor()
    A[0, 0] = -5  # the caller keeps its array: the network does not see the change
    assert net.data("A")[0, 0] == 0
    for array in (net.data("A"), *net.arrays()):
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 1
    net.set_data("A", A)
    A[0, 0] = 7
    assert net.data("A")[0, 0] == -5
    frozen = np.ones((2, 3))
    frozen.flags.writeable = False
    net.set_data("A", frozen)  # a read-only array is kept without a copy
    assert net.data("A") is frozen


def test_one_writeable_array_on_several_tensors_stays_one_array_until_it_changes():
    W = np.arange(4.0).reshape(2, 2)
    a, b = TensorNetwork(), TensorNetwork()
    a.add_tensor("W", W, ("i", "j"))
    a.add_tensor("V", W, ("j", "k"))
    b.add_tensor("W", W, ("i", "j"))
    assert a.data("W") is a.data("V") is b.data("W") and not np.may_share_memory(a.data("W"), W)
    W[0, 0] = 10  # changed after the copy: a new tensor gets the new values, the old ones keep theirs
    b.set_data("W", W)
    assert b.data("W")[0, 0] == 10 and a.data("W")[0, 0] == 0


def test_gradients_of_one_tensor_do_not_share_the_cotangent():
    _, net = one_tensor()
    G = np.arange(6.0).reshape(2, 3) + 1
    g = net.gradients(output_grad=G)["A"]
    assert np.array_equal(g, G) and not np.may_share_memory(g, G)
    g[0, 0] = 123
    assert G[0, 0] == 1
    _, grads = net.value_and_grad(lambda out: (float(np.sum(out)), G))
    assert not np.may_share_memory(grads["A"], G)


@pytest.mark.parametrize("method", ["tree", "einsum"])
def test_evaluate_returns_fresh_arrays(method):
    net = builders.deep_convac(4, M=2, widths=2)
    X = np.random.default_rng(0).random((4, 3, 2))
    y = net.evaluate(X, method=method)
    assert not any(np.may_share_memory(y, a) for a in (X, *net.arrays()))
    y[:] = 0
    assert np.abs(net.evaluate(X, method=method)).sum() > 0


def test_sums_copies_and_fed_networks_keep_to_the_rule():
    W = np.arange(6.0).reshape(2, 3)
    a, b = TensorNetwork(), TensorNetwork()
    a.add_tensor("W", W, ("i", "j"))
    b.add_tensor("W", W, ("i", "k"))
    b.add_tensor("D", np.eye(3), ("k", "j"))
    total = NetworkSum([a, b])
    d = total.to_dense()
    assert np.array_equal(d, 2 * W) and not any(np.may_share_memory(d, x) for x in (W, *a.arrays(), *b.arrays()))
    deep = a.copy(deep=True)
    assert not np.may_share_memory(deep.data("W"), a.data("W")) and not deep.data("W").flags.writeable
    X = np.ones((5, 2))
    fed = a.fed_network([X], ["i"])
    assert not fed.data(("feature", "i")).flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        fed.data(("feature", "i"))[0, 0] = 2


def test_builders_share_one_frozen_array_per_weight_and_set_params_copies_once():
    net = builders.deep_convac(8, M=2, widths=2, share="level")
    new = {k: np.full_like(v, 0.5) for k, v in builders.get_params(net).items()}
    builders.set_params(net, new)
    for key, names in builders.param_names(net).items():
        first = net.data(names[0])
        assert all(net.data(n) is first for n in names) and not first.flags.writeable
        assert not np.may_share_memory(first, new[key])


# ---------------------------------------------------------------------- labels and sizes
@pytest.mark.parametrize("label", [float("nan"), ("h", float("nan")), np.float64("nan"), (1, (2, complex("nan")))])
def test_labels_that_could_not_round_trip_are_refused(label):
    net = TensorNetwork()
    with pytest.raises(errors.StructureError, match="NaN"):
        net.add_tensor("A", np.ones(2), (label,))
    with pytest.raises(errors.StructureError, match="NaN"):
        net.add_tensor(label, np.ones(2), ("i",))
    assert len(net) == 0


def test_size_0_axes_are_refused_before_any_cut():
    net = TensorNetwork()
    with pytest.raises(errors.ShapeError, match="size-0 axis"):
        net.add_tensor("A", np.ones((2, 0)), ("a", "b"))
    with pytest.raises(errors.ShapeError):
        net.add_tensor("A", (2, 0), ("a", "b"))
    assert len(net) == 0


def test_an_empty_batch_still_evaluates():
    net = builders.deep_convac(4, M=2, widths=2)
    assert net.evaluate(np.ones((4, 0, 2)), method="einsum").shape == (0, 1)


# ---------------------------------------------------------------------- traces
LETTERS = "abcd"


@st.composite
def traced_networks(draw):
    """Two or three tensors over indices a..d, with indices repeated inside tensors, plus an einsum equation."""
    sizes = {c: draw(st.integers(1, 3)) for c in LETTERS}
    terms = [draw(st.lists(st.sampled_from(LETTERS), min_size=1, max_size=4)) for _ in range(draw(st.integers(1, 3)))]
    used = sorted({c for t in terms for c in t})
    output = draw(st.lists(st.sampled_from(used), unique=True, max_size=len(used)))
    seed = draw(st.integers(0, 2**16))
    return sizes, terms, output, seed


@settings(max_examples=60, deadline=None)
@given(traced_networks())
def test_a_repeated_index_takes_the_diagonal_exactly_as_einsum(case):
    sizes, terms, output, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal([sizes[c] for c in t]) for t in terms]
    net = TensorNetwork()
    for k, (t, a) in enumerate(zip(terms, arrays)):
        net.add_tensor(k, a, tuple(t))
        assert net.inds(k) == tuple(dict.fromkeys(t))
    net.set_output(tuple(output))
    expected = np.einsum(",".join("".join(t) for t in terms) + "->" + "".join(output), *arrays)
    assert np.allclose(net.to_dense(), expected)
    assert net.cost().flops >= 0
    symbolic = TensorNetwork()
    for k, t in enumerate(terms):
        symbolic.add_tensor(k, tuple(sizes[c] for c in t), tuple(t))
    assert symbolic.size_dict == net.size_dict and [symbolic.shape(k) for k in symbolic.tensor_names] == \
        [net.shape(k) for k in net.tensor_names]


def test_a_traced_network_has_a_min_cut_and_gradients():
    rng = np.random.default_rng(1)
    T, U = rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 4))
    net = TensorNetwork()
    net.add_tensor("T", T, ("k", "a", "k"))  # T's diagonal over k: D[k, a] = T[k, a, k]
    net.add_tensor("U", U, ("k", "b"))
    net.set_output(("a", "b"))
    dense = np.einsum("kak,kb->ab", T, U)
    assert np.allclose(net.to_dense(), dense)
    cut = mincut(net, ["a"])
    assert np.linalg.matrix_rank(dense) <= cut.bound == 2
    g = net.gradients(output_grad=np.ones((2, 4)))
    assert np.allclose(g["U"], np.einsum("kak,ab->kb", T, np.ones((2, 4))))
    with pytest.raises(errors.IndexSizeError, match="repeated with sizes 3 and 2"):
        net.add_tensor("V", np.ones((3, 2)), ("q", "q"))


# ---------------------------------------------------------------------- the memory guard over builders
def test_builders_check_the_size_before_allocating():
    with pytest.raises(errors.MemoryLimitError, match="building the network"):
        builders.convac(ModeTree.balanced(4), M=10**5, widths=10**5)
    previous = tn.set_memory_limit("64MiB")
    try:
        with pytest.raises(errors.MemoryLimitError, match="64 MiB"):
            builders.convac(ModeTree.balanced(4), M=4000, widths=4000)
        with pytest.raises(errors.MemoryLimitError):
            builders.deep_linear([3000, 3000, 3000])
        with pytest.raises(errors.MemoryLimitError):
            builders.tensor_train(4, M=2000, widths=2000)
        builders.convac(ModeTree.balanced(4), M=100, widths=100)  # 7 small matrices fit
    finally:
        tn.set_memory_limit(previous)


def test_minus_one_means_unlimited_as_in_opt_einsum():
    net = builders.deep_convac(4, M=2, widths=2)
    with pytest.raises(errors.MemoryLimitError):
        net.to_dense(memory_limit=8)
    assert net.to_dense(memory_limit=-1).shape == (2,) * 4 + (1,)
    previous = tn.set_memory_limit(-1)
    try:
        assert tn.get_memory_limit() == -1
        assert net.to_dense().shape == (2,) * 4 + (1,)
    finally:
        tn.set_memory_limit(previous)


# ---------------------------------------------------------------------- integers and underflow
def test_int8_products_do_not_wrap_around():
    a = np.full((2, 2), 100, dtype=np.int8)
    net = TensorNetwork()
    net.add_tensor("A", a, ("i", "k"))
    net.add_tensor("B", a, ("k", "j"))
    d = net.to_dense()
    assert d[0, 0] == 2 * 100 * 100 and d.dtype == np.int64  # int8 wraps to 64


def test_integers_beyond_int64_are_contracted_exactly():
    b = np.full((2, 2), 2**40, dtype=np.int64)
    net = TensorNetwork()
    net.add_tensor("A", b, ("i", "k"))
    net.add_tensor("B", b, ("k", "j"))
    assert net.to_dense()[0, 1] == 2 * 2**80  # Python ints: exact


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.sampled_from([np.int8, np.int16, np.uint8, np.int32]), st.integers(0, 2**16))
def test_integer_convacs_match_exact_python_arithmetic(N, dtype, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    net = TensorNetwork()
    arrays = []
    for k in range(N):  # a chain of k x k matrices with entries at the dtype's extremes
        a = rng.integers(max(info.min, -120), min(info.max, 120), size=(3, 3), endpoint=True).astype(dtype)
        arrays.append(a)
        net.add_tensor(k, a, (("b", k), ("b", k + 1)))
    net.set_output((("b", 0), ("b", N)))
    exact = np.array(arrays[0], dtype=object)
    for a in arrays[1:]:
        exact = exact.dot(np.array(a, dtype=object))
    assert (np.array(net.to_dense(), dtype=object) == exact).all()


def test_integer_evaluate_is_exact():
    net = builders.deep_convac(8, M=2, widths=2, init="integer", dtype=np.int8, seed=3)
    X = np.full((8, 2, 2), 100, dtype=np.int16)
    y = net.evaluate(X)
    ref = np.array(net.to_dense(), dtype=object)
    for _ in range(8):  # contract every input leg with the (100, 100) feature, exactly
        ref = np.tensordot(np.full(2, 100, dtype=object), ref, axes=([0], [0]))
    assert y[0, 0] == ref[0]


def test_an_underflowing_deep_network_warns_instead_of_returning_silent_zeros():
    net = builders.deep_convac(4096, M=2, widths=2)
    X = np.random.default_rng(0).random((4096, 3, 2))
    with pytest.warns(errors.UnderflowWarning, match="domain='log'"):
        y = net.evaluate(X)
    assert np.all(y == 0)  # float64 cannot hold these values: the warning is the point
    small = builders.deep_convac(16, M=2, widths=2)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.UnderflowWarning)
        assert np.all(small.evaluate(np.random.default_rng(0).random((16, 3, 2))) != 0)


# ---------------------------------------------------------------------- kept buffers
def test_kept_buffers_count_against_the_limit_and_lru_ones_are_dropped():
    tn.clear_cache()
    B = 500
    nets = [builders.deep_convac(16, M=4, widths=8 + k, seed=k) for k in range(6)]  # six structures, six plans
    peaks = [n.evaluate_cost(B).peak_memory_bytes for n in nets]
    limit = int(2.5 * max(peaks))
    X = np.random.default_rng(0).random((16, B, 4))
    for n in nets:
        y = n.evaluate(X, memory_limit=limit)
        assert tn.memory.held_bytes() <= limit
        assert np.allclose(y, n.evaluate(X, method="einsum"))
    assert 0 < tn.memory.held_bytes() <= limit
    tn.clear_cache()
    assert tn.memory.held_bytes() == 0 and tn.cache_info()["size"] == 0
    assert np.allclose(nets[0].evaluate(X), nets[0].evaluate(X, method="einsum"))  # buffers come back on demand


def test_an_evicted_plan_releases_its_buffers():
    from tn import contraction
    tn.clear_cache()
    previous, contraction.PLANS.maxsize = contraction.PLANS.maxsize, 1
    try:
        a, b = builders.deep_convac(8, M=2, widths=3), builders.deep_convac(8, M=2, widths=5)
        a.evaluate(np.ones((8, 64, 2)))
        held = tn.memory.held_bytes()
        assert held > 0
        b.evaluate(np.ones((8, 64, 2)))  # a's plan leaves the cache: its buffers go with it
        assert tn.memory.held_bytes() == b.evaluate_cost(64).peak_memory_bytes - 8 * 64 * 2 * 8
    finally:
        contraction.PLANS.maxsize = previous
        tn.clear_cache()


def test_integer_gradients_do_not_overflow():
    a = np.full((2, 2), 100, dtype=np.int8)
    net = TensorNetwork()
    net.add_tensor("A", a, ("i", "k"))
    net.add_tensor("B", a, ("k", "j"))
    G = np.full((2, 2), 2**40, dtype=np.int64)
    g = net.gradients(output_grad=G)  # dA[i, k] = sum_j G[i, j] B[k, j] = 2 * 100 * 2^40: beyond int8 and int32
    assert all(int(x) == 2 * 100 * 2**40 for x in np.ravel(g["A"]))
    big = np.full((2, 2), 2**62, dtype=np.int64)
    g = net.gradients(output_grad=big)  # 200 * 2^62 > int64: Python ints
    assert all(int(x) == 200 * 2**62 for x in np.ravel(g["B"]))
