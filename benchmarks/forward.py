"""Batched forward pass of a deep ConvAC: our engine vs a hand-written numpy forward vs every peer.

Network: ``builders.deep_convac(N, M, r)`` (balanced binary tree, contiguous pooling, one class),
features ``x`` of shape (N, B, M) with unit-norm rows (the builders calibrate weights for those, so
values stay finite at any N). Every method computes the (B, 1) scores; every result is checked
against the numpy forward (relative Frobenius error <= 1e-8) and the check is recorded.

Methods (side by side in one run, per N):

- ``numpy layer-by-layer``: written here, independently of the engine: weights stacked per tree level
  outside the timed region, then per level one batched ``np.matmul`` and one elementwise product of
  sibling rows (``h[0::2] * h[1::2]``), each allocating its result: ``ratio_vs_numpy``'s reference. At
  large N its fresh allocations page-fault on every call, so beating it measures the allocator.
- ``numpy preallocated buffers``: the same forward writing into buffers allocated once
  (``np.matmul(..., out=)``, ``np.multiply(..., out=)``): the honest reference, ``ratio_vs_prealloc``.
- float32 rows: the network built with ``dtype=np.float32`` and float32 features, the engine and both
  numpy references in float32, checked against the float64 forward of the same weights (rel <= 1e-4).
- ``ours evaluate (auto -> tree)``: ``net.evaluate(x)``, i.e. the level-batched tree executor.
- ``ours evaluate einsum (natural path)``: ``net.evaluate(x, method="einsum", optimize="natural")``.
- ``opt_einsum greedy`` / ``opt_einsum auto-hq``: path search on the network with the features attached
  (batch index = a hyperedge over all feature tensors), timed separately; contraction through
  ``opt_einsum.contract_expression`` compiled outside the timed region.
- ``cotengra HyperOptimizer``: same, path from ``cotengra.HyperOptimizer(max_time=...)``.
- ``quimb contract (default)``: ``net.to_quimb()`` plus feature tensors, ``TensorNetwork.contract()``
  with quimb's default strategy; its first call (search + contract) and steady calls (cached path).
- ``tensornetwork greedy (batched)``: google tensornetwork has no hyperedges; the batch index becomes a
  CopyNode of rank N+1 and dimension B, densified (B^(N+1) elements) when contracted: cannot run.
- ``tensornetwork greedy, per-sample loop``: the honest alternative: B=1 contractions (no batch
  CopyNode), ``contractors.greedy`` (= ``contractors.auto`` above 16 nodes), timed on a few samples
  and scaled to B.

Before running a path of a peer, its exact cost is replayed (``tn.cost.path_cost``); a path whose
largest intermediate exceeds ``RUN_LIMIT_ELEMENTS`` or whose FLOPs exceed ``RUN_LIMIT_FLOPS`` is not run
and the row says why.

Run: ``python benchmarks/forward.py`` (full, ~6 min) or ``python benchmarks/forward.py --quick``.
"""

from __future__ import annotations

import argparse
import math
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

RUN_LIMIT_ELEMENTS = 2**27   # 1 GiB of float64 for one intermediate
RUN_LIMIT_FLOPS = 2 * 10**11  # ~a minute per call on this machine
RTOL = 1e-8
RTOL32 = 1e-4

COLUMNS = ["N", "method", "dtype", "search_s", "contract_s", "ratio_vs_prealloc", "ratio_vs_numpy", "ratio_first_call",
           "flops",
           "largest_intermediate", "could_run", "check", "note"]


# ---------------------------------------------------------------------- the hand-written reference
def level_nodes(N, level):
    """Nodes of a balanced binary tree at ``level`` (1 = pairs), left to right: position ranges."""
    s = 1 << level
    return [tuple(range(k * s, (k + 1) * s)) for k in range(N // s)]


def stacked_weights(net, N):
    """Per level, the (n_nodes, d_in, d_out) stack of that level's conv matrices (leaves first)."""
    depth = N.bit_length() - 1
    stacks = [np.stack([net.data(("leaf", i)) for i in range(N)])]
    for level in range(1, depth + 1):
        stacks.append(np.stack([net.data(("node", v)) for v in level_nodes(N, level)]))
    return stacks


def numpy_forward(stacks, x):
    """x (N, B, M) -> (B, classes): a matmul per level, a product of sibling rows per pooling."""
    h = np.matmul(x, stacks[0])
    for w in stacks[1:]:
        h = np.matmul(h[0::2] * h[1::2], w)
    return h[0]


def prealloc_buffers(stacks, batch, dtype):
    """Per level, the (pooled input, output) buffers of :func:`numpy_forward_prealloc`, allocated once."""
    bufs = [(None, np.empty((len(stacks[0]), batch, stacks[0].shape[2]), dtype))]
    for w in stacks[1:]:
        bufs.append((np.empty((len(w), batch, w.shape[1]), dtype), np.empty((len(w), batch, w.shape[2]), dtype)))
    return bufs


def numpy_forward_prealloc(stacks, x, bufs):
    """:func:`numpy_forward` writing every level into ``bufs`` (no allocation per call)."""
    h = np.matmul(x, stacks[0], out=bufs[0][1])
    for w, (pooled, out) in zip(stacks[1:], bufs[1:]):
        np.multiply(h[0::2], h[1::2], out=pooled)
        h = np.matmul(pooled, w, out=out)
    return h[0]


def numpy_flops(stacks, batch):
    """Multiply-adds in the path_cost convention: matmul n*B*din*dout, product n*B*r."""
    flops = 0
    for k, w in enumerate(stacks):
        n, din, dout = w.shape
        if k:
            flops += n * batch * din  # the sibling product creating this level's input
        flops += n * batch * din * dout
    return flops


def rel_err(a, ref):
    a, ref = np.asarray(a).reshape(ref.shape), np.asarray(ref)
    return float(np.linalg.norm(a - ref) / np.linalg.norm(ref))


def features(N, batch, M, seed=0):
    x = np.random.default_rng(seed).standard_normal((N, batch, M))
    x /= np.linalg.norm(x, axis=2, keepdims=True)
    return x


# ---------------------------------------------------------------------- timing
def tune_malloc():
    """Keep freed heap memory for reuse (glibc): without this, a loop that frees and reallocates the same
    large arrays can page-fault on every call (the default mmap / trim thresholds), which made the numpy
    forward 3-4x slower than its compute at N=16 in one process and not in another: an allocator artifact,
    not a property of either method. Returns True if applied."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30))
    except (OSError, AttributeError):
        return False


def measure(fn, slow=1.0):
    """Best seconds per call: ``common.timeit`` for fast calls; best of 2 calls for slow ones (> ``slow`` s)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    if first > slow:
        start = time.perf_counter()
        fn()
        return min(first, time.perf_counter() - start)
    return common.timeit(fn, repeat=5)["best"]


def interleaved_best(fns, rounds=5):
    """Best time of each function over ``rounds`` alternating rounds (fair under machine noise)."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            best[k] = min(best[k], common.timeit(fn, repeat=3)["best"])
    return best


# ---------------------------------------------------------------------- the einsum problem
def fed_problem(net, batch):
    """(inputs, output, size_dict) of the network with one (batch, leg) feature tensor per input leg."""
    inputs, _, sizes = net.get_inputs_output_size_dict()
    legs = net.input_legs
    inputs = [tuple(t) for t in inputs] + [("batch", leg) for leg in legs]
    sizes = dict(sizes, batch=batch)
    return inputs, ("batch", "y"), sizes


def too_big(cost):
    """None if the path may run here, else the reason it is not run."""
    if cost.largest_intermediate > RUN_LIMIT_ELEMENTS:
        return f"could not run: largest intermediate 2^{cost.log(2)['largest_intermediate']:.1f} elements"
    if cost.flops > RUN_LIMIT_FLOPS:
        return f"not run: 2^{cost.log(2)['flops']:.1f} FLOPs (> {RUN_LIMIT_FLOPS:.0e} limit)"
    return None


def path_row(N, method, search_fn, problem, arrays, ref, base_time):
    """Search a path, replay its cost, and (if it fits) contract it with opt_einsum and time that."""
    import opt_einsum as oe
    inputs, output, sizes = problem
    eq, sym_in, sym_out, sym_sizes = common.symbolize(inputs, output, sizes)
    start = time.perf_counter()
    path = [tuple(s) for s in search_fn(sym_in, sym_out, sym_sizes)]
    search = time.perf_counter() - start
    cost = path_cost(inputs, output, sizes, path)
    row = {"N": N, "method": method, "search_s": search, "flops": cost.flops,
           "largest_intermediate": cost.largest_intermediate}
    reason = too_big(cost)
    if reason:
        return {**row, "could_run": False, "check": "n/a", "note": reason}
    shapes = [a.shape for a in arrays]
    expr = oe.contract_expression(eq, *shapes, optimize=path)
    out = expr(*arrays)
    err = rel_err(out, ref)
    t = measure(lambda: expr(*arrays))
    return {**row, "contract_s": t, "ratio_vs_numpy": base_time / t, "ratio_first_call": base_time / (search + t),
            "could_run": True, "rel_err": err, "check": "pass" if err <= RTOL else f"FAIL ({err:.2g})"}


def cotengra_search(max_time):
    import cotengra as ctg

    def search(inputs, output, sizes):
        opt = ctg.HyperOptimizer(max_time=max_time, max_repeats=10**6, parallel=False, progbar=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cotengra warns about int -> float overflow on these sizes
            return opt(list(inputs), output, sizes)
    return search


# ---------------------------------------------------------------------- peers with their own front ends
def quimb_row(N, net, x, ref, base_time):
    import quimb.tensor as qtn
    qnet, out = net.to_quimb()
    feats = [qtn.Tensor(x[i], inds=("batch", out[i])) for i in range(N)]
    full = qtn.TensorNetwork([*qnet.tensors, *feats], virtual=True)

    def run():
        return full.contract(output_inds=("batch", out[-1]))
    start = time.perf_counter()
    res = run()
    first = time.perf_counter() - start
    data = np.asarray(res.data if hasattr(res, "data") else res)
    err = rel_err(data, ref)
    t = measure(run)
    flops = largest = None
    try:  # the path quimb used, replayed with our exact cost
        tree = full.contraction_tree(output_inds=("batch", out[-1]))
        inputs = [tuple(t.inds) for t in full.tensors]
        cost = path_cost(inputs, ("batch", out[-1]), {i: full.ind_size(i) for i in full.ind_map}, tree.get_path())
        flops, largest = cost.flops, cost.largest_intermediate
    except Exception as exc:  # noqa: BLE001 - an API difference must not lose the timing
        print(f"quimb path replay failed: {exc!r}", file=sys.stderr)
    return {"N": N, "method": "quimb contract (default)", "search_s": max(first - t, 0.0), "contract_s": t,
            "flops": flops, "largest_intermediate": largest,
            "ratio_vs_numpy": base_time / t, "ratio_first_call": base_time / first, "could_run": True,
            "rel_err": err, "check": "pass" if err <= RTOL else f"FAIL ({err:.2g})",
            "note": "search_s = first call - steady call (quimb/cotengra cache the path)"}


def google_rows(N, net, x, ref, base_time, batch, budget_s=4.0, max_samples=32):
    import tensornetwork as gtn
    import opt_einsum as oe
    rows = [{"N": N, "method": "tensornetwork greedy (batched, CopyNodes)", "could_run": False, "check": "n/a",
             "largest_intermediate": f"2^{(N + 1) * math.log2(batch):.0f}",
             "note": f"could not run: the batch hyperedge is a CopyNode of rank N+1={N + 1}, dim B={batch}; "
                     f"densified it has 2^{(N + 1) * math.log2(batch):.0f} elements"}]
    seen = {}

    def guarded(inputs, output, sizes, memory_limit=None):
        path = oe.paths.greedy(inputs, output, sizes, memory_limit)
        cost = path_cost([tuple(s) for s in inputs], tuple(output), sizes, path)
        seen["cost"] = cost
        reason = too_big(cost)
        if reason:
            raise MemoryError(reason)
        return path

    times, errs, k = [], [], 0
    spent = time.perf_counter()
    while k < min(batch, max_samples) and (k < 2 or time.perf_counter() - spent < budget_s):
        nodes, out_edges = net.to_tensornetwork()
        extra = []
        for i in range(N):
            v = gtn.Node(x[i, k], name=f"x{i}")
            v[0] ^ out_edges[i]
            extra.append(v)
        start = time.perf_counter()
        try:
            res = gtn.contractors.custom(nodes + extra, guarded, output_edge_order=[out_edges[-1]])
        except MemoryError as exc:
            rows.append({"N": N, "method": "tensornetwork greedy, per-sample loop", "could_run": False,
                         "check": "n/a", "note": str(exc)})
            return rows
        times.append(time.perf_counter() - start)
        errs.append(abs(float(np.asarray(res.tensor).ravel()[0]) - ref[k, 0]))
        k += 1
    err = float(np.linalg.norm(errs) / np.linalg.norm(ref[:k]))
    per = float(np.median(times))
    cost = seen["cost"]
    t = per * batch
    rows.append({"N": N, "method": "tensornetwork greedy, per-sample loop", "search_s": None, "contract_s": t,
                 "ratio_vs_numpy": base_time / t, "ratio_first_call": base_time / t, "flops": cost.flops * batch,
                 "largest_intermediate": cost.largest_intermediate, "could_run": True, "rel_err": err,
                 "check": "pass" if err <= RTOL else f"FAIL ({err:.2g})",
                 "note": f"B=1 contractions (greedy path search included), median of {k} samples x B={batch}; "
                         "contractors.auto = greedy for > 16 nodes"})
    return rows


# ---------------------------------------------------------------------- one N
def run_n(N, batch, M, r, peers, ctg_time, log, google_budget=4.0):
    net = builders.deep_convac(N, M, r)
    x = features(N, batch, M)
    stacks = stacked_weights(net, N)
    ref = numpy_forward(stacks, x)
    legs = tuple(range(N))

    # ours: first calls (plan compile: tree schedule / einsum expression), cold cache
    tn.contraction.PLANS.clear()
    start = time.perf_counter()
    ours = net.evaluate(x)
    first_tree = time.perf_counter() - start
    start = time.perf_counter()
    ours_e = net.evaluate(x, method="einsum", optimize="natural")
    first_einsum = time.perf_counter() - start

    bufs = prealloc_buffers(stacks, batch, np.float64)
    t_np, t_pre, t_tree, t_einsum = interleaved_best([
        lambda: numpy_forward(stacks, x), lambda: numpy_forward_prealloc(stacks, x, bufs), lambda: net.evaluate(x),
        lambda: net.evaluate(x, method="einsum", optimize="natural")])
    plan_cost = net.evaluate_cost(batch)
    einsum_cost = net.evaluate_cost(batch, method="einsum", optimize="natural")
    np_flops = numpy_flops(stacks, batch)
    rows = [{"N": N, "method": "numpy layer-by-layer", "dtype": "float64", "search_s": 0.0, "contract_s": t_np,
             "ratio_vs_numpy": 1.0, "ratio_vs_prealloc": t_pre / t_np, "ratio_first_call": 1.0, "flops": np_flops,
             "largest_intermediate": N * batch * r, "could_run": True, "rel_err": 0.0, "check": "reference",
             "note": "weights stacked per level outside the timed region; allocates every level"},
            {"N": N, "method": "numpy preallocated buffers", "dtype": "float64", "search_s": 0.0, "contract_s": t_pre,
             "ratio_vs_numpy": t_np / t_pre, "ratio_vs_prealloc": 1.0, "ratio_first_call": t_np / t_pre,
             "flops": np_flops, "largest_intermediate": N * batch * r, "could_run": True,
             "rel_err": rel_err(numpy_forward_prealloc(stacks, x, bufs), ref), "check": "reference",
             "note": "the honest reference: buffers allocated once"}]
    for name, t, first, out, cost, note in (
            ("ours evaluate (auto -> tree)", t_tree, first_tree, ours, plan_cost,
             "no path search; search_s = one-time plan compile (cached by structure)"),
            ("ours evaluate einsum (natural path)", t_einsum, first_einsum, ours_e, einsum_cost,
             "no path search; search_s = one-time expression compile (cached)")):
        err = rel_err(out, ref)
        rows.append({"N": N, "method": name, "dtype": "float64", "search_s": max(first - t, 0.0), "contract_s": t,
                     "ratio_vs_numpy": t_np / t, "ratio_vs_prealloc": t_pre / t, "ratio_first_call": t_np / first,
                     "flops": cost.flops, "largest_intermediate": cost.largest_intermediate, "could_run": True,
                     "rel_err": err, "check": "pass" if err <= RTOL else f"FAIL ({err:.2g})", "note": note})
    rows += float32_rows(N, batch, M, r, x)
    log(rows)

    problem = fed_problem(net, batch)
    arrays = net.arrays() + [x[i] for i in legs]
    import opt_einsum as oe
    searches = []
    if "opt_einsum" in peers:
        searches += [("opt_einsum greedy", oe.paths.greedy), ("opt_einsum auto-hq", oe.paths.auto_hq)]
    if "cotengra" in peers and _have("cotengra"):
        searches.append((f"cotengra HyperOptimizer (max_time={ctg_time:g}s)", cotengra_search(ctg_time)))
    for name, fn in searches:
        rows.append(path_row(N, name, fn, problem, arrays, ref, t_np))
        log(rows[-1:])
    if "quimb" in peers and _have("quimb"):
        rows.append(quimb_row(N, net, x, ref, t_np))
        log(rows[-1:])
    if "tensornetwork" in peers and _have("tensornetwork"):
        rows += google_rows(N, net, x, ref, t_np, batch, budget_s=google_budget)
        log(rows[-2:])
    for row in rows:  # the peers' rows against the preallocated reference too
        row.setdefault("dtype", "float64")
        if row.get("contract_s") and "ratio_vs_prealloc" not in row:
            row["ratio_vs_prealloc"] = t_pre / row["contract_s"]
    return rows


def float32_rows(N, batch, M, r, x64):
    """The engine (both routes) and both numpy references in float32, checked against float64."""
    net = builders.deep_convac(N, M, r, dtype=np.float32)
    x = x64.astype(np.float32)
    stacks = stacked_weights(net, N)
    ref = numpy_forward([w.astype(np.float64) for w in stacks], x.astype(np.float64))
    bufs = prealloc_buffers(stacks, batch, np.float32)
    start = time.perf_counter()
    net.evaluate(x, method="einsum", optimize="natural")
    first_einsum = time.perf_counter() - start
    fns = {"numpy layer-by-layer float32": lambda: numpy_forward(stacks, x),
           "numpy preallocated buffers float32": lambda: numpy_forward_prealloc(stacks, x, bufs),
           "ours evaluate (auto -> tree) float32": lambda: net.evaluate(x),
           "ours evaluate einsum (natural path) float32": lambda: net.evaluate(x, method="einsum", optimize="natural")}
    times = dict(zip(fns, interleaved_best(list(fns.values()))))
    t_np, t_pre = times["numpy layer-by-layer float32"], times["numpy preallocated buffers float32"]
    rows = []
    for name, fn in fns.items():
        out = fn()
        err = rel_err(out, ref)
        first = first_einsum if "einsum" in name else times[name]
        rows.append({"N": N, "method": name, "dtype": str(np.asarray(out).dtype), "search_s": max(first - times[name], 0.0),
                     "contract_s": times[name], "ratio_vs_numpy": t_np / times[name],
                     "ratio_vs_prealloc": t_pre / times[name], "ratio_first_call": t_np / first, "could_run": True,
                     "rel_err": err, "check": "pass" if err <= RTOL32 and out.dtype == np.float32 else f"FAIL ({err:.2g})",
                     "note": "float32 end to end; checked against the float64 forward of the same weights"})
    return rows


def _have(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def plot(rows, path):
    plt = common.pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for k, m in enumerate(methods):
        pts = [(r["N"], r["ratio_vs_prealloc"]) for r in rows if r["method"] == m and r.get("ratio_vs_prealloc")]
        if pts:
            ax.plot(*zip(*pts), label=m, **common.series_style(k))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.axhline(1.0, color="gray", lw=0.8, ls="--")
    ax.set_xlabel("N (inputs)")
    ax.set_ylabel("numpy preallocated time / method time (>1 = faster)")
    ax.set_title("Deep ConvAC batched forward (contraction only, search excluded)")
    ax.legend(fontsize=7)
    common.save_figure(fig, path)


def main(argv=None, out_dir=None, sizes=None, batch=None, M=16, r=32, peers=None, ctg_time=None, plot_png=True,
         verbose=True, google_budget=4.0):
    """Run the benchmark; returns the rows. Arguments override the command line (used by the smoke test)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N in {16, 64}, B=256, short cotengra search")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    ap.add_argument("--default-malloc", action="store_true", help="do not tune glibc malloc (see tune_malloc)")
    args = ap.parse_args(argv if argv is not None else [])
    out_dir = out_dir if out_dir is not None else args.out
    sizes = sizes or ((16, 64) if args.quick else (16, 64, 256, 1024))
    batch = batch or (256 if args.quick else 1024)
    ctg_time = ctg_time if ctg_time is not None else (2.0 if args.quick else 10.0)
    peers = peers if peers is not None else ("opt_einsum", "cotengra", "quimb", "tensornetwork")

    malloc_tuned = False if args.default_malloc else tune_malloc()

    def log(rs):
        if verbose:
            for row in rs:
                print({k: common.fmt(v) for k, v in row.items() if k in COLUMNS + ["rel_err"]}, flush=True)

    rows = []
    start = time.perf_counter()
    for N in sizes:
        rows += run_n(N, batch, M, r, peers, ctg_time, log, google_budget)
    notes = (f"Deep ConvAC (balanced binary tree), M={M}, r={r}, B={batch}, float64; features (N, B, M) with "
             f"unit-norm rows. ratio_vs_prealloc = numpy forward with preallocated buffers (same dtype) / method "
             f"time: the honest reference; ratio_vs_numpy = plain layer-by-layer numpy (allocating every level, "
             f"page faults included) / method time (search excluded; >1 = faster); ratio_first_call includes "
             f"search/compile. FLOPs and largest intermediate "
             f"(elements) are exact replays of each path (tn.cost.path_cost convention: one multiply-add per "
             f"element of each step's joint index space). check: relative Frobenius error vs the numpy forward "
             f"<= {RTOL:g}. glibc malloc tuned (mmap threshold 32 MiB, trim threshold 1 GiB): {malloc_tuned}. Paths whose largest intermediate exceeds 2^{int(math.log2(RUN_LIMIT_ELEMENTS))} elements "
             f"or whose FLOPs exceed {RUN_LIMIT_FLOPS:.0e} are not run. Total run {time.perf_counter() - start:.0f} s.")
    where = Path(out_dir) if out_dir is not None else common.RESULTS
    config = {"sizes": list(sizes), "batch": batch, "M": M, "r": r, "peers": list(peers),
              "malloc_tuned": malloc_tuned, "cotengra_max_time": ctg_time}
    table = common.write_results("forward", rows, COLUMNS, "Batched forward pass: deep ConvAC", notes,
                                 {"config": config}, out_dir=where)
    if plot_png:
        plot(rows, Path(where) / "forward.png")
    if verbose:
        print(table)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
