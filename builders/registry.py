"""Builders by name, so the CLI and benchmarks can enumerate them.

Every builder takes the structure first (a tree, or N), then ``M`` and widths, then ``classes``,
and keyword-only ``seed`` / ``init`` / ``dtype``; it returns a :class:`tn.TensorNetwork` (or a
:class:`tn.NetworkSum` for mixed decompositions) whose ``metadata["builder"]`` is its name.
:data:`BUILDERS` is a :class:`tn.registry.Registry`: add your own with ``BUILDERS.register(name, fn)``.
"""

from __future__ import annotations

from tn.registry import Registry

from .convacs import convac, deep_convac, shallow_convac
from .dilated import dilated_convnet
from .linear import deep_linear, tensor_train
from .mixtures import mixed, mixed_dilated
from .rectifiers import generalized
from .truncated import truncated_convac

BUILDERS = Registry("builder")
for _fn in (convac, shallow_convac, deep_convac, dilated_convnet, mixed, mixed_dilated, deep_linear, tensor_train,
            truncated_convac, generalized):
    BUILDERS.register(_fn.__name__, _fn)


def available() -> tuple:
    """Names of the registered builders, sorted.

    Examples
    --------
    >>> import builders
    >>> builders.available()
    ('convac', 'deep_convac', 'deep_linear', 'dilated_convnet', 'generalized', 'mixed', 'mixed_dilated', 'shallow_convac', 'tensor_train', 'truncated_convac')
    """
    return tuple(sorted(BUILDERS.names()))


def get(name):
    """The builder function called ``name``; :class:`tn.errors.UnknownNameError` lists the valid names.

    Examples
    --------
    >>> import builders
    >>> builders.get("deep_convac")(8, M=2, widths=2).metadata["builder"]
    'deep_convac'
    """
    return BUILDERS.get(name)


__all__ = ["BUILDERS", "available", "get"]
