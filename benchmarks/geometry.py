"""Pooling geometry on images (theory §9): square vs mirror pooling vs the shallow network, bounds for every named
grid partition and random ones, Theorem 1 of Cohen & Shashua beside the min-cut, validated ranks where feasible.

Run ``python benchmarks/geometry.py [--quick] [--out DIR]``. Writes ``geometry.json``, ``geometry.md`` and two
figures: ``geometry_partitions.png`` (the partitions on the image) and ``geometry_bounds.png`` (log2 bound vs width).
Networks: ``builders.deep_convac(grid=(S, S), M=2, widths=r, pooling=square|mirror)`` (one width r at every level)
and the shallow ConvAC (CP, Z = r components) on the same grid. Ranks: dense SVD at 4 x 4, the gram route where the
bound is at most ``--validate-max`` (float ranks, reported with their spectral gap).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np

import builders
from analysis import draw_partitions, make_partition, mincut, pooling_bounds, validate
from analysis.measures import schmidt_rank
from analysis.partitions import GRID_PARTITIONS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

SIZES = (4, 8, 16, 32)
WIDTHS = tuple(range(2, 9))
ARCHS = ("square", "mirror", "shallow")
N_RANDOM = 100
VALIDATE_MAX = 256  # largest bound whose rank the gram route computes (beyond 4 x 4)
GAP_OK = 1e3       # a float rank counts as decided when its spectral gap is at least this
NAMED = GRID_PARTITIONS


def network(side, arch, r):
    if arch == "shallow":
        return builders.convac(builders.ModeTree.flat(side * side), M=2, widths=r, grid=(side, side))
    return builders.deep_convac(grid=(side, side), M=2, widths=r, pooling=arch)


def dense_ranks(net):
    """``part -> (rank, gap)`` from one dense tensor (a path search per axis order would dominate the run)."""
    T = net.to_dense()[..., 0]

    def rank(part):
        rows = sorted(part.A)
        cols = [i for i in range(T.ndim) if i not in rows]
        matrix = np.transpose(T, rows + cols).reshape(2 ** len(rows), -1)
        rank, gap, _ = schmidt_rank(np.linalg.svd(matrix, compute_uv=False))
        return rank, gap
    return rank


def rank_row(net, part, result, dense, validate_max):
    """Float rank (dense at 4 x 4, gram when the bound is small), or Nones."""
    if dense is not None:
        (rank, gap), method = dense(part), "dense"
    elif result.bound <= validate_max:
        row = validate(net, [part], spectrum_method="gram")[0]
        rank, gap, method = row.rank, row.gap, "gram"
    else:
        return {"rank": None, "gap": None, "verdict": None, "rank_method": None}
    # a float rank below the bound proves nothing (round-off: e.g. CP components 1e-10 apart in scale at N = 1024)
    decided = gap is not None and gap >= GAP_OK
    verdict = ("tight" if rank == result.bound else "float rank < bound") if decided else "undetermined"
    return {"rank": rank, "gap": gap, "verdict": verdict, "rank_method": method}


def case(side, arch, r, n_random, validate_max):
    """Named rows (one per partition) and one aggregate row over the random partitions."""
    net = network(side, arch, r)
    dense = dense_ranks(net) if side == 4 else None
    base = {"grid": f"{side}x{side}", "N": side * side, "arch": arch, "r": r}
    named, checks = [], {"sandwich_violations": 0, "rank_violations": 0, "queries": 0}
    randoms = []
    for spec in list(NAMED) + [f"random:{s}" for s in range(n_random)]:
        part = make_partition(net, spec)
        start = time.perf_counter()
        result = mincut(net, part)
        seconds = time.perf_counter() - start
        pb = pooling_bounds(net, part, result)
        checks["queries"] += 1
        checks["sandwich_violations"] += not pb.lower <= result.bound <= pb.upper
        row = {**base, "partition": part.name, "S": pb.S, "log2_lower": _log2(pb.lower),
               "log2_bound": result.log2_bound, "log2_upper": _log2(pb.upper), "bound": result.bound,
               "seconds": seconds}
        if spec in NAMED or side == 4:
            row.update(rank_row(net, part, result, dense, validate_max))
            checks["rank_violations"] += row["rank"] is not None and row["rank"] > result.bound
        (named if spec in NAMED else randoms).append(row)
    logs = [row["log2_bound"] for row in randoms]
    ranked = [row for row in randoms if row.get("verdict")]
    agg = {**base, "partition": f"{n_random} random", "log2_bound_min": min(logs, default=None),
           "log2_bound_mean": sum(logs) / len(logs) if logs else None, "log2_bound_max": max(logs, default=None),
           "theorem1_exact": sum(row["log2_lower"] == row["log2_upper"] for row in randoms),
           "tight": sum(row["verdict"] == "tight" for row in ranked), "ranked": len(ranked), **checks}
    return named, agg, net


def _log2(x):
    return x.bit_length() - 1 if x & (x - 1) == 0 else float(f"{math.log2(x):.6g}")


def _cell(row):
    return f"{_fmt(row['log2_bound'])} [{_fmt(row['log2_lower'])}, {_fmt(row['log2_upper'])}]"


def _fmt(x):
    return "" if x is None else (f"{x:.3g}" if isinstance(x, float) and not float(x).is_integer() else str(int(x)))


def tables(named, aggs):
    """Markdown: the named-partition table (log2 min-cut [Theorem 1 lower, upper]) and the validated ranks."""
    by = {(r["grid"], r["arch"], r["r"], r["partition"]): r for r in named}
    columns = ["grid", "arch", "r", *NAMED, "random: log2 bound min / mean / max", "Thm 1 exact (random)"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for agg in aggs:
        key = (agg["grid"], agg["arch"], agg["r"])
        cells = [_cell(by[key + (name,)]) for name in NAMED]
        spread = f"{_fmt(agg['log2_bound_min'])} / {_fmt(agg['log2_bound_mean'])} / {_fmt(agg['log2_bound_max'])}"
        lines.append("| " + " | ".join([agg["grid"], agg["arch"], str(agg["r"]), *cells, spread,
                                        f"{agg['theorem1_exact']}/{agg['queries'] - len(NAMED)}"]) + " |")
    ranked = [r for r in named if r.get("rank") is not None]
    rank_cols = ["grid", "arch", "r", "partition", "bound", "rank", "gap", "verdict", "rank_method"]
    rank_rows = [{**r, "bound": str(r["bound"])} for r in ranked]
    return "\n".join(lines) + "\n", common.markdown_table(rank_rows, rank_cols)


def figures(out_dir, named, aggs, sizes, widths):
    plt = common.pyplot()
    if plt is None:
        return []
    paths = []
    net = network(8, "square", 4)
    fig = draw_partitions(net, list(NAMED) + ["random:0"], ncols=4, windows=True)
    fig.suptitle("8 x 8 image, square 2 x 2 pooling, r = 4, M = 2: the partitions (red: split level-1 windows)",
                 fontsize=9)
    path = Path(out_dir) / "geometry_partitions.png"
    fig.savefig(path, dpi=110)  # its own constrained layout (save_figure's tight_layout would undo it)
    plt.close(fig)
    paths.append(path)
    side = max(sizes)
    styles = dict(zip(NAMED, [("o", "-", 7), ("s", "--", 6), ("^", "-", 7), ("D", "-", 4), ("v", ":", 7),
                              ("x", "-.", 7), ("+", (0, (1, 3)), 9)]))
    fig, axes = plt.subplots(1, len(ARCHS), figsize=(4.4 * len(ARCHS), 4.0), sharey=True)
    for ax, arch in zip(axes, ARCHS):
        mine = [r for r in named if r["arch"] == arch and r["N"] == side * side]
        for name in NAMED:
            rows = sorted((r for r in mine if r["partition"] == name), key=lambda r: r["r"])
            marker, ls, ms = styles[name]
            ax.plot([r["r"] for r in rows], [r["log2_bound"] for r in rows], marker=marker, ls=ls, ms=ms, lw=1.2,
                    mfc="none", label=name)
            if name == "checkerboard" and arch != "shallow":
                ax.fill_between([r["r"] for r in rows], [r["log2_lower"] for r in rows],
                                [r["log2_upper"] for r in rows], alpha=0.18, color="tab:green",
                                label="Theorem 1 [lower, upper], checkerboard")
        spread = sorted((a for a in aggs if a["arch"] == arch and a["N"] == side * side), key=lambda a: a["r"])
        ax.plot([a["r"] for a in spread], [a["log2_bound_mean"] for a in spread], color="black", lw=2, alpha=0.6,
                label=f"{spread[0]['partition']}: mean (band: min-max)" if spread else None)
        ax.fill_between([a["r"] for a in spread], [a["log2_bound_min"] for a in spread],
                        [a["log2_bound_max"] for a in spread], color="black", alpha=0.1)
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:g}"))
        ax.set_title(f"{arch} pooling ({side} x {side}, M = 2)" if arch != "shallow" else
                     f"shallow, CP with Z = r ({side} x {side})", fontsize=9)
        ax.set_xlabel("width r (every level)")
        ax.set_xticks(list(widths))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("log2 of the min-cut bound (log scale)")
    handles, labels = axes[0].get_legend_handles_labels()  # the square panel has every kind of mark
    axes[-1].legend(handles, labels, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    paths.append(common.save_figure(fig, Path(out_dir) / "geometry_bounds.png"))
    return paths


def main(quick=False, out_dir=None, sizes=None, widths=None, n_random=None, validate_max=VALIDATE_MAX,
         verbose=True, plots=True):
    sizes = sizes or ((4, 8) if quick else SIZES)
    widths = widths or ((2, 4) if quick else WIDTHS)
    n_random = N_RANDOM if n_random is None else n_random
    if quick and n_random == N_RANDOM:
        n_random = 10
    named, aggs = [], []
    start = time.perf_counter()
    for side in sizes:
        for arch in ARCHS:
            for r in widths:
                rows, agg, _ = case(side, arch, r, n_random, validate_max)
                named += rows
                aggs.append(agg)
                if verbose:
                    print(f"{side}x{side} {arch:7s} r={r}: " + ", ".join(f"{x['partition']} {_fmt(x['log2_bound'])}"
                                                                        for x in rows), flush=True)
    seconds = time.perf_counter() - start
    checks = {"queries": sum(a["queries"] for a in aggs),
              "sandwich_violations": sum(a["sandwich_violations"] for a in aggs),
              "rank_violations": sum(a["rank_violations"] for a in aggs), "seconds": seconds}
    named_table, rank_table = tables(named, aggs)
    notes = (f"Cells: log2 min-cut bound [Theorem 1 lower, upper] (log2). {checks['queries']} partitions in "
             f"{seconds:.0f} s; Theorem 1 lower <= min-cut <= upper violated {checks['sandwich_violations']} times; "
             f"rank > bound {checks['rank_violations']} times. Shallow = CP with Z = r (its 'Theorem 1' columns are "
             "the same recursion on the flat tree).\n\n" + named_table +
             "\n## Validated ranks (float: dense SVD at 4 x 4, gram route where the bound <= "
             f"{validate_max}; verdict 'tight' needs a spectral gap >= {GAP_OK:g}; a float rank below the bound is not a "
             "proof of a gap: only exact ranks (theory §10) could show one)\n\n" + rank_table)
    out = Path(out_dir) if out_dir is not None else common.RESULTS
    common.write_results("geometry", named, ["grid", "arch", "r", "partition", "log2_bound"],
                         title="Pooling geometry on images: square vs mirror vs shallow", out_dir=out,
                         extra={"random": aggs, "checks": checks})
    (out / "geometry.md").write_text("# Pooling geometry on images: square vs mirror vs shallow\n\n" + notes)
    if plots:
        figures(out, named, aggs, sizes, widths)
    return named, aggs, checks


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 x 4 and 8 x 8, widths 2 and 4, 10 random partitions")
    p.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    p.add_argument("--random", type=int, default=None, help=f"random partitions per case (default {N_RANDOM})")
    p.add_argument("--validate-max", type=int, default=VALIDATE_MAX, help="largest bound validated beyond 4 x 4")
    a = p.parse_args()
    _, _, result = main(quick=a.quick, out_dir=a.out, n_random=a.random, validate_max=a.validate_max)
    print(result)
