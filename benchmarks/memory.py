"""Peak memory of a forward pass vs the engine's own estimate.

Each case runs in a fresh subprocess (``python benchmarks/memory.py --child '<json>'``): build the
network and the features (N, B, M), compile the plan on a batch of 1, then measure one forward pass
of batch B two ways:

- ``tracemalloc``: numpy reports its buffers to tracemalloc, so ``peak - current`` around the call is
  exactly the extra memory numpy allocated during the pass (BLAS workspaces excluded);
- ``RSS``: ``ru_maxrss`` after the call minus the resident size just before it (glibc may keep pages
  or not, so this is the coarser of the two; reported for reference).

Both exclude the inputs, which exist before the call; the engine's estimate includes the inputs it
counts, so those are added back: the tree executor's estimate
(``tn.treeexec.tree_plan(net, legs).cost(B).peak_memory_bytes``) counts the feature array; the einsum
estimate (``fed.cost(optimize=...).peak_memory_bytes``, the path evaluate uses) counts every operand,
weights and features. ratio = measured peak (extra + counted inputs) / estimate; target <= 1.5.

Run: ``python benchmarks/memory.py`` (~1 min) or ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

COLUMNS = ["builder", "N", "B", "method", "estimate_MiB", "measured_tracemalloc_MiB", "ratio_tracemalloc",
           "measured_rss_MiB", "ratio_rss", "check", "note"]
MiB = 2**20


def _build(case):
    import builders
    kind, N, M, r = case["builder"], case["N"], case["M"], case["r"]
    if kind == "deep_convac":
        return builders.deep_convac(N, M, r)
    if kind == "shallow_convac":
        return builders.shallow_convac(N, M, r)
    if kind == "dilated_convnet":
        return builders.dilated_convnet(N, M, r)
    raise ValueError(kind)


def _current_rss():
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(case):
    """Measure one case in this (fresh) process; returns a dict."""
    import gc
    import resource
    import tracemalloc

    import numpy as np

    net = _build(case)
    N, B, M = case["N"], case["B"], case["M"]
    x = np.random.default_rng(0).standard_normal((N, B, M))
    x /= np.sqrt(np.einsum("nbm,nbm->nb", x, x))[..., None]
    method = case["method"]
    kwargs = {"method": method} if method == "tree" else {"method": "einsum", "optimize": "natural"}
    ref = net.evaluate(x[:, :4], method="tree")  # compile the plan; a reference for the check
    net.evaluate(x[:, :1], **kwargs)
    est = net.evaluate_cost(B, dtype=x.dtype, **kwargs)
    counted_inputs = x.nbytes  # the estimate counts the features (held by the caller) ...
    if method != "tree":
        counted_inputs += sum(a.nbytes for a in net.arrays())  # ... and, on the einsum path, every operand
    gc.collect()
    tracemalloc.start()
    rss_before = _current_rss()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cur_before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    start = time.perf_counter()
    y = net.evaluate(x, **kwargs)
    seconds = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1] - cur_before
    tracemalloc.stop()
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    err = float(np.linalg.norm(y[:4] - ref) / np.linalg.norm(ref))
    return {"estimate_bytes": est.peak_memory_bytes, "counted_inputs_bytes": counted_inputs,
            "traced_extra_bytes": traced_peak, "rss_extra_bytes": max(maxrss_after - rss_before, 0),
            "rss_baseline_was_peak": maxrss_before > rss_before, "seconds": seconds, "rel_err": err,
            "largest_intermediate_bytes": est.largest_intermediate_bytes}


def run_case(case, timeout=300):
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(case)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row_of(case, res):
    est = res["estimate_bytes"]
    traced = res["traced_extra_bytes"] + res["counted_inputs_bytes"]
    rss = res["rss_extra_bytes"] + res["counted_inputs_bytes"]
    ok = res["rel_err"] <= 1e-8
    note = "ru_maxrss before the call exceeded the current RSS: RSS delta may be low" \
        if res["rss_baseline_was_peak"] else ""
    return {"builder": case["builder"], "N": case["N"], "B": case["B"], "M": case["M"], "r": case["r"],
            "method": case["method"] if case["method"] == "tree" else "einsum (natural path)",
            "estimate_MiB": est / MiB, "measured_tracemalloc_MiB": traced / MiB, "ratio_tracemalloc": traced / est,
            "measured_rss_MiB": rss / MiB, "ratio_rss": rss / est,
            "check": ("pass" if traced / est <= 1.5 else "OVER 1.5x") + ("" if ok else " / numeric FAIL"),
            "note": note, **res}


def default_cases(quick):
    M, r, B = 16, 32, (256 if quick else 1024)
    sizes = (16, 64) if quick else (64, 256, 1024)
    out = [{"builder": "deep_convac", "N": N, "B": B, "M": M, "r": r, "method": "tree"} for N in sizes]
    out += [{"builder": b, "N": sizes[-1] if quick else 256, "B": B, "M": M, "r": r, "method": "tree"}
            for b in ("shallow_convac", "dilated_convnet")]
    out += [{"builder": "deep_convac", "N": N, "B": B, "M": M, "r": r, "method": "einsum"}
            for N in (sizes if quick else sizes[:2])]
    return out


def main(argv=None, out_dir=None, cases=None, verbose=True):
    """Run every case in a fresh subprocess; returns the rows."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv if argv is not None else [])
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return None
    out_dir = out_dir if out_dir is not None else args.out
    cases = cases or default_cases(args.quick)
    rows = []
    start = time.perf_counter()
    for case in cases:
        rows.append(row_of(case, run_case(case)))
        if verbose:
            print({k: common.fmt(rows[-1].get(k)) for k in COLUMNS}, flush=True)
    notes = ("Peak memory of one forward pass (float64, features (N, B, M) with unit-norm rows), each case in a "
             "fresh subprocess. measured = extra memory during the call (tracemalloc peak - current; RSS: "
             "ru_maxrss after - RSS before) + the inputs the estimate counts (tree: the features; einsum: features "
             "and weights). estimate = the engine's peak_memory_bytes (tree executor: TreePlan.cost(B); einsum: "
             "the cost of the natural path evaluate uses). Target ratio measured/estimate <= 1.5 (check column "
             f"uses tracemalloc). Total run {time.perf_counter() - start:.0f} s.")
    table = common.write_results("memory", rows, COLUMNS, "Forward-pass peak memory vs the engine's estimate", notes,
                                 out_dir=out_dir)
    if verbose:
        print(table)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
