"""The docstring examples of every builders module run and hold."""

import doctest
import importlib

import pytest

MODULES = ["builders", "builders.modetree", "builders.compiler", "builders.convac", "builders.dilated",
           "builders.mixed", "builders.registry", "builders.reference", "builders.init"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
