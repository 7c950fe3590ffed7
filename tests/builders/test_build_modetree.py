import itertools

import pytest
from builders_helpers import nested_trees
from hypothesis import given, settings

from builders import ModeTree
from tn.errors import BuildError, TreeError


def test_balanced_interleaved_mirror_flat_level1_nodes():
    level1 = {name: getattr(ModeTree, name)(8).by_level()[1] for name in ("balanced", "interleaved", "mirror")}
    assert level1["balanced"] == ((0, 1), (2, 3), (4, 5), (6, 7))
    assert level1["interleaved"] == ((0, 4), (2, 6), (1, 5), (3, 7))
    assert level1["mirror"] == ((0, 7), (1, 6), (2, 5), (3, 4))
    assert ModeTree.mirror(8).by_level()[2] == ((0, 1, 6, 7), (2, 3, 4, 5))
    flat = ModeTree.flat(5)
    assert flat.depth == 1 and flat.children(flat.root) == tuple((i,) for i in range(5))


def test_arity_three():
    t = ModeTree.balanced(9, arity=3)
    assert t.children(t.root) == ((0, 1, 2), (3, 4, 5), (6, 7, 8))
    t = ModeTree.interleaved(9, arity=3)
    assert t.by_level()[1] == ((0, 3, 6), (1, 4, 7), (2, 5, 8))


def test_queries_on_a_nested_tree():
    t = ModeTree.from_nested(((2, (0, 4)), 1, 3))
    assert t.N == 5 and t.root == (0, 1, 2, 3, 4)
    assert t.children(t.root) == ((0, 2, 4), (1,), (3,))
    assert t.children((0, 2, 4)) == ((0, 4), (2,))
    assert t.parent((0, 4)) == (0, 2, 4) and t.parent(t.root) is None
    assert t.parent(4) == (0, 4)          # an int names a leaf
    assert [t.level(v) for v in ((1,), (0, 4), (0, 2, 4), t.root)] == [0, 1, 2, 3]
    assert t.depth == 3 and t.leaves((0, 2, 4)) == (0, 2, 4) and t.leaves() == (0, 1, 2, 3, 4)
    assert t.slot((2,)) == 1 and t.slot(t.root) == 0
    assert (0, 4) in t and (0, 1) not in t and [4, 0] in t
    assert t.internal_nodes == ((0, 4), (0, 2, 4), (0, 1, 2, 3, 4))
    assert list(t.postorder()) == list(t.nodes)
    assert repr(t) == "ModeTree((((0, 4), 2), 1, 3))"
    with pytest.raises(TreeError, match=r"\(0, 1\)"):
        t.children((0, 1))


@settings(max_examples=60, deadline=None)
@given(nested_trees(max_n=12))
def test_random_trees_invariants(tree):
    seen = set()
    for v in tree.postorder():
        kids = tree.children(v)
        assert all(c in seen for c in kids), "postorder: children first"
        seen.add(v)
        if kids:
            assert len(kids) >= 2
            assert sorted(p for c in kids for p in c) == list(v)
            assert tree.level(v) == 1 + max(tree.level(c) for c in kids)
            assert all(tree.parent(c) == v for c in kids)
        else:
            assert tree.level(v) == 0 and len(v) == 1
    assert len(seen) == len(tree.nodes) and tree.nodes[-1] == tree.root == tuple(range(tree.N))
    assert tree.depth == tree.level(tree.root)
    again = ModeTree.from_nested(tree.to_nested())
    assert again == tree and hash(again) == hash(tree) and again.nodes == tree.nodes


def test_equality_ignores_child_order():
    assert ModeTree(((4, 0), (5, 1), (2, 3))) == ModeTree(((2, 3), (0, 4), (1, 5)))
    assert ModeTree.balanced(4) != ModeTree.mirror(4)
    assert len({ModeTree.balanced(8), ModeTree.from_nested(ModeTree.balanced(8).to_nested())}) == 1


def test_from_dilations_matches_named_trees():
    assert ModeTree.from_dilations(16, (1, 2, 4, 8)) == ModeTree.balanced(16)
    assert ModeTree.from_dilations(16, (8, 4, 2, 1)) == ModeTree.interleaved(16)
    t = ModeTree.from_dilations(8, (2, 1, 4))
    # layer 1 pairs t-2 with t, layer 2 joins the pairs ending at t-1 and t
    assert t.by_level()[1] == ((0, 2), (1, 3), (4, 6), (5, 7))
    assert t.by_level()[2] == ((0, 1, 2, 3), (4, 5, 6, 7))


def test_all_dilation_orders_give_distinct_trees():
    trees = {ModeTree.from_dilations(16, d) for d in itertools.permutations((1, 2, 4, 8))}
    assert len(trees) == 24


@pytest.mark.parametrize("make, match", [
    (lambda: ModeTree.balanced(6), "N=6"),
    (lambda: ModeTree.balanced(8, arity=3), "N=8"),
    (lambda: ModeTree.interleaved(12), "N=12"),
    (lambda: ModeTree.mirror(6), "N=6"),
    (lambda: ModeTree.flat(1), "N=1"),
    (lambda: ModeTree.balanced(4, arity=1), "arity 1"),
    (lambda: ModeTree(((0, 4), (1, 5))), "2, 3 are missing"),
    (lambda: ModeTree(((0, 1), (1, 2))), "1 are repeated"),
    (lambda: ModeTree(((0, -1), (1, 2))), "-1 are negative"),
    (lambda: ModeTree(((0, 1), (2,))), r"\(2,\).*1 child"),
    (lambda: ModeTree(((0, 1), "23")), "'23'"),
    (lambda: ModeTree(((0, 1), None)), "None"),
    (lambda: ModeTree(0), "at least 2"),
    (lambda: ModeTree.from_dilations(8, (1, 2)), r"dilations \(1, 2\).*N=8"),
    (lambda: ModeTree.from_dilations(4, (1, 1)), r"\(1, 1\)"),
    (lambda: ModeTree.from_dilations(8, (1, 2, 0)), r"\(1, 2, 0\)"),
])
def test_bad_trees_raise_tree_errors_naming_the_value(make, match):
    with pytest.raises(TreeError, match=match) as err:
        make()
    assert isinstance(err.value, BuildError)
