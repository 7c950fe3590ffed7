"""Every docstring example in tn, builders and analysis runs and holds (numpydoc examples are tests)."""

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("tn", "builders", "analysis")


def modules():
    for package in PACKAGES:
        yield package
        path = importlib.import_module(package).__path__
        for info in pkgutil.walk_packages(path, package + "."):
            if not info.name.endswith("__main__"):
                yield info.name


@pytest.mark.parametrize("name", list(modules()))
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
