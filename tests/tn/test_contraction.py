"""Path search, the shared path replay and the cost convention (tn.contraction, tn.cost)."""

import math
import multiprocessing
import os
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import opt_einsum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import builders
from tn import TensorNetwork, contraction
from tn.cost import path_cost, replay
from tn.errors import OptimizeError


@st.composite
def hypergraphs(draw, max_tensors=7, max_inds=8):
    """(inputs, output, sizes): random tensors over a few indices, hyperedges and open legs included."""
    n_inds = draw(st.integers(2, max_inds))
    sizes = {f"i{k}": draw(st.integers(1, 3)) for k in range(n_inds)}
    n = draw(st.integers(2, max_tensors))
    labels = sorted(sizes)
    inputs = [tuple(draw(st.lists(st.sampled_from(labels), min_size=1, max_size=4, unique=True))) for _ in range(n)]
    used = sorted({i for t in inputs for i in t})
    output = tuple(draw(st.lists(st.sampled_from(used), max_size=3, unique=True)))
    return inputs, output, {i: sizes[i] for i in used}


def arrays_for(inputs, sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal([sizes[i] for i in t]) for t in inputs]


def einsum_along(inputs, output, sizes, arrays, path):
    """Contract step by step with np.einsum, each step keeping what the independent rule below says."""
    ops = list(zip(inputs, arrays))
    for step in path:
        taken = [ops.pop(p) for p in sorted(step, reverse=True)]
        rest = {i for t, _ in ops for i in t} | set(output)
        joint = list(dict.fromkeys(i for t, _ in taken for i in t))
        kept = tuple(output) if not ops else tuple(i for i in joint if i in rest)
        table = contraction.symbols_for([t for t, _ in taken], kept)
        eq = contraction.equation([t for t, _ in taken], kept, table)
        ops.append((kept, np.einsum(eq, *(a for _, a in taken))))
    (_, result), = ops
    return result


@settings(max_examples=60, deadline=None)
@given(hypergraphs())
def test_replay_keeps_exactly_the_indices_still_needed(case):
    inputs, output, sizes = case
    path = opt_einsum.paths.greedy([set(t) for t in inputs], set(output), sizes)
    ops, ids = [tuple(t) for t in inputs], list(range(len(inputs)))
    for s, (step, (ssa, taken, kept)) in enumerate(zip(path, replay(inputs, output, path))):
        positions = sorted(step, reverse=True)
        assert ssa == tuple(ids.pop(p) for p in positions)  # SSA ids: inputs 0..n-1, step s makes n + s
        assert taken == [ops.pop(p) for p in positions]
        ids.append(len(inputs) + s)
        rest = {i for t in ops for i in t}
        if ops:
            expected = [i for i in dict.fromkeys(i for t in taken for i in t) if i in rest or i in output]
            assert list(kept) == expected
        else:
            assert kept == tuple(output)
        ops.append(kept)


@settings(max_examples=60, deadline=None)
@given(hypergraphs(), st.integers(0, 3))
def test_hyper_greedy_paths_contract_to_the_dense_einsum(case, trials):
    inputs, output, sizes = case
    path = contraction.hyper_greedy(inputs, output, sizes, trials=trials)
    contraction._check_path(path, len(inputs))
    arrays = arrays_for(inputs, sizes)
    table = contraction.symbols_for(inputs, output)
    expected = np.einsum(contraction.equation(inputs, output, table), *arrays)
    assert np.allclose(einsum_along(inputs, output, sizes, arrays, path), expected)


@settings(max_examples=40, deadline=None)
@given(hypergraphs(max_tensors=6))
def test_auto_is_valid_and_never_worse_than_plain_greedy(case):
    inputs, output, sizes = case
    path, cost = contraction.best_path(inputs, output, sizes, "auto")
    greedy = path_cost(inputs, output, sizes, opt_einsum.paths.greedy([set(t) for t in inputs], set(output), sizes))
    assert (cost.flops, cost.largest_intermediate) <= (greedy.flops, greedy.largest_intermediate)
    arrays = arrays_for(inputs, sizes, 1)
    table = contraction.symbols_for(inputs, output)
    expected = np.einsum(contraction.equation(inputs, output, table), *arrays)
    assert np.allclose(einsum_along(inputs, output, sizes, arrays, path), expected)


def test_auto_trials_are_bounded_by_size(monkeypatch):
    runs = []
    original = contraction._Greedy.run
    monkeypatch.setattr(contraction._Greedy, "run", lambda self, *a, **k: runs.append(1) or original(self, *a, **k))
    net = builders.deep_convac(512, M=2, widths=2, seed=0)
    inputs, output, sizes = net.get_inputs_output_size_dict()
    contraction.best_path(inputs, output, sizes, "auto", net.natural_path)
    assert len(runs) == 1  # above AUTO_REFINE_MAX with a natural path: one plain greedy run
    runs.clear()
    contraction.best_path(inputs, output, sizes, "auto")  # no natural path: work-bounded trials
    assert 1 <= len(runs) <= 1 + contraction.AUTO_TRIAL_WORK // len(inputs)
    assert contraction.auto_trials(contraction.AUTO_GREEDY_MAX + 1, has_natural=True) == -1
    assert [contraction.auto_trials(n) for n in (10, 64, 1024, 10**5)] == [32, 32, 8, 0]


def test_auto_on_a_large_builder_network_replays_the_natural_path_once(monkeypatch):
    calls = []
    monkeypatch.setattr(contraction, "path_cost", lambda *a, **k: calls.append(1) or path_cost(*a, **k))
    monkeypatch.setattr(contraction._Greedy, "run", lambda *a, **k: pytest.fail("no greedy run expected"))
    net = builders.deep_convac(4096, M=2, widths=2, seed=0)  # 8191 tensors > AUTO_GREEDY_MAX
    cost = net.cost()
    assert calls == [1] and cost.path == net.natural_path
    inputs, output, sizes = net.get_inputs_output_size_dict()
    assert cost.flops == path_cost(inputs, output, sizes, net.natural_path).flops


def replayed(inputs, output, sizes, path):
    """(FLOPs, largest intermediate) of ``path`` counted independently of tn.cost: operands as plain lists,
    each step's joint index space one multiply-add per element, its result the indices still needed."""
    ops, flops, largest = [set(t) for t in inputs], 0, 0
    for step in path:
        taken = [ops.pop(p) for p in sorted(step, reverse=True)]
        joint = set().union(*taken)
        flops += math.prod(sizes[i] for i in joint)
        kept = {i for i in joint if i in output or any(i in t for t in ops)}
        largest = max(largest, math.prod(sizes[i] for i in kept))
        ops.append(kept)
    return flops, largest


def hyperedge_contractions(sizes=(20, 80, 160), seeds=range(3)):
    """cotengra's random contractions with inner and output hyperedges (an index on 3..n tensors)."""
    ctg = pytest.importorskip("cotengra")
    for n in sizes:
        for seed in seeds:
            inputs, output, _, size_dict = ctg.utils.rand_equation(n, 3, n_out=2, n_hyper_in=max(2, n // 20),
                                                                   n_hyper_out=1, seed=seed)
            yield [tuple(t) for t in inputs], tuple(output), size_dict


def test_auto_matches_cotengra_greedy_on_random_hyperedge_contractions():
    pytest.importorskip("cotengra")
    from cotengra.pathfinders.path_basic import optimize_greedy
    ratios = []
    for inputs, output, sizes in hyperedge_contractions():
        theirs = replayed(inputs, output, sizes, optimize_greedy(inputs, output, sizes))
        path, ours = contraction.best_path(inputs, output, sizes, "auto")
        contraction._check_path(path, len(inputs))
        assert replayed(inputs, output, sizes, path) == (ours.flops, ours.largest_intermediate)
        ratios.append(ours.flops / theirs[0])
    assert max(ratios) <= 1.5 and math.prod(ratios) ** (1 / len(ratios)) <= 1.05, ratios


def test_hyper_greedy_trials_share_one_deterministic_work_budget(monkeypatch):
    runs = []
    original = contraction._Greedy.run
    monkeypatch.setattr(contraction._Greedy, "run", lambda self, *a, **k: runs.append(original(self, *a, **k))
                        or runs[-1])
    inputs, output, sizes = next(hyperedge_contractions(sizes=(160,), seeds=(1,)))
    budget = 50_000
    path = contraction.hyper_greedy(inputs, output, sizes, trials=1000, work=budget)
    trial_work = [r[3] for r in runs[1:]]
    assert 1 < len(runs) < 1001 and runs[0][3] < budget  # the budget, not the trial count, stopped the search
    # a trial starts only while budget is left and stops within a step of its end
    assert sum(trial_work[:-1]) < budget <= sum(trial_work) < budget + runs[0][3]
    best = min((r for r in runs if r[2] is not None), key=lambda r: (r[1], r[0]))
    assert contraction.ssa_to_linear(best[2], len(inputs)) == path  # the fewest estimated FLOPs of the finished runs
    assert all(r[1] > best[1] for r in runs[1:-1] if r[2] is None)  # only the last trial may be cut by the budget
    first = [(r[1], r[3]) for r in runs]
    runs.clear()
    assert contraction.hyper_greedy(inputs, output, sizes, trials=1000, work=budget) == path
    assert [(r[1], r[3]) for r in runs] == first  # same runs, same work: the budget is deterministic


def test_hyper_greedy_is_the_same_in_every_process():
    """String labels hash differently per process; the search must not depend on set order."""
    code = ("import json, sys; from tn import contraction; from tests.tn.test_contraction import hyperedge_contractions;"
            "case = next(hyperedge_contractions(sizes=(80,), seeds=(2,)));"
            "print(json.dumps(contraction.hyper_greedy(*case, trials=8)))")
    root = Path(__file__).resolve().parents[2]
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                           env={**os.environ, "PYTHONHASHSEED": str(h), "PYTHONPATH": str(root)}).stdout
            for h in (1, 2, 3)}
    assert len(outs) == 1


def test_wide_hyperedges_seed_no_pairs():
    """A batch-like index on every tensor of a chain: the greedy follows the chain's bonds (no outer products)."""
    n = contraction.HYPER_FANOUT + 8
    inputs = [("batch", f"b{k}", f"b{k + 1}") for k in range(n)]
    sizes = {"batch": 4, **{f"b{k}": 8 for k in range(n + 1)}}
    path = contraction.hyper_greedy(inputs, ("batch", "b0", f"b{n}"), sizes)
    flops, largest = replayed(inputs, ("batch", "b0", f"b{n}"), sizes, path)
    assert largest == 4 * 8 * 8  # every intermediate is a (batch, end, end) piece of the chain
    assert flops <= n * 4 * 8**3


def test_cost_convention_equals_cotengra_where_every_index_is_shared():
    ctg = pytest.importorskip("cotengra")
    for seed in range(10):
        inputs, output, _, sizes = ctg.utils.rand_equation(8, 3, n_out=2, n_hyper_in=2, n_hyper_out=1, seed=seed)
        inputs = [tuple(t) for t in inputs]
        path = opt_einsum.paths.greedy([set(t) for t in inputs], set(output), sizes)
        tree = ctg.ContractionTree.from_path(inputs, output, sizes, path=path)
        assert path_cost(inputs, tuple(output), sizes, path).flops == tree.contraction_cost()


def test_cost_convention_differs_from_cotengra_as_documented():
    """Indices on one tensor alone, and single-tensor networks (tn.cost's module docstring)."""
    ctg = pytest.importorskip("cotengra")
    sizes = dict.fromkeys("abcdefg", 3)
    inputs, path = [("a",), ("b", "c", "d"), ("e", "f", "g")], [(0, 1), (0, 1)]
    assert path_cost(inputs, (), sizes, path).flops == 3**4 + 3**3 == 108
    assert ctg.ContractionTree.from_path(inputs, (), sizes, path=path).contraction_cost() == 2
    assert path_cost([("a", "b", "c")], (), sizes, [(0,)]).flops == 27
    assert ctg.ContractionTree.from_path([("a", "b", "c")], (), sizes, path=[]).contraction_cost() == 0


def test_opt_einsum_failures_are_optimize_errors():
    reused = opt_einsum.RandomGreedy(max_repeats=2)
    small, larger = TensorNetwork(), TensorNetwork()
    for net, chain in ((small, "ijkl"), (larger, "abcde")):
        for k in range(len(chain) - 1):
            net.add_tensor(f"T{k}", (2, 2), (chain[k], chain[k + 1]))
    small.cost(optimize=reused)
    with pytest.raises(OptimizeError, match="RandomGreedy failed on 4 tensors"):
        larger.cost(optimize=reused)


def test_cotengra_optimizer_is_quiet_and_leaves_no_pool():
    pytest.importorskip("cotengra")
    net = builders.deep_convac(8, M=2, widths=2, seed=0)
    before = len(multiprocessing.active_children())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a kahypar warning would fail here
        dense = net.to_dense(optimize="cotengra")
    assert len(multiprocessing.active_children()) == before
    assert np.allclose(dense, net.to_dense(optimize="natural"))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**32))
def test_fast_path_format_conversions_match_opt_einsum(n, seed):
    rng = random.Random(seed)
    alive, nxt, ssa = list(range(n)), n, []
    while len(alive) > 1:
        step = rng.sample(alive, rng.randint(1, min(3, len(alive))))
        alive = [x for x in alive if x not in step] + [nxt]
        nxt += 1
        ssa.append(tuple(step))
    linear = [tuple(s) for s in opt_einsum.paths.ssa_to_linear(ssa)] if ssa else []
    assert contraction.ssa_to_linear(ssa, n) == linear
    assert contraction.linear_to_ssa(linear, n) == [tuple(s) for s in opt_einsum.paths.linear_to_ssa(linear)]


@settings(max_examples=60, deadline=None)
@given(hypergraphs(max_tensors=2))
def test_step_functions_equal_einsum(case):
    inputs, output, sizes = case
    arrays = arrays_for(inputs, sizes, 2)
    table = contraction.symbols_for(inputs, output)
    expected = np.einsum(contraction.equation(inputs, output, table), *arrays)
    assert np.allclose(contraction.step_function(inputs, output, sizes)(*arrays), expected)
    same = (inputs[0], inputs[0])  # a Hadamard product
    assert np.allclose(contraction.step_function(same, inputs[0], sizes)(arrays[0], arrays[0]), arrays[0] ** 2)


def test_best_path_trades_flops_for_memory_only_within_the_slack():
    from types import SimpleNamespace as C

    from tn.contraction import MEMORY_SLACK, _choose
    lean = C(flops=1000, peak_memory=10)
    close = C(flops=500, peak_memory=10 * MEMORY_SLACK)      # within the slack: its FLOPs win
    bloated = C(flops=10, peak_memory=10 * MEMORY_SLACK + 1)  # fewer FLOPs, but too much memory
    assert _choose([lean, bloated]) is lean
    assert _choose([lean, close, bloated]) is close
    assert _choose([C(flops=7, peak_memory=3), C(flops=7, peak_memory=2)]).peak_memory == 2
