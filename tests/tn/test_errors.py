import numpy as np
import pytest

from tn import TensorNetwork, errors


def base():
    net = TensorNetwork()
    net.add_tensor("A", np.ones((2, 3)), ("i", "h"))
    return net


def test_every_error_is_a_tnerror_and_a_builtin():
    assert issubclass(errors.IndexSizeError, (errors.TNError, ValueError))
    assert issubclass(errors.UnknownIndexError, KeyError)
    assert issubclass(errors.MemoryLimitError, MemoryError)
    assert issubclass(errors.DTypeError, TypeError)


@pytest.mark.parametrize("action, exc, message", [
    (lambda n: n.add_tensor("B", np.ones((4, 3)), ("j", "i")), errors.IndexSizeError, "index 'i' has size 2"),
    (lambda n: n.add_tensor("A", np.ones(3), ("h",)), errors.DuplicateTensorError, "'A' already exists"),
    (lambda n: n.add_tensor("B", np.ones((3, 2)), ("q", "q")), errors.IndexSizeError, "'q' is repeated with sizes 3 and 2"),
    (lambda n: n.add_tensor("B", np.ones((3, 3)), ("h",)), errors.ShapeError, "2 axes"),
    (lambda n: n.add_tensor("B", np.array(["a", "b"]), ("x",)), errors.DTypeError, "dtype <U1"),
    (lambda n: n.add_tensor("B", (0, 3), ("x", "h")), errors.ShapeError, "positive integers"),
    (lambda n: n.add_tensor("B", np.array([1.0, np.nan]), ("x",), check_finite=True), errors.NonFiniteError,
     "1 non-finite"),
    (lambda n: n.set_output(("i", "zz")), errors.UnknownIndexError, "unknown index.*'zz'"),
    (lambda n: n.set_output(("i", "i")), errors.DuplicateIndexError, "repeats"),
    (lambda n: n.set_data("A", np.ones((3, 2))), errors.ShapeError, "shape \\(2, 3\\)"),
    (lambda n: n.set_data("Z", np.ones((3, 2))), errors.UnknownTensorError, "no tensor named 'Z'"),
    (lambda n: n.contract(output=("q",)), errors.UnknownIndexError, "'q'"),
    (lambda n: n.evaluate({"i": np.ones((2, 2))}, batch_index="h"), errors.DuplicateIndexError, "batch index"),
])
def test_bad_input_raises_a_specific_error_and_loses_nothing(action, exc, message):
    net = base()
    before = (net.tensor_names, net.size_dict, net.output)
    with pytest.raises(exc, match=message):
        action(net)
    assert (net.tensor_names, net.size_dict, net.output) == before
    assert np.allclose(net.to_dense(), np.ones((2, 3)))


def test_load_errors(tmp_path):
    with pytest.raises(errors.SerializationError, match="no such file"):
        TensorNetwork.load(tmp_path / "missing.tnet")
    with pytest.raises(errors.SerializationError, match="cannot read"):
        TensorNetwork.load(tmp_path)  # a directory
    bad = tmp_path / "bad.tnet"
    bad.write_text("not a zip")
    with pytest.raises(errors.SerializationError, match="cannot read"):
        TensorNetwork.load(bad)
    net = TensorNetwork()
    net.add_tensor(object(), np.ones(2), ("i",))
    with pytest.raises(errors.SerializationError, match="cannot serialize"):
        net.save(tmp_path / "x.tnet")


def matrix_tree():
    """Two leaves pooled by a hyperedge "z" into a root carrying the class leg "y"."""
    net = TensorNetwork()
    net.add_tensor("L0", np.ones((2, 3)), (0, "z"))
    net.add_tensor("L1", np.ones((2, 3)), (1, "z"))
    net.add_tensor("R", np.ones((3, 1)), ("z", "y"))
    net.set_output((0, 1, "y"))
    net.set_input_legs((0, 1))
    return net


def test_evaluate_feeds_only_open_legs():
    net = matrix_tree()
    with pytest.raises(errors.UnknownIndexError, match=r"\['z'\] are not open legs"):
        net.evaluate({"z": np.ones((4, 3))})
    with pytest.raises(errors.UnknownIndexError, match="not open legs"):
        net.evaluate_cost(4, legs=("z",))


def test_batch_of_zero_rows_and_bad_batch_sizes():
    net = matrix_tree()
    for method in ("tree", "einsum"):
        assert net.evaluate(np.ones((2, 0, 2)), method=method).shape == (0, 1)
    for bad in (-1, "abc", 2.5, True):
        with pytest.raises(errors.SettingError, match="batch size"):
            net.evaluate_cost(bad)


@pytest.mark.parametrize("limit", ["abc", -2, 0, "-1GiB", "2XB", True, float("nan"), float("inf")])
def test_bad_memory_limits_are_setting_errors(limit):
    import tn
    with pytest.raises(errors.SettingError, match="memory"):
        matrix_tree().to_dense(memory_limit=limit)
    with pytest.raises(errors.SettingError):
        tn.set_memory_limit(limit)


def test_labels_must_be_hashable_and_not_a_bare_string():
    net = TensorNetwork()
    with pytest.raises(errors.StructureError, match="not the string 'hq'"):
        net.add_tensor("A", np.ones((2, 2)), "hq")
    with pytest.raises(errors.StructureError, match="not hashable"):
        net.add_tensor("A", np.ones(2), (["h"],))
    assert len(net) == 0


def test_empty_network_bad_dtype_and_unknown_optimizer_on_one_tensor():
    with pytest.raises(errors.StructureError, match="no tensors"):
        TensorNetwork().contract()
    net = TensorNetwork()
    net.add_tensor("A", np.ones(2), ("i",))
    with pytest.raises(errors.DTypeError, match="'foo' is not a numpy dtype"):
        net.cost(dtype="foo")
    with pytest.raises(errors.OptimizeError, match="unknown optimizer 'bogus'"):
        net.contract(optimize="bogus")
    with pytest.raises(errors.OptimizeError, match="unknown optimizer 'bogus'"):
        matrix_tree().evaluate(np.ones((2, 3, 2)), optimize="bogus")  # also where the tree executor runs


def test_changing_the_natural_path_changes_the_plan():
    net = TensorNetwork()
    for k in range(4):
        net.add_tensor(k, np.ones((2, 2)), (k, k + 1))
    net.set_natural_path([(0, 1), (0, 1), (0, 1)])
    assert net.cost(optimize="natural").path == [(0, 1), (0, 1), (0, 1)]
    net.set_natural_path([(2, 3), (0, 1), (0, 1)])
    assert net.cost(optimize="natural").path == [(2, 3), (0, 1), (0, 1)]
