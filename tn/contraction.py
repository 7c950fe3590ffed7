"""Path selection and compiled contraction expressions, cached by structure.

Every optimizer is called through one signature, opt_einsum's
``optimizer(inputs, output, size_dict, memory_limit=None) -> path``: names from
opt_einsum's registry (``"auto"``, ``"greedy"``, ``"auto-hq"``, ``"optimal"``, ...), ``"natural"``
(the builder's own order), ``"cotengra"`` / ``"cotengra-hq"`` (optional extra), any
``opt_einsum.paths.PathOptimizer`` (cotengra's optimizers are such objects), any callable with
that signature, or an explicit path (taken as given). For any optimizer, a network that carries a
natural path also costs that path and keeps the cheaper of the two; ``"auto"`` on small networks
also tries a short random-greedy search (:func:`best_path`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import opt_einsum
from opt_einsum import paths as oe_paths

from .cost import ContractionCost, path_cost
from .errors import OptimizeError
from .registry import Registry

_CACHE_SIZE = 256
AUTO_REFINE_MAX = 64  # "auto" adds a random-greedy search up to this many tensors

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
        opt = ctg.HyperOptimizer(max_repeats=max_repeats, max_time=max_time, progbar=False)
        return opt(inputs, output, size_dict, memory_limit)
    path_fn.__name__ = name
    return path_fn


for _name, _repeats, _time in (("cotengra", 32, None), ("cotengra-hq", 128, 30)):
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
    path = [tuple(s) for s in fn(sym_inputs, sym_output, sym_sizes)]
    _check_path(path, n)
    return path


def best_path(inputs, output, size_dict, optimize="auto", natural_path=None, itemsize=8):
    """(path, cost): the cheapest (largest intermediate, then FLOPs) of the candidate paths.

    Candidates: the optimizer's path; for ``"auto"`` on at most :data:`AUTO_REFINE_MAX` tensors also
    plain greedy (opt_einsum's own "auto" minimizes its FLOP measure, not this cost order) and a
    32-trial (deterministically seeded) random-greedy search, which finds far cheaper full-tensor
    contractions than plain greedy (e.g. 0.62x the FLOPs for a 31-tensor HT network) in ~20 ms, once
    per structure; and the network's natural path. An explicit path is taken as given.
    """
    optimize = check_optimizer(optimize)
    path = find_path(inputs, output, size_dict, optimize, natural_path)
    candidates = [path_cost(inputs, output, size_dict, path, itemsize)]
    explicit = _is_explicit_path(optimize) or (isinstance(optimize, str) and optimize == "natural")
    if isinstance(optimize, str) and optimize == "auto" and 2 < len(inputs) <= AUTO_REFINE_MAX:
        for refine in ("greedy", opt_einsum.RandomGreedy(max_repeats=32)):
            refined = find_path(inputs, output, size_dict, refine)
            candidates.append(path_cost(inputs, output, size_dict, refined, itemsize))
    if natural_path is not None and not explicit:
        candidates.append(path_cost(inputs, output, size_dict, natural_path, itemsize))
    best = min(candidates, key=lambda c: (c.largest_intermediate, c.flops))
    return [tuple(s) for s in best.path], best


class _Plan:
    """A compiled contraction: its path, exact cost and opt_einsum expression (built lazily)."""

    __slots__ = ("inputs", "output", "size_dict", "path", "cost", "_expr", "optimizer")

    def __init__(self, inputs, output, size_dict, path, cost, optimizer=None):
        self.inputs, self.output, self.size_dict = inputs, output, size_dict
        self.path, self.cost, self._expr = path, cost, None
        self.optimizer = optimizer  # an optimizer object keyed by id() stays alive while its plan is cached

    @property
    def expression(self):
        if self._expr is None:
            table = symbols_for(self.inputs, self.output)
            shapes = [tuple(self.size_dict[i] for i in t) for t in self.inputs]
            path = self.path if len(self.inputs) > 1 else None
            self._expr = opt_einsum.contract_expression(equation(self.inputs, self.output, table), *shapes,
                                                        optimize=path or "auto")
        return self._expr

    def __call__(self, *arrays):
        return self.expression(*arrays)


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
                self._data.popitem(last=False)
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


__all__ = ["ContractionCost", "find_path", "best_path", "get_plan", "cache_info", "optimizer_names", "OPTIMIZERS", "PLANS"]
