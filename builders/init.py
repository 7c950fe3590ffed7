"""Weight initialization for tree networks.

``init`` is one of (an entry of :data:`INITS`: ``f(shape, rng) -> array``; entries registered with
``stacked=True`` also take ``shape = (count, n_in, n_out)`` and draw ``count`` matrices in one call, in the
order of ``count`` single draws, so builders draw every run of equal shapes at once):

- ``"orthonormal"`` (default, :data:`DEFAULT_INIT`; alias ``"orthogonal"``): Haar-distributed
  orthonormal columns (or rows, for wide matrices) from a QR of a Gaussian matrix, then calibrated.
  Well conditioned, as theory §3 recommends: float spectra of default networks are as informative as
  they can be (benchmarks/certify.md: deep_convac(32, M=2, widths=[2, 2, 4, 4, 8]), 100 random balanced
  partitions, the float rank reaches the certified rank on every row with a cut of at most 2048 for
  orthonormal weights, on few for Gaussian ones, whose spectra fall smoothly over many decades);
- ``"gaussian"``: i.i.d. standard normal entries, then calibrated (below);
- ``"integer"``: random integers in [1, 9] stored in ``dtype``, not calibrated: every entry of the
  coefficient tensor is then an exact integer (for exact ranks, ``weights="own"``), and a sum of
  positive products, so never zero (a 0 among the values made whole coefficient tensors vanish).

**Calibration.** A ConvAC computes a polynomial of degree N in its features, so a fixed variance
rule (e.g. 1/fan-in) lets values drift by a constant factor per position: at N = 1024 that is
hundreds of decades. Instead each weight matrix is multiplied by one positive scalar, bottom-up,
chosen so that the geometric mean of ``|output|`` of every node it feeds is 1 on a seeded probe
batch of random unit-norm features. Typical values therefore stay O(1) at any N (single inputs
still spread by a few decades around 1 at N = 1024, as any product of N random factors does).
Positive scalars change no rank, no min-cut and no sign pattern.
"""

from __future__ import annotations

import math

import numpy as np

from tn import memory
from tn.errors import BuildError
from tn.registry import Registry

INITS = Registry("init")
PROBE_BATCH = 32


def rng_for(seed):
    """``numpy.random.default_rng(seed)``; a seed numpy refuses (negative, fractional, ...) is a BuildError."""
    if isinstance(seed, (bool, float)):
        raise BuildError(f"seed must be a non-negative int, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise BuildError(f"seed must be a non-negative int, got {seed!r}") from None


DEFAULT_INIT = "orthonormal"


@INITS.register("gaussian", calibrate=True, stacked=True)
def gaussian(shape, rng):
    """Independent standard normal entries."""
    return rng.standard_normal(shape)


@INITS.register("orthonormal", calibrate=True, stacked=True)
def orthonormal(shape, rng):
    """Orthonormal columns (or rows, for a wide matrix), Haar distributed; a stack of them for 3-D shapes."""
    a = rng.standard_normal(shape)
    wide = shape[-2] < shape[-1]
    q, r = np.linalg.qr(np.swapaxes(a, -1, -2) if wide else a)  # batched over leading axes
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]  # the Haar-distributed choice of signs
    return np.swapaxes(q, -1, -2) if wide else q


INITS.register("orthogonal", orthonormal, calibrate=True, stacked=True, alias_of="orthonormal")  # same draw


@INITS.register("integer", calibrate=False, stacked=True)
def integer(shape, rng):
    """Integers in [1, 9]: exact arithmetic, and a coefficient tensor of positive sums (never zero)."""
    return rng.integers(1, 10, size=shape)


def check_init(init):
    if init not in INITS:
        raise BuildError(f"init={init!r} is not one of {', '.join(map(repr, INITS.names()))}")
    return INITS.canonical(init)


def random_matrices(shapes, init, rng, dtype) -> list:
    """One matrix per (n_in, n_out) in ``shapes``, drawn in order by ``init`` (uncalibrated, ``dtype``).

    ``init`` is a canonical name in :data:`INITS`. A stacked init draws each run of consecutive equal shapes
    in one call (the same numbers as one call per matrix, a fraction of the Python work: N = 65536 has
    131,071 matrices). Checked against the memory limit before anything is drawn (:func:`check_allocation`).
    """
    shapes = [tuple(s) for s in shapes]
    check_allocation(shapes, dtype, "building the network")
    draw, stacked = INITS.get(init), INITS.info(init).get("stacked", False)
    out, start = [], 0
    while start < len(shapes):
        stop = start + 1
        if stacked:
            while stop < len(shapes) and shapes[stop] == shapes[start]:
                stop += 1
            block = np.asarray(draw((stop - start,) + shapes[start], rng)).astype(dtype, copy=False)
            out.extend(block)  # views into one array per run
        else:
            out.append(np.asarray(draw(shapes[start], rng)).astype(dtype, copy=False))
        start = stop
    return out


def check_allocation(shapes, dtype, what):
    """Refuse, before allocating, weights of these shapes that would exceed the memory limit.

    Counts the arrays in ``dtype`` plus the transient of drawing the largest one (float64 draws, a QR
    for ``"orthonormal"``: three float64 copies of it).

    Examples
    --------
    >>> check_allocation([(10**5, 10**5)], np.float64, "a demo")
    Traceback (most recent call last):
    ...
    tn.errors.MemoryLimitError: a demo refused: 1 weight array(s) of 10,000,000,000 entries in all ...
    """
    sizes = [math.prod(s) for s in shapes]
    if not sizes:
        return
    total = sum(sizes)
    nbytes = total * np.dtype(dtype).itemsize + 3 * max(sizes) * 8
    memory.check_bytes(nbytes, None, what, f"{len(sizes):,} weight array(s) of {total:,} entries in all "
                       f"({memory.human_size(nbytes)} with the drawing workspace)",
                       ways_out="smaller widths, M or classes (or weight sharing)")


def calibrate(tree, M, weights, keys, rng):
    """Rescale, in place, the arrays of ``weights`` (key -> array) as described in the module doc.

    ``keys[node]`` names the array on the edge from ``node`` to its parent. Arrays shared by several
    nodes (weight sharing) get one scalar from all of them; sharing never spans levels. Nodes of a
    level with equal arity and shapes are probed together: one gather of their children's outputs, one
    batched product and one scaling per group, so the Python work per node is a few dict lookups.
    Each probe output is kept as (values scaled to max |.| = 1, log of the scale) and products are summed
    logs: single probes spread like exp(sqrt(N)) around the calibrated mean, past float64's range from
    N ~ 2^20, and a flat root multiplies N factors.
    """
    probe = rng.standard_normal((PROBE_BATCH, tree.N, M)).transpose(1, 0, 2)  # (positions, batch, M)
    probe /= np.linalg.norm(probe, axis=2, keepdims=True)
    blocks, where = [], {}  # probe outputs: blocks[b] = (values, log scales), node v at row where[v] = (b, row)
    children = tree._children
    for nodes in tree.by_level():
        groups = {}
        for v in nodes:
            if v in keys:  # a headless root has no weight
                groups.setdefault((len(children[v]), weights[keys[v]].shape), []).append(v)
        ids, results, means = {}, [], []  # key -> its number in this level; per group (members, outputs, key numbers)
        for (arity, _), members in groups.items():
            if arity == 0:
                pooled, logs = probe[[v[0] for v in members]], 0.0
            else:  # the product over the children, in logs: a flat root multiplies N factors
                values, logs = _gather(blocks, where, [children[v] for v in members])
                with np.errstate(divide="ignore"):
                    total = np.log(np.abs(values)).sum(axis=1) + logs.sum(axis=1)[:, :, None]  # (nodes, batch, n)
                logs = total.max(axis=2)
                logs[~np.isfinite(logs)] = 0.0  # an all-zero product
                pooled = np.prod(np.sign(values), axis=1) * np.exp(total - logs[:, :, None])
            x = np.matmul(pooled, np.stack([weights[keys[v]] for v in members]))  # (nodes, batch, n_out)
            peak = np.abs(x).max(axis=2)
            peak[peak == 0] = 1.0
            x /= peak[:, :, None]
            logs = logs + np.log(peak)
            # the mean of log |output| over the batch and channels (float64 also for longdouble weights)
            means.append(np.log(np.abs(x) + np.finfo(float).tiny).mean(axis=(1, 2), dtype=np.float64)
                         + logs.mean(axis=1, dtype=np.float64))
            results.append((members, x, logs, np.array([ids.setdefault(keys[v], len(ids)) for v in members])))
        if not results:  # the level of a headless root
            continue
        # members of one key have equal shapes: the mean over all their entries is the mean of their means
        numbers = np.concatenate([r[3] for r in results])
        log_scales = -np.bincount(numbers, np.concatenate(means)) / np.bincount(numbers)
        for key, log_scale in zip(ids, log_scales.tolist()):
            weights[key] *= math.exp(log_scale)
        for members, x, logs, numbers in results:
            b = len(blocks)
            blocks.append((x, logs + log_scales[numbers][:, None]))
            where.update((v, (b, row)) for row, v in enumerate(members))


def _gather(blocks, where, kids):
    """The children's probe outputs: (nodes, arity, batch, n) values and (nodes, arity, batch) log scales;
    one fancy index when they share a block."""
    spots = [[where[c] for c in ks] for ks in kids]
    first = spots[0][0][0]
    if all(b == first for row in spots for b, _ in row):
        rows = np.array([[r for _, r in row] for row in spots])
        return blocks[first][0][rows], blocks[first][1][rows]
    return (np.stack([[blocks[b][0][r] for b, r in row] for row in spots]),
            np.stack([[blocks[b][1][r] for b, r in row] for row in spots]))
