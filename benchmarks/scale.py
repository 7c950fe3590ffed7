"""Structure operations vs N: build, structure key, cost / path choice, save, load, min-cut, first einsum call.

On ``builders.deep_convac(N, M=2, widths=2)`` (arrays included) for N = 2^6 .. 2^16, each operation is
timed once from a cold cache (the first call is what a user waits for):

- ``build``: the builder, weights drawn and calibrated;
- ``structure_key``: the plan-cache key of a fresh network;
- ``cost``: ``net.cost()`` ("auto": the path choice plus one exact replay);
- ``path search``: :func:`tn.contraction.hyper_greedy`, one plain run (the search "auto" runs on networks
  without a natural path), next to cotengra's greedy (``optimize_greedy``) on the same network;
- ``save`` / ``load``: :mod:`tn.io` round trip in a temporary directory;
- ``mincut``: one ``analysis.mincut(net, "left-right")`` query (first call: DP compile included);
- ``mincut_batch``: 64 random balanced partitions in one ``analysis.mincut_batch`` call;
- ``einsum first call``: ``net.evaluate(x, method="einsum")`` at B = 64 (plan, program and contraction);
- ``gram``: the exact gram Schmidt spectrum across left-right.

The exponent column is the least-squares slope of log(time) against log(N) over N >= 2^8 (fixed costs
dominate below). An operation stops growing N once one call exceeds ``--budget`` seconds. ``--root DIR``
imports the engine from another checkout (e.g. the commit before a change: the "before" table).

Run: ``python benchmarks/scale.py`` (~5 min) or ``--quick`` (N = 2^6 .. 2^10, seconds).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads: one BLAS thread
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
OPS = ("build", "structure_key", "cost", "path search", "cotengra greedy", "save", "load", "mincut",
       "mincut_batch", "einsum first call", "gram")
STRUCTURE_OPS = ("build", "structure_key", "cost", "path search", "save", "load", "mincut", "mincut_batch",
                 "einsum first call", "gram")
LIMITS = {"einsum first call": 2**14, "gram": 2**14, "cotengra greedy": 2**14}  # beyond: too much memory / time


def _engine(root):
    """Import the engine from ``root`` (this checkout by default)."""
    root = str(Path(root).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    import analysis
    import builders
    import tn
    return tn, builders, analysis


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
CLOCK = ["cpu"]  # set by --clock: CPU seconds of this process by default (other jobs on a shared box barely move them)


def _timed(fn):
    """Seconds of ``fn()``; the garbage left by the setup is collected first, so it is not billed to ``fn``."""
    clock = CLOCKS[CLOCK[0]]
    gc.collect()
    start = clock()
    fn()
    return clock() - start


def measure(N, op, tn, builders, analysis, tmp):
    """Seconds of one cold call of ``op`` at size N (None when the engine lacks it)."""
    import numpy as np
    tn.contraction.PLANS.clear()
    if op == "build":
        return _timed(lambda: builders.deep_convac(N, M=2, widths=2))
    net = builders.deep_convac(N, M=2, widths=2)
    if op == "structure_key":
        return _timed(net.structure_key)
    if op == "cost":
        return _timed(net.cost)
    inputs, output, sizes = net.get_inputs_output_size_dict()
    if op == "path search":
        if not hasattr(tn.contraction, "hyper_greedy"):
            return _timed(lambda: tn.contraction.find_path(inputs, output, sizes, "greedy"))
        return _timed(lambda: tn.contraction.hyper_greedy(inputs, output, sizes))
    if op == "cotengra greedy":
        from cotengra.pathfinders.path_basic import optimize_greedy
        try:
            return _timed(lambda: optimize_greedy([tuple(t) for t in inputs], tuple(output), sizes))
        except OverflowError:  # its float scores overflow once intermediates pass 2^1024 elements
            return None
    path = Path(tmp) / f"net{N}"
    if op == "save":
        return _timed(lambda: net.save(path))
    if op == "load":
        net.save(path)
        return _timed(lambda: tn.TensorNetwork.load(path))
    if op == "mincut":
        return _timed(lambda: analysis.mincut(net, "left-right"))
    if op == "mincut_batch":
        rng = np.random.default_rng(0)
        masks = np.zeros((64, N), dtype=bool)
        for row in masks:
            row[rng.choice(N, N // 2, replace=False)] = True
        return _timed(lambda: analysis.mincut_batch(net, masks))
    if op == "einsum first call":
        x = np.random.default_rng(0).random((N, 64, 2))
        return _timed(lambda: net.evaluate(x, method="einsum"))
    if op == "gram":
        from analysis.spectrum import schmidt_spectrum
        return _timed(lambda: schmidt_spectrum(net, "left-right", method="gram", full=True))
    raise ValueError(op)


def exponent(points) -> float | None:
    """Least-squares slope of log t vs log N over the points with N >= 2^8 (None with fewer than 2)."""
    pts = [(math.log(n), math.log(t)) for n, t in points if n >= 2**8 and t and t > 0]
    if len(pts) < 2:
        return None
    mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def plot(rows, sizes, path):
    from benchmarks import common
    plt = common.pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for k, row in enumerate(rows):
        pts = [(n, row.get(f"N={n}")) for n in sizes if row.get(f"N={n}")]
        if pts:
            slope = row.get("exponent")
            label = f"{row['operation']} (N^{slope:.2f})" if slope is not None else row["operation"]
            ax.loglog(*zip(*pts), label=label, base=2, **common.series_style(k))
    ax.set_xlabel("N (input positions)")
    ax.set_ylabel("seconds (one cold call)")
    ax.set_title("Structure operations vs N, deep ConvAC (M=2, widths=2)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return common.save_figure(fig, path)


def main(argv=None, out_dir=None, sizes=None, budget=None, ops=OPS, verbose=True, plot_png=True):
    """Run the benchmark; returns the rows. Arguments override the command line (used by the smoke test)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 2^6 .. 2^10")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    ap.add_argument("--budget", type=float, default=30.0, help="stop an operation's N sweep past this many s")
    ap.add_argument("--max-log2n", type=int, default=16, help="largest N = 2^this")
    ap.add_argument("--root", default=str(ROOT), help="import the engine from this checkout")
    ap.add_argument("--name", default="scale", help="results file stem")
    ap.add_argument("--ops", default=None, help="comma list of operations (default: all)")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                    help="cpu: this process's CPU seconds (default: robust on a shared machine; BLAS fixed to one "
                         "thread); wall: elapsed seconds")
    args = ap.parse_args(argv if argv is not None else [])
    CLOCK[0] = args.clock
    tn, builders, analysis = _engine(args.root)
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    from benchmarks import common
    sizes = sizes or tuple(2**k for k in range(6, (10 if args.quick else args.max_log2n) + 1))
    budget = budget if budget is not None else args.budget
    if args.ops:
        unknown = sorted(set(args.ops.split(",")) - set(OPS))
        if unknown:
            ap.error(f"unknown operation(s) {unknown}; known: {', '.join(OPS)}")
        ops = tuple(args.ops.split(","))
    try:
        import cotengra  # noqa: F401
    except ImportError:
        ops = tuple(op for op in ops if op != "cotengra greedy")
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for op in ops:
            row = {"operation": op}
            for N in sizes:
                if N > LIMITS.get(op, math.inf):
                    break
                try:
                    row[f"N={N}"] = t = measure(N, op, tn, builders, analysis, tmp)
                except Exception as exc:  # noqa: BLE001 - an engine that refuses a size is a result, not a crash
                    row["note"] = f"N={N}: {type(exc).__name__}: {' '.join(str(exc).split())[:80]}"
                    t = None
                if verbose:
                    print(f"{op:>18} N={N:<6} {common.fmt(t)} s", flush=True)
                if t is None or t > budget:
                    break
            row["exponent"] = exponent([(N, row.get(f"N={N}")) for N in sizes])
            rows.append(row)
    columns = ["operation"] + [f"N={N}" for N in sizes] + ["exponent", "note"]
    worst = max((r["exponent"] for r in rows if r["operation"] in STRUCTURE_OPS and r["exponent"] is not None),
                default=None)
    notes = (f"builders.deep_convac(N, M=2, widths=2), arrays included; {args.clock} seconds of one cold call (plan cache "
             f"cleared); exponent = least-squares slope of log t vs log N over N >= 2^8. Largest structure-op "
             f"exponent: {common.fmt(worst)}. An operation stops past {budget:g} s per call. 'cotengra greedy' "
             f"is cotengra's optimize_greedy on the same network, for reference (its float scores overflow from N = 1024: blank). Engine: {args.root}. "
             f"Total run {time.perf_counter() - start:.0f} s.")
    table = common.write_results(args.name, rows, columns, "Structure operations vs N", notes,
                                 {"config": {"sizes": list(sizes), "budget": budget, "root": args.root}},
                                 out_dir=out_dir if out_dir is not None else args.out)
    if plot_png:
        out = Path(out_dir if out_dir is not None else (args.out or common.RESULTS))
        plot(rows, sizes, out / f"{args.name}.png")
    if verbose:
        print(table)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
