"""Peak memory of every guarded route vs the estimate the memory guard uses.

Each case runs in a fresh subprocess (``python benchmarks/memory.py --child '<json>'``): build the
network, compile what the route compiles on a small call, then measure one call of the route two ways:

- ``tracemalloc``: numpy reports its buffers to tracemalloc, so ``peak - current`` around the call is
  the extra memory numpy allocated (BLAS / LAPACK workspaces, which numpy's linalg mallocs itself,
  excluded);
- ``RSS``: ``ru_maxrss`` after the call minus the resident size just before it (sees LAPACK's
  workspace; glibc may keep pages or not, and a process whose earlier peak was higher hides it, so it is
  the coarser of the two).

Both exclude what exists before the call; the estimate counts some of that (the inputs), so those are
added back. Routes and the estimate each is checked against:

- ``contract`` / ``to_dense``: ``net.cost(...).peak_memory_bytes`` (what ``tn.memory.check`` refuses on);
  inputs counted: the arrays;
- ``evaluate`` tree: ``TreePlan.cost(B)`` (features + every pooled buffer); einsum: the fed network's path
  cost (features and weights counted);
- ``gradients``: ``tn.gradients.peak_bytes`` (every forward intermediate, the backward pass's worst moment,
  the gradients); inputs: the arrays;
- ``dense spectrum``: the larger of the contraction's peak and ``analysis.spectrum.dense_svd_bytes`` (the
  tensor, LAPACK's copy, gesdd's workspace); inputs: the arrays;
- ``gram spectrum``: ``analysis.spectrum.gram_bytes`` (each side's compressed factors, a step's result and
  its QR workspace, or a sum's block Gram matrix and its eigendecomposition; both factors and the SVD of
  their product); nothing counted (the route reads the arrays in place);
- ``load``: the array bytes the file declares, its JSON and the read buffers (what ``tn.load`` checks);
  nothing counted.

ratio = measured (extra + counted inputs) / estimate; target <= 1.5 on both measures (``check`` uses the
larger ratio when the RSS reading is trustworthy, else tracemalloc's).

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

from benchmarks import common

COLUMNS = ["route", "case", "estimate_MiB", "measured_tracemalloc_MiB", "ratio_tracemalloc", "measured_rss_MiB",
           "ratio_rss", "check", "note"]
MiB = 2**20


def _build(case):
    import builders
    kind = case["builder"]
    if kind == "deep_linear":
        return builders.deep_linear((case["D"],) * (case["depth"] + 1), init="gaussian")
    N, M, r = case["N"], case["M"], case["r"]
    if kind == "mixed":  # a sum of networks (theory §6): the gram route's block Gram matrix
        return builders.mixed(builders.ModeTree.balanced(N), builders.ModeTree.interleaved(N), M, r)
    return {"deep_convac": builders.deep_convac, "shallow_convac": builders.shallow_convac,
            "dilated_convnet": builders.dilated_convnet}[kind](N, M, r)


def _current_rss():
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _features(case):
    import numpy as np
    x = np.random.default_rng(0).standard_normal((case["N"], case["B"], case["M"]))
    return x / np.sqrt(np.einsum("nbm,nbm->nb", x, x))[..., None]


def _prepare(case, tmp):
    """``(run, estimate bytes, counted input bytes, check)``: the call to measure, after a warm-up."""
    import numpy as np

    import tn
    from tn.netsum import terms_of
    net = _build(case)
    arrays = sum(a.nbytes for term in terms_of(net) for a in term.arrays())
    route = case["route"]
    if route == "evaluate":
        x = _features(case)
        kwargs = {"method": "tree"} if case["method"] == "tree" else {"method": "einsum", "optimize": "natural"}
        ref = net.evaluate(x[:, :4], method="tree")
        net.evaluate(x[:, :1], **kwargs)
        est = net.evaluate_cost(case["B"], dtype=x.dtype, **kwargs).peak_memory_bytes
        counted = x.nbytes + (arrays if case["method"] != "tree" else 0)
        return (lambda: net.evaluate(x, **kwargs)), est, counted, \
            (lambda y: float(np.linalg.norm(y[:4] - ref) / np.linalg.norm(ref)))
    if route in ("contract", "to_dense"):
        output = () if route == "contract" else None
        net.cost(output=output)
        est = net.cost(output=output).peak_memory_bytes
        return (lambda: net.contract(output=output)), est, arrays, None
    if route == "gradients":
        tn.gradients.environments(net)
        return (lambda: tn.gradients.environments(net)), tn.gradients.peak_bytes(net), arrays, None
    if route == "dense spectrum":
        import math

        from analysis.spectrum import dense_svd_bytes, project, schmidt_spectrum
        A = list(range(case["N"] // 2))
        B = [i for i in range(case["N"]) if i not in A]
        proj = project(net, {"y": 0})
        rows, cols = math.prod(net.size(i) for i in A), math.prod(net.size(i) for i in B)
        est = max(proj.cost(output=A + B).peak_memory_bytes, dense_svd_bytes(rows, cols, net.dtype))
        small = _build(dict(case, N=4))
        schmidt_spectrum(small, [0, 1], method="dense")  # imports and code paths, on a tiny heap
        return (lambda: schmidt_spectrum(net, A, method="dense")), est, arrays, None
    if route == "gram spectrum":
        from analysis.partitions import make_partition
        from analysis.spectrum import gram_bytes, project, schmidt_spectrum
        part = make_partition(net, case["partition"])
        est = gram_bytes(project(net, {"y": 0}), part)
        schmidt_spectrum(_build(dict(case, N=4, M=2)), case["partition"], method="gram")  # code paths, tiny heap
        return (lambda: schmidt_spectrum(net, case["partition"], method="gram")), est, 0, None
    if route == "load":
        import zipfile
        path = Path(tmp) / "case.tnet"
        net.save(path)
        from tn.io import _CHUNK
        with zipfile.ZipFile(path) as zf:
            est = arrays + zf.getinfo("network.json").file_size + 2 * _CHUNK
        tn.load(path)
        return (lambda: tn.load(path)), est, 0, None
    raise ValueError(route)


def child(case):
    """Measure one case in this (fresh) process; returns a dict."""
    import gc
    import resource
    import tempfile
    import tracemalloc

    with tempfile.TemporaryDirectory() as tmp:
        run, est, counted, check = _prepare(case, tmp)
        gc.collect()
        tracemalloc.start()
        rss_before = _current_rss()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        cur_before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        start = time.perf_counter()
        y = run()
        seconds = time.perf_counter() - start
        traced_peak = tracemalloc.get_traced_memory()[1] - cur_before
        tracemalloc.stop()
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"estimate_bytes": est, "counted_inputs_bytes": counted, "traced_extra_bytes": traced_peak,
            "rss_extra_bytes": max(maxrss_after - rss_before, 0), "rss_baseline_was_peak": maxrss_before > rss_before,
            "seconds": seconds, "rel_err": check(y) if check else 0.0}


def run_case(case, timeout=300):
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(case)],
                          check=False, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(case) -> str:
    if case["builder"] == "deep_linear":
        return f"deep_linear {case['depth']} x ({case['D']} x {case['D']})"
    batch = f", B={case['B']}" if "B" in case else ""
    part = f", {case['partition']}" if "partition" in case else ""
    return f"{case['builder']} N={case['N']}, M={case['M']}, r={case['r']}{batch}{part}"


def row_of(case, res):
    est = res["estimate_bytes"]
    traced = res["traced_extra_bytes"] + res["counted_inputs_bytes"]
    rss = res["rss_extra_bytes"] + res["counted_inputs_bytes"]
    ok = res["rel_err"] <= 1e-8
    trusted = not res["rss_baseline_was_peak"]
    worst = max(traced, rss) if trusted else traced
    route = case["route"] + (f" ({case['method']})" if case["route"] == "evaluate" else "")
    return {"route": route, "case": describe(case), **case,
            "estimate_MiB": est / MiB, "measured_tracemalloc_MiB": traced / MiB, "ratio_tracemalloc": traced / est,
            "measured_rss_MiB": rss / MiB, "ratio_rss": rss / est,
            "check": ("pass" if worst / est <= 1.5 else "OVER 1.5x") + ("" if ok else " / numeric FAIL"),
            "note": "" if trusted else "an earlier, higher peak skews the RSS delta: check uses tracemalloc", **res}


def default_cases(quick):
    M, r, B = 16, 32, (256 if quick else 1024)
    sizes = (16, 64) if quick else (64, 256, 1024)
    out = [{"route": "evaluate", "builder": "deep_convac", "N": N, "B": B, "M": M, "r": r, "method": "tree"}
           for N in sizes]
    out += [{"route": "evaluate", "builder": b, "N": sizes[-1] if quick else 256, "B": B, "M": M, "r": r,
             "method": "tree"} for b in ("shallow_convac", "dilated_convnet")]
    out += [{"route": "evaluate", "builder": "deep_convac", "N": N, "B": B, "M": M, "r": r, "method": "einsum"}
            for N in (sizes if quick else sizes[:2])]
    D = 256 if quick else 1024
    out += [{"route": route, "builder": "deep_linear", "D": D, "depth": 4} for route in ("contract", "gradients", "load")]
    out += [{"route": route, "builder": "deep_convac", "N": 8, "M": 4 if quick else 6, "r": 8} for route in
            ("to_dense", "dense spectrum")]
    # cut dimension M^4 on odd-even (256, 1296); a mixed decomposition: its 4 terms' cuts add up, block Gram matrices
    out += [{"route": "gram spectrum", "builder": b, "N": 8, "M": m, "r": 8, "partition": "odd-even"}
            for b, m in (("deep_convac", 4 if quick else 6), ("mixed", 4 if quick else 5))]
    return out


def main(argv=None, out_dir=None, cases=None, verbose=True):
    """Run every case in a fresh subprocess; returns the rows."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small cases (seconds)")
    ap.add_argument("--out", default=None, help="directory for memory.json / memory.md (default benchmarks/results)")
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
    notes = ("Peak memory of one call of each guarded route (float64), each case in a fresh subprocess. measured = "
             "extra memory during the call (tracemalloc peak - current; RSS: ru_maxrss after - RSS before) + the "
             "inputs the estimate counts. estimate = what the memory guard checks (module docstring of "
             "benchmarks/memory.py). Target ratio measured/estimate <= 1.5 on both measures; tracemalloc does not "
             "see LAPACK's workspace (numpy's linalg mallocs it), RSS does. "
             f"Total run {time.perf_counter() - start:.0f} s.")
    table = common.write_results("memory", rows, COLUMNS, "Peak memory of every guarded route vs the guard's estimate",
                                 notes, out_dir=out_dir)
    if verbose:
        print(table)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
