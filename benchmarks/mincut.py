"""Min-cut queries per second vs N (tree DP, batched DP, each networkx flow function) and Schmidt
spectrum time (gram vs dense) vs N, measured side by side in one run.

Writes benchmarks/results/mincut.json and mincut.md. Run: python benchmarks/mincut.py [--quick] [--out DIR]
Networks: balanced deep ConvACs (builders.deep_convac, M=2, widths 4); queries: random balanced partitions.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import builders
from analysis import FLOW_FUNCS, mincut, mincut_batch
from analysis.spectrum import schmidt_spectrum

RESULTS = Path(__file__).parent / "results"
SIZES = (64, 256, 1024, 4096)
FLOW_BUDGET = 20.0  # seconds per (N, flow function)
SKIP_ABOVE = 20.0  # skip a flow function when its last time x (growth in N)^2 predicts more seconds per query


def per_query(fn, queries, budget):
    """Mean seconds per query over the queries answered within ``budget`` (at least one)."""
    start, done = time.perf_counter(), 0
    for q in queries:
        fn(q)
        done += 1
        if time.perf_counter() - start > budget:
            break
    return (time.perf_counter() - start) / done, done


def cut_rows(sizes=SIZES, budget=FLOW_BUDGET):
    rows, last = [], {}
    for N in sizes:
        net = builders.deep_convac(N, M=2, widths=4)
        queries = [f"random:{s}" for s in range(20)]
        mincut(net, queries[0])  # compile the cut graph and tree once (cached by structure)
        bounds = {q: mincut(net, q, method="tree").bound for q in queries}
        row = {"N": N, "tensors": len(net.tensor_names)}
        row["tree_dp_s"], _ = per_query(lambda q: mincut(net, q, method="tree"), queries, 5.0)
        for name in FLOW_FUNCS:
            if name != "preflow_push" and name in last and last[name][1] * (N / last[name][0]) ** 2 > SKIP_ABOVE:
                row[f"{name}_s"], row[f"{name}_queries"] = None, 0
                continue
            sec, done = per_query(lambda q: _checked(net, q, name, bounds), queries[:5], budget)
            row[f"{name}_s"], row[f"{name}_queries"] = sec, done
            last[name] = (N, sec)
        X = np.random.default_rng(0).random((4000, N)) < 0.5
        mincut_batch(net, X[:10])
        start = time.perf_counter()
        mincut_batch(net, X)
        row["batched_dp_s"] = (time.perf_counter() - start) / len(X)
        row["dp_speedup_vs_preflow_push"] = row["preflow_push_s"] / row["tree_dp_s"]
        row["batched_queries_per_s"] = 1 / row["batched_dp_s"]
        rows.append(row)
        print({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return rows


def _checked(net, q, name, bounds):
    r = mincut(net, q, method="flow", flow_func=name)
    assert r.bound == bounds[q], (q, name, r.bound, bounds[q])


def spectrum_rows(sizes=(4, 8, 16, 256, 1024)):
    rows = []
    for N in sizes:
        net = builders.deep_convac(N, M=2, widths=4)
        row = {"N": N}
        for method in ("gram", "dense"):
            if method == "dense" and N > 16:
                row["dense_s"] = None
                continue
            schmidt_spectrum(net, "left-right", method=method)
            start = time.perf_counter()
            s = schmidt_spectrum(net, "left-right", method=method)
            row[f"{method}_s"] = time.perf_counter() - start
            row[f"{method}_top"] = float(s[0])
        row["dense_over_gram"] = row["dense_s"] / row["gram_s"] if row["dense_s"] else None
        rows.append(row)
        print(row, flush=True)
    return rows


def markdown(cuts, spectra) -> str:
    flows = list(FLOW_FUNCS)
    lines = ["# Min-cut queries vs N (balanced deep ConvAC, M=2, widths 4, random balanced partitions)", "",
             "Queries per second; every flow answer is checked equal to the DP bound. "
             "`DP/preflow` = preflow_push seconds per query / tree-DP seconds per query (tree DP = the full "
             "`mincut(..., method='tree')` call with its exact re-checks). `skipped`: predicted > "
             f"{SKIP_ABOVE:.0f} s per query from the previous N.", "",
             "| N | tensors | tree DP | batched DP | " + " | ".join(flows) + " | DP/preflow | batched/DP |",
             "|---|---|---|---|" + "---|" * len(flows) + "---|---|"]
    for r in cuts:
        lines.append(f"| {r['N']} | {r['tensors']} | {1 / r['tree_dp_s']:,.0f} | {r['batched_queries_per_s']:,.0f} | "
                     + " | ".join(f"{1 / r[f + '_s']:,.2f}" if r[f + "_s"] else "skipped" for f in flows)
                     + f" | {r['dp_speedup_vs_preflow_push']:,.0f}x | {r['tree_dp_s'] / r['batched_dp_s']:,.1f}x |")
    lines += ["", "# Schmidt spectrum time vs N (left-right partition)", "",
              "| N | gram (s) | dense (s) | dense/gram |", "|---|---|---|---|"]
    for r in spectra:
        dense = f"{r['dense_s']:.4f}" if r["dense_s"] else "n/a (2^N entries)"
        ratio = f"{r['dense_over_gram']:.1f}x" if r["dense_over_gram"] else "-"
        lines.append(f"| {r['N']} | {r['gram_s']:.4f} | {dense} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N in {16, 64}, 0.2 s per flow function")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else RESULTS
    start = time.perf_counter()
    if args.quick:
        cuts, spectra = cut_rows((16, 64), 0.2), spectrum_rows((4, 8, 64))
    else:
        cuts, spectra = cut_rows(), spectrum_rows()
    out.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "seconds": time.perf_counter() - start,
            "quick": args.quick}
    (out / "mincut.json").write_text(json.dumps({"meta": meta, "mincut": cuts, "spectrum": spectra}, indent=1))
    (out / "mincut.md").write_text(markdown(cuts, spectra))
    print(markdown(cuts, spectra))


if __name__ == "__main__":
    main(sys.argv[1:])
