"""Path selection and compiled contraction expressions, cached by structure.

Every optimizer is called through one signature, opt_einsum's
``optimizer(inputs, output, size_dict, memory_limit=None) -> path``: names from
opt_einsum's registry (``"auto"``, ``"greedy"``, ``"auto-hq"``, ``"optimal"``, ...), ``"natural"``
(the builder's own order), ``"hyper-greedy"`` (this module's hypergraph greedy, :func:`hyper_greedy`),
``"cotengra"`` / ``"cotengra-hq"`` (optional extra), any ``opt_einsum.paths.PathOptimizer``
(cotengra's optimizers are such objects), any callable with that signature, or an explicit path
(taken as given). For any optimizer, a network that carries a natural path also costs that path
and keeps the cheaper of the two (FLOPs, then largest intermediate: cotengra's default ordering; on the
random hypergraphs of ``benchmarks/paths.py`` keeping the smallest intermediate first cost several
times the FLOPs), among the candidates whose peak memory is within :data:`MEMORY_SLACK` of the
smallest (:func:`best_path`).

``"auto"`` is a size-bounded search (:func:`best_path`): its work grows linearly with the number
of tensors n, and on a network with a natural path it stays within a small multiple of one replay
of that path:

- n <= :data:`AUTO_REFINE_MAX`: opt_einsum's "auto", its greedy and a 32-trial random greedy, and
  :func:`hyper_greedy` with :data:`AUTO_TRIALS` perturbed trials;
- larger n: :func:`hyper_greedy` with ``AUTO_TRIAL_WORK // n`` trials (none from
  ``AUTO_TRIAL_WORK`` tensors on), or, with a natural path, one deterministic greedy run only up
  to :data:`AUTO_GREEDY_MAX` tensors and the natural path alone beyond.

The trials share one deterministic budget of max(:data:`AUTO_WORK`, the plain run's) index visits
(so past ~1000 tensors the search costs at most about two plain runs), and each stops as soon as
its FLOPs pass the best run's. Trials are scored in floating log2 space; only the
winner of each optimizer is replayed exactly.
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
AUTO_WORK = 500_000         # and at most this many index visits in all trials (a deterministic budget, ~0.2 s)
MEMORY_SLACK = 2            # best_path: fewest FLOPs among paths whose peak memory is at most this much larger
AUTO_OE_RANDOM_MAX = 16     # opt_einsum's random greedy too up to this many tensors
ALPHA_RANGE = (0.01, 16.0)      # trials draw alpha log-uniformly from this range (cotengra's costmod 0.1..4, squared)
TEMPERATURE_RANGE = (0.01, 1.5)  # and the Gumbel noise scale (log2 units) uniformly from this one
HYPER_FANOUT = 16           # pairs are queued through indices on at most this many tensors (wider: batch-like)

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
    """(path, cost): the cheapest (FLOPs, then peak memory) of the candidate paths whose peak memory is
    within :data:`MEMORY_SLACK` times the smallest one: fewer FLOPs buy at most that factor of memory.
    (The plan is cached by structure, not by memory limit, so under a limit between the two peaks the
    guard can refuse the chosen path where a leaner candidate would fit: raise the limit or pass
    ``optimize=`` a memory-minimizing optimizer then.)

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
    best = _choose(candidates)
    return [tuple(s) for s in best.path], best


def _choose(candidates):
    """The fewest FLOPs (then the smaller peak) among candidates within MEMORY_SLACK of the smallest peak."""
    smallest = min(c.peak_memory for c in candidates)
    return min((c for c in candidates if c.peak_memory <= MEMORY_SLACK * smallest),
               key=lambda c: (c.flops, c.peak_memory))


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


def hyper_greedy(inputs, output, size_dict, trials=0, seed=0, work=None, minimize="flops"):
    """A linear-format path from a greedy search on the hypergraph; ``trials`` perturbed runs more.

    Each merge minimizes size(ab) - alpha * (size(a) + size(b)) over queued pairs of tensors sharing
    an index held by at most :data:`HYPER_FANOUT` tensors (alpha = 1 on the plain run: cotengra's
    greedy, which queues every pair of each new tensor); what no such index joins is merged smallest
    first at the end. An index shared by k tensors leaves a pair's result only when the pair holds its
    last holders. The first trial is the plain run's twin that queues only each new tensor's best pair
    (opt_einsum's greedy: on large random hypergraphs either can win by orders of magnitude); the
    others alternate the two, draw alpha log-uniformly from :data:`ALPHA_RANGE` and add Gumbel noise
    (scale from :data:`TEMPERATURE_RANGE`) to the log2 scores. Indices a tensor alone carries and the
    output keeps are folded into one log2 size, so a run costs O(n log n) however many open legs
    intermediates gather. The best run by estimated log2 cost is returned: (FLOPs, largest
    intermediate) for ``minimize="flops"``, (largest, FLOPs) for ``"size"``. ``work`` caps the
    trials: at most max(``work``, the plain run's) index visits in all (counted, so the cap is
    deterministic; the trial that crosses it stops there), and a trial stops as soon as it is worse
    than the best run in the ordering's first criterion.

    Examples
    --------
    >>> hyper_greedy([("i", "h"), ("h", "j"), ("h", "k")], ("i", "j", "k"), dict(i=2, j=3, k=4, h=5))
    [(0, 1), (0, 1)]
    """
    if minimize not in _ORDERINGS:
        raise OptimizeError(f"minimize must be one of {', '.join(_ORDERINGS)}, not {minimize!r}")
    if len(inputs) <= 1:
        return [(0,)] if inputs else []
    search = _Greedy(inputs, output, size_dict)
    rng = random.Random(seed)
    key, best = _ORDERINGS[minimize], search.run()
    left = math.inf if work is None else max(work, best[3])
    lo, hi = (math.log(a) for a in ALPHA_RANGE)
    for trial in range(trials):
        if left <= 0:
            break
        # a trial stops as soon as it is worse than the best in the ordering's first criterion
        bound = (best[0], math.inf) if minimize == "size" else (math.inf, best[1])
        if trial == 0:  # the plain run's twin that queues only each new tensor's best pair (opt_einsum's greedy)
            run = search.run(work_limit=left, bound=bound, best_only=True)
        else:
            run = search.run(alpha=math.exp(rng.uniform(lo, hi)), temperature=rng.uniform(*TEMPERATURE_RANGE),
                             rng=rng, work_limit=left, bound=bound, best_only=trial % 2 == 1)
        left -= run[3]
        if run[2] is not None and key(run) < key(best):
            best = run
    return ssa_to_linear(best[2], len(inputs))


_ORDERINGS = {"flops": lambda run: (run[1], run[0]), "size": lambda run: (run[0], run[1])}


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
    indices on it alone that the output keeps: those never change a choice. Indices are numbered in
    order of first appearance, so every set iterates in the same order in every process (string
    labels hash differently per process) and a run is reproducible.
    """

    def __init__(self, inputs, output, size_dict):
        number = {}
        for t in inputs:
            for i in t:
                number.setdefault(i, len(number))
        self.output = frozenset(number[i] for i in output if i in number)
        # a size-0 index (an empty batch) makes every path free: scored as size 1
        self.lsize = [_log(max(size_dict[i], 1), 2) for i in number]
        self.inputs = [frozenset(number[i] for i in t) for t in inputs]
        self.where = {}
        for k, t in enumerate(self.inputs):
            for i in t:
                self.where.setdefault(i, set()).add(k)

    def run(self, alpha=1.0, temperature=0.0, rng=None, work_limit=math.inf, bound=(math.inf, math.inf),
            best_only=False):
        """``(log2 largest, log2 flops, ssa path, work)`` of one greedy run (work: index visits).

        The run stops, with ``None`` for its path, once its work passes ``work_limit`` or its log2
        (largest, flops) so far passes either of ``bound`` (a trial that cannot win).
        """
        lsize, out = self.lsize, self.output
        where = {i: set(ts) for i, ts in self.where.items()}
        live, private, logsize = {}, {}, {}
        for k, t in enumerate(self.inputs):
            live[k] = {i for i in t if len(where[i]) > 1}
            private[k] = sum(lsize[i] for i in t if len(where[i]) == 1 and i in out)
            logsize[k] = sum(lsize[i] for i in t)
        heap, ssa, nxt, work, ties = [], [], len(self.inputs), [0], itertools.count()
        largest, flops = -math.inf, -math.inf

        def merged(a, b):
            """(kept live indices, log2 size of the result, log2 size of the joint index space)."""
            la, lb = live[a], live[b]
            both = la & lb
            kept = {i for i in la | lb if len(where[i]) > 1 + (i in both)}
            lk = private[a] + private[b] + sum(lsize[i] for i in kept)
            lk += sum(lsize[i] for i in (la | lb) - kept if i in out)
            work[0] += len(la) + len(lb)
            return kept, lk, logsize[a] + logsize[b] - sum(lsize[i] for i in both)

        def push(a, partners):
            """Queue the pairs of ``a`` with ``partners`` (only the best one if ``best_only``)."""
            entries = []
            for b in partners:
                score = _score(merged(a, b)[1], logsize[a], logsize[b], alpha)
                if temperature:
                    score -= temperature * math.log(-math.log(rng.random() or 1e-300))
                entries.append((score, next(ties), a, b))  # equal scores: first pushed first
            for entry in ((min(entries),) if best_only and entries else entries):
                heapq.heappush(heap, entry)

        def stop():
            return work[0] > work_limit or largest > bound[0] or flops > bound[1]

        def contract(a, b):
            nonlocal largest, flops, nxt
            kept, lk, joint = merged(a, b)
            largest, flops = max(largest, lk), _logaddexp2(flops, joint)
            c, nxt = nxt, nxt + 1
            ssa.append((a, b))
            for i in live[a] | live[b]:
                where[i].discard(a)
                where[i].discard(b)
            for i in kept:
                where[i].add(c)
            live[c], private[c], logsize[c] = kept, lk - sum(lsize[i] for i in kept), lk
            for k in (a, b):
                del live[k], private[k], logsize[k]
            return c

        # pairs only through indices on at most HYPER_FANOUT tensors: a pair sharing nothing but a
        # batch-like hyperedge is a near outer product, and all its pairs would be quadratic work
        for ts in where.values():
            if len(ts) <= HYPER_FANOUT:
                ts = sorted(ts)
                for k, a in enumerate(ts[:-1]):
                    push(a, ts[k + 1:])
        while heap:
            _, _, a, b = heapq.heappop(heap)
            if a not in live or b not in live:
                continue
            c = contract(a, b)
            if stop():
                return largest, flops, None, work[0]
            partners = {k for i in live[c] if len(where[i]) <= HYPER_FANOUT for k in where[i]}
            partners.discard(c)
            push(c, sorted(partners))
        # what no small index joins (disconnected pieces, or ones joined by large hyperedges only):
        # the two smallest first
        rest = [(logsize[k], k) for k in live]
        heapq.heapify(rest)
        while len(rest) > 1:
            (_, a), (_, b) = heapq.heappop(rest), heapq.heappop(rest)
            c = contract(a, b)
            if stop():
                return largest, flops, None, work[0]
            heapq.heappush(rest, (logsize[c], c))
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
