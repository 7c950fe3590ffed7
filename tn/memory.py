"""The memory guard: a limit on the largest intermediate any contraction may allocate.

The default is a quarter of the machine's physical memory (6 GiB on a 24 GiB machine): a
pairwise contraction holds its two operands and its result at once, and numpy may need a
transposed copy of an operand, so a single intermediate larger than that risks the whole
machine. Override it per call (``memory_limit=``), globally (:func:`set_memory_limit`), or
with the ``TN_MEMORY_LIMIT`` environment variable (bytes, or a size such as ``"8GiB"``); ``-1`` means
unlimited, as in opt_einsum.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections import OrderedDict

from .errors import MemoryLimitError, SettingError

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6, "mib": 2**20,
          "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12, "tib": 2**40}

_limit: int | None = None


UNLIMITED = -1  # as opt_einsum's memory_limit=-1


def parse_size(value) -> int | None:
    """Bytes as a Python int from an int, a float, or a string such as ``"512MiB"``.

    ``None`` passes through (callers read it as "the default"); ``-1`` (or ``"-1"``) means unlimited,
    as in opt_einsum.

    Examples
    --------
    >>> parse_size("1.5KiB"), parse_size(-1)
    (1536, -1)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise SettingError(f"memory limit must be a size, not {value!r}")
    if value == UNLIMITED or (isinstance(value, str) and value.strip() == "-1"):
        return UNLIMITED
    if isinstance(value, (int, float)):
        if not value > 0 or value == float("inf"):
            raise SettingError(f"memory limit must be a positive finite size, got {value!r}")
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise SettingError(f"cannot read memory size {value!r} (examples: 1000000, '512MiB', '8GiB')")
    return parse_size(float(match.group(1)) * _UNITS[match.group(2).lower()])


def physical_memory() -> int:
    """Physical memory of this machine in bytes (8 GiB if the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def default_memory_limit() -> int:
    env = os.environ.get("TN_MEMORY_LIMIT")
    return parse_size(env) if env else physical_memory() // 4


def get_memory_limit() -> int:
    """The limit in force (bytes) for calls that pass no ``memory_limit``."""
    return _limit if _limit is not None else default_memory_limit()


def set_memory_limit(limit) -> int | None:
    """Set the global limit (bytes or a size string); ``None`` restores the default. Returns the previous setting."""
    global _limit
    previous, _limit = _limit, parse_size(limit)
    return previous


def check(cost, memory_limit=None, what="contraction", owner=None):
    """Raise :class:`MemoryLimitError` if ``cost`` (a ContractionCost) exceeds the limit; before any allocation.

    The request is the cost's peak (every live operand, the step's result and a transposed copy, see
    :class:`~tn.cost.ContractionCost`); ``owner`` is the plan whose own kept buffers the peak already counts.
    """
    check_bytes(cost.peak_memory_bytes, memory_limit, what,
                f"its peak is {human_size(cost.peak_memory_bytes)} (largest intermediate {cost.largest_intermediate:,} "
                f"elements, indices {cost.largest_intermediate_inds!r})", owner=owner)


CONTRACTION_WAYS_OUT = ("contract fewer open legs (output=...), try a better path (optimize='auto-hq' or a cotengra "
                        "optimizer)")


def check_bytes(nbytes, memory_limit, what, detail, ways_out=CONTRACTION_WAYS_OUT, owner=None):
    """Raise :class:`MemoryLimitError` if ``nbytes`` exceeds the limit; ``detail`` says what holds them.

    Buffers kept between calls (:data:`POOLS`, except ``owner``'s) count too: when they are what does
    not fit, the least recently used are dropped first. ``ways_out`` names what the caller can change
    besides the limit.
    """
    limit = get_memory_limit() if memory_limit is None else parse_size(memory_limit)
    if limit == UNLIMITED:
        return
    if nbytes <= limit and nbytes + POOLS.held(owner) > limit:
        POOLS.evict(limit - nbytes, owner)
    if nbytes > limit:
        raise MemoryLimitError(
            f"{what} refused: {detail} but the memory limit is {human_size(limit)}; ways out: {ways_out}, or raise the "
            f"limit (memory_limit=... per call, tn.set_memory_limit(...) or TN_MEMORY_LIMIT; -1 = unlimited) if the "
            f"machine has room")


def human_size(nbytes: int) -> str:
    """``nbytes`` for a message: exact bytes and a binary unit (a power of two beyond float range)."""
    if nbytes >= 2**1000:  # beyond float range: a power of two says enough
        return f"2^{nbytes.bit_length() - 1} bytes"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes:,} bytes = {nbytes / size:.3g} {unit}"
    return f"{nbytes} bytes"


# ---------------------------------------------------------------------- kept buffers
class _Pools:
    """Bytes of buffers kept between calls (the tree executor's pools), per owner and thread, in LRU order.

    They count against the limit: :func:`check_bytes` adds the bytes held by every other owner and, when
    a request would not fit, first drops the least recently used owners' buffers (``owner.release_all()``).
    """

    def __init__(self):
        self._owners = OrderedDict()  # id(owner) -> (weakref to owner, {thread id: bytes})
        self._lock = threading.Lock()

    def hold(self, owner, nbytes):
        """Record that ``owner`` now keeps ``nbytes`` of buffers for the calling thread (0: none)."""
        key, thread = id(owner), threading.get_ident()
        with self._lock:
            if key not in self._owners:
                self._owners[key] = (weakref.ref(owner, lambda _, k=key: self._drop(k)), {})
            self._owners[key][1][thread] = nbytes
            self._owners.move_to_end(key)

    def forget(self, owner):
        self._drop(id(owner))

    def _drop(self, key):
        with self._lock:
            self._owners.pop(key, None)

    def held(self, exclude=None) -> int:
        """Bytes kept by every owner but ``exclude``."""
        with self._lock:
            return sum(sum(per.values()) for key, (_, per) in self._owners.items() if key != id(exclude))

    def evict(self, nbytes, exclude=None) -> int:
        """Release least recently used owners (not ``exclude``) until at most ``nbytes`` are held; returns the rest."""
        while True:
            with self._lock:
                victims = [ref() for key, (ref, _) in self._owners.items() if key != id(exclude)]
            held = self.held(exclude)
            victim = next((v for v in victims if v is not None), None)
            if held <= nbytes or victim is None:
                return held
            victim.release_all()
            self.forget(victim)

    def release_all(self):
        """Drop every owner's buffers."""
        with self._lock:
            owners = [ref() for ref, _ in self._owners.values()]
        for owner in owners:
            if owner is not None:
                owner.release_all()
        with self._lock:
            self._owners.clear()


POOLS = _Pools()


def held_bytes() -> int:
    """Bytes of buffers the engine keeps between calls (tree-executor pools of every plan and thread)."""
    return POOLS.held()


def clear_cache():
    """Drop every compiled plan (contractions, gradient programs, tree plans) and every kept buffer.

    Examples
    --------
    >>> import numpy as np, builders, tn
    >>> net = builders.deep_convac(8, M=2, widths=2)
    >>> _ = net.evaluate(np.ones((8, 100, 2)))
    >>> tn.memory.held_bytes() > 0
    True
    >>> tn.clear_cache()
    >>> tn.memory.held_bytes(), tn.cache_info()["size"]
    (0, 0)
    """
    from . import contraction, gradients
    POOLS.release_all()
    contraction.PLANS.clear()
    gradients._PROGRAMS.clear()
