"""Optimization dynamics of deep linear networks (theory §7): the papers' matrix-completion and acceleration protocols.

Experiment 1, **implicit regularization in deep matrix factorization** (Arora, Cohen, Hu & Luo, NeurIPS 2019,
their protocol): a 100 x 100 ground truth of rank 5 (U V^T with Gaussian factors, scaled to Frobenius norm 100),
2,000 or 5,000 entries observed uniformly at random; deep linear networks of depth 2, 3, 4 with hidden size 100
(``builders.linear.deep_linear(init="gaussian", scale=s)``: every factor entry independent N(0, s^2), not
balanced), s in {1e-3, 1e-4, 1e-5, 1e-6}, trained by gradient descent on the factors
(``analysis.dynamics.gradient_descent``, gradients by environments) on half the mean squared error over the
observed entries until it is at most ``TOL``. The step is adaptive (``max_move``: at most a fraction of the
parameters' norm per step, capped by a curvature estimate, at a solution n^2 / (N sigma_1^{2-2/N})): the same
gradient-flow path the theory describes, crossing the first plateau of a tiny initialization in a few hundred
steps instead of millions. The later plateaus (one per further singular value: saddle-to-saddle dynamics) are
crossed at the stability step and last ~sigma_0^{-(1 - 2/N)} steps (sigma_0 ~ (s sqrt(100))^N), so deep runs from
the smallest scales hit the step cap (``MAX_STEPS``) on this budget: their rows say "max steps", and a
verdict computed from such a row is about the state reached, not the limit. Error = mean squared error over **all** entries; baseline: nuclear-norm minimization
subject to the observations (soft-impute with continuation). Expected (the issue's numbers, measured with these
routines): at 2,000 entries depth >= 3 far below nuclear norm (~4e-5 vs 0.043) and depth 2 approaching nuclear
norm as s -> 0; at 5,000 all near exact.

Experiment 2, **implicit acceleration by overparameterization** (Arora, Cohen & Hazan, ICML 2018): l_p regression,
loss (1/m) sum_i |w^T x_i - y_i|^p, p = 4 (the paper's case) and the p = 2 control (the paper: no acceleration
for p <= 2). Depth 1 is the linear model; depths 2 and 3 add scalar layers (dims (d, 1, 1) and (d, 1, 1, 1)),
from the same end-to-end initial w (balanced factors); baselines AdaGrad and AdaDelta on the linear model. For
each method the step size of a geometric grid that reaches the lowest loss is kept. Data: a synthetic
ill-conditioned set (m = 1,000, d = 20) and scikit-learn's diabetes set (442 x 10, standardized); the paper's
UCI gas-sensor data is not available offline. Reported: iterations to an excess loss (over the optimum, by
scipy's BFGS) of 1e-3 of the initial one, and loss vs iterations (log scale).

Run: ``python benchmarks/dynamics.py [--quick] [--out DIR]``. Writes dynamics.json, dynamics.md and
dynamics_*.png. BLAS runs single-threaded (small matrices on a shared machine: threads only contend).
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

N_SIDE, RANK, TOL, MAX_MOVE, MAX_STEPS = 100, 5, 1e-6, 0.05, 1200


def verdict(ok):
    return "reproduced" if ok else "NOT reproduced"


# ================================================================================ experiment 1: completion
def curvature_step(shape, depth, seed=0):
    """Step size 1 / (a curvature estimate in factor space): n_1 n_2 / (N max_j prod_{i != j} ||W_i||_2^2), operator
    norms by warm-started power iteration. Half the mean squared error over observed entries has curvature
    ~1 / (n_1 n_2) along incoherent (spread-out) rank-one directions, the ones low-rank factors span, and each of the
    N layers adds prod_{i != j} ||W_i||^2 of it; at a balanced solution this is n_1 n_2 / (N sigma_1^{2-2/N}).
    Near a tiny initialization it is huge and ``max_move`` bounds the step."""
    vectors = {}
    cells = shape[0] * shape[1]

    def lr(params):
        norms = []
        for j, W in enumerate(params):
            v = vectors.get(j)
            v = np.random.default_rng(seed + j).standard_normal(W.shape[1]) if v is None else v
            for _ in range(3):
                v = W.T @ (W @ v)
                v /= np.linalg.norm(v)
            vectors[j] = v
            norms.append(np.linalg.norm(W @ v))
        logs = np.log(np.maximum(norms, 1e-300))
        worst = max(2 * (logs.sum() - logs[j]) for j in range(len(params)))
        return float(min(cells / depth * np.exp(-worst), 1e300))
    return lr


def completion_run(M, mask, depth, scale, max_steps, seed, hidden=None):
    """One deep matrix factorization trained from Gaussian init of scale s; returns (row, history)."""
    n_obs = int(mask.sum())
    side = M.shape[0]
    lr = curvature_step(M.shape, depth, seed)
    net = deep_linear((side,) + (hidden or side,) * (depth - 1) + (side,), init="gaussian", scale=scale, seed=seed)
    start = time.perf_counter()
    try:
        h = dyn.gradient_descent(net, dyn.squared_loss(M, mask), lr=lr, steps=max_steps, record_every=25, tol=TOL,
                                 max_move=MAX_MOVE)
        status = "converged" if h.loss[-1] <= TOL else "max steps"
    except DynamicsError as err:
        h, status = err.history, f"stopped: {err}"
    X = net.to_dense()
    row = {"observed": n_obs, "method": f"depth {depth}", "depth": depth, "init scale": scale,
           "test MSE (all entries)": float(np.mean((X - M) ** 2)), "train MSE": float(np.mean((X - M)[mask] ** 2)),
           "effective rank": dyn.effective_rank(X), "steps": h.step[-1], "status": status,
           "seconds": round(time.perf_counter() - start, 2)}
    return row, h


def matrix_completion(observed_counts, depths, scales, max_steps, seed=0, side=N_SIDE, rank=RANK):
    M = dyn.random_low_rank((side, side), rank, seed=seed)        # unit RMS entry: Frobenius norm = side (100)
    rows, trajectories, baseline = [], {}, {}
    for n_obs in observed_counts:
        mask = dyn.observation_mask(M.shape, n_obs, seed=seed + 1)
        start = time.perf_counter()
        X, info = dyn.nuclear_norm_completion(M, mask)
        baseline[n_obs] = float(np.mean((X - M) ** 2))
        rows.append({"observed": n_obs, "method": "nuclear norm", "test MSE (all entries)": baseline[n_obs],
                     "train MSE": float(np.mean((X - M)[mask] ** 2)), "effective rank": dyn.effective_rank(X),
                     "steps": info["iterations"], "status": "converged",
                     "seconds": round(time.perf_counter() - start, 2)})
        print(f"  {n_obs} observed, nuclear norm: MSE {baseline[n_obs]:.3g}", flush=True)
        for depth in depths:
            for s in scales:
                row, h = completion_run(M, mask, depth, s, max_steps, seed + 2)
                rows.append(row)
                if s == scales[0]:
                    trajectories[f"{n_obs}/depth {depth}"] = {"step": h.step, "singular_values":
                                                              [v[:10].tolist() for v in h.singular_values]}
                print(f"  {n_obs} observed, depth {depth}, s={s:g}: MSE {row['test MSE (all entries)']:.3g}, "
                      f"eff. rank {row['effective rank']:.2f}, {row['steps']} steps ({row['status']}), "
                      f"{row['seconds']} s", flush=True)
    return rows, trajectories, baseline


def judged(rows, ok):
    """Verdict over runs: judged on the converged ones; runs that hit the step cap are named, not judged."""
    done = [r for r in rows if r.get("status", "converged") == "converged"]
    capped = [r for r in rows if r not in done]
    if not done:
        return "undetermined (no run converged)"
    if not all(ok(r) for r in done):
        return "NOT reproduced"
    return "reproduced" if not capped else (f"reproduced where converged ({len(capped)} of {len(rows)} runs hit the "
                                            "step cap)")


def completion_claims(rows, baseline, observed_counts, depths, scales):
    """The protocol's expected outcomes, each judged from the measured errors."""
    def runs(n, ds):
        return [r for r in rows if r["observed"] == n and r.get("depth") in ds]

    def mse(r):
        return r["test MSE (all entries)"]

    def listing(rs):
        return "; ".join(f"d{r['depth']} s={r['init scale']:g}: {mse(r):.3g}{'' if r['status'] == 'converged' else ' (cap)'}"
                         for r in rs)
    out = []
    few, many = min(observed_counts), max(observed_counts)
    deep = runs(few, [d for d in depths if d >= 3])
    if deep:
        out.append({"claim": f"{few} observed: depth >= 3 far below nuclear norm",
                    "expected": f"MSE(depth >= 3) < NN/10 (issue: ~4e-5 vs 0.043)",
                    "measured": f"NN {baseline[few]:.3g}; " + listing(deep),
                    "verdict": judged(deep, lambda r: mse(r) < baseline[few] / 10)})
    two = runs(few, [2])
    if two:
        ratios = [mse(r) / baseline[few] for r in two]
        out.append({"claim": f"{few} observed: depth 2 approaches nuclear norm as s -> 0",
                    "expected": "depth-2 MSE / NN MSE -> 1 as s decreases (within [1/3, 3] at the smallest s)",
                    "measured": "ratios " + ", ".join(f"s={r['init scale']:g}: {q:.3g}" for r, q in zip(two, ratios)),
                    "verdict": judged(two[-1:], lambda r: 1 / 3 <= mse(r) / baseline[few] <= 3)})
    if many != few:
        every = runs(many, depths)
        out.append({"claim": f"{many} observed: every method near exact", "expected": "every MSE < 1e-3",
                    "measured": f"NN {baseline[many]:.3g}; " + listing(every),
                    "verdict": "NOT reproduced" if baseline[many] >= 1e-3 else judged(every, lambda r: mse(r) < 1e-3)})
    return out


def rescore(out):
    """Recompute the verdicts of a saved run (``dynamics.json`` in ``out``) and rewrite its tables."""
    import json
    doc = json.loads((out / "dynamics.json").read_text())
    comp, acc = doc["completion"], doc["acceleration"]
    baseline = {r["observed"]: r["test MSE (all entries)"] for r in comp if r["method"] == "nuclear norm"}
    counts = sorted(baseline)
    depths = sorted({r["depth"] for r in comp if "depth" in r})
    scales = sorted({r["init scale"] for r in comp if "depth" in r}, reverse=True)
    claims = completion_claims(comp, baseline, counts, depths, scales) + acceleration_claims(acc, doc.get("steps", 1000))
    write_tables(out, claims, comp, acc, {k: v for k, v in doc.items() if k not in ("benchmark", "machine", "rows")},
                 doc.get("plots", []))
    return claims


# ================================================================================ experiment 2: acceleration
def synthetic_dataset(m=1000, d=20, seed=0):
    """Ill-conditioned Gaussian features (scales 1 .. 0.05), linear targets plus noise 0.1."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    X = rng.standard_normal((m, d)) @ (Q * np.geomspace(1.0, 0.05, d)).T
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(m)


def diabetes_dataset():
    """scikit-learn's diabetes regression set, features and target standardized."""
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return X, (y - y.mean()) / y.std()


def optimum(loss, d):
    from scipy.optimize import minimize
    res = minimize(lambda w: loss(w[None])[0], np.zeros(d), jac=lambda w: loss(w[None])[1][0], method="BFGS",
                   options={"gtol": 1e-12, "maxiter": 20_000})
    return float(res.fun)


def run_method(method, loss, w0, lr, steps):
    """History of one method: 'depth N' = gradient descent on the factors of a depth-N chain, else an update rule."""
    if method.startswith("depth"):
        depth = int(method.split()[1])
        dims = (w0.shape[1],) + (1,) * depth
        net = deep_linear(dims, init="balanced", seed=0)
        for j, w in enumerate(balanced_factors(w0, dims, seed=0), 1):
            net.set_data(("W", j), w)
        return dyn.gradient_descent(net, loss, lr=lr, steps=steps, record_every=10, diverge_factor=10.0)
    return dyn.rule_descent(w0, loss, method, lr=lr, steps=steps, record_every=10, diverge_factor=10.0)[1]


def acceleration(datasets, ps, methods, steps, lrs, seed=0):
    rows, curves = [], {}
    for dname, (X, y) in datasets.items():
        d = X.shape[1]
        w0 = 0.1 * np.random.default_rng(seed + 1).standard_normal((1, d))
        for p in ps:
            loss = dyn.lp_regression_loss(X, y, p=p)
            best_loss, start_loss = optimum(loss, d), loss(w0)[0]
            target = best_loss + 1e-3 * (start_loss - best_loss)
            for method in methods:
                best = None
                for lr in (lrs["adadelta"] if method == "adadelta" else lrs["default"]):
                    try:
                        h = run_method(method, loss, w0, lr, steps)
                    except DynamicsError:
                        continue
                    if best is None or h.loss[-1] < best[1].loss[-1]:
                        best = (lr, h)
                lr, h = best
                hit = np.nonzero(np.array(h.loss) <= target)[0]
                reached = int(h.step[hit[0]]) if len(hit) else None
                rows.append({"data": dname, "p": p, "method": method, "best lr": lr, "initial loss": start_loss,
                             "optimum": best_loss, "final loss": h.loss[-1], "steps to 1e-3 excess": reached})
                curves[(dname, p, method)] = {"step": h.step, "loss": h.loss, "lr": lr, "optimum": best_loss}
                print(f"  {dname} l{p} {method}: lr {lr:.3g}, final {h.loss[-1]:.5g} (optimum {best_loss:.5g}), "
                      f"steps to 1e-3 excess {reached}", flush=True)
    return rows, curves


def acceleration_claims(rows, steps):
    """l4: depth 2 or 3 beats depth 1, AdaGrad and AdaDelta; l2: depth 2 does not beat depth 1."""
    out = []

    def n(data, p, method):
        v = next(r["steps to 1e-3 excess"] for r in rows if r["data"] == data and r["p"] == p and r["method"] == method)
        return steps + 1 if v is None else v    # not reached: worse than any reached count
    for data in dict.fromkeys(r["data"] for r in rows):
        ps = {r["p"] for r in rows if r["data"] == data}
        if 4 in ps:
            deep = min(n(data, 4, m) for m in ("depth 2", "depth 3"))
            others = {m: n(data, 4, m) for m in ("depth 1", "adagrad", "adadelta")}
            out.append({"claim": f"{data}, l4: overparameterization accelerates",
                        "expected": "min(depth 2, depth 3) reaches 1e-3 excess in fewer steps than depth 1, AdaGrad, "
                                    "AdaDelta",
                        "measured": f"depth 2/3: {deep}; " + ", ".join(f"{m}: {v}" for m, v in others.items()),
                        "verdict": verdict(deep < min(others.values()))})
        if 2 in ps:
            d1, d2 = n(data, 2, "depth 1"), n(data, 2, "depth 2")
            out.append({"claim": f"{data}, l2 control: no acceleration",
                        "expected": "depth 2 not faster than depth 1 (steps ratio depth2/depth1 >= 0.8)",
                        "measured": f"depth 1: {d1}, depth 2: {d2} (ratio {d2 / d1:.3g})",
                        "verdict": verdict(d2 / d1 >= 0.8)})
    return out


# ================================================================================ output
def plots(out, comp_rows, baseline, trajectories, curves, observed_counts, depths, scales):
    plt = pyplot()
    if plt is None:
        print("matplotlib not installed: no plots")
        return []
    files = []
    fig, axes = plt.subplots(1, len(observed_counts), figsize=(5.2 * len(observed_counts), 4), squeeze=False)
    for ax, n_obs in zip(axes[0], observed_counts):
        for depth in depths:
            sel = [r for r in comp_rows if r["observed"] == n_obs and r.get("depth") == depth]
            ax.loglog([r["init scale"] for r in sel], [r["test MSE (all entries)"] for r in sel], "o-",
                      label=f"depth {depth}")
        ax.axhline(baseline[n_obs], color="k", ls="--", label="nuclear norm")
        ax.set_xlabel("init scale s (std of every factor entry)")
        ax.set_ylabel("MSE over all entries")
        ax.set_title(f"{n_obs} observed entries")
        ax.invert_xaxis()
        ax.legend(fontsize=8)
    fig.suptitle("Deep matrix factorization, 100 x 100 rank 5 (Arora-Cohen-Hu-Luo protocol)")
    files.append(save_figure(fig, out / "dynamics_completion.png"))
    keys = [k for k in trajectories if k.startswith(f"{min(observed_counts)}/")]
    if keys:
        fig, axs = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), sharey=True, squeeze=False)
        for ax, key in zip(axs[0], keys):
            sv = np.array(trajectories[key]["singular_values"])
            ax.semilogy(trajectories[key]["step"], np.maximum(sv, 1e-12))
            ax.set_title(key.split("/")[1])
            ax.set_xlabel("step")
        axs[0][0].set_ylabel("top 10 singular values")
        fig.suptitle(f"End-to-end singular values during training ({min(observed_counts)} observed, s={scales[0]:g})")
        files.append(save_figure(fig, out / "dynamics_singular_values.png"))
    panels = sorted({(k[0], k[1]) for k in curves})
    fig, axs = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    for ax, (data, p) in zip(axs[0], panels):
        for (dd, pp, method), c in curves.items():
            if (dd, pp) == (data, p):
                excess = np.maximum(np.array(c["loss"]) - c["optimum"], 1e-16)
                ax.semilogy(c["step"], excess, label=f"{method} (lr {c['lr']:.2g})")
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss - optimum")
        ax.set_title(f"{data}, l{p} regression")
        ax.legend(fontsize=7)
    files.append(save_figure(fig, out / "dynamics_acceleration.png"))
    return files


def write_tables(out, claims, comp_rows, acc_rows, extra, plot_names):
    notes = __doc__.split("\n\n", 1)[1].rsplit("\n\nRun:", 1)[0]
    write_results("dynamics", claims, ["claim", "expected", "measured", "verdict"],
                  title="Optimization dynamics of deep linear networks: the papers' protocols", notes=notes,
                  extra={**extra, "plots": list(plot_names)}, out_dir=out)
    comp_cols = ["observed", "method", "init scale", "test MSE (all entries)", "train MSE", "effective rank", "steps",
                 "status", "seconds"]
    acc_cols = ["data", "p", "method", "best lr", "initial loss", "optimum", "final loss", "steps to 1e-3 excess"]
    with open(out / "dynamics.md", "a") as fh:
        fh.write("\n## Experiment 1: matrix completion\n\n" + markdown_table(comp_rows, comp_cols))
        fh.write("\n## Experiment 2: implicit acceleration (the paper's UCI gas-sensor data is not available offline; "
                 "diabetes is scikit-learn's bundled set)\n\n" + markdown_table(acc_rows, acc_cols))
        fh.write("\nPlots: " + ", ".join(f"![{Path(f).stem}]({f})" for f in plot_names) + "\n")
        fh.write("\nThe singular-value trajectories (the paper's Fig. 3 view) are this run's, at the largest init "
                 "scale.\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings (seconds)")
    parser.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    parser.add_argument("--rescore", action="store_true", help="recompute the verdicts of the run saved in --out")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    if args.rescore:
        return 0 if all(c["verdict"] == "reproduced" for c in rescore(out)) else 1
    if args.quick:  # a 30 x 30 rank-2 problem: same code path, seconds
        side, rank, observed_counts, depths, scales, max_steps = 30, 2, (300,), (2, 3), (1e-2,), 500
        steps, lrs = 300, {"default": [0.01, 0.1], "adadelta": [1.0]}
        datasets = {"synthetic": synthetic_dataset(m=200, d=8)}
    else:
        side, rank, observed_counts, depths, scales = N_SIDE, RANK, (2000, 5000), (2, 3, 4), (1e-3, 1e-4, 1e-5, 1e-6)
        max_steps = MAX_STEPS
        steps = 1000
        lrs = {"default": [0.03, 0.3, 1.0], "adadelta": [1.0, 3.0]}
        datasets = {"synthetic": synthetic_dataset(), "diabetes": diabetes_dataset()}
    start = time.perf_counter()
    print("matrix completion", flush=True)
    comp_rows, trajectories, baseline = matrix_completion(observed_counts, depths, scales, max_steps, side=side,
                                                          rank=rank)
    print("implicit acceleration", flush=True)
    acc_rows, curves = acceleration(datasets, (4, 2), ("depth 1", "depth 2", "depth 3", "adagrad", "adadelta"),
                                    steps, lrs)
    claims = completion_claims(comp_rows, baseline, observed_counts, depths, scales) + acceleration_claims(acc_rows,
                                                                                                         steps)
    files = plots(out, comp_rows, baseline, trajectories, curves, observed_counts, depths, scales)
    write_tables(out, claims, comp_rows, acc_rows,
                 {"completion": comp_rows, "acceleration": acc_rows, "trajectories": trajectories, "quick": args.quick,
                  "steps": steps, "seconds": round(time.perf_counter() - start, 1)}, [f.name for f in files])
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0 if all(c["verdict"] == "reproduced" for c in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
