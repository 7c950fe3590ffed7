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

Run: ``python benchmarks/paths.py`` (~4 min) or ``--quick``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
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


def main(argv=None, out_dir=None, dense_sizes=None, amp_sizes=None, M_dense=2, r_dense=4, M_amp=16, r_amp=32,
         ctg_time=None, verbose=True):
    """Run the benchmark; returns the rows. Arguments override the command line (used by the smoke test)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 s cotengra budget")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    args = ap.parse_args(argv if argv is not None else [])
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


if __name__ == "__main__":
    main(sys.argv[1:])
