"""The package layout's rules: no module shadowed by a function, one-way imports between packages, no cycles."""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tn", "builders", "analysis")
ALLOWED = {"tn": set(), "builders": {"tn"}, "analysis": {"tn", "builders"}}  # tn imports neither; builders never analysis


def all_modules():
    for package in PACKAGES:
        yield package
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
            if not info.name.endswith("__main__"):
                yield info.name


@pytest.mark.parametrize("name", list(all_modules()))
def test_no_submodule_is_shadowed(name):
    """``import package.sub as m`` gives the module: no attribute of a package hides a submodule's name."""
    if "." not in name:
        return
    parent, child = name.rsplit(".", 1)
    module = importlib.import_module(name)
    attr = getattr(importlib.import_module(parent), child)
    assert attr is module, f"{parent}.{child} is {attr!r}, not the module"


def imports_of(path: Path, package: str):
    """Every package imported anywhere in the file (function-level imports included)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            yield package if node.level else (node.module or "").split(".")[0]


@pytest.mark.parametrize("package", PACKAGES)
def test_import_direction(package):
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        for target in imports_of(path, package):
            if target in PACKAGES and target != package and target not in ALLOWED[package]:
                bad.append((str(path.relative_to(ROOT)), target))
    assert not bad, f"imports against the layout: {bad}"


def test_one_version_and_packaging_files():
    import tn
    cff = (ROOT / "CITATION.cff").read_text()
    assert f"version: {tn.__version__}\n" in cff
    assert "version = " not in (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
