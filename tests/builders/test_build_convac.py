import json

import numpy as np
import pytest
from builders_helpers import features, nested_trees, score, unit_features
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from builders import ModeTree, reference
from tn.errors import BuildError, TreeError, WidthError

TREES = {
    "balanced8": ModeTree.balanced(8), "interleaved8": ModeTree.interleaved(8), "mirror8": ModeTree.mirror(8),
    "flat6": ModeTree.flat(6), "balanced9x3": ModeTree.balanced(9, arity=3),
    "interleaved9x3": ModeTree.interleaved(9, 3),
    "random7": ModeTree.random(7, seed=3), "random10x3": ModeTree.random(10, arity=3, seed=1),
}


def test_cp_reference_is_the_cp_formula():
    net = builders.shallow_convac(5, M=3, Z=4, classes=2, seed=7)
    a = [net.data(("leaf", i)) for i in range(5)]
    W = net.data(("node", tuple(range(5))))
    direct = np.einsum("az,bz,cz,dz,ez,zy->abcdey", *a, W)
    assert np.allclose(reference.coefficient_tensor(reference.unpack(net)[0]), direct)
    assert np.allclose(net.to_dense(), direct)


def test_ht_reference_is_the_ht_formula():
    net = builders.deep_convac(4, M=2, widths=[3, 2], classes=2, seed=1)
    a = [net.data(("leaf", i)) for i in range(4)]
    W01, W23, Wr = (net.data(("node", v)) for v in ((0, 1), (2, 3), (0, 1, 2, 3)))
    direct = np.einsum("ap,bp,pq,cs,ds,sq,qy->abcdy", a[0], a[1], W01, a[2], a[3], W23, Wr)
    assert np.allclose(reference.coefficient_tensor(reference.unpack(net)[0]), direct)
    assert np.allclose(net.to_dense(), direct)


@pytest.mark.parametrize("name", sorted(TREES))
@pytest.mark.parametrize("init", ["gaussian", "orthonormal", "integer"])
def test_dense_and_evaluate_match_references(name, init):
    tree = TREES[name]
    net = builders.convac(tree, M=2, widths=3, classes=2, seed=5, init=init)
    tracks, _ = reference.unpack(net)
    A = reference.coefficient_tensor(tracks)
    dense = net.to_dense()
    assert dense.shape == (2,) * tree.N + (2,)
    assert np.allclose(dense, A, rtol=1e-10, atol=1e-12 * np.abs(A).max())
    x = np.random.default_rng(1).standard_normal((6, tree.N, 2))
    out = net.evaluate(features(x))
    assert out.shape == (6, 2)
    assert np.allclose(out, score(A, x))
    assert np.allclose(out, reference.tree_forward(tracks, x))


@settings(max_examples=40, deadline=None)
@given(tree=nested_trees(max_n=8), M=st.integers(1, 3), r=st.integers(1, 3), seed=st.integers(0, 99))
def test_random_trees_dense_equals_recursion(tree, M, r, seed):
    widths = [r + (k % 2) for k in range(tree.depth)]
    net = builders.convac(tree, M=M, widths=widths, seed=seed)
    tracks, _ = reference.unpack(net)
    A = reference.coefficient_tensor(tracks)
    assert np.allclose(net.to_dense(), A, atol=1e-12 * max(1.0, np.abs(A).max()))
    x = np.random.default_rng(seed).standard_normal((3, tree.N, M))
    assert np.allclose(net.evaluate(features(x)), score(A, x))


def test_structure_names_indices_and_metadata():
    tree = ModeTree.from_nested(((0, 3), (1, 2, 4)))
    net = builders.convac(tree, M=3, widths={(0, 3): 2, (1, 2, 4): 4, (0, 1, 2, 3, 4): 5}, classes=2)
    assert net.output == (0, 1, 2, 3, 4, "y") and net.input_legs == (0, 1, 2, 3, 4)
    assert net.tensor_names == tuple(("leaf", v[0]) if len(v) == 1 else ("node", v) for v in tree.nodes)
    assert net.inds(("leaf", 3)) == (3, ("h", (0, 3))) and net.shape(("leaf", 3)) == (3, 2)
    assert net.inds(("node", (1, 2, 4))) == (("h", (1, 2, 4)), ("h", tree.root))
    assert net.shape(("node", (1, 2, 4))) == (4, 5)
    assert net.inds(("node", tree.root)) == (("h", tree.root), "y") and net.shape(("node", tree.root)) == (5, 2)
    assert set(net.hyperedges()) == {("h", v) for v in tree.internal_nodes}
    json.dumps(net.metadata)
    assert net.metadata["builder"] == "convac" and net.metadata["M"] == 3
    assert builders.tree_of(net) == tree
    # the natural path contracts everything to one tensor and gives the same result
    assert len(net.natural_path) == len(net.tensor_names) - 1
    assert np.allclose(net.contract(optimize=net.natural_path), net.to_dense())


def test_save_load_keeps_tree_and_params(tmp_path):
    net = builders.deep_convac(8, M=2, widths=2, pooling="mirror", share="level")
    net.save(tmp_path / "net")
    back = type(net).load(tmp_path / "net")
    assert builders.tree_of(back) == ModeTree.mirror(8)
    assert all(np.array_equal(builders.get_params(back)[k], v) for k, v in builders.get_params(net).items())


def test_widths_forms_agree():
    tree = ModeTree.balanced(8)
    per_level = builders.convac(tree, 2, [2, 3, 4], seed=3)
    per_node = builders.convac(tree, 2, {v: 2 + tree.level(v) - 1 for v in tree.internal_nodes}, seed=3)
    assert np.array_equal(per_level.to_dense(), per_node.to_dense())
    assert per_level.size(("h", (0, 1))) == 2 and per_level.size(("h", tree.root)) == 4


@pytest.mark.parametrize("share, n_params", [(None, 15), ("level", 4), ("level_slot", 7)])
def test_weight_sharing(share, n_params):
    net = builders.deep_convac(8, M=2, widths=3, share=share, seed=2)
    params = builders.get_params(net)
    assert len(params) == n_params
    for key, names in builders.param_names(net).items():
        assert all(net.data(n) is params[key] for n in names)
    tracks, _ = reference.unpack(net)
    assert np.allclose(net.to_dense(), reference.coefficient_tensor(tracks))
    new = {k: np.full_like(v, 0.5) for k, v in params.items()}
    builders.set_params(net, new)
    assert all(np.all(net.data(n) == 0.5) for n in net.tensor_names)
    with pytest.raises(BuildError, match="nope"):
        builders.set_params(net, {"nope": 1})


def test_given_params_rebuild_the_same_network():
    net = builders.convac(ModeTree.random(6, seed=2), 2, 3, classes=2, init="orthonormal")
    again = builders.convac(builders.tree_of(net), 2, 3, classes=2, params=builders.get_params(net))
    assert np.array_equal(again.to_dense(), net.to_dense())


def test_orthonormal_init_is_well_conditioned():
    net = builders.deep_convac(8, M=4, widths=[4, 2, 3], init="orthonormal", seed=0)
    for name in net.tensor_names:
        s = np.linalg.svd(net.data(name), compute_uv=False)
        assert s.max() / s.min() < 1 + 1e-9  # orthonormal up to the calibration scalar


def test_integer_init_gives_integer_tensors():
    dense = builders.deep_convac(4, M=2, widths=2, init="integer", seed=4).to_dense()
    assert np.array_equal(dense, np.rint(dense)) and np.abs(dense).max() > 0


@pytest.mark.parametrize("init", ["gaussian", "orthonormal"])
@pytest.mark.parametrize("tree", [ModeTree.balanced(1024), ModeTree.flat(1024), ModeTree.random(1024, seed=1)],
                         ids=["balanced", "flat", "random"])
def test_values_stay_order_one_at_n_1024(tree, init):
    net = builders.convac(tree, M=3, widths=4, init=init, seed=1)
    x = unit_features(np.random.default_rng(9), 32, 1024, 3)
    out = net.evaluate(features(x), optimize=net.natural_path)[:, 0]
    logs = np.log10(np.abs(out))
    assert np.all(np.isfinite(logs))
    assert abs(np.median(logs)) < 6, logs
    assert np.allclose(out, reference.tree_forward(reference.unpack(net)[0], x)[:, 0])


def test_dtype_float32():
    net = builders.deep_convac(8, M=2, widths=2, dtype=np.float32)
    assert all(net.data(n).dtype == np.float32 for n in net.tensor_names)


@pytest.mark.parametrize("make, error, match", [
    (lambda: builders.deep_convac(6, 2, 2), TreeError, "N=6"),
    (lambda: builders.deep_convac(8, 2, [2, 2]), WidthError, r"\[2, 2\] has 2 entries.*depth 3"),
    (lambda: builders.deep_convac(8, 0, 2), BuildError, "M=0"),
    (lambda: builders.deep_convac(8, 2.5, 2), BuildError, "M=2.5"),
    (lambda: builders.deep_convac(8, 2, 0), WidthError, "widths=0"),
    (lambda: builders.deep_convac(8, 2, [2, -1, 2]), WidthError, r"widths\[1\]=-1"),
    (lambda: builders.deep_convac(8, 2, "wide"), WidthError, "'wide'"),
    (lambda: builders.deep_convac(8, 2, 2, classes=0), BuildError, "classes=0"),
    (lambda: builders.deep_convac(8, 2, 2, pooling="spiral"), BuildError, "'spiral'"),
    (lambda: builders.deep_convac(8, 2, 2, window=(2, 2)), BuildError, "give grid=\\(H, W\\) too"),
    (lambda: builders.deep_convac(9, 2, 2, pooling="mirror", arity=3), TreeError, "arity=3"),
    (lambda: builders.deep_convac(8, 2, 2, share="sometimes"), BuildError, "'sometimes'"),
    (lambda: builders.deep_convac(8, 2, 2, init="zeros"), BuildError, "'zeros'"),
    (lambda: builders.shallow_convac(8, 2, 0), WidthError, "Z=0"),
    (lambda: builders.convac(ModeTree.balanced(4), 2, {(0, 1): 2}), WidthError, r"missing \[\(2, 3\)"),
    (lambda: builders.convac(ModeTree.balanced(4), 2, {(0, 1): 2, (2, 3): 2, (0, 1, 2, 3): 2, (0, 2): 1}),
     WidthError, r"\(0, 2\)"),
    (lambda: builders.convac("tree", 2, 2), TreeError, "'tree'"),
    (lambda: builders.convac(((0, 1), ((2, 3), 4)), 2, [2, 3, 4], share="level"), WidthError, "shared"),
    (lambda: builders.convac(ModeTree.balanced(4), 2, 2, params={}), BuildError, "no weight given"),
])
def test_bad_input_raises_build_errors_naming_the_value(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("seed", [-1, 1.5, "x", True])
def test_bad_seed_is_a_build_error(seed):
    with pytest.raises(BuildError, match="seed must be a non-negative int"):
        builders.deep_convac(8, M=2, widths=2, seed=seed)
