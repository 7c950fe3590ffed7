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
    (lambda n: n.add_tensor("B", np.ones((3, 3)), ("h", "h")), errors.DuplicateIndexError, "'h' repeated"),
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
    bad = tmp_path / "bad.tnet"
    bad.write_text("not a zip")
    with pytest.raises(errors.SerializationError, match="cannot read"):
        TensorNetwork.load(bad)
    net = TensorNetwork()
    net.add_tensor(object(), np.ones(2), ("i",))
    with pytest.raises(errors.SerializationError, match="cannot serialize"):
        net.save(tmp_path / "x.tnet")
