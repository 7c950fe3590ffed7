"""One registry type for every extension point (optimizers, builders, cut methods, flow functions, ...).

A :class:`Registry` maps names to objects of one kind. Names are case-insensitive (as opt_einsum's
path names are) and kept in the spelling they were registered with; an unknown name raises
:class:`~tn.errors.UnknownNameError` listing the valid ones; registering a taken name needs
``replace=True``. Each entry may carry keyword metadata (``info(name)``), e.g. whether a cut method
takes a flow function.

Examples
--------
>>> from tn.registry import Registry
>>> colors = Registry("color")
>>> colors.register("Red", "#f00", warm=True)
'#f00'
>>> colors.get("red"), colors.info("RED"), colors.names()
('#f00', {'warm': True}, ('Red',))
>>> colors.get("blue")
Traceback (most recent call last):
...
tn.errors.UnknownNameError: unknown color 'blue'; valid names: Red
"""

from __future__ import annotations

import weakref

from .errors import DuplicateNameError, UnknownNameError

_ALL: "weakref.WeakSet[Registry]" = weakref.WeakSet()


class Registry:
    """Names -> objects of one kind, with metadata; see the module docstring.

    Parameters
    ----------
    kind : str
        What the entries are ("optimizer", "cut method", ...), used in error messages.
    hint : str, optional
        Appended to the unknown-name error (e.g. what else is accepted besides a name).
    extra : tuple of str
        Names the caller resolves itself (e.g. ``"auto"``), listed first in that error.
    """

    def __init__(self, kind: str, hint: str = "", extra: tuple = ()):
        self.kind, self.hint, self.extra = kind, hint, tuple(extra)
        self._entries: dict = {}  # lower-case name -> (name, obj, info)
        _ALL.add(self)

    @staticmethod
    def _key(name) -> str:
        if not isinstance(name, str) or not name:
            raise UnknownNameError(f"a registered name must be a non-empty string, got {name!r}")
        return name.lower()

    def register(self, name: str, obj=None, *, replace: bool = False, **info):
        """Add ``obj`` under ``name`` (returns ``obj``); without ``obj``, a decorator that registers its target."""
        if obj is None:
            return lambda target: self.register(name, target, replace=replace, **info)
        key = self._key(name)
        if key in self._entries and not replace:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered; pass replace=True to replace it")
        self._entries[key] = (name, obj, dict(info))
        return obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (UnknownNameError if absent)."""
        del self._entries[self.canonical(name).lower()]

    def canonical(self, name) -> str:
        """The registered spelling of ``name``; UnknownNameError listing the valid names if absent."""
        entry = self._entries.get(name.lower()) if isinstance(name, str) else None
        if entry is None:
            hint = f"; {self.hint}" if self.hint else ""
            valid = ", ".join((*self.extra, *self.names()))
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid names: {valid}{hint}")
        return entry[0]

    def get(self, name: str):
        """The object registered under ``name``."""
        return self._entries[self.canonical(name).lower()][1]

    def info(self, name: str) -> dict:
        """The metadata registered with ``name`` (a copy)."""
        return dict(self._entries[self.canonical(name).lower()][2])

    def names(self) -> tuple:
        """Registered names, in registration order."""
        return tuple(entry[0] for entry in self._entries.values())

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self):
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={list(self.names())!r})"

    def snapshot(self) -> dict:
        """The current entries, for :meth:`restore` (tests that register use it)."""
        return dict(self._entries)

    def restore(self, state: dict) -> None:
        self._entries = dict(state)


def all_registries() -> tuple:
    """Every live :class:`Registry` (for a test fixture that restores them all)."""
    return tuple(_ALL)


__all__ = ["Registry", "all_registries"]
