"""Tables, CSV and strict JSON for min-cut answers and validation rows (shared by the CLI, ``validate``, benchmarks).

**The tn-mincut output schema**, version :data:`SCHEMA` (``--format json|jsonl|csv|table``):

- a *header* object: ``{"schema": "tn-mincut/1", "tool": "tn-engine", "version": ..., "network": {...}}``, the
  network described by ``kind`` (TensorNetwork / NetworkSum), ``N`` (input legs), ``M`` (their sizes), ``output``,
  ``builder``, ``widths``, ``init``, ``seed``, ``tree`` (nested lists of positions) when a builder made it (null
  beyond 200 levels; a mixed network's two trees, one per track), ``grid`` ([H, W] for a network built on an image, else null), ``source`` (the file, for
  ``--load``) and ``terms`` for a sum;
- one *row* per partition with exactly the keys :data:`ROW_KEYS`, whether or not ``--validate`` was given: ``null``
  where a value was not computed. ``bound`` is an exact integer (JSON integers have no size limit). A ``gap`` with no
  nonzero singular value dropped is infinite: it is written as the string ``"inf"`` (JSON has no Infinity), distinct
  from ``null`` (not computed).

``json`` prints one object ``{"header": ..., "rows": [...]}``; ``jsonl`` the header on the first line, then one row
per line; ``csv`` one line per row (lists joined by spaces, the header as ``#`` comment lines); ``table`` plain text.
"""

from __future__ import annotations

import csv
import io
import json
import math

SCHEMA = "tn-mincut/1"
ROW_KEYS = ("partition", "A", "B", "log2_bound", "bound", "cut", "method", "flow_func", "rank", "rank_lower",
            "rank_upper", "verdict", "gap", "tight", "entropy", "spectrum_method", "note", "seconds")
_TABLE = ("partition", "A", "log2_bound", "bound", "cut", "method")
_TABLE_VALIDATED = ("rank", "verdict", "gap", "tight", "entropy", "spectrum_method")


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


def header(net, source=None) -> dict:
    """The header object of the schema for ``net`` (see the module docstring)."""
    from tn import NetworkSum, __version__
    if isinstance(net, NetworkSum):  # a mixed network's own metadata (builder, init, seed, its two trees) first
        first = net.tracks[0] if hasattr(net, "tracks") else net.terms[0]  # a mixed network may not expand
        meta = {**first.metadata, **net.metadata}
    else:
        meta = net.metadata
    tree = [t["tree"] for t in meta["tracks"]] if "tracks" in meta else meta.get("tree")
    legs = tuple(net.input_legs)
    sizes = sorted({net.size(leg) for leg in legs})
    network = {"kind": type(net).__name__, "N": len(legs), "M": sizes[0] if len(sizes) == 1 else sizes,
               "output": list(net.output), "builder": meta.get("builder"), "widths": meta.get("widths"),
               "init": meta.get("init"), "seed": meta.get("seed"), "tree": tree, "grid": meta.get("grid"),
               "source": source}
    if isinstance(net, NetworkSum):
        network["terms"] = net.n_terms
    return {"schema": SCHEMA, "tool": "tn-engine", "version": __version__, "network": network}


def make_row(values: dict) -> dict:
    """A schema row: exactly :data:`ROW_KEYS`, None where ``values`` has no entry."""
    unknown = set(values) - set(ROW_KEYS)
    if unknown:
        raise KeyError(f"not in the row schema {SCHEMA}: {sorted(unknown)}")
    row = {key: values.get(key) for key in ROW_KEYS}
    if isinstance(row["gap"], float) and math.isinf(row["gap"]):
        row["gap"] = "inf"
    return row


def row_from_cut(name, result) -> dict:
    """The row of a :class:`~analysis.bounds.MinCutResult` (no validation columns)."""
    return make_row({"partition": name, **result.as_dict()})


def row_from_validation(values: dict) -> dict:
    """The row of a validation row's ``as_dict()``."""
    return make_row({k: v for k, v in values.items() if k in ROW_KEYS})


def format_rows(head: dict, rows: list, fmt: str = "table", validated: bool = False) -> str:
    """``rows`` (schema rows) and their ``head`` in one of ``table``, ``json``, ``jsonl``, ``csv``."""
    if fmt == "json":
        return dumps({"header": head, "rows": rows})
    if fmt == "jsonl":
        return "\n".join(dumps(item) for item in (head, *rows))
    if fmt == "csv":
        out = io.StringIO()
        out.write(f"# {dumps(head)}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ROW_KEYS)
        for row in rows:
            writer.writerow(["" if v is None else " ".join(map(str, v)) if isinstance(v, list) else v
                             for v in (row[k] for k in ROW_KEYS)])
        return out.getvalue().rstrip("\n")
    columns = [*_TABLE, *(_TABLE_VALIDATED if validated else ()), "seconds"]
    # no rank computed but a certified lower bound: the table shows it as such (JSON keeps rank_lower)
    shown = [{**row, "rank": f">={row['rank_lower']}"} if row.get("rank") is None and row.get("rank_lower")
             else row for row in rows]
    lines = [format_table(shown, columns)]
    lines += [f"{row['partition']}: {row['note']}" for row in rows if row.get("note")]
    return "\n".join(lines)


__all__ = ["dumps", "format_table", "format_rows", "header", "make_row", "row_from_cut", "row_from_validation",
           "SCHEMA", "ROW_KEYS"]
