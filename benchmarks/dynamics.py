"""Optimization dynamics of deep linear networks (theory §7): implicit low rank and implicit acceleration.

Experiment 1, **implicit low rank in matrix completion**: a 100 x 100 ground truth of rank 5
(Gaussian factors, scaled to unit root-mean-square entry), 5,000 or 2,000 entries observed uniformly
at random. Deep linear networks of depth 1-4 (all widths 100, built by ``builders.linear.deep_linear``)
are trained by gradient descent on their factors (``analysis.dynamics.gradient_descent``: gradients
by environments) for half the mean squared error on the observed entries, from a small balanced
initialization (end-to-end entries of standard deviation 1e-4), with step size
lr_N = min(n^2 / (N sigma_1^{2 - 2/N}), |observed|) (the stability scale of the end-to-end dynamics
at the solution; depth 1 is capped by its per-entry curvature), until the training loss is 1e-6.
Baseline: nuclear-norm minimization subject to the observations, by accelerated soft-impute with a
decreasing penalty, each stage to convergence. Reported: relative error on the unobserved entries,
nuclear norm, effective rank (Roy & Vetterli), and the singular-value trajectories per depth.

Experiment 2, **implicit acceleration**: l_4 regression, loss (1/m) sum_i (w^T x_i - y_i)^4, on a
synthetic dataset (sklearn is not a dependency): m = 1,000 samples, d = 20 features
x = A z with z ~ N(0, I) and A = Q diag(s) whose scales s decay geometrically from 1 to 0.05
(an ill-conditioned covariance), targets y = x^T w* + 0.1 noise with w* ~ N(0, I). Depth 1 is the
linear model itself; depths 2 and 3 overparameterize it as in Arora, Cohen & Hazan (2018):
w = W_1^T times scalars (dims (d, 1, 1) and (d, 1, 1, 1)), from the same end-to-end initial w
(balanced factors). For each depth the best step size of a geometric grid is kept (the largest
final-loss decrease, no divergence); reported: loss vs iterations and iterations to an excess loss
(over the optimum, found by scipy's BFGS) of 1e-3 and 1e-4 times the initial one.

Run: ``python benchmarks/dynamics.py`` (a few minutes) or ``--quick``. Writes results/dynamics.json,
results/dynamics.md and results/dynamics_*.png. BLAS runs single-threaded (small matrices on a
shared 2-core machine: threads only contend).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, markdown_table, pyplot, save_figure, write_results  # noqa: E402

from analysis import dynamics as dyn  # noqa: E402
from builders.linear import balanced_factors, deep_linear  # noqa: E402
from tn.errors import DynamicsError  # noqa: E402

N_SIDE, RANK, INIT_SCALE, TOL = 100, 5, 1e-4, 1e-6


def relative_error(X, M, mask):
    return float(np.linalg.norm((X - M)[~mask]) / np.linalg.norm(M[~mask]))


def nuclear_norm(X):
    return float(np.linalg.svd(X, compute_uv=False).sum())


def completion_row(n_obs, method, X, M, mask, steps, seconds, extra=None):
    return {"observed": n_obs, "method": method, "test_error": relative_error(X, M, mask),
            "train_rel_residual": float(np.linalg.norm((X - M)[mask]) / np.linalg.norm(M[mask])),
            "nuclear_norm": nuclear_norm(X), "effective_rank": dyn.effective_rank(X), "steps": steps,
            "seconds": seconds, **(extra or {})}


def matrix_completion(observed_counts, depths, max_steps, seed=0):
    M = dyn.random_low_rank((N_SIDE, N_SIDE), RANK, seed=seed)
    sigma1 = float(np.linalg.norm(M, 2))
    rows, trajectories = [], {}
    truth = {"observed": "-", "method": "ground truth", "test_error": 0.0, "nuclear_norm": nuclear_norm(M),
             "effective_rank": dyn.effective_rank(M)}
    rows.append(truth)
    for n_obs in observed_counts:
        mask = dyn.observation_mask(M.shape, n_obs, seed=seed + 1)
        loss = dyn.squared_loss(M, mask)
        for depth in depths:
            lr = min(N_SIDE**2 / (depth * sigma1 ** (2 - 2 / depth)), float(n_obs))
            net = deep_linear((N_SIDE,) * (depth + 1), init="balanced", scale=INIT_SCALE, seed=seed + 2)
            start = time.perf_counter()
            try:
                h = dyn.gradient_descent(net, loss, lr=lr, steps=max_steps, record_every=10, tol=TOL)
                status = "converged" if h.loss[-1] <= TOL else "max steps"
            except DynamicsError as err:
                h, status = err.history, f"stopped: {err}"
            seconds = time.perf_counter() - start
            rows.append(completion_row(n_obs, f"depth {depth}", net.to_dense(), M, mask, h.step[-1], seconds,
                                       {"lr": lr, "status": status, "final_loss": h.loss[-1]}))
            trajectories[f"{n_obs}/depth {depth}"] = {"step": h.step,
                                                      "singular_values": [s[:10].tolist() for s in h.singular_values]}
            print(f"  {n_obs} observed, depth {depth}: {rows[-1]['test_error']:.3g} test error, "
                  f"eff. rank {rows[-1]['effective_rank']:.2f}, {h.step[-1]} steps, {seconds:.1f} s", flush=True)
        start = time.perf_counter()
        X, info = dyn.nuclear_norm_completion(M, mask)
        rows.append(completion_row(n_obs, "nuclear norm", X, M, mask, info["iterations"],
                                   time.perf_counter() - start, {"lam": info["lam"], "status": "converged"}))
        print(f"  {n_obs} observed, nuclear norm: {rows[-1]['test_error']:.3g} test error, "
              f"eff. rank {rows[-1]['effective_rank']:.2f}", flush=True)
    return rows, trajectories


def l4_dataset(m=1000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = Q * np.geomspace(1.0, 0.05, d)
    X = rng.standard_normal((m, d)) @ A.T
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(m)
    return X, y


def l4_optimum(loss, d):
    from scipy.optimize import minimize
    res = minimize(lambda w: loss(w[None])[0], np.zeros(d), jac=lambda w: loss(w[None])[1][0],
                   method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000})
    return float(res.fun)


def implicit_acceleration(depths, steps, lrs, seed=0):
    X, y = l4_dataset(seed=seed)
    d = X.shape[1]
    loss = dyn.lp_regression_loss(X, y, p=4)
    w0 = 0.1 * np.random.default_rng(seed + 1).standard_normal((1, d))
    best_loss = l4_optimum(loss, d)
    start_loss = loss(w0)[0]
    rows, curves = [], {}
    for depth in depths:
        dims = (d,) + (1,) * depth
        best = None
        for lr in lrs:
            net = deep_linear(dims, init="balanced", seed=seed)
            for j, w in enumerate(balanced_factors(w0, dims, seed=seed), 1):
                net.set_data(("W", j), w)
            try:
                h = dyn.gradient_descent(net, loss, lr=lr, steps=steps, record_every=10, diverge_factor=10.0)
            except DynamicsError:
                continue
            if best is None or h.loss[-1] < best[1].loss[-1]:
                best = (lr, h)
        lr, h = best
        excess = np.array(h.loss) - best_loss
        row = {"depth": depth, "best_lr": lr, "loss_100": h.loss[10], "loss_1000": h.loss[100],
               "final_loss": h.loss[-1], "optimum": best_loss}
        for level in ("1e-3", "1e-4"):
            reached = np.nonzero(excess <= float(level) * (start_loss - best_loss))[0]
            row[f"steps_to_{level}_excess"] = int(h.step[reached[0]]) if len(reached) else None
        rows.append(row)
        curves[depth] = {"step": h.step, "loss": h.loss, "lr": lr}
        print(f"  l4 depth {depth}: lr {lr:.3g}, final loss {h.loss[-1]:.5g} (optimum {best_loss:.5g})", flush=True)
    return rows, curves, {"m": X.shape[0], "d": d, "initial_loss": start_loss, "optimum": best_loss}


def plot(trajectories, curves, completion_rows, observed_counts, out=RESULTS):
    plt = pyplot()
    if plt is None:
        print("matplotlib not installed: no plots")
        return []
    files = []
    for n_obs in observed_counts:
        keys = [k for k in trajectories if k.startswith(f"{n_obs}/")]
        fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), sharey=True, squeeze=False)
        for ax, key in zip(axes[0], keys):
            sv = np.array(trajectories[key]["singular_values"])
            ax.semilogy(trajectories[key]["step"], np.maximum(sv, 1e-8))
            ax.set_title(key.split("/")[1])
            ax.set_xlabel("step")
        axes[0][0].set_ylabel("top 10 singular values")
        fig.suptitle(f"Matrix completion, {n_obs} observed entries: end-to-end singular values")
        files.append(save_figure(fig, out / f"dynamics_singular_values_{n_obs}.png"))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for depth, c in curves.items():
        ax.semilogy(c["step"], c["loss"], label=f"depth {depth} (lr {c['lr']:.2g})")
    ax.set_xlabel("iteration")
    ax.set_ylabel("l4 loss")
    ax.set_title("Implicit acceleration: l4 regression")
    ax.legend()
    files.append(save_figure(fig, out / "dynamics_l4_acceleration.png"))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for n_obs in observed_counts:
        rows = [r for r in completion_rows if r["observed"] == n_obs]
        ax.plot([r["effective_rank"] for r in rows], [r["test_error"] for r in rows], "o-", label=f"{n_obs} observed")
        for r in rows:
            ax.annotate(r["method"], (r["effective_rank"], r["test_error"]), fontsize=7)
    ax.set_xlabel("effective rank")
    ax.set_ylabel("relative error on unobserved entries")
    ax.legend()
    files.append(save_figure(fig, out / "dynamics_completion.png"))
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 observed entries only, shorter runs")
    parser.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else RESULTS
    observed_counts = (2000,) if args.quick else (5000, 2000)
    depths = (1, 2, 3, 4)
    print("matrix completion", flush=True)
    comp_rows, trajectories = matrix_completion(observed_counts, depths, max_steps=5000 if args.quick else 50_000)
    print("implicit acceleration", flush=True)
    lrs = np.geomspace(1e-3, 1.0, 7 if args.quick else 13).tolist()
    reg_rows, curves, data = implicit_acceleration((1, 2, 3), 2000 if args.quick else 10_000, lrs)
    files = plot(trajectories, curves, comp_rows, observed_counts, out)
    reg_columns = ["depth", "best_lr", "loss_100", "loss_1000", "final_loss", "optimum", "steps_to_1e-3_excess",
                   "steps_to_1e-4_excess"]
    notes = (__doc__.split("\n\n", 1)[1].rsplit("\n\nRun:", 1)[0]
             + "\n\n## Experiment 1: matrix completion (test error = relative Frobenius error on unobserved entries)")
    write_results("dynamics", comp_rows,
                  ["observed", "method", "test_error", "train_rel_residual", "nuclear_norm", "effective_rank",
                   "steps", "seconds", "status"],
                  title="Optimization dynamics of deep linear networks", notes=notes,
                  extra={"regression": reg_rows, "regression_data": data, "trajectories": trajectories,
                         "l4_curves": {str(k): v for k, v in curves.items()}, "quick": args.quick,
                         "plots": [f.name for f in files]}, out_dir=out)
    with open(out / "dynamics.md", "a") as fh:
        fh.write(f"\n## Experiment 2: implicit acceleration, l4 regression (m={data['m']}, d={data['d']}, "
                 f"initial loss {data['initial_loss']:.4g}, optimum {data['optimum']:.4g})\n\n")
        fh.write(markdown_table(reg_rows, reg_columns))
        fh.write("\nPlots: " + ", ".join(f"![{f.stem}]({f.name})" for f in files) + "\n")
    print((out / "dynamics.md").read_text())


if __name__ == "__main__":
    main()
