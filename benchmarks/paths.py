"""Path quality and search time: our chosen contraction path vs cotengra's best, for every builder.

Two tasks per builder (CP shallow, HT deep contiguous, mirror, interleaved, dilated, both terms of a
mixed decomposition):

- ``dense``: the full coefficient tensor (``net.to_dense()``: every input leg and the class leg open),
  small N where it fits (N in {8, 16}, M=2);
- ``amplitude``: a single amplitude: one feature vector attached to every input leg (batch 1, no
  batch index), only the class leg open, N up to 256.

"ours" is the path the engine keeps for ``optimize="auto"`` (the size-bounded search of
:mod:`tn.contraction`: hypergraph greedy trials, opt_einsum's searches up to 64 tensors, compared with the
builder's natural path, the cheaper kept): its FLOPs, largest intermediate, which one won, and the
time to build the plan from a cold cache (= our search time). "cotengra" is ``HyperOptimizer`` with
a time budget; "greedy" is opt_einsum greedy for reference. All costs are exact replays
(``tn.cost.path_cost``). Numeric check: the engine's result vs an opt_einsum contraction along
cotengra's path (relative error <= 1e-8), where the contraction is small enough to run.

Section ``hypergraphs`` (results ``paths_hyper.*``): "auto" against the greedy searches on contractions
with hyperedges (an index on 3+ tensors), where a greedy's handling of them decides the cost:

- ``random hyper``: :func:`random_hypergraph` (bonds of a random graph of mean degree 3, n/10 hyperedges on
  3-6 tensors, one wide inner hyperedge and one wide output (batch-like) index on n/4..n/2 tensors, two
  open legs, dimensions 2-3), n in {20, 80, 160, 260}, 4 seeds; n = 1000 for the search time only (a family
  of its own: at 10^150+ FLOPs every greedy's result swings over tens of orders of magnitude);
- ``ctg rand_equation``: cotengra's generator (``cotengra.utils.rand_equation``, mean degree 3, n/20
  inner hyperedges and one output hyperedge on 3..n tensors each, two open legs, dimensions 2-3), n <= 260;
- ``mixed fed``: both terms of a mixed decomposition (``builders.mixed``, M = 2, widths 4) fed a batch of
  B in {1, 4} feature vectors (the batch index: a hyperedge on every feature tensor), N in {64, 128, 256, 512}
  (191 to 1535 tensors).

"ours" is ``best_path(..., "auto")`` with the network's natural path (if any) as ``net.cost()`` chooses;
"search" the same without the natural path (the search alone). "ctg" is cotengra's greedy
(``cotengra.pathfinders.path_basic.optimize_greedy``, one deterministic run), "oe" opt_einsum's greedy.
All costs are exact replays (``tn.cost.path_cost``); ratios are to cotengra's greedy, summary rows give
their geometric mean and the worst case per family.

Run: ``python benchmarks/paths.py`` (both sections, ~5 min), ``--quick``, or ``--section hypergraphs``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import builders  # noqa: E402
import tn  # noqa: E402
from benchmarks import common  # noqa: E402
from tn.cost import path_cost  # noqa: E402

RTOL = 1e-8
RUN_LIMIT_ELEMENTS = 2**24
COLUMNS = ["task", "builder", "N", "tensors", "ours_choice", "ours_flops", "natural_flops", "ctg_flops", "flops_ratio",
           "greedy_flops", "greedy_ratio", "ours_largest", "ctg_largest", "ours_search_s", "ctg_search_s",
           "search_ratio", "check"]


def cases(N, M, r):
    """(name, network) for every builder at size N; a mixed sum contributes one network per term."""
    T = builders.ModeTree
    out = [("CP shallow", builders.shallow_convac(N, M, r)),
           ("HT deep contiguous", builders.deep_convac(N, M, r)),
           ("deep mirror", builders.deep_convac(N, M, r, pooling="mirror")),
           ("deep interleaved", builders.deep_convac(N, M, r, pooling="interleaved")),
           ("dilated", builders.dilated_convnet(N, M, r))]
    mixed = builders.mixed(T.balanced(N), T.mirror(N), M, r, swap=r)  # full exchange: two glued-tree terms
    out += [(f"mixed term {t.metadata['term']}", t) for t in mixed.terms]
    return out


def amplitude_network(net, seed=0):
    """``net`` with a unit-norm feature vector on every input leg (a batch of one), via the engine's own
    :meth:`~tn.TensorNetwork.fed_network` (natural path extended the way ``evaluate`` does it)."""
    rng = np.random.default_rng(seed)
    vectors = [rng.standard_normal(net.size(leg)) for leg in net.input_legs]
    return net.fed_network([v[None] / np.linalg.norm(v) for v in vectors], net.input_legs)


def cotengra_path(sym, max_time):
    import cotengra as ctg
    _, inputs, output, sizes = sym
    opt = ctg.HyperOptimizer(max_time=max_time, max_repeats=10**6, parallel=False, progbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # int -> float overflow warnings on large sizes
        start = time.perf_counter()
        path = opt(list(inputs), output, sizes)
        return [tuple(s) for s in path], time.perf_counter() - start


def one_case(task, name, N, net, ctg_time):
    import opt_einsum as oe
    inputs, output, sizes = net.get_inputs_output_size_dict()
    inputs = [tuple(t) for t in inputs]
    tn.contraction.PLANS.clear()
    start = time.perf_counter()
    ours = net.cost(optimize="auto")
    ours_search = time.perf_counter() - start
    natural = net.natural_path
    choice = "natural" if natural is not None and [tuple(s) for s in ours.path] == natural else "optimizer (auto)"
    sym = common.symbolize(inputs, output, sizes)
    ctg_p, ctg_search = cotengra_path(sym, ctg_time)
    ctg = path_cost(inputs, output, sizes, ctg_p)
    greedy = path_cost(inputs, output, sizes, oe.paths.greedy(sym[1], sym[2], sym[3]))
    row = {"task": task, "builder": name, "N": N, "tensors": len(net), "ours_choice": choice, "ours_flops": ours.flops,
           "natural_flops": None if natural is None else path_cost(inputs, output, sizes, natural).flops,
           "ctg_flops": ctg.flops,
           "flops_ratio": ours.flops / ctg.flops, "greedy_flops": greedy.flops, "greedy_ratio": greedy.flops / ctg.flops,
           "ours_largest": ours.largest_intermediate, "ctg_largest": ctg.largest_intermediate,
           "ours_search_s": ours_search, "ctg_search_s": ctg_search, "search_ratio": ours_search / ctg_search}
    if max(ours.largest_intermediate, ctg.largest_intermediate) > RUN_LIMIT_ELEMENTS:
        row["check"] = "n/a (too large to run)"
        return row
    mine = net.contract()
    theirs = oe.contract_expression(sym[0], *[a.shape for a in net.arrays()], optimize=ctg_p)(*net.arrays())
    err = float(np.linalg.norm(mine - theirs) / np.linalg.norm(theirs))
    row["rel_err"] = err
    row["check"] = "pass" if err <= RTOL else f"FAIL ({err:.2g})"
    return row


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 s cotengra budget")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    ap.add_argument("--section", choices=("all", "builders", "hypergraphs"), default="all",
                    help="builders: ours vs cotengra's HyperOptimizer per builder (paths.*); hypergraphs: 'auto' "
                         "vs cotengra's and opt_einsum's greedy on contractions with hyperedges (paths_hyper.*)")
    return ap.parse_args(argv if argv is not None else [])


def main(argv=None, out_dir=None, dense_sizes=None, amp_sizes=None, M_dense=2, r_dense=4, M_amp=16, r_amp=32,
         ctg_time=None, verbose=True):
    """Run the builders section; returns the rows. Arguments override the command line (used by the smoke test)."""
    args = parse_args(argv)
    out_dir = out_dir if out_dir is not None else args.out
    dense_sizes = dense_sizes or ((8,) if args.quick else (8, 16))
    amp_sizes = amp_sizes or ((16, 64) if args.quick else (16, 64, 256))
    budget = ctg_time if ctg_time is not None else (1.0 if args.quick else None)

    def ctg_budget(n_tensors):
        return budget if budget is not None else (2.0 if n_tensors < 100 else 5.0 if n_tensors < 400 else 10.0)

    rows = []
    start = time.perf_counter()
    jobs = [("dense", N, M_dense, r_dense) for N in dense_sizes] + [("amplitude", N, M_amp, r_amp) for N in amp_sizes]
    for task, N, M, r in jobs:
        for name, net in cases(N, M, r):
            if task == "amplitude":
                net = amplitude_network(net)
            rows.append(one_case(task, name, N, net, ctg_budget(len(net))))
            if verbose:
                print({k: common.fmt(rows[-1].get(k)) for k in COLUMNS}, flush=True)
    notes = (f"dense: full coefficient tensor, M={M_dense}, widths/Z={r_dense}; amplitude: one unit-norm feature "
             f"vector per input leg, class leg open, M={M_amp}, widths/Z={r_amp}; float64. flops_ratio = our "
             f"path's FLOPs / cotengra HyperOptimizer's (<= 1: ours as cheap or cheaper); greedy_ratio = opt_einsum "
             f"greedy / cotengra; search_ratio = our plan time (cold cache: the 'auto' search + natural-path "
             f"comparison) / cotengra search time. cotengra budget: "
             f"{budget if budget is not None else '2 s (< 100 tensors), 5 s (< 400), 10 s'}. "
             f"FLOPs: exact replay (tn.cost.path_cost: one multiply-add per element of each step's joint index "
             f"space). check: engine result vs opt_einsum along cotengra's path, rel <= {RTOL:g}. "
             f"Total run {time.perf_counter() - start:.0f} s.")
    config = {"dense_sizes": list(dense_sizes), "amp_sizes": list(amp_sizes), "M_dense": M_dense,
              "r_dense": r_dense, "M_amp": M_amp, "r_amp": r_amp}
    table = common.write_results("paths", rows, COLUMNS, "Contraction paths: ours vs cotengra", notes,
                                 {"config": config}, out_dir=out_dir)
    if verbose:
        print(table)
    return rows


def random_hypergraph(n, seed=0):
    """``(inputs, output, sizes)``: a random contraction of ``n`` tensors with hyperedges (module docstring).

    Examples
    --------
    >>> inputs, output, sizes = random_hypergraph(20, seed=1)
    >>> len(inputs), len(output), max(sum(i in t for t in inputs) for i in sizes) >= 3
    (20, 3, True)
    """
    rng = random.Random(seed)
    inputs, sizes = [[] for _ in range(n)], {}

    def add(name, holders):
        sizes[name] = rng.randint(2, 3)
        for k in holders:
            inputs[k].append(name)

    for e in range(3 * n // 2):
        add(f"b{e}", rng.sample(range(n), 2))
    for e in range(max(2, n // 10)):
        add(f"h{e}", rng.sample(range(n), rng.randint(3, min(6, n))))
    for name in ("wide", "batch"):
        add(name, rng.sample(range(n), rng.randint(max(3, n // 4), max(3, n // 2))))
    for k in range(n):  # no isolated tensor: one bond to a random other
        if not inputs[k]:
            add(f"b{k}-", (k, rng.choice([j for j in range(n) if j != k])))
    output = ["batch"]
    for e in range(2):
        add(f"open{e}", [rng.randrange(n)])
        output.append(f"open{e}")
    return [tuple(t) for t in inputs], tuple(output), sizes


# beyond, random networks cost > 10^100 FLOPs (treewidth grows with n) and any greedy's FLOPs swing over
# tens of orders of magnitude with its tie-breaking: larger random hypergraphs are timed, not compared, and
# rand_equation's take opt_einsum's greedy minutes
RAND_EQUATION_MAX = 260


def hyper_cases(sizes, seeds, mixed_sizes, batches):
    """(family, n, seed, inputs, output, size_dict, natural path or None) of the hypergraphs section."""
    import cotengra as ctg
    for n in sizes:
        for seed in seeds:
            family = "random hyper" if n <= RAND_EQUATION_MAX else f"random hyper n > {RAND_EQUATION_MAX} (time)"
            yield (family, n, seed, *random_hypergraph(n, seed), None)
    for n in (n for n in sizes if n <= RAND_EQUATION_MAX):
        for seed in seeds:
            inputs, output, _, sz = ctg.utils.rand_equation(n, 3, n_out=2, n_hyper_in=max(2, n // 20), n_hyper_out=1,
                                                            d_min=2, d_max=3, seed=seed)
            yield "ctg rand_equation", n, seed, [tuple(t) for t in inputs], tuple(output), sz, None
    T = builders.ModeTree
    for N in mixed_sizes:
        terms = builders.mixed(T.balanced(N), T.mirror(N), 2, 4, swap=4).terms
        for B in batches:
            for term in terms:
                rng = np.random.default_rng(0)
                fed = term.fed_network([rng.standard_normal((B, term.size(leg))) for leg in term.input_legs],
                                       term.input_legs)
                inputs, output, sz = fed.get_inputs_output_size_dict()
                yield (f"mixed fed B={B}", N, term.metadata["term"], [tuple(t) for t in inputs], tuple(output), sz,
                       fed.natural_path)


def _short(count: int) -> str:
    """An exact int in 3 significant digits (FLOPs of random networks pass the float range)."""
    return format(Decimal(count), ".3g")


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def hyper_row(family, n, seed, inputs, output, sizes, natural):
    import opt_einsum as oe
    from cotengra.pathfinders.path_basic import optimize_greedy

    from tn.contraction import best_path
    (_, ours), ours_s = _timed(lambda: best_path(inputs, output, sizes, "auto", natural))
    search = ours if natural is None else best_path(inputs, output, sizes, "auto")[1]
    row = {"family": family, "n": n, "seed": seed, "tensors": len(inputs), "ours_flops": _short(ours.flops),
           "ours_largest": _short(ours.largest_intermediate), "ours_s": ours_s}
    try:
        ctg_p, row["ctg_s"] = _timed(lambda: optimize_greedy(inputs, output, sizes))
    except OverflowError:  # its float scores overflow once sizes pass 2^1024
        row["note"] = "cotengra greedy: OverflowError"
        return row
    ctg = path_cost(inputs, output, sizes, ctg_p)
    sym = common.symbolize(inputs, output, sizes)
    oe_p, row["oe_s"] = _timed(lambda: oe.paths.greedy(sym[1], sym[2], sym[3]))
    row.update(ctg_flops=_short(ctg.flops), flops_ratio=ours.flops / ctg.flops, search_ratio=search.flops / ctg.flops,
               oe_ratio=path_cost(inputs, output, sizes, oe_p).flops / ctg.flops,
               largest_ratio=ours.largest_intermediate / ctg.largest_intermediate)
    return row


HYPER_COLUMNS = ["family", "n", "seed", "tensors", "ours_flops", "ctg_flops", "flops_ratio", "search_ratio",
                 "oe_ratio", "largest_ratio", "worst_ratio", "ours_s", "ctg_s", "oe_s", "note"]
RATIOS = ("flops_ratio", "search_ratio", "oe_ratio", "largest_ratio")


def summary(rows, family):
    """A row of geometric means of the ratios over ``rows`` (and the worst FLOPs ratio), time columns summed."""
    out = {"family": f"geomean: {family}", "tensors": f"{len(rows)} cases"}
    for key in RATIOS:
        vals = [r[key] for r in rows if r.get(key)]
        out[key] = math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None
    out["worst_ratio"] = max((r["flops_ratio"] for r in rows if r.get("flops_ratio")), default=None)
    for key in ("ours_s", "ctg_s", "oe_s"):
        out[key] = sum(r.get(key) or 0 for r in rows)
    return out


def hypergraphs(argv=None, out_dir=None, sizes=None, seeds=None, mixed_sizes=None, batches=(1, 4), verbose=True):
    """Run the hypergraphs section; returns the rows, summary rows last."""
    args = parse_args(argv)
    out_dir = out_dir if out_dir is not None else args.out
    sizes = sizes or ((20, 80) if args.quick else (20, 80, 160, 260, 1000))
    seeds = seeds or ((0, 1) if args.quick else (0, 1, 2, 3))
    mixed_sizes = mixed_sizes or ((64,) if args.quick else (64, 128, 256, 512))
    start, rows = time.perf_counter(), []
    for case in hyper_cases(sizes, seeds, mixed_sizes, batches):
        rows.append(hyper_row(*case))
        if verbose:
            print({k: common.fmt(rows[-1].get(k)) for k in HYPER_COLUMNS if k in rows[-1]}, flush=True)
    families = list(dict.fromkeys(r["family"] for r in rows))
    rows += [summary([r for r in rows if r["family"] == f], f) for f in families]
    compared = [f for f in families if not f.endswith("(time)")]
    rows.append(summary([r for r in rows if r["family"] in compared], "all compared families"))
    notes = ("ratios to cotengra's greedy (optimize_greedy, one run) by exact replay (tn.cost.path_cost): "
             "flops_ratio = ours ('auto', natural path included where the network has one) / ctg; search_ratio = "
             "'auto' without the natural path / ctg; oe_ratio = opt_einsum greedy / ctg; largest_ratio = largest "
             "intermediates, ours / ctg; worst_ratio = the family's largest flops_ratio (the '(time)' family is left out of "
             "the overall geomean: at 10^150+ FLOPs any greedy's result swings over tens of orders of magnitude). ours_s = best_path time "
             "(search + exact replays), ctg_s / oe_s = their search time (summary rows: totals). "
             f"Total run {time.perf_counter() - start:.0f} s.")
    config = {"sizes": list(sizes), "seeds": list(seeds), "mixed_sizes": list(mixed_sizes), "batches": list(batches)}
    table = common.write_results("paths_hyper", rows, HYPER_COLUMNS, "Contraction paths with hyperedges: 'auto' vs "
                                 "the greedy searches", notes, {"config": config}, out_dir=out_dir)
    if verbose:
        print(table)
    return rows


if __name__ == "__main__":
    section = parse_args(sys.argv[1:]).section
    if section in ("all", "builders"):
        main(sys.argv[1:])
    if section in ("all", "hypergraphs"):
        hypergraphs(sys.argv[1:])
