"""Shared plumbing of the benchmark scripts: timing, machine facts, results as JSON + markdown.

Every script measures the things it compares side by side in one run and reports ratios, since
absolute times on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def timeit(fn, repeat=5, min_time=0.05):
    """Best and median seconds per call of ``fn()`` over ``repeat`` rounds of enough calls to last ``min_time``."""
    fn()  # warm-up (caches, lazy imports)
    number, t = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        t = time.perf_counter() - start
        if t >= min_time or number >= 2**20:
            break
        number *= 2
    rounds = [t / number]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    rounds.sort()
    return {"best": rounds[0], "median": rounds[len(rounds) // 2], "calls": number * repeat}


def machine() -> dict:
    import numpy as np
    info = {"python": sys.version.split()[0], "numpy": np.__version__, "platform": platform.platform(),
            "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    for name in ("opt_einsum", "networkx", "cotengra", "quimb", "tensornetwork"):
        try:
            info[name] = __import__(name).__version__
        except Exception:  # optional peers: absent is a fact worth recording, not an error
            info[name] = None
    return info


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None when matplotlib (the ``plot`` extra) is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def series_style(k) -> dict:
    """Color and marker of the k-th series of a plot: distinct for 20 series (the default cycle repeats after 10)."""
    import matplotlib.pyplot as plt
    colors, markers = plt.cm.tab20.colors, "os^vDP*Xhd<>"
    return {"color": colors[(2 * k) % 20 + (2 * k) // 20 % 2], "marker": markers[k % len(markers)]}  # dark, then light


def save_figure(fig, path):
    """Lay out, write (PNG, 110 dpi) and close ``fig``; returns ``path``."""
    import matplotlib.pyplot as plt
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def markdown_table(rows, columns) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_results(name, rows, columns, title=None, notes="", extra=None, out_dir=None):
    """Write ``<out_dir>/<name>.json`` (rows + machine facts) and ``<name>.md`` (a table); return the table.

    ``out_dir`` defaults to ``benchmarks/results``.
    """
    out = Path(out_dir) if out_dir is not None else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "machine": machine(), "rows": rows, **(extra or {})}
    (out / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str))
    table = markdown_table(rows, columns)
    text = f"# {title or name}\n\n{notes}\n\n{table}" if notes else f"# {title or name}\n\n{table}"
    (out / f"{name}.md").write_text(text)
    return table


def symbolize(inputs, output, sizes):
    """``(equation, input symbol sets, output symbol set, symbol sizes)``: a network in opt_einsum's terms."""
    from tn.contraction import equation, symbols_for
    table = symbols_for(inputs, output)
    return (equation(inputs, output, table), [frozenset(table[i] for i in t) for t in inputs],
            frozenset(table[i] for i in output), {table[i]: s for i, s in sizes.items()})
