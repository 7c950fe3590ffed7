"""tn.labels.Positions: long tree-node labels hash once, survive pickling and .tnet round trips."""

import pickle

import builders
import tn
from tn.labels import LONG, Positions


def test_positions_hash_once_and_equal_plain_tuples():
    p = Positions(range(1000))
    assert p == tuple(range(1000)) and hash(p) == hash(tuple(range(1000)))
    assert p._hash == hash(tuple(range(1000)))  # cached after the first hash
    back = pickle.loads(pickle.dumps(p))
    assert type(back) is Positions and back == p and "_hash" not in vars(back) or back._hash == p._hash


def test_long_tree_nodes_are_positions_and_plain_tuples_still_find_them():
    tree = builders.ModeTree.balanced(2 * LONG)
    assert type(tree.root) is Positions and tree.root == tuple(range(2 * LONG))
    assert type(tree.children(tree.root)[0]) is Positions and type(tree.children((0, 1, 2, 3))[0]) is tuple
    assert tree.children(tuple(range(LONG))) == (tuple(range(LONG // 2)), tuple(range(LONG // 2, LONG)))


def test_long_int_labels_load_back_hash_cached(tmp_path):
    net = builders.shallow_convac(2 * LONG, M=2, Z=2)  # the root hyperedge ("h", (0..63)) is on every tensor
    net.save(tmp_path / "cp")
    back = tn.load(tmp_path / "cp")
    labels = {i for name in back.tensor_names for i in back.inds(name)}
    root = next(i for i in labels if isinstance(i, tuple) and i[0] == "h")
    assert type(root[1]) is Positions and root == ("h", tuple(range(2 * LONG)))
    assert back.structure_key() == net.structure_key()


def test_a_flat_network_of_2_to_the_15_positions_builds_saves_and_loads(tmp_path):
    """Each leaf looks up the root's N-tuple: quadratic with plain tuples (minutes), linear with Positions."""
    net = builders.shallow_convac(2**15, M=2, Z=2)
    net.save(tmp_path / "big")
    back = tn.load(tmp_path / "big")
    assert len(back) == len(net) == 2**15 + 1 and back.structure_key() == net.structure_key()
