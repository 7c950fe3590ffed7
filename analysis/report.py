"""Tables and strict JSON for validation rows and min-cut answers (shared by the CLI, ``validate`` and benchmarks)."""

from __future__ import annotations

import json
import math


def dumps(rows, **kwargs) -> str:
    """Strict JSON (RFC 8259 has no Infinity / NaN): a non-finite float becomes null.

    An infinite spectral ``gap`` means no nonzero value was dropped below the rank; it is written as null.
    """
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(rows), default=str, allow_nan=False, **kwargs)


def _cell(key, value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.4g}" if key != "seconds" else f"{value:.2e}"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10**12:
        return f"2^{math.log2(value):.6g}"
    if isinstance(value, (list, tuple)):
        text = ",".join(map(str, value))
        return text if len(text) <= 32 else text[:29] + "..."
    return str(value)


def format_table(rows, columns=None) -> str:
    """Plain-text table of dicts (columns default to the first row's keys, ``A`` and ``cut`` shortened).

    >>> print(format_table([{"partition": "left-right", "bound": 2}]))
    partition   bound
    ----------  -----
    left-right  2
    """
    rows = list(rows)
    if not rows:
        return "(no partitions)"
    columns = columns or list(rows[0])
    cells = [[_cell(c, row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[k]) for r in cells)) for k, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


__all__ = ["dumps", "format_table"]
