"""Image geometries (theory §9): ModeTree.grid against hand-built trees, grid networks, deep (chain) trees."""

import numpy as np
import pytest

import builders
import tn
from builders import ModeTree
from tn.errors import BuildError, TreeError


def reflections(p, H, W):
    r, c = divmod(p, W)
    return {r * W + c, r * W + W - 1 - c, (H - 1 - r) * W + c, (H - 1 - r) * W + W - 1 - c}


def test_square_4x4_is_the_hand_built_tree():
    expected = ((0, 1, 4, 5), (2, 3, 6, 7), (8, 9, 12, 13), (10, 11, 14, 15))
    assert ModeTree.grid(4, 4) == ModeTree.from_nested(expected)
    assert ModeTree.grid(4, 4).grid == (4, 4)


def test_mirror_4x4_is_the_hand_built_tree():
    expected = ((0, 3, 12, 15), (1, 2, 13, 14), (4, 7, 8, 11), (5, 6, 9, 10))
    assert ModeTree.grid(4, 4, pooling="mirror") == ModeTree.from_nested(expected)


@pytest.mark.parametrize("H,W", [(8, 8), (16, 16), (4, 16)])
def test_square_levels_are_the_aligned_blocks(H, W):
    """Level l (while both sides are still pooled) groups the pixels with equal (row // 2^l, col // 2^l)."""
    tree = ModeTree.grid(H, W)
    for level in range(1, min(H, W).bit_length()):
        blocks = {}
        for p in range(H * W):
            r, c = divmod(p, W)
            blocks.setdefault((r >> level, c >> level), []).append(p)
        assert set(tree.by_level()[level]) == {tuple(b) for b in blocks.values()}
    assert all(len(tree.children(v)) == 4 for v in tree.by_level()[1])


def test_mirror_8x8_nodes_are_reflection_orbits_then_quadrant_blocks():
    H = W = 8
    tree = ModeTree.grid(H, W, pooling="mirror")
    level1 = tree.by_level()[1]
    assert len(level1) == 16 and all(set(v) == reflections(v[0], H, W) and len(v) == 4 for v in level1)
    # level 2: the orbits of a 2 x 2 block of the top-left quadrant
    expected = set()
    for R in range(2):
        for C in range(2):
            pixels = set()
            for r in range(2 * R, 2 * R + 2):
                for c in range(2 * C, 2 * C + 2):
                    pixels |= reflections(r * W + c, H, W)
            expected.add(tuple(sorted(pixels)))
    assert set(tree.by_level()[2]) == expected and tree.depth == 3


def test_sequences_are_the_one_dimensional_trees():
    assert ModeTree.grid(1, 16) == ModeTree.balanced(16)
    assert ModeTree.grid(1, 16, pooling="mirror") == ModeTree.mirror(16)
    assert ModeTree.grid(1, 27, window=(1, 3)) == ModeTree.balanced(27, arity=3)
    assert ModeTree.grid(8, 1, pooling="mirror").by_level()[1] == ((0, 7), (1, 6), (2, 5), (3, 4))


def test_per_level_and_rectangular_windows():
    tree = ModeTree.grid(4, 4, window=[(2, 1), (1, 2), (2, 2)])
    assert tree.by_level()[1] == ((0, 4), (1, 5), (2, 6), (3, 7), (8, 12), (9, 13), (10, 14), (11, 15))
    assert tree.by_level()[2][0] == (0, 1, 4, 5)
    t = ModeTree.grid(2, 9, window=(2, 3))
    assert t.by_level()[1] == ((0, 1, 2, 9, 10, 11), (3, 4, 5, 12, 13, 14), (6, 7, 8, 15, 16, 17))
    assert t.depth == 2 and len(t.children(t.root)) == 3


@pytest.mark.parametrize("args,kwargs,match", [
    ((6, 4), {}, r"6 x 4.*H=6 must be a power of the window height 2"),
    ((4, 4), {"window": (1, 2)}, r"window \(1, 2\) does not tile the 4 x 1 grid"),
    ((4, 4), {"window": (1, 1)}, r"window \(1, 1\)"),
    ((4, 4), {"window": [(2, 2)]}, r"leave a 2 x 2 grid unpooled"),
    ((4, 4), {"window": [(2, 2), (2, 2), (2, 2)]}, r"only 2 of the 3 windows"),
    ((4, 4), {"window": [(2, 2), (3, 2)]}, r"window \(3, 2\) does not divide the 2 x 2 grid"),
    ((4, 4), {"window": "22"}, r"window '22'"),
    ((3, 4), {"pooling": "mirror"}, r"H=3 must be 1 or even"),
    ((4, 4), {"pooling": "diagonal"}, r"pooling='diagonal'"),
    ((1, 1), {}, r"1 x 1: at least 2 positions"),
    ((0, 4), {}, r"H=0"),
    ((4, 2.0), {}, r"W=2.0"),
])
def test_shapes_that_do_not_fit_are_tree_errors(args, kwargs, match):
    with pytest.raises(TreeError, match=match):
        ModeTree.grid(*args, **kwargs)


def test_grid_networks_carry_their_grid_through_save_and_load(tmp_path):
    net = builders.deep_convac(grid=(4, 4), M=2, widths=[2, 3], pooling="mirror", seed=1)
    assert net.metadata["grid"] == [4, 4] and net.metadata["pooling"] == "mirror"
    net.save(tmp_path / "g.tnet")
    back = tn.load(tmp_path / "g.tnet")
    assert builders.grid_of(back) == (4, 4) and builders.tree_of(back).grid == (4, 4)
    assert builders.tree_of(back) == ModeTree.grid(4, 4, pooling="mirror")
    same = builders.convac(ModeTree.grid(4, 4, pooling="mirror"), M=2, widths=[2, 3], seed=1)
    assert np.array_equal(same.to_dense(), net.to_dense())
    assert builders.grid_of(builders.deep_convac(16, M=2, widths=2)) is None


def test_convac_grid_shorthand_and_declared_grids():
    net = builders.convac(grid=(2, 4), window=(2, 2), M=2, widths=2)
    assert builders.tree_of(net) == ModeTree.grid(2, 4) and builders.grid_of(net) == (2, 4)
    flat = builders.convac(ModeTree.flat(16), M=2, widths=2, grid=(4, 4))  # any tree over the pixels
    assert builders.grid_of(flat) == (4, 4)
    assert builders.deep_convac(16, M=2, widths=2, grid=(4, 4), pooling="contiguous").metadata["pooling"] == "square"


@pytest.mark.parametrize("call,match", [
    (lambda: builders.convac(ModeTree.flat(16), M=2, widths=2, grid=(4, 5)), r"20 pixels, the tree 16"),
    (lambda: builders.convac(ModeTree.grid(4, 4), M=2, widths=2, grid=(2, 8)), r"tree's own grid \(4, 4\)"),
    (lambda: builders.convac(ModeTree.flat(4), M=2, widths=2, pooling="mirror"), r"given tree already fixes"),
    (lambda: builders.convac(M=2, widths=2), r"needs a tree"),
    (lambda: builders.convac(grid=(4,), M=2, widths=2), r"grid=\(4,\) must be a pair"),
    (lambda: builders.convac(grid=(4, 4), widths=2), r"convac needs M"),
    (lambda: builders.deep_convac(15, M=2, widths=2, grid=(4, 4)), r"N=15 differs from the 4 x 4 = 16"),
    (lambda: builders.deep_convac(M=2, widths=2, grid=(4, 4), pooling="interleaved"), r"'interleaved' on a grid"),
    (lambda: builders.deep_convac(M=2, widths=2, grid=(4, 4), arity=4), r"arity=4 does not apply to a grid"),
    (lambda: builders.deep_convac(M=2, widths=2), r"needs N"),
    (lambda: builders.deep_convac(64, M=2, widths=2, arity=4, pooling="mirror"), r"pass grid=\(H, W\)"),
])
def test_grid_build_errors(call, match):
    with pytest.raises((BuildError, TreeError), match=match):
        call()


def chain(N):
    nested = 0
    for i in range(1, N):
        nested = (nested, i)
    return nested


def test_a_5000_deep_chain_tree_needs_no_recursion():
    nested = chain(5000)
    tree = ModeTree.from_nested(nested)
    assert tree.depth == 4999 and tree.N == 5000
    assert tree.children(tree.root) == (tuple(range(4999)), (4999,))
    back = ModeTree.from_nested(builders.compiler.from_json(builders.compiler.to_json(tree.to_nested())))
    assert back == tree and hash(back) == hash(tree)
    with pytest.raises(TreeError, match=r"at \[1, 1\]"):  # error paths still name the entry
        ModeTree.from_nested((0, (1, "x")))


@pytest.mark.parametrize("N", [500, pytest.param(5000, marks=pytest.mark.slow)])
def test_chain_networks_build_and_read_back(N):
    tree = ModeTree.from_nested(chain(N))
    net = builders.convac(tree, M=2, widths=2)
    assert builders.tree_of(net) == tree and len(net.tensor_names) == 2 * N - 1


def test_trees_from_their_nodes():
    for tree in (ModeTree.grid(4, 4, pooling="mirror"), ModeTree.random(12, seed=3), ModeTree.from_nested(chain(50))):
        assert ModeTree.from_nodes(tree.internal_nodes) == tree
    for nodes, match in (([(0, 1, 2), (1, 2, 3)], "overlap"), ([(0,), (0, 1)], r"node \(0,\) has fewer than 2"),
                         ([(0, 1), (2, 3)], r"largest node \(2, 3\) does not contain positions \[0, 1\]"), ([], "no")):
        with pytest.raises(TreeError, match=match):
            ModeTree.from_nodes(nodes)


@pytest.mark.parametrize("N", [300, pytest.param(1000, marks=pytest.mark.slow)])
def test_a_deep_chain_network_saves_and_loads(tmp_path, N):
    tree = ModeTree.from_nested(chain(N))
    net = builders.convac(tree, M=2, widths=2)
    assert net.metadata["tree"] is None   # deeper than JSON files nest: read back from the widths' nodes
    net.save(tmp_path / "chain.tnet")
    back = tn.load(tmp_path / "chain.tnet")
    assert builders.tree_of(back) == tree
    x = np.random.default_rng(0).random((N, 3, 2))
    assert np.allclose(back.evaluate(list(x)), net.evaluate(list(x)))
