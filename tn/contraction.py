"""Path selection and compiled contraction expressions, cached by structure.

Every optimizer is called through one signature, opt_einsum's
``optimizer(inputs, output, size_dict, memory_limit=None) -> path``: names from
opt_einsum's registry (``"auto"``, ``"greedy"``, ``"auto-hq"``, ``"optimal"``, ...), ``"natural"``
(the builder's own order), ``"hyper-greedy"`` (this module's hypergraph greedy, :func:`hyper_greedy`),
``"cotengra"`` / ``"cotengra-hq"`` (optional extra), any ``opt_einsum.paths.PathOptimizer``
(cotengra's optimizers are such objects), any callable with that signature, or an explicit path
(taken as given). For any optimizer, a network that carries a natural path also costs that path
and keeps the cheaper of the two (largest intermediate, then FLOPs).

``"auto"`` is a size-bounded search (:func:`best_path`): its work grows linearly with the number
of tensors n, and on a network with a natural path it stays within a small multiple of one replay
of that path:

- n <= :data:`AUTO_REFINE_MAX`: opt_einsum's "auto", its greedy and a 32-trial random greedy, and
  :func:`hyper_greedy` with :data:`AUTO_TRIALS` perturbed trials;
- larger n: :func:`hyper_greedy` with ``AUTO_TRIAL_WORK // n`` trials (none from
  ``AUTO_TRIAL_WORK`` tensors on), or, with a natural path, one deterministic greedy run only up
  to :data:`AUTO_GREEDY_MAX` tensors and the natural path alone beyond.

Trials are scored in floating log2 space; only the winner of each optimizer is replayed exactly.
Errors an optimizer raises (opt_einsum's own, e.g. a reused ``RandomGreedy``) become
:class:`~tn.errors.OptimizeError`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import operator
import random
import threading
from collections import OrderedDict

import numpy as np
import opt_einsum
from opt_einsum import paths as oe_paths
from sortedcontainers import SortedList

from .cost import ContractionCost, _log, path_cost, replay
from .errors import OptimizeError, TNError
from .registry import Registry

_CACHE_SIZE = 256
AUTO_REFINE_MAX = 64        # "auto" also runs opt_einsum's searches up to this many tensors
AUTO_TRIALS = 32            # perturbed hypergraph-greedy trials on small networks
AUTO_TRIAL_WORK = 32 * 256  # above AUTO_REFINE_MAX: AUTO_TRIAL_WORK // n trials
AUTO_GREEDY_MAX = 4096      # with a natural path, no greedy run above this many tensors
AUTO_WORK = 200_000         # and at most this many index visits in all trials (a deterministic budget)
AUTO_OE_RANDOM_MAX = 16     # opt_einsum's random greedy too up to this many tensors
ALPHA_RANGE = (0.5, 2.0)       # trials draw alpha uniformly from this range
TEMPERATURE_RANGE = (0.1, 1.0)  # and the Gumbel noise scale (log2 units) uniformly from this one
HYPER_FANOUT = 16           # pairs seeded per index: all pairs of its tensors up to this many, else a chain

OPTIMIZERS = Registry("optimizer", hint="or an opt_einsum PathOptimizer / cotengra optimizer object, or an "
                                        "explicit path")
# opt_einsum's documented strategy names (its own list is private); each is looked up through its public API
for _name in ("auto", "auto-hq", "optimal", "branch-all", "branch-2", "branch-1", "greedy", "eager", "opportunistic",
              "dp", "dynamic-programming", "random-greedy", "random-greedy-128"):
    try:
        OPTIMIZERS.register(_name, oe_paths.get_path_fn(_name), source="opt_einsum")
    except KeyError:  # an older opt_einsum without this strategy
        pass


@OPTIMIZERS.register("natural", source="builder")
def _natural(inputs, output, size_dict, memory_limit=None):
    raise OptimizeError("optimize='natural' but this network carries no natural path")


def _cotengra_path_fn(name, max_repeats, max_time=None):
    def path_fn(inputs, output, size_dict, memory_limit=None):
        try:
            import cotengra as ctg
        except ImportError as exc:
            raise OptimizeError(f"optimize={name!r} needs the optional extra: pip install 'tn-engine[cotengra]'") \
                from exc
        # methods that need no kahypar (no warning), in this process (no lingering worker pool)
        opt = ctg.HyperOptimizer(methods=list(COTENGRA_METHODS), max_repeats=max_repeats, max_time=max_time,
                                 parallel=False, progbar=False)
        return opt(inputs, output, size_dict, memory_limit)
    path_fn.__name__ = name
    return path_fn


COTENGRA_METHODS = ("greedy", "labels")
for _name, _repeats, _time in (("cotengra", 16, 1.0), ("cotengra-hq", 128, 30)):
    _fn = _cotengra_path_fn(_name, _repeats, _time)
    OPTIMIZERS.register(_name, _fn, source="cotengra (optional)")
    try:  # also reachable as opt_einsum.contract(..., optimize="cotengra")
        oe_paths.get_path_fn(_name)
    except KeyError:
        oe_paths.register_path_fn(_name, _fn)


def optimizer_names() -> tuple:
    """Every optimizer name ``optimize=`` accepts."""
    return OPTIMIZERS.names()


def check_optimizer(optimize):
    """``optimize`` with a name in its registered spelling; :class:`OptimizeError` for an unknown name."""
    if isinstance(optimize, str):
        if optimize not in OPTIMIZERS:
            raise OptimizeError(f"unknown optimizer {optimize!r}; valid names: {', '.join(optimizer_names())}, "
                                "an opt_einsum PathOptimizer / cotengra optimizer object, or an explicit path")
        return OPTIMIZERS.canonical(optimize)
    return optimize


def symbols_for(inputs, output):
    """Map arbitrary hashable index labels to einsum symbols (no 52-letter limit)."""
    table = {}
    for term in (*inputs, output):
        for ind in term:
            if ind not in table:
                table[ind] = opt_einsum.get_symbol(len(table))
    return table


def equation(inputs, output, table) -> str:
    return ",".join("".join(table[i] for i in t) for t in inputs) + "->" + "".join(table[i] for i in output)


def _is_explicit_path(optimize) -> bool:
    return isinstance(optimize, (list, tuple)) and all(isinstance(s, (list, tuple)) for s in optimize)


def _check_path(path, n):
    alive = n
    for step in path:
        if not step or any(not 0 <= p < alive for p in step) or len(set(step)) != len(step):
            raise OptimizeError(f"explicit path step {tuple(step)} is not valid with {alive} operands left")
        alive -= len(step) - 1
    if alive != 1 and n > 0:
        raise OptimizeError(f"explicit path leaves {alive} operands, not 1")


def ssa_to_linear(ssa_path, n=None) -> list:
    """opt_einsum's ``ssa_to_linear`` in O(n log n) (a sorted list of live ids, not list pops).

    Examples
    --------
    >>> ssa_to_linear([(0, 3), (2, 4), (1, 5)])
    [(0, 3), (1, 2), (0, 1)]
    """
    n = sum(map(len, ssa_path)) - len(ssa_path) + 1 if n is None else n
    alive, path = SortedList(range(n)), []
    for new, step in enumerate(ssa_path, n):
        positions = sorted(alive.index(x) for x in step)
        for x in step:
            alive.remove(x)
        alive.add(new)
        path.append(tuple(positions))
    return path


def linear_to_ssa(path, n=None) -> list:
    """opt_einsum's ``linear_to_ssa`` in O(n log n).

    Examples
    --------
    >>> linear_to_ssa([(0, 3), (1, 2), (0, 1)])
    [(0, 3), (2, 4), (1, 5)]
    """
    n = sum(map(len, path)) - len(path) + 1 if n is None else n
    alive, ssa = SortedList(range(n)), []
    for new, step in enumerate(path, n):
        ssa.append(tuple(alive[p] for p in step))
        for p in sorted(step, reverse=True):
            del alive[p]
        alive.add(new)
    return ssa


def find_path(inputs, output, size_dict, optimize="auto", natural_path=None):
    """A linear-format path for the contraction; see the module docstring for ``optimize``."""
    optimize = check_optimizer(optimize)
    n = len(inputs)
    if n <= 1 and not _is_explicit_path(optimize):
        return [(0,)] if n == 1 else []
    if _is_explicit_path(optimize):
        path = [tuple(s) for s in optimize]
        _check_path(path, n)
        return path
    if optimize == "natural" and natural_path is not None:
        return [tuple(s) for s in natural_path]
    if isinstance(optimize, str):
        fn = OPTIMIZERS.get(optimize)
    elif callable(optimize):
        fn = optimize
    else:
        raise OptimizeError(f"optimize must be a name, an optimizer object or a path, not {type(optimize).__name__}")
    table = symbols_for(inputs, output)
    sym_inputs = [frozenset(table[i] for i in t) for t in inputs]
    sym_output = frozenset(table[i] for i in output)
    sym_sizes = {table[i]: size_dict[i] for i in table}
    try:
        path = [tuple(s) for s in fn(sym_inputs, sym_output, sym_sizes)]
    except TNError:
        raise
    except Exception as exc:  # an optimizer's own failure (e.g. opt_einsum's reused RandomGreedy)
        raise OptimizeError(f"optimizer {_describe(optimize)} failed on {n} tensors: "
                            f"{type(exc).__name__}: {exc}") from exc
    _check_path(path, n)
    return path


def _describe(optimize) -> str:
    return repr(optimize) if isinstance(optimize, str) else type(optimize).__name__


def best_path(inputs, output, size_dict, optimize="auto", natural_path=None, itemsize=8):
    """(path, cost): the cheapest (largest intermediate, then FLOPs) of the candidate paths.

    Candidates: the optimizer's path (for ``"auto"`` the size-bounded search of the module
    docstring) and the network's natural path. An explicit path is taken as given.
    """
    optimize = check_optimizer(optimize)
    n = len(inputs)
    explicit = _is_explicit_path(optimize) or (isinstance(optimize, str) and optimize == "natural")
    candidates = []
    if natural_path is not None and not explicit:
        candidates.append(path_cost(inputs, output, size_dict, natural_path, itemsize))
    if isinstance(optimize, str) and optimize == "auto" and n > 2:
        for path in _auto_paths(inputs, output, size_dict, natural_path is not None):
            candidates.append(path_cost(inputs, output, size_dict, path, itemsize))
    else:
        path = find_path(inputs, output, size_dict, optimize, natural_path)
        candidates.append(path_cost(inputs, output, size_dict, path, itemsize))
    best = min(candidates, key=lambda c: (c.largest_intermediate, c.flops))
    return [tuple(s) for s in best.path], best


def auto_trials(n: int, has_natural: bool = False) -> int:
    """Number of perturbed hypergraph-greedy trials ``"auto"`` runs on ``n`` tensors (0: one plain run;
    -1: none, the natural path alone).

    Examples
    --------
    >>> auto_trials(30), auto_trials(1024), auto_trials(16384), auto_trials(8192, has_natural=True)
    (32, 8, 0, -1)
    """
    if has_natural and n > AUTO_GREEDY_MAX:
        return -1
    if n <= AUTO_REFINE_MAX:
        return AUTO_TRIALS
    return 0 if has_natural else min(AUTO_TRIALS, AUTO_TRIAL_WORK // n)


def _auto_paths(inputs, output, size_dict, has_natural):
    """The candidate paths of ``"auto"`` (module docstring)."""
    n = len(inputs)
    trials = auto_trials(n, has_natural)
    if trials < 0:
        return []
    paths = [hyper_greedy(inputs, output, size_dict, trials=trials, work=AUTO_WORK)]
    if n <= AUTO_REFINE_MAX:
        others = ("auto", "greedy") + ((opt_einsum.RandomGreedy(max_repeats=32),) if n <= AUTO_OE_RANDOM_MAX else ())
        paths.extend(find_path(inputs, output, size_dict, other) for other in others)
    return paths


def hyper_greedy(inputs, output, size_dict, trials=0, seed=0, work=None):
    """A linear-format path from a greedy search on the hypergraph; ``trials`` perturbed runs more.

    Each merge minimizes size(ab) - alpha * (size(a) + size(b)) over pairs of tensors sharing an
    index (alpha = 1, opt_einsum's greedy, on the plain run); trials draw alpha from [0.5, 2] and
    add Gumbel noise to the log2 scores. Indices a tensor alone carries and the output keeps are
    folded into one log2 size, so a run costs O(n log n) however many open legs intermediates
    gather; hyperedges on more than :data:`HYPER_FANOUT` tensors seed a chain of pairs, not all
    pairs. The best run by estimated (largest intermediate, FLOPs) in log2 is returned. ``work``
    caps the trials: at most ``work`` index visits in all (counted, so the cap is deterministic).

    Examples
    --------
    >>> hyper_greedy([("i", "h"), ("h", "j"), ("h", "k")], ("i", "j", "k"), dict(i=2, j=3, k=4, h=5))
    [(0, 1), (0, 1)]
    """
    if len(inputs) <= 1:
        return [(0,)] if inputs else []
    search = _Greedy(inputs, output, size_dict)
    rng = random.Random(seed)
    best = search.run()
    trials = min(trials, work // max(best[3], 1)) if work is not None else trials
    for _ in range(trials):
        best = min(best, search.run(alpha=rng.uniform(*ALPHA_RANGE), temperature=rng.uniform(*TEMPERATURE_RANGE),
                                    rng=rng))
    return ssa_to_linear(best[2], len(inputs))


@OPTIMIZERS.register("hyper-greedy", source="tn")
def _hyper_greedy_fn(inputs, output, size_dict, memory_limit=None):
    return hyper_greedy(inputs, output, size_dict)


def _score(lk, la, lb, alpha):
    """A monotone, finite stand-in for 2^lk - alpha (2^la + 2^lb) (sizes may be far beyond float range)."""
    m = max(lk, la, lb)
    val = 2.0 ** (lk - m) - alpha * (2.0 ** (la - m) + 2.0 ** (lb - m))
    if m < 60:
        x = val * 2.0 ** m
        return math.copysign(math.log2(1.0 + abs(x)), x)
    return 0.0 if val == 0 else math.copysign(m + math.log2(abs(val)), val)


def _logaddexp2(x, y):
    return max(x, y) + math.log2(1.0 + 2.0 ** -abs(x - y))


class _Greedy:
    """Greedy contractions of one hypergraph, in float log2 sizes (see :func:`hyper_greedy`).

    Each tensor carries its *live* indices (those on another tensor too) and the log2 size of the
    indices on it alone that the output keeps: those never change a choice.
    """

    def __init__(self, inputs, output, size_dict):
        self.output = frozenset(output)
        # a size-0 index (an empty batch) makes every path free: scored as size 1
        self.lsize = {i: _log(max(size_dict[i], 1), 2) for t in inputs for i in t}
        self.where = {}
        for k, t in enumerate(inputs):
            for i in set(t):
                self.where.setdefault(i, set()).add(k)
        self.inputs = [frozenset(t) for t in inputs]

    def run(self, alpha=1.0, temperature=0.0, rng=None):
        """``(log2 largest, log2 flops, ssa path, work)`` of one greedy run (work: index visits)."""
        lsize, out = self.lsize, self.output
        where = {i: set(ts) for i, ts in self.where.items()}
        live, private, logsize = {}, {}, {}
        for k, t in enumerate(self.inputs):
            live[k] = {i for i in t if len(where[i]) > 1}
            private[k] = sum(lsize[i] for i in t if len(where[i]) == 1 and i in out)
            logsize[k] = sum(lsize[i] for i in t)
        count = {i: len(ts) for i, ts in where.items()}
        heap, ssa, nxt, work = [], [], len(self.inputs), [0]
        largest, flops = -math.inf, -math.inf

        def merged(a, b):
            """(kept live indices, log2 size of the result, log2 size of the joint index space)."""
            la, lb = live[a], live[b]
            both = la & lb
            kept = {i for i in la | lb if count[i] > 1 + (i in both)}
            lk = private[a] + private[b] + sum(lsize[i] for i in kept)
            lk += sum(lsize[i] for i in (la | lb) - kept if i in out)
            work[0] += len(la) + len(lb)
            return kept, lk, logsize[a] + logsize[b] - sum(lsize[i] for i in both)

        def push(a, b):
            lk = merged(a, b)[1]
            score = _score(lk, logsize[a], logsize[b], alpha)
            if temperature:
                score -= temperature * math.log(-math.log(rng.random() or 1e-300))
            heapq.heappush(heap, (score, a, b))

        for ts in where.values():
            ts = sorted(ts)
            pairs = itertools.combinations(ts, 2) if len(ts) <= HYPER_FANOUT else itertools.pairwise(ts)
            for a, b in pairs:
                push(a, b)
        while heap:
            _, a, b = heapq.heappop(heap)
            if a not in live or b not in live:
                continue
            kept, lk, joint = merged(a, b)
            largest, flops = max(largest, lk), _logaddexp2(flops, joint)
            c, nxt = nxt, nxt + 1
            ssa.append((a, b))
            for i in live[a] | live[b]:
                where[i].discard(a)
                where[i].discard(b)
                count[i] = len(where[i])
            for i in kept:
                where[i].add(c)
                count[i] += 1
            live[c], private[c], logsize[c] = kept, lk - sum(lsize[i] for i in kept), lk
            for k in (a, b):
                del live[k], private[k], logsize[k]
            # neighbours through ordinary indices; through a hyperedge on many tensors (a batch index)
            # only if there are none: its pairs are near outer products, each a wasted score
            small = [i for i in kept if count[i] <= HYPER_FANOUT]
            seen = {c}
            for i in small or kept:
                ts = where[i]
                for k in (ts if len(ts) <= HYPER_FANOUT else itertools.islice(ts, HYPER_FANOUT)):
                    if k not in seen:
                        seen.add(k)
                        push(c, k)
        rest = [(logsize[k], k) for k in live]  # disconnected pieces: outer products, smallest first
        heapq.heapify(rest)
        while len(rest) > 1:
            (la, a), (lb, b) = heapq.heappop(rest), heapq.heappop(rest)
            largest, flops = max(largest, la + lb), _logaddexp2(flops, la + lb)
            ssa.append((a, b))
            heapq.heappush(rest, (la + lb, nxt))
            nxt += 1
        return largest, flops, ssa, work[0]


def step_expression(inputs, output, size_dict):
    """A compiled opt_einsum expression for one contraction step (``inputs`` -> ``output`` index tuples).

    Steps are written with symbols local to the step, so the many identical steps of a tree network
    share one compiled expression (cached by equation and shapes).
    """
    table = symbols_for(inputs, output)
    shapes = tuple(tuple(size_dict[i] for i in t) for t in inputs)
    return _step_expression(equation(inputs, output, table), shapes)


@functools.lru_cache(maxsize=4096)
def _step_expression(eq, shapes):
    return opt_einsum.contract_expression(eq, *shapes, optimize="auto")


def step_function(inputs, output, size_dict):
    """The fastest callable for one step: a Hadamard product, a ``tensordot`` (+ transpose), else
    :func:`step_expression` (an opt_einsum expression costs ~10x a product's time in call overhead).

    Examples
    --------
    >>> import numpy as np
    >>> f = step_function([("b", "i"), ("i", "j")], ("j", "b"), {"b": 2, "i": 3, "j": 4})
    >>> a, w = np.ones((2, 3)), np.ones((3, 4))
    >>> np.array_equal(f(a, w), (a @ w).T)
    True
    """
    if len(inputs) == 2 and all(len(set(t)) == len(t) for t in inputs):
        a, b = (tuple(t) for t in inputs)
        output = tuple(output)
        if a == b == output:
            return operator.mul
        shared = [i for i in a if i in b]
        free = [i for i in a if i not in b] + [i for i in b if i not in a]
        if set(free) == set(output) and len(free) == len(output):
            axes = ([a.index(i) for i in shared], [b.index(i) for i in shared])
            perm = tuple(free.index(i) for i in output)
            if perm == tuple(range(len(perm))):
                return functools.partial(np.tensordot, axes=axes)
            return lambda x, y: np.tensordot(x, y, axes=axes).transpose(perm)
    return step_expression(inputs, output, size_dict)


class _Plan:
    """A compiled contraction: its path, exact cost and step program (built lazily, linear in the steps).

    The program runs the path one step at a time, each step its fastest callable
    (:func:`step_function`); one opt_einsum expression for the whole network would cost its
    ``contract_path`` quadratic time in the number of tensors.
    """

    __slots__ = ("inputs", "output", "size_dict", "path", "cost", "_steps", "optimizer")

    def __init__(self, inputs, output, size_dict, path, cost, optimizer=None):
        self.inputs, self.output, self.size_dict = inputs, output, size_dict
        self.path, self.cost, self._steps = path, cost, None
        self.optimizer = optimizer  # an optimizer object keyed by id() stays alive while its plan is cached

    @property
    def steps(self) -> list:
        """``(operand SSA ids, expression)`` per step (:func:`tn.cost.replay`)."""
        if self._steps is None:
            path = self.path or [(0,)] * (len(self.inputs) == 1)  # one tensor: still reduce / transpose it
            self._steps = [(ids, step_function(taken, kept, self.size_dict))
                           for ids, taken, kept in replay(self.inputs, self.output, path)]
        return self._steps

    def __call__(self, *arrays):
        values = list(arrays)  # by SSA id; an operand is dropped once used, so memory is that of the live ones
        for ids, expression in self.steps:
            taken = [values[k] for k in ids]
            for k in ids:
                values[k] = None
            values.append(expression(*taken))
        return values[-1]


class PlanCache:
    """LRU cache of compiled plans keyed by (structure, output, optimizer); counts hits and misses."""

    def __init__(self, maxsize=_CACHE_SIZE):
        self.maxsize, self.hits, self.misses = maxsize, 0, 0
        self._data = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, build):
        with self._lock:
            if key in self._data:
                self.hits += 1
                self._data.move_to_end(key)
                return self._data[key]
            self.misses += 1
        plan = build()
        with self._lock:
            self._data[key] = plan
            while len(self._data) > self.maxsize:
                evicted = self._data.popitem(last=False)[1]
                if hasattr(evicted, "release_all"):  # a tree plan's kept buffers go with it
                    evicted.release_all()
        return plan

    def clear(self):
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def info(self) -> dict:
        return {"hits": self.hits, "misses": self.misses, "size": len(self._data), "maxsize": self.maxsize}


PLANS = PlanCache()


def optimize_key(optimize):
    """A hashable key for an optimize argument (objects by identity: they may hold state)."""
    if isinstance(optimize, str):
        return optimize
    if _is_explicit_path(optimize):
        return ("path", tuple(tuple(s) for s in optimize))
    return ("object", id(optimize))


def get_plan(structure_key, inputs, output, size_dict, optimize="auto", natural_path=None, itemsize=8) -> _Plan:
    key = (structure_key, tuple(output), optimize_key(optimize), itemsize)

    def build():
        path, cost = best_path(inputs, output, size_dict, optimize, natural_path, itemsize)
        return _Plan(inputs, tuple(output), size_dict, path, cost, optimize)

    return PLANS.get(key, build)


def cache_info() -> dict:
    """Hits, misses and size of the compiled-plan cache."""
    return PLANS.info()


__all__ = ["ContractionCost", "find_path", "ssa_to_linear", "linear_to_ssa", "best_path", "hyper_greedy", "auto_trials", "get_plan", "cache_info", "optimizer_names", "OPTIMIZERS", "PLANS"]
