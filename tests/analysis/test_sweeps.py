"""Sweeps: histograms equal a brute-force loop over ``mincut``, serial and on a bounded loopback LocalCluster."""

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from analysis_nets import balanced, convac, ring

import builders
from analysis import mincut
from analysis.families import AllBalanced, RandomK
from analysis.partitions import balanced_partitions
from analysis.sweeps import (
    MEASURES,
    BoundMeasure,
    ChunkSummary,
    architecture_sweep,
    run_chunk,
    sweep,
    write_rows,
)
from tn.errors import BoundViolationError, SettingError

ROOT = Path(__file__).resolve().parents[2]



def random_tree_net(n, seed, widths=3):
    return builders.convac(builders.ModeTree.random(n, seed=seed), M=2, widths=widths)


NETS = {
    "tree12-float": lambda: random_tree_net(12, 1),  # sizes 2 and 3: no common base, float64 DP
    "tree16-exact": lambda: builders.deep_convac(16, M=2, widths=[2, 4, 2, 8]),
    "ring12": lambda: ring(12, phys=4, bond=2),
    "mixed8": lambda: builders.mixed(builders.ModeTree.balanced(8), builders.ModeTree.mirror(8), M=2, widths=2),
    "ring16": lambda: ring(16),
    "mixed16": lambda: builders.mixed(builders.ModeTree.balanced(16), builders.ModeTree.mirror(16), M=2, widths=2),
}
_REFERENCE = {}


def reference(name):
    """Brute force: one certified ``mincut`` per balanced partition, log2 bounds counted (9 decimals)."""
    if name not in _REFERENCE:
        net = NETS[name]()
        results = [mincut(net, p) for p in balanced_partitions(net)]
        _REFERENCE[name] = (net, Counter(round(r.log2_bound, 9) for r in results), results)
    return _REFERENCE[name]


def check_against_reference(name, result):
    _, hist, results = reference(name)
    assert result.count == len(results)
    assert Counter({round(k, 9): v for k, v in result.histogram.items()}) == hist
    bounds = [r.bound for r in results]
    assert result.min.bound == min(bounds) and result.max.bound == max(bounds)
    assert result.min.row == bounds.index(min(bounds)) and result.max.row == bounds.index(max(bounds))
    assert result.max.partition.A == results[result.max.row].A


@pytest.mark.parametrize("name", ["tree12-float", "tree16-exact", "ring12", "mixed8"])
def test_sweep_equals_brute_force(name):
    net = reference(name)[0]
    result = sweep(net, "balanced", progress=False)
    check_against_reference(name, result)
    assert result.exact == (name != "tree12-float")
    assert result.route == {"tree12-float": "tree", "tree16-exact": "tree", "ring12": "flow", "mixed8": "tree"}[name]
    if result.exact:
        assert result.bounds == Counter(r.bound for r in reference(name)[2])
        assert list(result.histogram) == sorted(result.histogram)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ring16", "mixed16"])
def test_sweep_equals_brute_force_n16(name):
    check_against_reference(name, sweep(reference(name)[0], "balanced", progress=False))


def test_chunk_results_do_not_depend_on_chunk_size():
    net = NETS["tree16-exact"]()
    measure, fam = BoundMeasure(net), AllBalanced(16)
    whole = run_chunk(measure, fam, 0, fam.count, top_k=5)
    for size in (1, 7, 1000):
        merged = ChunkSummary(top_k=5)
        for start in range(0, fam.count, size):
            if start > 3 * size and size == 1:  # a row at a time is slow: check the first rows one by one
                merged.merge(run_chunk(measure, fam, start, fam.count, top_k=5))
                break
            merged.merge(run_chunk(measure, fam, start, min(fam.count, start + size), top_k=5))
        assert (merged.count, merged.histogram, merged.low, merged.high, merged.top) == (
            whole.count, whole.histogram, whole.low, whole.high, whole.top)
    by_size = [sweep(net, "balanced", chunk_size=size, reduce="top:4", progress=False) for size in (97, 6435)]
    assert by_size[0].histogram == by_size[1].histogram
    assert [w.row for w in by_size[0].top] == [w.row for w in by_size[1].top]


def test_top_k_and_fraction():
    net, _, results = reference("tree16-exact")
    result = sweep(net, "balanced", reduce="top:6", progress=False)
    order = sorted(range(len(results)), key=lambda i: (-results[i].bound, i))[:6]
    assert [w.row for w in result.top] == order
    assert [w.bound for w in result.top] == [results[i].bound for i in order]
    k = sorted({r.log2_bound for r in results})[1]
    assert result.fraction_at_least(k) == sum(r.log2_bound >= k for r in results) / len(results)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_table_streamed_in_row_order(tmp_path, suffix):
    net, _, results = reference("ring12")
    path = tmp_path / f"rows{suffix}"
    result = sweep(net, "balanced", reduce="table", out=path, chunk_size=50, progress=False)
    if suffix == ".csv":
        rows = list(csv.DictReader(path.open()))
        got = [(int(r["row"]), r["A"], int(r["bound"])) for r in rows]
        want = [(i, " ".join(map(str, r.A)), r.bound) for i, r in enumerate(results)]
    else:
        text = path.read_text()
        rows = json.loads(text) if suffix == ".json" else [json.loads(line) for line in text.splitlines()]
        got = [(r["row"], tuple(r["A"]), r["bound"]) for r in rows]
        want = [(i, r.A, r.bound) for i, r in enumerate(results)]
    assert got == want and result.table == str(path)


def test_random_and_size_families_match_mincut():
    net = NETS["tree16-exact"]()
    result = sweep(net, "random:3000:2", progress=False)
    rows = RandomK(16, 3000, 2).masks(0, 3000)
    legs = np.array(net.input_legs)
    assert result.histogram == Counter(mincut(net, list(legs[r])).log2_bound for r in rows)
    sized = sweep(net, "size:3", progress=False)
    assert sized.count == 560 and sized.max.bound == 8  # three legs: at most 2^3 = M^3


def test_architecture_sweep_table(tmp_path):
    grid = {"N": [8, 16], "M": [2], "widths": [2, 4]}
    rows = architecture_sweep("deep_convac", grid, partitions=["balanced", "size:1"], progress=False)
    assert len(rows) == 8
    for row in rows:
        net = builders.deep_convac(row["N"], M=2, widths=row["widths"])
        single = sweep(net, row["family"], progress=False)
        assert (row["count"], row["max_log2"], row["histogram"]) == (single.count, single.max.log2_bound,
                                                                      single.histogram)
    for suffix in (".json", ".jsonl", ".csv"):
        write_rows(rows, tmp_path / f"grid{suffix}")
    assert json.loads((tmp_path / "grid.json").read_text())[0]["N"] == 8
    assert len((tmp_path / "grid.jsonl").read_text().splitlines()) == 8
    assert next(csv.DictReader((tmp_path / "grid.csv").open()))["family"] == "balanced"


def test_bad_settings():
    net = convac(balanced(8), M=2, width=2, symbolic=True)
    for kwargs, match in [({"reduce": "nope"}, "unknown reduce"), ({"reduce": "top:0"}, "top:K"),
                          ({"reduce": "table"}, "give out=PATH"), ({"chunk_size": 0}, "chunk_size"),
                          ({"client": 3}, "client must be")]:
        with pytest.raises(SettingError, match=match):
            sweep(net, "balanced", progress=False, **kwargs)
    with pytest.raises(SettingError, match="suffix"):
        sweep(net, "balanced", reduce="table", out="rows.txt", progress=False)


def test_witnesses_are_rechecked():
    class Lying(BoundMeasure):
        def evaluate(self, masks):
            levels, key_of = super().evaluate(masks)
            return levels, {level: 2 * key for level, key in key_of.items()}

    MEASURES.register("lying", Lying)
    with pytest.raises(BoundViolationError, match="batched bound"):
        sweep(convac(balanced(8), M=2, width=2, symbolic=True), "balanced", measure="lying", progress=False)


def test_serial_sweep_does_not_import_dask():
    code = ("import sys, builders; from analysis.sweeps import sweep; "
            "sweep(builders.deep_convac(8, M=2, widths=2), 'balanced', progress=False); "
            "assert 'distributed' not in sys.modules and 'dask' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})


# ---------------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from distributed import Client

    from analysis.sweeps import local_cluster
    cluster = local_cluster(n_workers=2, host="127.0.0.1", memory_limit="1GiB")
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.mark.parametrize("name", ["tree12-float", "tree16-exact", "ring12", "mixed8"])
def test_dask_sweep_equals_brute_force(client, name):
    result = sweep(reference(name)[0], "balanced", client=client, chunk_size=200, progress=False)
    check_against_reference(name, result)


def test_dask_by_address_and_worker_environment(client):
    net = NETS["tree16-exact"]()
    by_address = sweep(net, "balanced", client=client.scheduler.address, reduce="top:3", progress=False)
    serial = sweep(net, "balanced", reduce="top:3", progress=False)
    assert by_address.histogram == serial.histogram and [w.row for w in by_address.top] == [w.row for w in serial.top]
    def settings():  # the environment the worker process started with (glibc reads it then), and its config
        import dask
        with open("/proc/self/environ", "rb") as f:
            start = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        return (start.get(b"MALLOC_TRIM_THRESHOLD_"), start.get(b"OMP_NUM_THREADS"),
                dask.config.get("distributed.worker.profile.enabled"))

    assert set(client.run(settings).values()) == {(str(2**30).encode(), b"1", False)}
    assert sorted(client.nthreads().values()) == [1, 1]
