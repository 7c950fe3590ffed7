"""Fixtures shared by the whole suite."""

import pytest

from tn.registry import all_registries


@pytest.fixture(autouse=True)
def _restore_registries():
    """A test that registers (a cut method, a builder, a flow function ...) leaves every registry as it found it."""
    saved = [(reg, reg.snapshot()) for reg in all_registries()]
    yield
    for reg, state in saved:
        reg.restore(state)
