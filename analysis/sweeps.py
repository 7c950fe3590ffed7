"""Partition and architecture sweeps: every partition of a family, in chunks, locally or on dask.distributed.

:func:`sweep` splits a :mod:`partition family <analysis.families>` into chunks of rows; each chunk
unranks its own partitions, evaluates them all at once (the batched tree DP of
:mod:`analysis.treedp` on tree-shaped networks, :class:`analysis.flow.FlowBatch` on networks with
cycles, one certified :func:`~analysis.bounds.mincut` per row when neither applies) and reduces them
on the spot to a :class:`ChunkSummary`: the histogram of bounds, the smallest and largest bound
with their row numbers, optionally the top k, optionally the rows themselves. Summaries merge
associatively with ties broken by the lower row number, so the result does not depend on the
chunking. The min / max (and top-k) witnesses are then re-answered by :func:`mincut` and must agree.

Exactness: when every index size is a power of one base (every builder), bounds are computed as
exact integer exponents and the histogram is keyed by ``math.log2`` of exact products (the same
floats :func:`mincut` reports); otherwise keys are float64 log2 bounds rounded to 9 decimals.
A :class:`tn.NetworkSum`'s bound is min(exact sum of its terms' bounds, the product of A's leg sizes,
that of B's), as :func:`analysis.mincut` gives.

``client=None`` runs in this process (dask is never imported); ``client="local"`` starts
:func:`local_cluster`; a ``distributed.Client`` or a scheduler address runs there. The prepared
evaluator is scattered to the workers once; at most a few chunks per worker thread are in flight.

Examples
--------
>>> import builders
>>> r = sweep(builders.deep_convac(8, M=2, widths=2), "balanced", progress=False)
>>> r.count, r.histogram
(35, {1.0: 1, 2.0: 2, 3.0: 24, 4.0: 8})
>>> r.min.partition.A, r.min.bound, r.max.bound
((0, 1, 2, 3), 2, 16)
"""

from __future__ import annotations

import csv
import heapq
import itertools
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tn import NetworkSum
from tn.errors import BoundViolationError, SettingError
from tn.registry import Registry

from .bounds import mincut
from .cutgraph import cut_graph
from .families import make_family
from .flow import FlowBatch
from .treedp import tree_dp

DEFAULT_CHUNK = 2**16
TABLE_LIMIT = 10**7  # rows a "table" sweep may write
LOCAL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             # dask's nanny default (65536) makes glibc return freed memory after every numpy temporary:
             # the batched DP then page-faults on each pass (measured 3.3-3.8x slower, issue 15)
             "MALLOC_TRIM_THRESHOLD_": str(2**30), "MALLOC_MMAP_THRESHOLD_": str(2**26)}
LOCAL_CONFIG = {"distributed.worker.profile.enabled": False}  # its sampling thread takes the GIL every 10 ms


# ---------------------------------------------------------------------- measures
class BoundMeasure:
    """The min-cut bound of each row: ``evaluate(masks) -> (levels, key_of)``.

    ``levels`` is an int64 array ordering the rows by bound (equal bounds, equal levels; levels are
    local to one call), ``key_of[level]`` the bound itself: the exact product (an int) when
    :attr:`exact`, else its log2 rounded to 9 decimals.
    """

    def __init__(self, net):
        self.legs = tuple(net.input_legs)
        self.terms = []
        for term in (net.terms if isinstance(net, NetworkSum) else [net]):
            graph = cut_graph(term)
            dp = tree_dp(graph)
            if dp is not None:
                dp._level_plan()  # compiled here, shipped compiled
                self.terms.append(("tree", dp))
            else:
                batch = FlowBatch.build(graph, self.legs)
                self.terms.append(("flow", batch) if batch is not None else ("mincut", term))
        self.exact = all(kind == "flow" or (kind == "tree" and how.units() is not None) for kind, how in self.terms)
        self.route = "+".join(dict.fromkeys(kind for kind, _ in self.terms))
        # a sum is capped by either side's dimension: one column of A-leg counts per distinct leg size
        sizes = [net.size(leg) for leg in self.legs]
        self.cap_sizes = sorted(set(sizes)) if len(self.terms) > 1 else []
        self.cap_onehot = np.array([[s == c for c in self.cap_sizes] for s in sizes], dtype=np.int64)

    def evaluate(self, masks):
        if not self.exact:
            logs = [self._log2(kind, how, masks) for kind, how in self.terms]
            values = np.logaddexp2.reduce(logs, axis=0) if len(logs) > 1 else logs[0]
            if self.cap_sizes:
                log_sizes = self.cap_onehot @ np.log2(self.cap_sizes)
                values = np.minimum(values, np.minimum(masks @ log_sizes, ~masks @ log_sizes))
            unique, levels = np.unique(np.round(values, 9), return_inverse=True)
            return levels.ravel().astype(np.int64), dict(enumerate(unique.tolist()))
        exps, bases = [], []
        for kind, how in self.terms:
            base, e = how.batch_exponents(masks, self.legs) if kind == "tree" else (how.base, how.exponents(masks))
            exps.append(e)
            bases.append(base)
        if len(exps) == 1:  # the exponent itself orders the rows
            return exps[0], {e: bases[0] ** e for e in np.unique(exps[0]).tolist()}
        # a sum: the terms' exponents and A's count of legs of each size (for the cap) identify a row's bound
        digits = exps + list((masks.astype(np.int64) @ self.cap_onehot).T)
        radix = int(max(max(e.max(initial=0) for e in exps), len(self.legs))) + 1
        if radix ** len(digits) < 2 ** 62:  # one int per row
            code = np.zeros(len(masks), dtype=np.int64)
            for d in digits:
                code = code * radix + d
            unique, inverse = np.unique(code, return_inverse=True)
            rows = []
            for c in unique.tolist():
                row = []
                for _ in digits:
                    c, d = divmod(c, radix)
                    row.append(d)
                rows.append(row[::-1])
        else:
            unique, inverse = np.unique(np.stack(digits, axis=1), axis=0, return_inverse=True)
            rows = unique.tolist()
        total = self.cap_onehot.sum(axis=0)
        n = len(exps)
        bounds = [self._capped(sum(b ** int(d) for b, d in zip(bases, row[:n])), np.array(row[n:]), total)
                  for row in rows]
        distinct = sorted(set(bounds))  # different rows can share one bound (capped sums too): one level each bound
        level_of = {b: level for level, b in enumerate(distinct)}
        rank = np.array([level_of[b] for b in bounds], dtype=np.int64)
        return rank[inverse.ravel()], dict(enumerate(distinct))

    def _capped(self, bound, counts, total):
        """min(bound, A's dimension, B's dimension) from A's count of legs of each capped size."""
        if not self.cap_sizes:
            return bound
        dims = [math.prod(c ** int(k) for c, k in zip(self.cap_sizes, ks)) for ks in (counts, total - counts)]
        return min(bound, *dims)

    def _log2(self, kind, how, masks):
        if kind == "tree":
            return how.batch_log2(masks, self.legs)
        if kind == "flow":
            return how.exponents(masks) * math.log2(how.base)
        legs = np.array(self.legs, dtype=object)
        return np.array([mincut(how, list(legs[row]), list(legs[~row]), method="flow").log2_bound for row in masks])

    def log2(self, key) -> float:
        return math.log2(key) if self.exact else float(key)


MEASURES = Registry("sweep measure")
MEASURES.register("bound", BoundMeasure)


# ---------------------------------------------------------------------- chunk reduction
@dataclass
class ChunkSummary:
    """The reduction of some rows: count, histogram, min / max ``(level key, row)``, top k, optional rows."""

    count: int = 0
    histogram: Counter = field(default_factory=Counter)
    low: tuple | None = None   # (key, row) of the smallest bound, lowest row among ties
    high: tuple | None = None  # (key, row) of the largest bound, lowest row among ties
    top: list = field(default_factory=list)  # [(key, row)] largest first, up to top_k
    top_k: int = 0
    rows: list = field(default_factory=list)  # [(row, key)] when a table is asked for

    def merge(self, other: ChunkSummary) -> ChunkSummary:
        self.count += other.count
        self.histogram.update(other.histogram)
        pairs = [p for p in (self.low, other.low) if p is not None]
        self.low = min(pairs, key=lambda p: (p[0], p[1])) if pairs else None
        pairs = [p for p in (self.high, other.high) if p is not None]
        self.high = min(pairs, key=lambda p: (-p[0], p[1])) if pairs else None
        self.top = heapq.nsmallest(self.top_k, self.top + other.top, key=lambda p: (-p[0], p[1]))
        self.rows += other.rows
        return self


def run_chunk(measure, family, start, stop, top_k=0, keep_rows=False, block=DEFAULT_CHUNK) -> ChunkSummary:
    """Unrank rows ``start .. stop - 1`` of ``family``, evaluate them with ``measure`` and reduce them."""
    total = ChunkSummary(top_k=top_k)
    for lo in range(start, stop, block):
        hi = min(stop, lo + block)
        levels, key_of = measure.evaluate(family.masks(lo, hi))
        low = int(levels.min())
        if int(levels.max()) - low < 4 * len(levels):  # few distinct levels: count them without sorting
            counts = np.bincount(levels - low)
            seen = np.flatnonzero(counts)
            histogram = Counter({key_of[int(v) + low]: int(counts[v]) for v in seen})
        else:
            seen, counts = np.unique(levels, return_counts=True)
            histogram = Counter({key_of[int(v)]: int(c) for v, c in zip(seen, counts)})
        part = ChunkSummary(count=hi - lo, histogram=histogram, top_k=top_k)
        i, j = int(np.argmin(levels)), int(np.argmax(levels))
        part.low, part.high = (key_of[int(levels[i])], lo + i), (key_of[int(levels[j])], lo + j)
        if top_k:
            best = np.lexsort((np.arange(len(levels)), -levels))[:top_k]
            part.top = [(key_of[int(levels[b])], lo + int(b)) for b in best]
        if keep_rows:
            part.rows = [(lo + k, key_of[v]) for k, v in enumerate(levels.tolist())]
        total.merge(part)
    return total


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Witness:
    """A row of the sweep with its bound, re-answered by :func:`mincut` (``result``)."""

    row: int
    log2_bound: float
    bound: int | None
    partition: object
    result: object = field(repr=False, default=None)

    def as_dict(self) -> dict:
        return {"row": self.row, "A": list(self.partition.A), "log2_bound": self.log2_bound, "bound": self.bound,
                "cut": list(self.result.cut) if self.result is not None else None}


@dataclass
class SweepResult:
    """What :func:`sweep` found.

    Attributes
    ----------
    count : int
        Partitions evaluated.
    histogram : dict
        ``{log2 bound: number of partitions}``, increasing.
    bounds : dict or None
        ``{exact bound: number of partitions}`` when the sweep was exact, else None.
    min, max : Witness
        A partition of smallest / largest bound (the lowest row among ties), with its certified cut.
    top : list of Witness
        The ``top:K`` largest bounds (with ``reduce="top:K"``), else empty.
    family, route, exact, seconds, table
        The family's name, how rows were evaluated (``tree``, ``flow``, ``mincut``), whether the
        bounds are exact, wall time, the path of the written table (``reduce="table"``) or None.
    """

    count: int
    histogram: dict
    bounds: dict | None
    min: Witness
    max: Witness
    top: list
    family: str
    route: str
    exact: bool
    seconds: float
    table: str | None = None

    def fraction_at_least(self, log2_bound: float) -> float:
        """The fraction of partitions whose bound is at least ``2 ** log2_bound``."""
        return sum(n for k, n in self.histogram.items() if k >= log2_bound - 1e-9) / self.count

    def as_dict(self) -> dict:
        return {"family": self.family, "count": self.count, "exact": self.exact, "route": self.route,
                "seconds": self.seconds, "histogram": {repr(k): n for k, n in self.histogram.items()},
                "min": self.min.as_dict(), "max": self.max.as_dict(), "top": [w.as_dict() for w in self.top],
                "table": self.table}


def _parse_reduce(reduce, out):
    top_k, keep_rows = 0, False
    head, _, arg = str(reduce).partition(":")
    if head == "top":
        try:
            top_k = int(arg)
        except ValueError:
            top_k = -1
        if top_k < 1:
            raise SettingError(f"reduce={reduce!r}: write it as 'top:K' with K >= 1")
    elif head == "table":
        if out is None:
            raise SettingError("reduce='table' streams every row to disk: give out=PATH (.jsonl, .json or .csv)")
        keep_rows = True
    elif head != "histogram":
        raise SettingError(f"unknown reduce {reduce!r}; valid: histogram, top:K, table")
    return top_k, keep_rows


# ---------------------------------------------------------------------- dask
def local_cluster(n_workers=None, threads_per_worker=1, env=None, **kwargs):
    """A ``distributed.LocalCluster`` sized to this machine: one single-threaded worker process per
    available core, BLAS single-threaded (workers x BLAS threads = cores, no oversubscription),
    glibc's malloc trimming relaxed and dask's worker profiler off.

    :data:`LOCAL_ENV` (updated by ``env``) goes to dask's ``distributed.nanny.pre-spawn-environ``: glibc and
    BLAS read these variables when a process starts, so a nanny's ``env=`` (set inside the running
    worker) would be too late (the nanny also sets them in this process before spawning). ``kwargs`` go to
    ``LocalCluster``.
    """
    import dask
    from distributed import LocalCluster
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    pre_spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **LOCAL_ENV, **(env or {})}
    options = {"n_workers": n_workers or cores, "threads_per_worker": threads_per_worker, "processes": True,
               "dashboard_address": ":0", **kwargs}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn, **LOCAL_CONFIG}):
        return LocalCluster(**options)


def _open_client(client):
    """``(client, things to close)`` for "local", an address, or a Client."""
    from distributed import Client
    if isinstance(client, Client):
        return client, []
    if client == "local":
        cluster = local_cluster()
        c = Client(cluster)
        return c, [c, cluster]
    if isinstance(client, str):
        c = Client(client)
        return c, [c]
    raise SettingError(f"client must be None, 'local', a scheduler address or a distributed.Client, got {client!r}")


def _chunks(count, chunk_size):
    return ((start, min(count, start + chunk_size)) for start in range(0, count, chunk_size))


def _progress(total, progress):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="partition", unit_scale=True, smoothing=0.1)


def _run(measure, family, client, chunk_size, top_k, keep_rows, progress, on_chunk):
    summary = ChunkSummary(top_k=top_k)
    bar = _progress(family.count, progress)
    try:
        if client is None:
            for start, stop in _chunks(family.count, chunk_size):
                on_chunk(summary, start, run_chunk(measure, family, start, stop, top_k, keep_rows))
                if bar is not None:
                    bar.update(stop - start)
            return summary
        from distributed import as_completed
        measure_f, family_f = client.scatter([measure, family], broadcast=True)
        window = 4 * max(1, sum(client.nthreads().values()))  # chunks in flight: workers stay busy, memory bounded
        pending, starts, futures = _chunks(family.count, chunk_size), {}, as_completed()

        def submit(chunks):
            for start, stop in chunks:
                future = client.submit(run_chunk, measure_f, family_f, start, stop, top_k, keep_rows, pure=False)
                starts[future.key] = start
                futures.add(future)

        submit(itertools.islice(pending, window))
        for future in futures:
            part = future.result()
            on_chunk(summary, starts.pop(future.key), part)
            if bar is not None:
                bar.update(part.count)
            submit(itertools.islice(pending, 1))
        return summary
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------------- the sweep
def sweep(network_or_builder, partitions="balanced", measure="bound", reduce="histogram", client=None,
          chunk_size=None, progress=True, out=None) -> SweepResult:
    """Evaluate every partition of a family and reduce the bounds (see the module docstring).

    Parameters
    ----------
    network_or_builder : tn.TensorNetwork, tn.NetworkSum, or a callable returning one
    partitions : str, PartitionFamily or bool matrix
        ``"balanced"`` (every balanced partition once), ``"size:k"``, ``"random:K[:SEED]"``, a
        :class:`~analysis.families.PartitionFamily` or rows (see :func:`~analysis.families.make_family`).
    measure : str
        A name in :data:`MEASURES` (``"bound"``: the min-cut bound).
    reduce : str
        ``"histogram"`` (always computed, with min / max), ``"top:K"`` (also the K largest), or
        ``"table"`` (also every row, streamed in row order to ``out``: ``row, partition, A, B, log2_bound,
        bound``; at most :data:`TABLE_LIMIT` rows).
    client : None, "local", str or distributed.Client
        Where chunks run (module docstring).
    chunk_size : int, optional
        Rows per task (default: :data:`DEFAULT_CHUNK`, fewer when that would leave workers idle).
    progress : bool
        A tqdm bar on stderr when tqdm is installed.
    out : str or Path, optional
        The table file for ``reduce="table"``: ``.jsonl``, ``.json`` or ``.csv``.

    Returns
    -------
    SweepResult
    """
    start_time = time.perf_counter()
    net = network_or_builder() if callable(network_or_builder) else network_or_builder
    legs = tuple(net.input_legs)
    family = make_family(partitions, len(legs))
    top_k, keep_rows = _parse_reduce(reduce, out)
    if keep_rows and family.count > TABLE_LIMIT:
        raise SettingError(f"reduce='table' writes one line per partition: {family.count:,} rows is above "
                           f"TABLE_LIMIT = {TABLE_LIMIT:,}; use reduce='histogram' or 'top:K'")
    if family.count == 0:
        raise SettingError(f"partition family {family.name!r} has no rows")
    evaluator = MEASURES.get(measure)(net)
    owned = []
    if client is not None:
        client, owned = _open_client(client)
    try:
        n_threads = 1 if client is None else max(1, sum(client.nthreads().values()))
        if chunk_size is None:
            chunk_size = max(256, min(DEFAULT_CHUNK, -(-family.count // (8 * n_threads))))
        if int(chunk_size) < 1:
            raise SettingError(f"chunk_size must be >= 1, got {chunk_size!r}")
        writer = _TableWriter(out, family, legs, evaluator) if keep_rows else None
        on_chunk = writer.add if writer else (lambda summary, start, part: summary.merge(part))
        try:
            summary = _run(evaluator, family, client, int(chunk_size), top_k, keep_rows, progress, on_chunk)
        finally:
            if writer:
                writer.close()
    finally:
        for thing in owned:
            thing.close()
    return _result(net, legs, family, evaluator, summary, top_k, start_time, str(out) if keep_rows else None)


def _result(net, legs, family, evaluator, summary, top_k, start_time, table):
    def witness(pair):
        key, row = pair
        part = family.partition(legs, row)
        result = mincut(net, part)
        agrees = result.bound == key if evaluator.exact else abs(result.log2_bound - key) < 1e-6
        if not agrees:
            raise BoundViolationError(f"sweep row {row} ({part.name}): batched bound {key} but mincut finds "
                                      f"{result.bound} (log2 {result.log2_bound})")
        return Witness(row, result.log2_bound, result.bound, part, result)

    keys = sorted(summary.histogram)
    histogram = {evaluator.log2(k): summary.histogram[k] for k in keys}
    bounds = {k: summary.histogram[k] for k in keys} if evaluator.exact else None
    return SweepResult(summary.count, histogram, bounds, witness(summary.low), witness(summary.high),
                       [witness(p) for p in summary.top] if top_k else [], family.name, evaluator.route,
                       evaluator.exact, time.perf_counter() - start_time, table)


class _TableWriter:
    """Streams chunk rows to a .jsonl / .json / .csv file in row order (chunks may finish out of order)."""

    def __init__(self, path, family, legs, evaluator):
        self.path, self.family, self.legs, self.evaluator = Path(path), family, legs, evaluator
        self.kind = {".jsonl": "jsonl", ".json": "json", ".csv": "csv"}.get(self.path.suffix.lower())
        if self.kind is None:
            raise SettingError(f"table file {str(path)!r}: the suffix must be .jsonl, .json or .csv")
        self.file = open(self.path, "w", newline="")  # noqa: SIM115 (open across chunks, closed by close())
        self.csv = csv.writer(self.file) if self.kind == "csv" else None
        if self.csv:
            self.csv.writerow(["row", "partition", "A", "B", "log2_bound", "bound"])
        elif self.kind == "json":
            self.file.write("[")
        self.next, self.waiting, self.first = 0, {}, True

    def add(self, summary, start, part):
        rows, part.rows = part.rows, []
        summary.merge(part)
        self.waiting[start] = rows
        while self.next in self.waiting:
            rows = self.waiting.pop(self.next)
            self._write(rows)
            self.next += len(rows)

    def _write(self, rows):
        if not rows:
            return
        masks = self.family.masks(rows[0][0], rows[-1][0] + 1)
        for (row, key), mask in zip(rows, masks):
            A = [leg for leg, a in zip(self.legs, mask) if a]
            B = [leg for leg, a in zip(self.legs, mask) if not a]
            name = ",".join(map(str, A))
            log2 = self.evaluator.log2(key)
            bound = key if self.evaluator.exact else None
            if self.csv:
                self.csv.writerow([row, name, " ".join(map(str, A)), " ".join(map(str, B)), repr(log2),
                                   "" if bound is None else bound])
                continue
            text = json.dumps({"row": row, "partition": name, "A": A, "B": B, "log2_bound": log2, "bound": bound},
                              default=str)
            if self.kind == "json":
                text = ("\n" if self.first else ",\n") + text
            self.file.write(text if self.kind == "json" else text + "\n")
            self.first = False

    def close(self):
        if self.kind == "json":
            self.file.write("\n]\n")
        self.file.close()


# ---------------------------------------------------------------------- architecture sweeps
def architecture_sweep(builder, grid, partitions=("balanced",), client=None, **options) -> list:
    """One table over a grid of builder arguments x partition families.

    Parameters
    ----------
    builder : str or callable
        A builder name (:func:`builders.get`) or a callable taking the grid's keyword arguments.
    grid : dict of name -> list of values, or a list of keyword dicts
        A dict is expanded to its Cartesian product.
    partitions : iterable of family specs (a family name depends on each network's N)
    client : as :func:`sweep`; one cluster serves the whole grid.
    options : passed to :func:`sweep` (``chunk_size``, ``progress``, ...).

    Returns
    -------
    list of dict: the builder arguments, ``family``, ``count``, ``min_log2``, ``max_log2``,
    ``mean_log2``, ``histogram`` and ``seconds`` per (arguments, family).

    Examples
    --------
    >>> rows = architecture_sweep("deep_convac", {"N": [8], "M": [2], "widths": [1, 2]}, progress=False)
    >>> [(r["widths"], r["count"], r["max_log2"]) for r in rows]
    [(1, 35, 0.0), (2, 35, 4.0)]
    """
    if isinstance(builder, str):
        import builders
        builder = builders.get(builder)
    if isinstance(grid, dict):
        names = list(grid)
        grid = [dict(zip(names, values)) for values in itertools.product(*(grid[k] for k in names))]
    owned = []
    if client is not None:
        client, owned = _open_client(client)
    rows = []
    try:
        for kwargs in grid:
            net = builder(**kwargs)
            for spec in partitions:
                r = sweep(net, spec, client=client, **options)
                mean = sum(k * n for k, n in r.histogram.items()) / r.count
                rows.append({**kwargs, "family": r.family, "count": r.count, "min_log2": r.min.log2_bound,
                             "max_log2": r.max.log2_bound, "mean_log2": mean, "histogram": r.histogram,
                             "seconds": r.seconds})
    finally:
        for thing in owned:
            thing.close()
    return rows


def write_rows(rows, path) -> None:
    """Write dict rows to ``path`` by suffix: ``.json`` (a list), ``.jsonl`` (one object a line) or ``.csv``."""
    from .report import dumps
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".json", ".jsonl", ".csv"):
        raise SettingError(f"output file {str(path)!r}: the suffix must be .json, .jsonl or .csv")
    with open(path, "w", newline="") as f:
        if kind == ".json":
            f.write(dumps(rows, indent=1) + "\n")
        elif kind == ".jsonl":
            f.writelines(dumps(row) + "\n" for row in rows)
        else:
            columns = list(dict.fromkeys(k for row in rows for k in row))
            w = csv.writer(f)
            w.writerow(columns)
            for row in rows:
                w.writerow([json.dumps(v, default=str) if isinstance(v, (dict, list, tuple)) else v
                            for v in (row.get(c) for c in columns)])


__all__ = [
    "DEFAULT_CHUNK",
    "LOCAL_ENV",
    "MEASURES",
    "TABLE_LIMIT",
    "BoundMeasure",
    "ChunkSummary",
    "SweepResult",
    "Witness",
    "architecture_sweep",
    "local_cluster",
    "run_chunk",
    "sweep",
    "write_rows",
]
