import json

import numpy as np
import pytest

import builders
from tn import NetworkSum
from tn.errors import UnknownNameError

STRUCTURE = {  # structure-first positional arguments of each builder
    "convac": (builders.ModeTree.balanced(4), 2, 2), "shallow_convac": (4, 2, 3), "deep_convac": (4, 2, 2),
    "dilated_convnet": (4, 2, 2), "mixed": (builders.ModeTree.balanced(4), builders.ModeTree.mirror(4), 2, 2),
    "mixed_dilated": (4, 2, 2), "truncated_convac": (4, 2, 2, 2), "generalized": (builders.ModeTree.balanced(4), 2, 2),
}


def test_available_lists_every_builder():
    assert builders.available() == tuple(sorted([*STRUCTURE, "deep_linear", "tensor_train"]))
    assert builders.get("Deep_Linear") is builders.deep_linear  # names are case-insensitive


@pytest.mark.parametrize("name", sorted(STRUCTURE))
def test_one_signature_style(name):
    build = builders.get(name)
    net = build(*STRUCTURE[name], classes=2, seed=3, init="orthonormal", dtype=np.float32)
    terms = net.terms if isinstance(net, NetworkSum) else [net]
    for t in terms:
        assert t.metadata["builder"] == name
        assert t.output == (0, 1, 2, 3, "y") and t.size("y") == 2
        json.dumps(t.metadata)
        assert all(t.data(n).dtype == np.float32 for n in t.tensor_names)
    again = build(*STRUCTURE[name], classes=2, seed=3, init="orthonormal", dtype=np.float32)
    assert np.array_equal(net.to_dense(), again.to_dense())  # seeded


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match="'resnet'.*convac, deep_convac, dilated_convnet") as err:
        builders.get("resnet")
    assert isinstance(err.value, KeyError)
