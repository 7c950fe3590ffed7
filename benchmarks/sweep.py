"""Partition sweeps (serial vs a 2-worker LocalCluster) and flow queries on networks with cycles, side by side.

Part 1, all balanced partitions (each unordered partition once, C(N, N/2) / 2 of them) of a ConvAC over a
contiguous halving tree (M = 2, width 4) at N = 16, 20, 24, 28 through ``analysis.sweep``: partitions/s in
this process, on ``analysis.sweeps.local_cluster(2)`` (1 thread per worker, BLAS 1, malloc trimming relaxed)
and on a LocalCluster with dask's default worker settings (one N), beside the one-``mincut``-per-partition
loop the CLI used before (on the first partitions only). Every route's histogram must be the same.

Part 2, min-cut queries/s on periodic MPS rings (a cycle: no tree DP), N = 64 .. 1024, random balanced
partitions: networkx preflow_push at certified scaled resolution (the flow route before exact units),
networkx in exact integer units (one solve), scipy's maximum_flow (``flow_func="scipy"``) and the batched
flow route (``mincut_batch``: one array graph, only terminal arcs change). Every answer must agree.

Run: python benchmarks/sweep.py [--quick] [--out DIR] [--max-n 28]. Writes results/sweep.json, sweep.md, sweep.png.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402

import builders  # noqa: E402
from analysis import mincut, mincut_batch  # noqa: E402
from analysis import flow as flow_module  # noqa: E402
from analysis.cutgraph import CutProblem, cut_graph  # noqa: E402
from analysis.families import AllBalanced, RandomK  # noqa: E402
from analysis.sweeps import sweep  # noqa: E402
from benchmarks import common  # noqa: E402
from tn import TensorNetwork  # noqa: E402

SWEEP_COLUMNS = ["N", "partitions", "per_query_per_s", "serial_s", "serial_per_s", "cluster_s", "cluster_per_s",
                 "cluster_speedup", "serial_per_cpu_s", "cluster_per_cpu_s", "cluster_cpu_efficiency",
                 "dask_default_per_cpu_s", "histogram_bins", "check"]
FLOW_COLUMNS = ["N", "tensors", "queries", "nx_scaled_per_s", "nx_units_per_s", "scipy_per_s", "batched_per_s",
                "batched_vs_nx_scaled", "check"]


def halving(lo, hi):
    """Nested tuples of the contiguous halving tree over positions lo..hi-1."""
    if hi - lo == 1:
        return lo
    mid = (lo + hi) // 2
    return (halving(lo, mid), halving(mid, hi))


def sweep_net(N):
    return builders.convac(builders.ModeTree.from_nested(halving(0, N)), M=2, widths=4)


def ring(n, phys=2, bond=2):
    """A periodic MPS: site k carries leg k and bonds to its two neighbours around a cycle."""
    net = TensorNetwork()
    for k in range(n):
        net.add_tensor(("site", k), (phys, bond, bond), (k, ("b", k), ("b", (k + 1) % n)))
    net.set_output(tuple(range(n)))
    return net


def per_query_rate(net, family, budget):
    """Partitions/s of one certified ``mincut`` per partition (the CLI's loop before sweeps), over ``budget`` s."""
    legs = net.input_legs
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < budget and done < family.count:
        mincut(net, family.partition(legs, done))
        done += 1
    return done / (time.perf_counter() - start)


def timed_sweep(net, client):
    """``(result, wall seconds, CPU seconds)``: CPU of this process, or summed over the workers."""
    def cpu():
        return time.process_time() if client is None else sum(client.run(time.process_time).values())

    cpu0, start = cpu(), time.perf_counter()
    result = sweep(net, "balanced", client=client, progress=False)
    return result, time.perf_counter() - start, cpu() - cpu0


def sweep_rows(sizes, cluster=True, default_at=None, verbose=True):
    clients = {}
    if cluster:
        from distributed import Client, LocalCluster

        from analysis.sweeps import local_cluster
        if default_at is not None:  # dask's own defaults (nanny MALLOC_TRIM_THRESHOLD_=65536), 1 thread per worker;
            # started first: a nanny writes its pre-spawn variables into this process's environment, so a
            # default cluster started after ours would inherit our MALLOC_MMAP_THRESHOLD_
            clients["default"] = Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                                     silence_logs=logging.ERROR))
        start = time.perf_counter()
        clients["ours"] = Client(local_cluster(n_workers=2, silence_logs=logging.ERROR))
        startup = time.perf_counter() - start
    rows = []
    try:
        for N in sizes:
            net = sweep_net(N)
            family = AllBalanced(N)
            serial, serial_s, serial_cpu = timed_sweep(net, None)
            row = {"N": N, "partitions": family.count, "serial_s": serial_s, "serial_per_s": family.count / serial_s,
                   "serial_per_cpu_s": family.count / serial_cpu,
                   "per_query_per_s": per_query_rate(net, family, 2.0), "histogram_bins": len(serial.histogram)}
            same = True
            for name, prefix in (("ours", "cluster"), ("default", "dask_default")):
                if name in clients and (name == "ours" or N == default_at):
                    result, seconds, cpu = timed_sweep(net, clients[name])
                    row[f"{prefix}_s"], row[f"{prefix}_per_s"] = seconds, family.count / seconds
                    row[f"{prefix}_per_cpu_s"] = family.count / cpu
                    same &= result.histogram == serial.histogram and result.max.row == serial.max.row
            if "cluster_s" in row:
                row["cluster_speedup"] = serial_s / row["cluster_s"]
                row["cluster_cpu_efficiency"] = row["cluster_per_cpu_s"] / row["serial_per_cpu_s"]
            row["check"] = "pass" if same else "FAIL"
            rows.append(row)
            if verbose:
                print({k: common.fmt(v) for k, v in row.items()}, flush=True)
    finally:
        for c in clients.values():
            cluster_obj = c.cluster
            c.close()
            cluster_obj.close()
    return rows, (startup if cluster else None)


def scaled_flow_bound(net, A, B):
    """The flow route before exact units: networkx at 32-bit scaled capacities, re-run at the certified resolution."""
    problem = CutProblem(cut_graph(net), A, B)
    bits = flow_module.RESOLUTION_BITS
    while True:
        G, arc_labels, n_arcs = flow_module.flow_graph(problem, bits)
        _, (reach, _) = nx.minimum_cut(G, flow_module.SOURCE, flow_module.SINK)
        cut = [label for (u, v), labels in arc_labels.items() if u in reach and v not in reach for label in labels]
        bound = math.prod(problem.graph.sizes[label] for label in cut)
        bits = flow_module.certified_bits(n_arcs, bound, bits)
        if bits is None:
            return bound


def rate(fn, queries, budget):
    """(answers, queries/s) over the queries answered within ``budget`` seconds (at least one)."""
    out, start = [], time.perf_counter()
    for q in queries:
        out.append(fn(q))
        if time.perf_counter() - start > budget:
            break
    return out, len(out) / (time.perf_counter() - start)


def flow_rows(sizes, n_queries, budget, verbose=True):
    rows = []
    for N in sizes:
        net = ring(N)
        legs = np.array(net.input_legs)
        masks = RandomK(N, n_queries, seed=N).masks(0, n_queries)
        sides = [(list(legs[m]), list(legs[~m])) for m in masks]
        mincut(net, *sides[0], flow_func="scipy")  # warm caches (cut graph, scipy import)
        row = {"N": N, "tensors": len(net.tensor_names), "queries": n_queries}
        answers = {}
        answers["nx_scaled"], row["nx_scaled_per_s"] = rate(lambda s: scaled_flow_bound(net, *s), sides, budget)
        answers["nx_units"], row["nx_units_per_s"] = rate(lambda s: mincut(net, *s).bound, sides, budget)
        answers["scipy"], row["scipy_per_s"] = rate(lambda s: mincut(net, *s, flow_func="scipy").bound, sides, budget)
        start = time.perf_counter()
        batched = mincut_batch(net, masks)
        row["batched_per_s"] = n_queries / (time.perf_counter() - start)
        answers["batched"] = [round(2**x) for x in batched]
        row["batched_vs_nx_scaled"] = row["batched_per_s"] / row["nx_scaled_per_s"]
        ok = all(a == answers["batched"][: len(a)] for a in answers.values())
        row["check"] = "pass" if ok else "FAIL"
        rows.append(row)
        if verbose:
            print({k: common.fmt(v) for k, v in row.items()}, flush=True)
    return rows


def plot(sweeps, flows, path):
    plt = common.pyplot()
    if plt is None:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    Ns = [r["N"] for r in sweeps]
    for key, style, label in (("per_query_per_s", "o-", "one mincut per partition (before)"),
                              ("serial_per_s", "o-", "sweep, serial (wall)"),
                              ("cluster_per_s", "o-", "sweep, LocalCluster 2 workers (wall)"),
                              ("serial_per_cpu_s", "s--", "sweep, serial (per CPU s)"),
                              ("cluster_per_cpu_s", "s--", "sweep, LocalCluster (per worker CPU s)")):
        if any(r.get(key) for r in sweeps):
            left.plot(Ns, [r.get(key) for r in sweeps], style, label=label)
    left.set(yscale="log", xlabel="N (input positions)", ylabel="partitions / s",
             title="All balanced partitions, ConvAC (M=2, width 4)")
    left.set_xticks(Ns)
    left.legend(fontsize=8)
    Nf = [r["N"] for r in flows]
    for key, label in (("nx_scaled_per_s", "networkx, scaled + certified (before)"),
                       ("nx_units_per_s", "networkx, exact units"), ("scipy_per_s", "scipy maximum_flow"),
                       ("batched_per_s", "batched flow route")):
        right.plot(Nf, [r[key] for r in flows], "o-", label=label)
    right.set(xscale="log", yscale="log", xlabel="N (ring sites)", ylabel="queries / s",
              title="Min-cut queries on a periodic MPS (cycle)")
    right.set_xticks(Nf, [str(n) for n in Nf])
    right.legend(fontsize=8)
    return common.save_figure(fig, path)


def main(argv=None, out_dir=None, cluster=True, verbose=True):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 12, 16 and rings up to 64: a few seconds")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    ap.add_argument("--max-n", type=int, default=28, help="largest N of the balanced sweep (default 28)")
    args = ap.parse_args(argv if argv is not None else [])
    out = Path(out_dir if out_dir is not None else (args.out or common.RESULTS))
    start = time.perf_counter()
    if args.quick:
        sweep_sizes, default_at, flow_sizes, n_queries, budget = (12, 16), None, (16, 64), 10, 1.0
    else:
        sweep_sizes = tuple(n for n in (16, 20, 24, 28, 32) if n <= args.max_n)
        default_at, flow_sizes, n_queries, budget = 24, (64, 128, 256, 512, 1024), 40, 10.0
    sweeps, startup = sweep_rows(sweep_sizes, cluster=cluster, default_at=default_at, verbose=verbose)
    flows = flow_rows(flow_sizes, n_queries, budget, verbose=verbose)
    largest = sweeps[-1]
    notes = (f"Sweep: `analysis.sweep(net, 'balanced')`; serial = this process, cluster = "
             "`analysis.sweeps.local_cluster(2)` (2 worker processes x 1 thread, BLAS 1, MALLOC_TRIM_THRESHOLD_ = "
             f"2^30; startup {common.fmt(startup)} s, not in the times), dask default = `LocalCluster(2 workers, "
             "1 thread)` with dask's own nanny environment (MALLOC_TRIM_THRESHOLD_ = 65536), at one N. *_per_cpu_s = "
             "partitions per CPU second (this process, or summed over the workers): the machine's scheduler "
             "(autogroup) shares CPU between sessions, so when other sessions load it, two workers get no more CPU "
             "than one process and wall-clock speedup cannot show; cluster_cpu_efficiency = cluster partitions per "
             "CPU s / serial's (worker CPU includes their background threads, heartbeats and monitors, which "
             "grows with wall time on a loaded machine). per query = one certified `mincut` per partition (the CLI's loop before), timed on the first partitions for 2 s. "
             f"Largest run: N = {largest['N']}, {largest['partitions']:,} partitions, serial "
             f"{common.fmt(largest['serial_s'])} s" + (f", cluster {common.fmt(largest.get('cluster_s'))} s"
                                                     if largest.get("cluster_s") else "") + ". "
             "Flow: per-query rates on random balanced partitions; nx scaled = networkx preflow_push at 32-bit "
             "scaled capacities re-run at the certified resolution (the flow route before exact units); nx units "
             "= `mincut(net, A)` (networkx, exact integer exponents, one solve); scipy = `flow_func='scipy'`; "
             "batched = `mincut_batch` (one array graph, only terminal arcs change; scipy's Dinic per row, cut "
             "capacity checked equal to the flow value). check: every route gives the same bounds. "
             f"Total run {time.perf_counter() - start:.0f} s on a shared 2-core machine.")
    table = common.write_results("sweep", sweeps, SWEEP_COLUMNS, "Partition sweeps and flow queries", notes,
                                 extra={"flow_rows": flows, "cluster_startup_s": startup}, out_dir=out)
    flow_table = common.markdown_table(flows, FLOW_COLUMNS)
    with open(out / "sweep.md", "a") as f:
        f.write("\n## Flow queries/s on periodic MPS rings (cycles)\n\n" + flow_table)
    png = plot(sweeps, flows, out / "sweep.png")
    if verbose:
        print(table + "\n" + flow_table + (f"\nwrote {png}" if png else ""))
    return sweeps, flows


if __name__ == "__main__":
    main(sys.argv[1:])
