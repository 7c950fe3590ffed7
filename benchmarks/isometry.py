"""Isometry at initialization (Xiao et al., ICML 2018): input-output Jacobian singular values, gaussian vs orthogonal.

- **Deep linear chains** (``builders.deep_linear``, width n, depth up to 1000): the Jacobian is the end-to-end
  matrix. ``init="orthogonal"`` (Haar, sign-corrected QR, scale 1) makes it an exact isometry at any depth;
  ``init="gaussian"`` (variance 1/n, the variance-preserving choice) keeps the typical norm but its singular
  values spread exponentially with depth. Singular values by the engine's contraction (``to_dense``) where they
  are representable; the log-spread also by a QR-stabilized product (exact in log space, no underflow).
- **ConvACs** (``builders.deep_convac``, M = r = classes, N up to 1024): per-position Jacobians
  J_i = d h / d x_i (classes x M) at a random unit-norm input, all N of them from one environment sweep of the
  fed network (``tn.gradients.environments``: batch row b carries the cotangent of class b). Node matrices
  gaussian or orthogonal (calibrated, :mod:`builders.init`); product pooling multiplies every J_i by the other
  positions' activations, so orthogonal matrices alone do not make the map an isometry.

Run: ``python benchmarks/isometry.py [--quick] [--out DIR]``; writes isometry.json / isometry.md /
isometry.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, markdown_table, pyplot, save_figure, write_results  # noqa: E402

import builders  # noqa: E402
from builders.init import INITS  # noqa: E402
from tn.gradients import environments  # noqa: E402

CONVAC_ORTHOGONAL = "orthogonal" if "orthogonal" in INITS else "orthonormal"


def verdict(ok):
    return "reproduced" if ok else "NOT reproduced"


def log_singular_values_qr(factors):
    """log singular values of W_N ... W_1 from a QR-stabilized product (sorted descending).

    Accumulates Q R = W_j Q_{j-1} R_{j-1}: the product equals Q_N (R_N ... R_1) and the log|diagonal| sums give its
    log singular values in the limit of long products (a Lyapunov spectrum); exact for the extremes' sum."""
    Q = np.eye(factors[0].shape[1])
    logs = np.zeros(factors[0].shape[1])
    for W in factors:
        Q, R = np.linalg.qr(W @ Q)
        logs += np.log(np.abs(np.diag(R)))
    return np.sort(logs)[::-1]


def chain_rows(width, depths, seed=0):
    rows, spectra = [], {}
    for init in ("orthogonal", "gaussian"):
        for depth in depths:
            net = builders.deep_linear((width,) * (depth + 1), init=init, seed=seed)
            factors = [net.data(("W", j)) for j in range(1, depth + 1)]
            J = net.to_dense()
            s = np.linalg.svd(J, compute_uv=False) if np.all(np.isfinite(J)) else None
            logs = log_singular_values_qr(factors)
            dense_ok = s is not None and (logs[0] - logs[-1]) / np.log(10) < 12   # float64 SVD resolves s_min
            spectra[(init, depth)] = logs / np.log(10)
            rows.append({"network": "deep linear", "init": init, "size": f"n={width}", "depth": depth,
                         "max |s - 1| (dense)": float(np.max(np.abs(s - 1))) if dense_ok else None,
                         "log10 s_max": float(logs[0] / np.log(10)), "log10 s_min": float(logs[-1] / np.log(10)),
                         "log10 s_max/s_min": float((logs[0] - logs[-1]) / np.log(10)),
                         "dense SVD": "resolves s_min" if dense_ok else "s_min below eps s_max (QR only)"})
    return rows, spectra


def convac_jacobians(N, M, init, seed=0):
    """The N per-position Jacobians (classes = M rows, M columns) at one random unit-norm input."""
    net = builders.deep_convac(N, M, M, classes=M, init=init, seed=seed)
    x = np.random.default_rng(seed + 1).standard_normal((N, M))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    fed = net.fed_network([np.repeat(x[i][None], M, axis=0) for i in range(N)], list(net.input_legs))
    env = environments(fed, output_grad=np.eye(M), wrt=[("feature", i) for i in range(N)])
    return [env[("feature", i)] for i in range(N)]      # row b = d h_b / d x_i


def convac_rows(Ns, M, seed=0):
    rows, conds = [], {}
    for init in (CONVAC_ORTHOGONAL, "gaussian"):
        for N in Ns:
            Js = convac_jacobians(N, M, init, seed)
            s = np.array([np.linalg.svd(J, compute_uv=False) for J in Js])
            cond = s[:, 0] / s[:, -1]
            norms = np.log10(s[:, 0])
            conds[(init, N)] = cond
            rows.append({"network": "deep ConvAC", "init": init, "size": f"M=r={M}", "N": N,
                         "median cond(J_i)": float(np.median(cond)), "max cond(J_i)": float(cond.max()),
                         "std over i of log10 ||J_i||": float(norms.std()),
                         "log10 ||J_i|| min/max": f"{norms.min():.3g}/{norms.max():.3g}"})
    return rows, conds


def claims(chain, conv, depths, Ns):
    out = []
    orth = [r for r in chain if r["init"] == "orthogonal"]
    worst = max(r["max |s - 1| (dense)"] for r in orth)
    out.append({"claim": "orthogonal deep linear chains are exact isometries", "expected":
                f"every singular value 1 (max |s - 1| < 1e-10) up to depth {max(depths)}",
                "measured": f"max |s - 1| = {worst:.3g}", "verdict": verdict(worst < 1e-10)})
    gauss = [r["log10 s_max/s_min"] for r in chain if r["init"] == "gaussian"]
    out.append({"claim": "gaussian chains lose isometry with depth", "expected":
                "log10 s_max/s_min grows with depth", "measured": ", ".join(
                    f"depth {d}: {g:.3g}" for d, g in zip(depths, gauss)),
                "verdict": verdict(all(b > a for a, b in zip(gauss, gauss[1:])))})
    oc = [r for r in conv if r["init"] == CONVAC_ORTHOGONAL]
    out.append({"claim": "product pooling breaks isometry even with orthogonal node matrices", "expected":
                "cond(J_i) > 1 and the spread of ||J_i|| over positions grows with N", "measured": ", ".join(
                    f"N={r['N']}: cond {r['median cond(J_i)']:.3g}, spread {r['std over i of log10 ||J_i||']:.3g}"
                    for r in oc),
                "verdict": verdict(min(r["median cond(J_i)"] for r in oc) > 1.001
                                   and oc[-1]["std over i of log10 ||J_i||"] > oc[0]["std over i of log10 ||J_i||"])})
    return out


def plot(out, spectra, conds, depths, Ns):
    plt = pyplot()
    if plt is None:
        return []
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (init, depth), logs in spectra.items():
        ax1.plot(np.full(len(logs), depth) * (1.08 if init == "gaussian" else 0.93), logs, "o" if init ==
                 "gaussian" else "s", ms=3, alpha=.5, color="C1" if init == "gaussian" else "C0",
                 label=init if depth == depths[0] else None)
    ax1.set_xscale("log")
    ax1.set_xlabel("depth")
    ax1.set_ylabel("log10 singular values of the Jacobian")
    ax1.set_title("deep linear chains at init")
    ax1.legend()
    for init, color in ((CONVAC_ORTHOGONAL, "C0"), ("gaussian", "C1")):
        ax2.plot(Ns, [np.median(conds[(init, N)]) for N in Ns], "o-", color=color, label=f"{init}: median")
        ax2.plot(Ns, [np.max(conds[(init, N)]) for N in Ns], "v:", color=color, label=f"{init}: max over positions")
    ax2.axhline(1, color="k", lw=.8, label="isometry (cond 1)")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("N (positions)")
    ax2.set_ylabel("condition number of J_i = dh/dx_i")
    ax2.set_title("deep ConvACs: per-position Jacobians at init")
    ax2.legend(fontsize=8)
    return [save_figure(fig, out / "isometry.png")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small settings (seconds)")
    parser.add_argument("--out", default=None, help="output directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else RESULTS
    depths = (1, 10, 100) if args.quick else (1, 10, 100, 1000)
    Ns = (4, 16, 64) if args.quick else (4, 16, 64, 256, 1024)
    width, M = 16, 4
    chain, spectra = chain_rows(width, depths)
    conv, conds = convac_rows(Ns, M)
    results = claims(chain, conv, depths, Ns)
    files = plot(out, spectra, conds, depths, Ns)
    write_results("isometry", results, ["claim", "expected", "measured", "verdict"],
                  title="Isometry at initialization", notes=__doc__.split("\n\n", 1)[1].rsplit("\n\nRun:", 1)[0],
                  extra={"chains": chain, "convacs": conv, "quick": args.quick}, out_dir=out)
    with open(out / "isometry.md", "a") as fh:
        fh.write("\n## Deep linear chains\n\n" + markdown_table(chain, list(chain[0])))
        fh.write("\n## Deep ConvACs\n\n" + markdown_table(conv, list(conv[0])))
        fh.write("".join(f"\n![{f.stem}]({f.name})\n" for f in files))
    print((out / "isometry.md").read_text())
    return 0 if all(r["verdict"] == "reproduced" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
