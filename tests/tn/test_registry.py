"""tn.registry: one Registry type for every extension point, the same rules everywhere."""

import pytest

import analysis
import builders
from analysis.bounds import CUT_METHODS
from analysis.flow import FLOW_FUNCS
from analysis.partitions import PARTITIONS
from analysis.spectrum import SPECTRUM_METHODS
from builders.init import INITS
from builders.registry import BUILDERS
from tn.contraction import OPTIMIZERS
from tn.errors import DuplicateNameError, UnknownNameError
from tn.registry import Registry, all_registries

EVERY = {"optimizer": OPTIMIZERS, "builder": BUILDERS, "cut method": CUT_METHODS, "flow_func": FLOW_FUNCS,
         "partition": PARTITIONS, "spectrum method": SPECTRUM_METHODS, "init": INITS}


def test_every_extension_point_is_a_registry():
    live = set(map(id, all_registries()))
    for kind, reg in EVERY.items():
        assert isinstance(reg, Registry) and reg.kind == kind and id(reg) in live


@pytest.mark.parametrize("kind", sorted(EVERY))
def test_registry_rules(kind):
    reg = EVERY[kind]
    first = reg.names()[0]
    assert reg.get(first.upper()) is reg.get(first)  # case-insensitive, as opt_einsum's names
    with pytest.raises(UnknownNameError, match="valid names: .*" + first) as err:
        reg.get("no-such-name")
    assert isinstance(err.value, KeyError)
    with pytest.raises(DuplicateNameError):
        reg.register(first, object())
    marker = object()
    reg.register("zz-test", marker, note=1)
    assert reg.get("ZZ-TEST") is marker and reg.info("zz-test") == {"note": 1} and "zz-test" in reg.names()
    reg.register("zz-test", 5, replace=True)
    assert reg.get("zz-test") == 5
    reg.unregister("zz-test")
    assert "zz-test" not in reg
    with pytest.raises(UnknownNameError):
        reg.unregister("zz-test")


def test_registered_items_are_used():
    """A registered entry is reachable through the public API that reads its registry."""
    net = builders.deep_convac(8, M=2, widths=2)
    PARTITIONS.register("first-two", lambda net, legs, value: legs[:2], arg=None)
    assert analysis.make_partition(net, "first-two").A == (0, 1)
    assert analysis.mincut(net, "first-two").bound == 2  # a level-1 pair: cut above it, one bond of width 2
    BUILDERS.register("tiny", lambda *a, **k: builders.deep_convac(4, M=2, widths=2))
    assert builders.get("tiny")().output == (0, 1, 2, 3, "y")


def test_registrations_do_not_leak_between_tests():
    """The autouse fixture restored what the test above registered."""
    assert "first-two" not in PARTITIONS and "tiny" not in BUILDERS


def test_cotengra_reaches_opt_einsum_publicly():
    from opt_einsum import paths
    assert paths.get_path_fn("cotengra") is OPTIMIZERS.get("cotengra")
