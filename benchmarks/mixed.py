"""Corollary 8 of Cohen, Tamari & Shashua (theory §6): two interconnected dilated ConvNets vs each and their sum.

Setting (the paper's baseline networks, ``head=None``): M = r = 2, T = dilations (1, 2, ..., N/2), T̄ = the same
with every group of k consecutive layers reversed, mixture after layers k, 2k, ... (not the last: a swap there changes
no sum), swap = r/2 = 1 channel. The blocks are the level-k nodes (2^k positions, nodes of both trees); the partition
takes n = 8 / 2^(k-1) leading blocks, the first half *good for T* (A ∩ block = the first child of T̄'s block node: a
single node of T̄, split into leaves by T) and the second half *good for T̄* (A ∩ block = T's first child), so |A| = 8
and every rank is at most 2^8 = 256. At N = 16, k = 2 this is exactly the paper's partition A = {0,2,4,6,8,9,12,13}.

Ranks are exact, mod p = 1,000,003, with weights uniform mod p (rank mod p <= the generic rank <= the min-cut bound):
at N = 16 of the full 256 x 256 matricization (the time-domain reference on every one-hot input,
``builders.reference_forward(prime=p)``); at N = 64 of 256 rows x 320 random product columns (a certified lower
bound; equal to the bound = certified tight). T + T̄ uses independent weights. The width a network needs is the
smallest width whose min-cut bound reaches the mixed network's rank (rank <= bound, so no smaller width can), at
M = 2 and in the paper's setting M = width (features spanning R^width). The paper's exponent 2 / (1 + 2^(1-k)) is
log(rank mixed) / log(rank T) when every block contributes as the theorem says.

    python benchmarks/mixed.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
for _p in (HERE.parent, HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import common

import builders
from analysis import mincut, tree_rank_bounds
from builders import ModeTree, reference, reference_forward
from tn import NetworkSum
from tn.errors import TermLimitError

P = 1_000_003
M = R = 2
SWAP = 1
COLUMNS_N64 = 320
CHUNK = 8192
COLUMNS = ["N", "k", "paper exponent", "Tbar dilations", "mixture levels", "A", "rank kind", "rank T", "rank Tbar",
           "rank T+Tbar", "rank mixed", "bound T", "bound Tbar", "bound T+Tbar", "bound mixed", "Thm 7 T [lower, upper]",
           "measured exponent", "width T needs (M=2)", "rank T at needed width, one below",
           "width T+Tbar needs (M=2)", "width T needs (M=width)", "mixed terms", "mixed beats T+Tbar", "seconds"]


def paper_exponent(k):
    return 2 / (1 + 2 ** (1 - k))


def schedules(N, k):
    """(T, T̄, mixture levels): T̄ reverses each group of k layers; mixture after layers k, 2k, ... below the last."""
    L = N.bit_length() - 1
    T = tuple(1 << j for j in range(L))
    Tbar = tuple(d for g in range(0, L, k) for d in reversed(T[g:g + k]))
    return T, Tbar, [l for l in range(k, L, k)]


def partition(N, k, T, Tbar):
    """A (sorted): n = 8 / 2^(k-1) leading level-k blocks, the first half good for T, the second for T̄."""
    trees = [ModeTree.from_dilations(N, d) for d in (T, Tbar)]
    blocks = sorted(v for v in trees[0].internal_nodes if trees[0].level(v) == k)
    n = 8 // 2 ** (k - 1)
    A = []
    for j, block in enumerate(blocks[:n]):
        other = trees[1] if j < n // 2 else trees[0]  # good for T: a node of T̄, which T splits into leaves
        A += other.children(block)[0]
    return sorted(A)


def random_params(rng, dilations, width):
    sizes = [M] + [width] * (len(dilations) - 1) + [1]
    draw = [[rng.integers(0, P, (sizes[l + 1], sizes[l])) for l in range(len(dilations))] for _ in "UV"]
    return {"dilations": tuple(dilations), "U": draw[0], "V": draw[1], "W": None}


def matricization_mod_p(params, N, A, rng, columns=None):
    """[f]_{A, B} mod P on every one-hot A configuration (rows) and ``columns`` B inputs (None: every one-hot one)."""
    B = [t for t in range(N) if t not in A]
    rows = np.eye(M)[np.indices((M,) * len(A)).reshape(len(A), -1).T]                  # (M^|A|, |A|, M)
    cols = (np.eye(M)[np.indices((M,) * len(B)).reshape(len(B), -1).T] if columns is None
            else rng.integers(0, P, (columns, len(B), M)).astype(float))                 # (K, |B|, M)
    out = np.empty((len(rows), len(cols)))
    per = max(1, CHUNK // len(cols))
    for start in range(0, len(rows), per):
        block = rows[start:start + per]
        x = np.empty((len(block), len(cols), N, M))
        x[:, :, A] = block[:, None]
        x[:, :, B] = cols[None]
        out[start:start + per] = reference_forward(params, x.reshape(-1, N, M), prime=P)[:, 0].reshape(len(block), -1)
    return out


def rank_mod_p(matrix):
    return reference.rank_mod_p(matrix, P)


def width_needed(make, A, target, limit=64):
    """Smallest width w whose network ``make(w)`` has min-cut bound >= target on A (None beyond ``limit``)."""
    return next((w for w in range(1, limit + 1) if mincut(make(w), A).bound >= target), None)


def measure(N, k, seed=0):
    start = time.perf_counter()
    T, Tbar, levels = schedules(N, k)
    A = partition(N, k, T, Tbar)
    rng = np.random.default_rng(seed)
    pa, pb = random_params(rng, T, R), random_params(rng, Tbar, R)
    mixed_params = {"a": pa, "b": pb, "mixture_levels": tuple(levels), "swap": (SWAP,) * len(levels)}
    columns = None if N <= 16 else COLUMNS_N64
    f = {name: matricization_mod_p(p, N, A, np.random.default_rng(seed + 1), columns)
         for name, p in (("T", pa), ("Tbar", pb), ("mixed", mixed_params))}
    ranks = {"T": rank_mod_p(f["T"]), "Tbar": rank_mod_p(f["Tbar"]), "T+Tbar": rank_mod_p(f["T"] + f["Tbar"]),
             "mixed": rank_mod_p(f["mixed"])}

    def single(d, M_=M):
        return lambda w: builders.dilated_convnet(N, M_, w, d, head=None)

    nets = {"T": single(T)(R), "Tbar": single(Tbar)(R)}
    bounds = {name: mincut(net, A).bound for name, net in nets.items()}
    bounds["T+Tbar"] = mincut(NetworkSum([nets["T"], nets["Tbar"]]), A).bound
    mix = builders.mixed_dilated(N, M, R, T, Tbar, mixture_levels=levels, swap=SWAP, head=None)
    try:
        bounds["mixed"] = mincut(mix, A).bound
    except TermLimitError:  # too many hybrid trees: only the rows of the matricization bound it
        bounds["mixed"] = M ** len(A)
    thm = tree_rank_bounds(nets["T"], A, R)
    target = ranks["mixed"]
    row = {"N": N, "k": k, "paper exponent": round(paper_exponent(k), 4), "Tbar dilations": list(Tbar),
           "mixture levels": levels, "A": A, "rank kind": "exact (full matrix)" if columns is None else
           f"lower bound ({len(f['T'])} x {columns} submatrix)",
           **{f"rank {n}": v for n, v in ranks.items()}, **{f"bound {n}": v for n, v in bounds.items()},
           "mixed terms": mix.n_terms, "Thm 7 T [lower, upper]": [thm.lower, thm.upper],
           "measured exponent": round(math.log(ranks["mixed"]) / math.log(ranks["T"]), 4),
           "width T needs (M=2)": width_needed(single(T), A, target),
           "width T+Tbar needs (M=2)": width_needed(lambda w: NetworkSum([single(T)(w), single(Tbar)(w)]), A, target),
           "width T needs (M=width)": width_needed(lambda w: single(T, w)(w), A, target),
           "mixed beats T+Tbar": ranks["mixed"] > ranks["T+Tbar"]}
    if columns is None:  # confirm the width T needs with the exact rank there and one below
        w = row["width T needs (M=2)"]
        row["rank T at needed width, one below"] = [rank_mod_p(matricization_mod_p(random_params(rng, T, v), N, A, rng))
                                                    for v in (w, w - 1)]
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


def plot(rows, out_dir):
    plt = common.pyplot()
    if plt is None:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    names = ("T", "Tbar", "T+Tbar", "mixed")
    Ns = sorted({r["N"] for r in rows})
    width = 0.8 / (len(names) * len(Ns))
    for j, N in enumerate(Ns):
        for i, name in enumerate(names):
            sel = [r for r in rows if r["N"] == N]
            xs = [r["k"] - 0.4 + width * (j * len(names) + i + 0.5) for r in sel]
            ys = [math.log2(r[f"rank {name}"]) for r in sel]
            left.bar(xs, ys, width, color=f"C{i}", hatch="//" if j else None, edgecolor="k", linewidth=0.4,
                     label=name if j == 0 else None)
            for x, r in zip(xs, sel):
                left.text(x, math.log2(r[f"rank {name}"]) + 0.05, r[f"rank {name}"], ha="center", fontsize=6,
                          rotation=90)
        sel = [r for r in rows if r["N"] == N]
        right.plot([r["k"] + 0.03 * j for r in sel], [r["measured exponent"] for r in sel], "os"[j % 2], ms=8,
                   mfc="none", label=f"measured, N={N}")
    ks = np.linspace(1, 3, 50)
    right.plot(ks, [paper_exponent(k) for k in ks], "k:", label="paper 2/(1+2^(1-k))")
    hatch = ", N=64 hatched (certified lower bounds)" if len(Ns) > 1 else ""
    left.set(xlabel="k (layers per swapped group)", ylabel="log2 rank on the partition (|A| = 8)", ylim=(0, 10),
             title=f"ranks mod p, M = r = 2, swap 1\nN={Ns[0]} solid{hatch}",
             xticks=[1, 2, 3])
    right.set(xlabel="k", ylabel="log rank(mixed) / log rank(T)", title="exponent of the width T needs",
              xticks=[1, 2, 3])
    left.legend(fontsize=8, loc="upper center", ncol=4)
    right.legend(fontsize=8)
    return common.save_figure(fig, Path(out_dir or common.RESULTS) / "mixed.png")


def main(quick=False, out_dir=None, verbose=True):
    rows = []
    for N, k in [(16, 2)] if quick else [(N, k) for N in (16, 64) for k in (1, 2, 3)]:
        rows.append(measure(N, k))
        if verbose:
            print({c: rows[-1][c] for c in ("N", "k", "rank T", "rank Tbar", "rank T+Tbar", "rank mixed",
                                            "measured exponent", "paper exponent", "seconds")}, flush=True)
    png = plot(rows, out_dir)
    notes = (__doc__.split("\n\n    python")[0] + "\n\n" +
             (f"![ranks and exponents]({Path(png).name})\n" if png else ""))
    common.write_results("mixed", rows, COLUMNS, title="Mixed decompositions: Corollary 8", notes=notes,
                         out_dir=out_dir)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the paper's case only (N = 16, k = 2): seconds")
    parser.add_argument("--out", default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args()
    main(args.quick, args.out)
