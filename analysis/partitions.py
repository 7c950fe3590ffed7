"""Partitions of a network's input legs: named generators, explicit lists, validation.

A partition is a pair (A, B) of disjoint, non-empty sets of open legs. Named partitions are
defined over ``net.input_legs`` taken in order (builders label them 0..N-1), so "position i" means
the i-th input leg:

``left-right``
    A = the first N // 2 positions.
``odd-even``
    A = the even positions 0, 2, 4, ... (interleaved).
``blocks:K``
    contiguous blocks of K positions alternating sides, the first block in A.
``random:SEED``
    a balanced random split (A has N // 2 positions) drawn with ``numpy.random.default_rng(SEED)``.

On a network built on an H x W image (``metadata["grid"]``, theory §9; position p = row * W + col)
``left-right`` means the left columns (col < W // 2) and these names are added:

``top-bottom``
    A = the top rows, row < H // 2 (the paper's I^low).
``checkerboard``
    A = the pixels with row + col even (the paper's I^odd: every 2 x 2 window is split).
``center-border``
    A = the central block, rows and columns [H // 4, H - H // 4) x [W // 4, W - W // 4).
``quadrants:Q``
    A = quadrant Q (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right), B the other three.
``rows:K`` / ``cols:K``
    bands of K rows (columns) alternating sides, the first band in A.
mask
    a boolean H x W array (True = A); on the command line ``--mask "1100/1100/0011/0011"`` (:func:`parse_mask`).

A grid name on a network without a grid is a :class:`~tn.errors.PartitionError`.
explicit
    any iterable of open legs for A (B defaults to the other input legs), a pair ``(A, B)``, or, on
    the command line, the text ``"0,1,2"`` or ``"0,1|2,3"``.

Open legs that are in neither A nor B (by default every open leg that is not an input leg, e.g.
the class leg ``"y"``) are *fixed*: projected on one value, they carry no capacity (theory §8: the
class leg is fixed unless a partition includes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from tn.errors import PartitionError, UnknownNameError
from tn.registry import Registry

MAX_BALANCED_N = 20


@dataclass(frozen=True)
class Partition:
    """A named partition (A, B) of open legs; legs keep the network's output order."""

    name: str
    A: tuple
    B: tuple


PARTITIONS = Registry("partition", hint="or an explicit list of legs such as '0,1,2' or '0,1|2,3'")


def register_partition(name, fn=None, *, arg=None, replace=False):
    """Register a partition family ``fn(net, legs, value) -> legs of side A`` (``value``: the int after
    ``name:`` when ``arg`` names it, e.g. ``arg="K"`` for ``"blocks:K"``, else None). Usable as a decorator."""
    return PARTITIONS.register(name, fn, replace=replace, arg=arg)


def grid_shape(net):
    """``(H, W)`` of a network built on an image (``metadata["grid"]``), or None.

    Examples
    --------
    >>> import builders
    >>> grid_shape(builders.deep_convac(grid=(4, 8), M=2, widths=2)), grid_shape(builders.deep_convac(8, 2, 2))
    ((4, 8), None)
    """
    grid = getattr(net, "metadata", {}).get("grid")
    return None if grid is None else (int(grid[0]), int(grid[1]))


def _grid_of(net, legs, name) -> tuple:
    """The network's (H, W), checked against its input legs; PartitionError on a 1D network."""
    shape = grid_shape(net)
    if shape is None:
        raise PartitionError(f"partition {name!r} needs a network built on an image grid (metadata['grid'], e.g. "
                             "builders.deep_convac(grid=(8, 8), ...)); this one has none: use left-right, odd-even, "
                             "blocks:K, random:SEED or explicit legs")
    if shape[0] * shape[1] != len(legs):
        raise PartitionError(f"partition {name!r}: the grid {shape[0]} x {shape[1]} does not match the network's "
                             f"{len(legs)} input legs")
    return shape


def grid_pixels(net, legs, name, keep) -> tuple:
    """Side A of a grid family: the legs of the pixels with ``keep(row, col, H, W)`` (both sides non-empty).

    A new grid family is ``register_partition(name, lambda net, legs, v: grid_pixels(net, legs, name, keep))``.
    """
    H, W = _grid_of(net, legs, name)
    A = tuple(legs[r * W + c] for r in range(H) for c in range(W) if keep(r, c, H, W))
    if not A or len(A) == len(legs):
        raise PartitionError(f"partition {name!r} on a {H} x {W} grid leaves side {'A' if not A else 'B'} empty")
    return A


@register_partition("left-right")
def _left_right(net, legs, value):
    if grid_shape(net) is None:
        return legs[: len(legs) // 2]
    return grid_pixels(net, legs, "left-right", lambda r, c, H, W: c < W // 2)


@register_partition("top-bottom")
def _top_bottom(net, legs, value):
    return grid_pixels(net, legs, "top-bottom", lambda r, c, H, W: r < H // 2)


@register_partition("checkerboard")
def _checkerboard(net, legs, value):
    return grid_pixels(net, legs, "checkerboard", lambda r, c, H, W: (r + c) % 2 == 0)


@register_partition("center-border")
def _center_border(net, legs, value):
    return grid_pixels(net, legs, "center-border",
                   lambda r, c, H, W: H // 4 <= r < H - H // 4 and W // 4 <= c < W - W // 4)


@register_partition("quadrants", arg="Q")
def _quadrants(net, legs, q):
    if q not in range(4):
        raise PartitionError(f"partition 'quadrants:{q}': Q must be 0 (top-left), 1 (top-right), 2 (bottom-left) "
                             "or 3 (bottom-right)")
    return grid_pixels(net, legs, f"quadrants:{q}",
                   lambda r, c, H, W: (r >= H // 2) == (q >= 2) and (c >= W // 2) == (q % 2 == 1))


def _bands(axis):
    def family(net, legs, k):
        name = f"{axis}:{k}"
        if k < 1:
            raise PartitionError(f"partition {name!r}: the band width must be >= 1")
        return grid_pixels(net, legs, name, lambda r, c, H, W: ((r if axis == "rows" else c) // k) % 2 == 0)
    return family


register_partition("rows", _bands("rows"), arg="K")
register_partition("cols", _bands("cols"), arg="K")


@register_partition("odd-even")
def _odd_even(net, legs, value):
    return legs[0::2]


@register_partition("blocks", arg="K")
def _blocks(net, legs, k):
    if k < 1:
        raise PartitionError(f"partition 'blocks:{k}': block size must be >= 1")
    return tuple(leg for i, leg in enumerate(legs) if (i // k) % 2 == 0)


@register_partition("random", arg="SEED")
def _random(net, legs, seed):
    if seed < 0:
        raise PartitionError(f"partition 'random:{seed}': the seed must be >= 0")
    picks = np.random.default_rng(seed).choice(len(legs), len(legs) // 2, replace=False)
    return tuple(legs[i] for i in sorted(picks))


GRID_PARTITIONS = ("left-right", "top-bottom", "checkerboard", "center-border", "quadrants:0", "rows:1", "cols:1")
"""The named partitions of an image a sweep answers by default (add ``random:SEED`` for random ones)."""


def partition_names() -> tuple:
    """The names :func:`make_partition` understands (parametric ones shown with their argument)."""
    return tuple(name if PARTITIONS.info(name)["arg"] is None else f"{name}:{PARTITIONS.info(name)['arg']}"
                 for name in PARTITIONS.names())


def _named(name: str, legs: tuple, net=None) -> tuple:
    head, sep, arg = name.partition(":")
    if head not in PARTITIONS:
        raise UnknownNameError(f"unknown partition {name!r}; valid names: {', '.join(partition_names())}, "
                               "or an explicit list of legs such as '0,1,2' or '0,1|2,3'")
    takes = PARTITIONS.info(head)["arg"]
    if (takes is None) == bool(sep):
        raise PartitionError(f"partition {name!r}: " + (f"{head!r} takes no argument" if takes is None else
                                                        f"write it as '{head}:{takes}'"))
    value = None
    if takes is not None:
        try:
            value = int(arg)
        except ValueError:
            raise PartitionError(f"partition {name!r}: {takes} must be an integer, got {arg!r}") from None
    return tuple(PARTITIONS.get(head)(net, legs, value))


def _token(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def parse_legs(text: str) -> tuple:
    """Legs from command-line text: ``"0,1,2"`` -> ``(0, 1, 2)``; non-integers stay strings; a repeat is an error."""
    legs = tuple(_token(t) for t in text.split(",") if t.strip())
    repeated = sorted({leg for leg in legs if legs.count(leg) > 1}, key=legs.index)
    if repeated:
        raise PartitionError(f"partition {text!r} repeats legs {repeated!r}")
    return legs


def parse_mask(text: str) -> np.ndarray:
    """A boolean H x W mask from text: rows of ``0``/``1`` separated by ``/`` (1 = side A).

    Examples
    --------
    >>> parse_mask("1100/0011").astype(int).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 1]]
    """
    rows = [row.strip() for row in str(text).split("/")]
    if not rows or any(not row or set(row) - {"0", "1"} for row in rows) or len({len(r) for r in rows}) != 1:
        raise PartitionError(f"mask {text!r}: expected rows of 0/1 of equal length separated by '/', "
                             "e.g. '1100/1100/0011/0011'")
    return np.array([[ch == "1" for ch in row] for row in rows], dtype=bool)


def mask_text(mask) -> str:
    """The text form of a boolean mask (inverse of :func:`parse_mask`)."""
    return "/".join("".join("1" if v else "0" for v in row) for row in np.asarray(mask))


def _mask_partition(net, mask) -> Partition:
    legs = tuple(net.input_legs)
    mask = np.asarray(mask)
    name = f"mask:{mask_text(mask)}" if mask.ndim == 2 else "mask"
    H, W = _grid_of(net, legs, name)
    if mask.shape != (H, W):
        raise PartitionError(f"mask of shape {mask.shape} does not match the network's {H} x {W} grid")
    if mask.dtype != bool:
        raise PartitionError(f"a mask must be a boolean array (True = side A), got dtype {mask.dtype}")
    A = tuple(legs[p] for p in np.flatnonzero(mask.ravel()))
    B = tuple(legs[p] for p in np.flatnonzero(~mask.ravel()))
    A, B = validate_partition(net, A, B)
    return Partition(name, A, B)


def _looks_explicit(text: str) -> bool:
    return "," in text or "|" in text or text.strip().lstrip("-").isdigit()


def validate_partition(net, A, B=None) -> tuple:
    """Check (A, B) against ``net``'s open legs; returns ``(A, B)`` as tuples in output order.

    B defaults to the input legs not in A. Raises :class:`~tn.errors.PartitionError` if a side is
    empty, the sides overlap, or a leg is not an open leg of the network.

    Examples
    --------
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()
    >>> _ = net.add_tensor("T", (2, 2, 2), (0, 1, 2))
    >>> validate_partition(net, [0])
    ((0,), (1, 2))
    >>> validate_partition(net, [0], [0, 1])
    Traceback (most recent call last):
    ...
    tn.errors.PartitionError: partition sides overlap in legs [0]
    """
    output = tuple(net.output)
    known = set(output)
    A = _as_leg_set(A, "A")
    B = frozenset(net.input_legs) - A if B is None else _as_leg_set(B, "B")
    for side, legs in (("A", A), ("B", B)):
        unknown = [leg for leg in legs if leg not in known]
        if unknown:
            raise PartitionError(f"partition side {side} names {unknown!r}, which are not open legs of the network "
                                 f"(open legs: {_preview(output)})")
        if not legs:
            raise PartitionError(f"partition side {side} is empty (open legs: {_preview(output)})")
    overlap = A & B
    if overlap:
        raise PartitionError(f"partition sides overlap in legs {sorted(overlap, key=output.index)!r}")
    return tuple(i for i in output if i in A), tuple(i for i in output if i in B)


def _as_leg_set(legs, side) -> frozenset:
    if isinstance(legs, (str, bytes)) or not hasattr(legs, "__iter__"):
        legs = (legs,)
    try:
        return frozenset(legs)
    except TypeError:
        raise PartitionError(f"partition side {side} must hold hashable leg labels, got {legs!r}") from None


def _preview(legs) -> str:
    legs = list(legs)
    return repr(legs) if len(legs) <= 12 else f"{legs[:12]!r}... ({len(legs)} in all)"


def make_partition(net, spec, B=None) -> Partition:
    """Resolve a partition spec against ``net``.

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum
    spec : str, Partition, numpy boolean array, iterable of legs, or pair (A, B)
        A name (``"left-right"``, ``"odd-even"``, ``"blocks:K"``, ``"random:SEED"``; on a grid network
        also ``"top-bottom"``, ``"checkerboard"``, ``"center-border"``, ``"quadrants:Q"``, ``"rows:K"``,
        ``"cols:K"``, ``"mask:1100/0011"``), command-line text (``"0,1,2"``, ``"0,1|2,3"``), a
        :class:`Partition`, a boolean H x W mask (grid networks), or the legs of A.
    B : iterable of legs, optional
        The legs of B; default: the input legs not in A.

    Examples
    --------
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()
    >>> _ = net.add_tensor("T", (2,) * 8, tuple(range(8)))
    >>> make_partition(net, "blocks:2")
    Partition(name='blocks:2', A=(0, 1, 4, 5), B=(2, 3, 6, 7))
    >>> make_partition(net, "0,7|1,2").A
    (0, 7)
    >>> import builders, numpy as np
    >>> img = builders.deep_convac(grid=(4, 4), M=2, widths=2)
    >>> make_partition(img, "top-bottom").A
    (0, 1, 2, 3, 4, 5, 6, 7)
    >>> make_partition(img, np.eye(4, dtype=bool)).A
    (0, 5, 10, 15)
    """
    if isinstance(spec, Partition):
        A, B_ = validate_partition(net, spec.A, spec.B)
        return Partition(spec.name, A, B_)
    if isinstance(spec, np.ndarray) and B is None:
        return _mask_partition(net, spec)
    if isinstance(spec, str) and spec.startswith("mask:") and B is None:
        return _mask_partition(net, parse_mask(spec[len("mask:"):]))
    legs = tuple(net.input_legs)
    name = None
    if isinstance(spec, str) and B is None:
        if _looks_explicit(spec):
            left, bar, right = spec.partition("|")
            spec, B = parse_legs(left), (parse_legs(right) if bar else None)
        else:
            if len(legs) < 2:
                raise PartitionError(f"named partition {spec!r} needs at least 2 input legs, the network has {len(legs)}")
            name, spec = spec, _named(spec, legs, net)
    elif B is None and isinstance(spec, tuple) and len(spec) == 2 and all(
            isinstance(s, (list, tuple, set, frozenset)) for s in spec):
        spec, B = spec
    A, B_ = validate_partition(net, spec, B)
    return Partition(name or _explicit_name(A, B_, legs), A, B_)


def _explicit_name(A, B, legs) -> str:
    if set(B) == set(legs) - set(A):
        return ",".join(map(str, A))
    return ",".join(map(str, A)) + "|" + ",".join(map(str, B))


def make_partitions(net, specs) -> list:
    """:func:`make_partition` for each spec (a single name, Partition or mask counts as one spec)."""
    if isinstance(specs, (str, Partition, np.ndarray)):
        specs = [specs]
    return [make_partition(net, s) for s in specs]


def balanced_partitions(net) -> list:
    """Every balanced partition of the input legs, each once: A has N // 2 legs and holds leg 0 when N is even.

    (A, B) and (B, A) have the same matricization rank, so only one of them is listed; for N = 16
    that is 6435 partitions. Refused above N = 20.
    """
    legs = tuple(net.input_legs)
    n = len(legs)
    if n < 2 or n > MAX_BALANCED_N:
        raise PartitionError(f"--all-balanced needs 2 <= N <= {MAX_BALANCED_N} input legs, the network has {n} "
                             f"({comb(n, n // 2):,} partitions)")
    half = n // 2
    if n % 2 == 0:
        picks = ((0, *rest) for rest in combinations(range(1, n), half - 1))
    else:
        picks = combinations(range(n), half)
    out = []
    for pick in picks:
        A = tuple(legs[i] for i in pick)
        chosen = set(pick)
        out.append(Partition(",".join(map(str, A)), A, tuple(legs[i] for i in range(n) if i not in chosen)))
    return out


__all__ = [
    "GRID_PARTITIONS",
    "PARTITIONS",
    "Partition",
    "balanced_partitions",
    "grid_pixels",
    "grid_shape",
    "make_partition",
    "make_partitions",
    "mask_text",
    "parse_legs",
    "parse_mask",
    "partition_names",
    "register_partition",
    "validate_partition",
]
