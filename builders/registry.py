"""Builders by name, so the CLI and benchmarks can enumerate them.

Every builder takes the structure first (a tree, or N), then ``M`` and widths, then ``classes``,
and keyword-only ``seed`` / ``init`` / ``dtype``; it returns a :class:`tn.TensorNetwork` (or a
:class:`tn.NetworkSum` for mixed decompositions) whose ``metadata["builder"]`` is its name.
"""

from __future__ import annotations

from tn.errors import UnknownNameError

from .convac import convac, deep_convac, shallow_convac
from .dilated import dilated_convnet
from .mixed import mixed, mixed_dilated

_BUILDERS = {f.__name__: f for f in (convac, shallow_convac, deep_convac, dilated_convnet, mixed, mixed_dilated)}


def available() -> tuple:
    """Names of the registered builders, sorted.

    Examples
    --------
    >>> import builders
    >>> builders.available()
    ('convac', 'deep_convac', 'dilated_convnet', 'mixed', 'mixed_dilated', 'shallow_convac')
    """
    return tuple(sorted(_BUILDERS))


def get(name):
    """The builder function called ``name``; :class:`tn.errors.UnknownNameError` lists the valid names.

    Examples
    --------
    >>> import builders
    >>> builders.get("deep_convac")(8, M=2, widths=2).metadata["builder"]
    'deep_convac'
    """
    try:
        return _BUILDERS[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown builder {name!r}; available: {', '.join(available())}") from None
