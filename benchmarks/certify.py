"""Certified validation: verdict fractions per family, seconds per exact rank vs cut dimension, float vs exact.

For deep ConvACs (N = 16, 64, 256, 1024; widths 2 and 4; M = 2), CP, mirror, dilated and mixed networks, over
left-right, odd-even, blocks:K and 20 random balanced partitions: the fraction of rows certified tight, strict,
undetermined (:func:`analysis.validate`, rank_method="auto"); the float rank (dense or gram) against the certified
rank where both exist; seconds per exact rank vs the cut dimension (256 .. 4096), python-flint vs the numpy
elimination; and how informative the float ranks of each init are (the issue's N = 32 sweep, 100 partitions).

Writes benchmarks/results/certify.json, certify.md and certify.png.
Run: python benchmarks/certify.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import builders
from analysis import exact_rank, mincut, validate
from analysis import ranks as ranks_module
from benchmarks.common import pyplot, save_figure, write_results
from builders import ModeTree

VERDICTS = ("certified-tight", "strict", "undetermined")


def families(quick):
    """(family, N, network) triples; names say the architecture."""
    sizes, ws = ((8,), (2,)) if quick else ((16, 64, 256, 1024), (2, 4))
    out = []
    for N in sizes:
        for w in ws:
            out.append((f"deep w={w}", N, builders.deep_convac(N, M=2, widths=w)))
    N = 8 if quick else 64
    out += [("CP Z=4", N, builders.shallow_convac(N, M=2, Z=4)),
            ("mirror w=2", N, builders.deep_convac(N, M=2, widths=2, pooling="mirror")),
            ("dilated w=2", N, builders.dilated_convnet(N, M=2, widths=2)),
            ("mixed w=2", N, builders.mixed(ModeTree.balanced(N), ModeTree.interleaved(N), 2, 2))]
    return out


def partitions(N, n_random):
    return ["left-right", "odd-even", "blocks:2", f"blocks:{max(N // 4, 1)}"] + [f"random:{s}" for s in range(n_random)]


def verdict_rows(quick, verbose):
    rows, timings = [], []
    for family, N, net in families(quick):
        start = time.perf_counter()
        report = validate(net, partitions(N, 2 if quick else 20))
        counts = {v: sum(r.verdict == v for r in report) for v in VERDICTS}
        both = [r for r in report if r.rank_method == "exact" and r.float_rank is not None]
        rows.append({"family": family, "N": N, "rows": len(report), **counts,
                     "certified %": round(100 * counts["certified-tight"] / len(report), 1),
                     "tight false while undetermined": sum(r.tight is False and r.verdict == "undetermined"
                                                           for r in report),
                     "float = exact": f"{sum(r.float_rank == r.rank for r in both)}/{len(both)}",
                     "seconds": round(time.perf_counter() - start, 2)})
        timings += [{"cut_dim": r.rank_upper, "seconds": r.seconds, "family": family} for r in report
                    if r.rank_method == "exact"]
        if verbose:
            print(rows[-1], flush=True)
    return rows, timings


def timing_network(quick):
    """(N, widths) of the deep ConvAC (M = 2) whose partitions time the exact ranks."""
    return (16, [2, 4, 4, 8]) if quick else (32, [2, 2, 4, 4, 8])


def exact_timing_rows(quick, verbose):
    """Seconds per exact rank vs cut dimension (random balanced partitions of one deep network), flint and numpy."""
    N, widths = timing_network(quick)
    net = builders.deep_convac(N, M=2, widths=widths)
    wanted = (16, 64) if quick else (256, 512, 1024, 2048, 4096)
    seen, rows = {}, []
    for seed in range(400):
        dim = mincut(net, f"random:{seed}").bound
        if dim in wanted and dim not in seen:
            seen[dim] = f"random:{seed}"
        if len(seen) == len(wanted):
            break
    flint_missing = ranks_module._flint
    for dim in sorted(seen):
        row = {"cut_dim": dim, "partition": seen[dim]}
        result = exact_rank(net, seen[dim], max_dim=dim)
        row.update(rank=result.rank, flint_s=round(result.seconds, 3))
        if dim <= 1024:  # the numpy elimination alone, side by side
            ranks_module._flint = lambda: None
            try:
                numpy_result = exact_rank(net, seen[dim], max_dim=dim)
            finally:
                ranks_module._flint = flint_missing
            assert numpy_result.rank == result.rank
            row.update(numpy_s=round(numpy_result.seconds, 3), numpy_over_flint=round(numpy_result.seconds /
                                                                                       result.seconds, 2))
        rows.append(row)
        if verbose:
            print(row, flush=True)
    return rows


def init_setting(quick):
    """(partitions, N, widths) of the init sweep."""
    return (3, 8, [2, 2, 4]) if quick else (100, 32, [2, 2, 4, 4, 8])


def init_rows(quick, verbose):
    """The issue's sweep: float ranks of each init against the certified rank, N = 32, random partitions."""
    n, N, widths = init_setting(quick)
    rows = []
    for init in ("gaussian", "orthonormal"):
        net = builders.deep_convac(N, M=2, widths=widths, init=init)
        report = validate(net, [f"random:{s}" for s in range(n)])
        both = [r for r in report if r.float_rank is not None and r.rank_method == "exact"]
        rows.append({"init": init, "partitions": n, "rows with float and exact rank": len(both),
                     "float rank = certified": sum(r.float_rank == r.rank for r in both),
                     "float gap < 1e3 below bound": sum(r.float_rank < r.rank_upper and r.gap < 1e3 for r in both),
                     "certified-tight": sum(r.verdict == "certified-tight" for r in report),
                     "tight false while undetermined": sum(r.tight is False and r.verdict == "undetermined"
                                                           for r in report)})
        if verbose:
            print(rows[-1], flush=True)
    return rows


def plot(verdicts, timings, exact_rows, path):
    plt = pyplot()
    if plt is None:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = [f"{r['family']}\nN={r['N']}" for r in verdicts]
    bottom = np.zeros(len(verdicts))
    for verdict, color in zip(VERDICTS, ("tab:green", "tab:red", "tab:gray")):
        share = np.array([r[verdict] / r["rows"] for r in verdicts])
        left.bar(range(len(verdicts)), share, bottom=bottom, color=color, label=verdict)
        bottom += share
    left.set_xticks(range(len(verdicts)), labels, rotation=60, ha="right", fontsize=7)
    left.set_ylabel("fraction of partitions")
    left.set_title("validate(rank_method='auto') verdicts")
    left.set_ylim(0, 1.15)  # room above the bars: the legend hides none of them
    left.legend(fontsize=8, loc="upper center", ncol=3)
    dims = [t["cut_dim"] for t in timings]
    right.scatter(dims, [t["seconds"] for t in timings], s=10, alpha=0.5, label="validate rows (exact route)")
    right.plot([r["cut_dim"] for r in exact_rows], [r["flint_s"] for r in exact_rows], "o-", label="exact_rank, flint")
    numpy_rows = [r for r in exact_rows if "numpy_s" in r]
    right.plot([r["cut_dim"] for r in numpy_rows], [r["numpy_s"] for r in numpy_rows], "s--",
               label="exact_rank, numpy elimination")
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    right.set_xlabel("cut dimension D")
    right.set_ylabel("seconds per row / query")
    right.set_title("exact rank mod p vs cut dimension")
    right.legend(fontsize=8)
    return save_figure(fig, path)


def main(quick=False, out_dir=None, verbose=True, plots=True):
    verdicts, timings = verdict_rows(quick, verbose)
    exact_rows = exact_timing_rows(quick, verbose)
    inits = init_rows(quick, verbose)
    out = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent / "results"
    notes = (("**This is the `--quick` run (N = 8; D <= 64).** " if quick else
              "**This is the full run** (N = 16 .. 1024, D up to 4096). ")
             + "Verdicts of `validate(net, partitions)` with the defaults: exact rank mod p (random weights: a "
             "certificate about the architecture) when the cut dimension is <= 2048, else a 64 x 64 one-hot "
             "submatrix lower bound. 'float = exact': rows where the float rank (dense or gram, default "
             "orthonormal init) equals the certified rank, out of the rows that have both.")
    table = write_results("certify", verdicts, list(verdicts[0]), title="Certified validation", notes=notes,
                          extra={"exact_timing": exact_rows, "inits": inits, "timings": timings}, out_dir=out)
    md = out / "certify.md"
    text = md.read_text()
    text += "\n## Seconds per exact rank vs cut dimension (deep_convac(%d, M=2, widths=%s))\n\n" % timing_network(quick)
    from benchmarks.common import markdown_table
    text += markdown_table(exact_rows, ["cut_dim", "partition", "rank", "flint_s", "numpy_s", "numpy_over_flint"])
    text += ("\n## Float ranks of each init against the certified rank (N = %d, random balanced partitions)\n\n"
             % init_setting(quick)[1])
    text += markdown_table(inits, list(inits[0]))
    md.write_text(text)
    if plots:
        plot(verdicts, timings, exact_rows, out / "certify.png")
    if verbose:
        print(table)
    return verdicts, exact_rows, inits


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: finishes in seconds (the smoke test)")
    parser.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    args = parser.parse_args()
    main(args.quick, args.out)
