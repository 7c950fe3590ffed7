"""Training ConvACs (theory §12): gradient cost, the ICLR'17 blob experiment, layer widths, trained entanglement.

Four parts, side by side in one run (``OMP_NUM_THREADS=1`` is set before numpy loads):

1. ``gradients``: one gradient step (forward keeping its messages + backward, :func:`tn.treeexec.value_and_grad`)
   vs one forward pass (``net.evaluate``) of ``builders.deep_convac(256, M=16, widths=32)`` on B = 1024, in both
   domains, and vs the environment route ``tn.gradients`` (the einsum contraction of the fed network and its
   reverse sweep); plus the fixed cost of a small-batch ``evaluate`` (N = 1024, B = 1) against a numpy forward
   with the weights stacked per level outside the timed region.
2. ``blobs``: the ICLR'17 closedness / symmetry tasks (:mod:`analysis.datasets`), deep log-space ConvACs with
   square and mirror 2 x 2 pooling (``builders.convac(grid=...)``) and a shallow one (CP), Adam (beta2 0.9),
   batch 64, lr x 0.1 at 80% (the paper's protocol, fewer iterations and 16 x 16 images in ``--quick``).
3. ``widths``: equal parameter budgets, wide-early vs wide-late widths on a 16 x 16 canvas, on a local task
   (one digit in a corner: is it < 5?) and a global one (two digits in opposite corners: the same digit?).
4. ``entanglement``: every trained network's float Schmidt spectrum (gram route) per grid partition, with its
   entropy and rank (spectral gap), next to the min-cut bound, and the same for its initial weights.

Run: ``python benchmarks/train.py --quick`` (a few minutes) or ``python benchmarks/train.py`` (the paper's
32 x 32 images, 20,000 / 4,000 samples, 15,000 iterations: hours on this machine).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NAME = "train"
PARTITIONS = ("left-right", "top-bottom", "checkerboard", "center-border")
OVERRIDES = ("size", "n_train", "n_test", "iterations", "digit_train", "digit_test", "digit_iterations", "grad_n",
             "grad_batch", "eval_every")


def settings(args) -> dict:
    quick = args.quick
    s = {"size": 16 if quick else 32, "n_train": 4000 if quick else 20000, "n_test": 1000 if quick else 4000,
         "iterations": 500 if quick else 15000, "width": 16, "shallow_Z": 64,
         "digit_train": 3000, "digit_test": 1000, "digit_iterations": 800 if quick else 3000, "global_digits": 4,
         "grad_n": 256, "grad_batch": 1024, "eval_every": 50 if quick else 500}
    s["tasks"] = tuple(args.tasks.split(","))
    for key in OVERRIDES:
        if getattr(args, key, None) is not None:
            s[key] = getattr(args, key)
    return s


# ---------------------------------------------------------------------- 1. gradient cost
def gradient_rows(s, common):
    import numpy as np

    import builders
    from tn.network import read_only
    from tn.treeexec import parameter_groups, value_and_grad
    rows = []
    N, M, r, B = s["grad_n"], 16, 32, s["grad_batch"]
    net = builders.deep_convac(N, M=M, widths=r, seed=0)
    pos = net.copy()
    for owner, names in parameter_groups(pos).items():
        a = read_only(np.abs(pos.data(owner)))
        for n in names:
            pos.set_data(n, a)
    x = np.random.default_rng(0).random((N, B, M))
    x /= np.linalg.norm(x, axis=2, keepdims=True)
    G = np.ones((B, 1))

    def loss(out):
        return float(out.sum()), G

    for domain, model in (("linear", net), ("log", pos)):
        fwd = common.timeit(lambda m=model, d=domain: m.evaluate(x, domain=d), repeat=3, min_time=0.2)
        grad = common.timeit(lambda m=model, d=domain: value_and_grad(m, x, loss, domain=d), repeat=3, min_time=0.2)
        rows.append({"case": f"N={N} M={M} r={r} B={B}", "domain": domain, "method": "tree executor gradient",
                     "seconds": grad["best"], "forward_s": fwd["best"], "ratio_vs_forward": grad["best"] / fwd["best"]})
        rows.append({"case": f"N={N} M={M} r={r} B={B}", "domain": domain, "method": "forward (evaluate)",
                     "seconds": fwd["best"], "forward_s": fwd["best"], "ratio_vs_forward": 1.0})
    fed = net.fed_network(list(x), net.input_legs)
    env = common.timeit(lambda: fed.gradients(G), repeat=2, min_time=0.2)
    lin_fwd = rows[1]["seconds"]
    rows.append({"case": f"N={N} M={M} r={r} B={B}", "domain": "linear", "method": "environment route (tn.gradients)",
                 "seconds": env["best"], "forward_s": lin_fwd, "ratio_vs_forward": env["best"] / lin_fwd})
    # small batches: the fixed cost per call
    big = builders.deep_convac(1024, M=2, widths=2, seed=0)
    xs = np.random.default_rng(1).random((1024, 1, 2))
    tree = builders.tree_of(big)
    levels = tree.by_level()
    W0 = np.stack([big.data(("leaf", i)) for i in range(1024)])
    Ws = [np.stack([big.data(("node", v)) for v in level]) for level in levels[1:]]

    def numpy_forward():
        h = np.matmul(xs, W0)
        for W in Ws:
            h = np.matmul(h[0::2] * h[1::2], W)
        return h[0]

    assert np.allclose(numpy_forward(), big.evaluate(xs))
    ours = common.timeit(lambda: big.evaluate(xs), repeat=5)
    ref = common.timeit(numpy_forward, repeat=5)
    rows.append({"case": "N=1024 M=2 r=2 B=1", "domain": "linear", "method": "evaluate (cached plan, stacked weights)",
                 "seconds": ours["best"], "forward_s": ref["best"], "ratio_vs_forward": ours["best"] / ref["best"]})
    rows.append({"case": "N=1024 M=2 r=2 B=1", "domain": "linear", "method": "numpy forward, weights pre-stacked",
                 "seconds": ref["best"], "forward_s": ref["best"], "ratio_vs_forward": 1.0})
    return rows


# ---------------------------------------------------------------------- 2. blobs
def blob_rows(s):
    import numpy as np

    import builders
    from analysis.datasets import blob_task
    rows, curves, nets = [], {}, {}
    S = s["size"]
    for task in s["tasks"]:
        X, y, Xt, yt = blob_task(task, s["n_train"], s["n_test"], size=S, seed=0)
        archs = {
            "deep square 2x2": builders.convac(grid=(S, S), M=2, widths=s["width"], classes=2, pooling="square",
                                               seed=0, dtype=np.float32),
            "deep mirror 2x2": builders.convac(grid=(S, S), M=2, widths=s["width"], classes=2, pooling="mirror",
                                               seed=0, dtype=np.float32),
            "shallow (CP)": builders.shallow_convac(S * S, M=2, Z=s["shallow_Z"], classes=2, seed=0, dtype=np.float32),
        }
        for arch, net in archs.items():
            start = time.perf_counter()
            result, curve = _train_fit(net, X, y, Xt, yt, s["iterations"], s["eval_every"], "binary")
            rows.append({"task": task, "architecture": arch, "test_accuracy": curve[-1]["test_accuracy"],
                         "train_accuracy": curve[-1]["train_accuracy"], "iterations": s["iterations"],
                         "images": f"{S}x{S}", "n_train": s["n_train"], "seconds": time.perf_counter() - start})
            curves[f"{task} / {arch}"] = curve
            nets[(task, arch)] = (net, result.network)
            print(f"  blobs {task:10s} {arch:16s} test {curve[-1]['test_accuracy']:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return rows, curves, nets


def _train_fit(net, X, y, Xt, yt, iterations, eval_every, representation):
    """One fit() run with the paper's optimizer settings; the test accuracy every ``eval_every`` iterations."""
    from analysis.training import fit
    curve = []

    def probe(step, live):
        if step % eval_every == 0 or step == iterations:
            curve.append({"iteration": step, "test_accuracy": live.accuracy(Xt, yt)})

    result = fit(net, X, y, representation=representation, iterations=iterations, lr=0.003, batch_size=64,
                 optimizer="adam", optimizer_options={"beta2": 0.9}, schedule="step", seed=0, progress=False,
                 callback=probe)
    curve[-1]["train_accuracy"] = result.history["accuracy"][-1]
    return result, curve


# ---------------------------------------------------------------------- 3. widths
def budget(N, M, widths, classes, levels):
    """Weights of a grid ConvAC with 2 x 2 pooling: N M r1 + sum_l (nodes at level l) r_l r_(l+1) + r_L classes."""
    nodes = [N // 4 ** (l + 1) for l in range(levels)]
    total = N * M * widths[0]
    total += sum(nodes[l] * widths[l] * widths[l + 1] for l in range(levels - 1))
    return total + widths[-1] * classes


def width_profiles(N, M, classes):
    """Wide-early (16, 8, 4, 2) and the wide-late profile (k, 2k, 4k, 8k) with the closest weight count."""
    early = [16, 8, 4, 2]
    target = budget(N, M, early, classes, 4)
    k = min(range(1, 32), key=lambda k: abs(budget(N, M, [k, 2 * k, 4 * k, 8 * k], classes, 4) - target))
    return {"wide-early": early, "wide-late": [k, 2 * k, 4 * k, 8 * k]}


def width_rows(s):
    import numpy as np

    import builders
    from analysis.datasets import digit_task
    rows, curves, nets = [], {}, {}
    N, M = 256, 2
    for task in ("local", "global"):
        X, y, Xt, yt = digit_task(task, s["digit_train"], s["digit_test"], seed=0,
                                  digits=s["global_digits"] if task == "global" else 10)
        if task == "local":
            y, yt = (y < 5).astype(int), (yt < 5).astype(int)
        for profile, widths in width_profiles(N, M, 2).items():
            net = builders.convac(grid=(16, 16), M=M, widths=widths, classes=2, seed=0, dtype=np.float32)
            start = time.perf_counter()
            result, curve = _train_fit(net, X, y, Xt, yt, s["digit_iterations"], s["eval_every"], None)
            rows.append({"task": task, "profile": profile, "widths": str(widths),
                         "weights": budget(N, M, widths, 2, 4), "test_accuracy": curve[-1]["test_accuracy"],
                         "train_accuracy": curve[-1]["train_accuracy"], "iterations": s["digit_iterations"],
                         "seconds": time.perf_counter() - start})
            curves[f"{task} / {profile}"] = curve
            nets[(task, profile)] = (net, result.network)
            print(f"  widths {task:6s} {profile:10s} test {curve[-1]['test_accuracy']:.3f}", file=sys.stderr,
                  flush=True)
    return rows, curves, nets


# ---------------------------------------------------------------------- 4. entanglement
def entanglement_rows(nets):
    import numpy as np

    import analysis
    import builders
    from tn.errors import TNError
    from tn.network import read_only
    rows = []
    for (task, arch), (initial, trained) in nets.items():
        H = math.isqrt(len(trained.input_legs))  # every network here lives on a square image
        grid_net = builders.convac(grid=(H, H), M=2, widths=1)
        parts = {name: analysis.make_partition(grid_net, name) for name in PARTITIONS}
        start = initial.copy()
        for name in start.tensor_names:  # the log-space start: |W| (fit's theta = log |W|)
            start.set_data(name, read_only(np.abs(start.data(name)).astype(np.float64), fresh=True))
        for name, part in parts.items():
            cut = analysis.mincut(trained, part.A)
            row = {"task": task, "architecture": arch, "partition": name, "log2_bound": cut.log2_bound}
            for label, net in (("trained", trained), ("init", start)):
                try:
                    spec = analysis.schmidt_spectrum(net.copy() if label == "init" else _as64(net), part.A,
                                                     fixed={"y": 1}, cut=cut)
                    e = analysis.entanglement(spec)
                    row.update({f"{label}_rank": e.rank, f"{label}_gap": e.gap, f"{label}_entropy": e.entropy})
                except TNError as err:  # a cut too wide for the gram route
                    row.update({f"{label}_rank": None, f"{label}_entropy": None,
                                "note": f"cut 2^{cut.log2_bound:.3g}: {type(err).__name__}"})
            rows.append(row)
    return rows


def _as64(net):
    import numpy as np

    from tn.network import read_only
    out = net.copy()
    seen = {}
    for name in out.tensor_names:
        a = out.data(name)
        seen.setdefault(id(a), read_only(a.astype(np.float64), fresh=True))
        out.set_data(name, seen[id(a)])
    return out


# ---------------------------------------------------------------------- plots, notes and main
ENTANGLEMENT_NOTE = (
    "Per trained network and grid partition: the min-cut bound (log2), the float Schmidt spectrum of the class-1 "
    "coefficient tensor (gram route: `analysis.schmidt_spectrum`) as its rank (numpy's tolerance; gap = last kept / "
    "first dropped value, inf = nothing dropped) and von Neumann entropy (bits), and the same for the starting "
    "weights |W| (`init`). SpectrumError: the cut is wider than the gram route's limit, only the bound is known.\n")


def widths_note(s) -> str:
    return ("Digits (scikit-learn, 8 x 8) on a 16 x 16 canvas of uniform noise, features (v, 1 - v). local: one digit "
            "in the top-left corner, label = digit < 5 (what matters is inside one level-3 block). global: digits "
            f"0..{s['global_digits'] - 1} in the top-left and bottom-right corners, label = same digit, a function of "
            f"rank {s['global_digits']} across the corner cut: wide-early's top width 2 bounds that rank by 2. "
            f"{s['digit_train']:,} / {s['digit_test']:,} samples, {s['digit_iterations']:,} Adam steps as above.\n")


def blob_note(s) -> str:
    return (f"{s['size']} x {s['size']} binary images (N = {s['size'] ** 2}, M = 2 features (b, 1 - b)), "
            f"{s['n_train']:,} / {s['n_test']:,} samples, {s['iterations']:,} Adam steps (lr 0.003, beta2 0.9, "
            f"batch 64, x0.1 at 80%), log-space float32 networks: deep = width {s['width']} at every level, "
            f"shallow = CP with Z = {s['shallow_Z']}. The paper's protocol is 32 x 32 (five 2 x 2 levels), "
            "20,000 / 4,000 samples, 15,000 steps; it reports square > mirror on closedness, mirror > square "
            "on symmetry, shallow ~62% / ~77%.\n")


def plot(curves, path, title, common):
    plt = common.pyplot()
    if plt is None:
        return None
    tasks = sorted({k.split(" / ")[0] for k in curves})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for key, curve in curves.items():
            if key.startswith(task + " / "):
                ax.plot([p["iteration"] for p in curve], [p["test_accuracy"] for p in curve], marker="o", ms=3,
                        label=key.split(" / ")[1])
        ax.set_title(f"{title}: {task}")
        ax.set_xlabel("iteration")
        ax.set_ylabel("test accuracy")
        ax.axhline(0.5, color="grey", lw=0.6, ls=":")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return common.save_figure(fig, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16 x 16 blobs, 4,000 / 1,000 samples, 500 iterations")
    parser.add_argument("--out", default=None, help="results directory (default benchmarks/results)")
    parser.add_argument("--tasks", default="closedness,symmetry", help="blob tasks to run (comma-separated)")
    parser.add_argument("--name", default=NAME, help=f"file stem of the results (default {NAME})")
    parser.add_argument("--parts", default="gradients,blobs,widths,entanglement",
                        help="comma-separated subset of gradients, blobs, widths, entanglement")
    for key in OVERRIDES:
        parser.add_argument("--" + key.replace("_", "-"), dest=key, type=int, default=None,
                            help=f"override the {key.replace('_', ' ')}")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from benchmarks import common
    s = settings(args)
    parts = set(args.parts.split(","))
    out = Path(args.out) if args.out else common.RESULTS
    out.mkdir(parents=True, exist_ok=True)
    name = args.name
    doc = {"benchmark": name, "machine": common.machine(), "settings": s, "quick": args.quick}
    md = [f"# Training ConvACs ({'quick' if args.quick else 'full'} run)\n", f"Settings: `{json.dumps(s)}`\n"]
    nets = {}
    if "gradients" in parts:
        doc["gradients"] = gradient_rows(s, common)
        md += ["## Gradient step vs forward pass\n",
               common.markdown_table(doc["gradients"], ["case", "domain", "method", "seconds", "ratio_vs_forward"])]
    if "blobs" in parts:
        doc["blobs"], doc["blob_curves"], blob_nets = blob_rows(s)
        nets.update(blob_nets)
        md += ["## ICLR'17 blobs: test accuracy\n",
               blob_note(s),
               common.markdown_table(doc["blobs"], ["task", "architecture", "test_accuracy", "train_accuracy",
                                                    "iterations", "images", "n_train", "seconds"]),
               f"![learning curves]({name}_blobs.png)\n"]
        plot(doc["blob_curves"], out / f"{name}_blobs.png", "blobs", common)
    if "widths" in parts:
        doc["widths"], doc["width_curves"], width_nets = width_rows(s)
        nets.update(width_nets)
        md += ["## Layer widths at an equal weight budget (16 x 16 canvas, 2 x 2 square pooling)\n",
               widths_note(s),
               common.markdown_table(doc["widths"], ["task", "profile", "widths", "weights", "test_accuracy",
                                                     "train_accuracy", "iterations"]),
               f"![learning curves]({name}_widths.png)\n"]
        plot(doc["width_curves"], out / f"{name}_widths.png", "widths", common)
    if "entanglement" in parts and nets:
        doc["entanglement"] = entanglement_rows(nets)
        md += ["## Entanglement of the trained networks (class 1, float spectra along the min cut)\n",
               ENTANGLEMENT_NOTE,
               common.markdown_table(doc["entanglement"], ["task", "architecture", "partition", "log2_bound",
                                                           "trained_rank", "trained_gap", "trained_entropy",
                                                           "init_rank", "init_entropy", "note"])]
    (out / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / f"{name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return doc


if __name__ == "__main__":
    main()
