"""Bounds next to true ranks: :func:`validate` and the table both it and the CLI print."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tn.errors import BoundViolationError, SpectrumError

from .bounds import mincut
from .measures import entanglement
from .partitions import make_partitions
from .report import dumps, format_table
from .spectrum import schmidt_spectrum


@dataclass(frozen=True)
class ValidationRow:
    """One partition: min-cut bound, measured rank (with its spectral gap) and entropy."""

    partition: str
    A: tuple
    bound: int
    log2_bound: float
    cut: tuple
    method: str
    rank: int | None        # None: no exact spectrum could be had (see spectrum_method)
    gap: float | None
    tight: bool | None
    entropy: float | None
    spectrum_method: str
    seconds: float
    note: str = ""

    def as_dict(self) -> dict:
        return {"partition": self.partition, "A": list(self.A), "log2_bound": self.log2_bound, "bound": self.bound,
                "cut": list(self.cut), "method": self.method, "rank": self.rank, "gap": self.gap,
                "tight": self.tight, "entropy": self.entropy, "spectrum_method": self.spectrum_method,
                "seconds": self.seconds, "note": self.note}


class ValidationReport(tuple):
    """A tuple of :class:`ValidationRow` that prints as a table and serializes to JSON."""

    def as_dicts(self) -> list:
        return [row.as_dict() for row in self]

    def to_json(self, **kwargs) -> str:
        return dumps(self.as_dicts(), **kwargs)

    def __str__(self):
        rows = self.as_dicts()
        notes = [f"{r['partition']}: {r['note']}" for r in rows if r["note"]]
        columns = [k for k in rows[0] if k != "note"] if rows else None
        return "\n".join([format_table(rows, columns), *notes])


def validate(net, partitions=("left-right", "odd-even"), *, method="auto", flow_func=None, spectrum_method="auto",
             fixed=None, unavailable="skip", **spectrum_options) -> ValidationReport:
    """Min-cut bound, Schmidt rank and entropy for each partition; raises if a rank exceeds its bound.

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum (numeric)
    partitions : partition specs (see :func:`analysis.partitions.make_partition`)
    method, flow_func : passed to :func:`analysis.mincut`
    spectrum_method, fixed, spectrum_options : passed to :func:`analysis.schmidt_spectrum`
    unavailable : {"skip", "raise"}
        With ``spectrum_method="auto"``, when no exact spectrum can be had for a partition (its dense
        tensor and its cut are both too large, :class:`~tn.errors.SpectrumError`): ``"skip"`` keeps the
        bound, reports rank, gap, tight and entropy as None, ``spectrum_method="unavailable"`` and the
        reason in ``note``; ``"raise"`` re-raises. An explicitly requested method always raises.

    Returns
    -------
    ValidationReport
        ``tight`` is rank == bound; the rank uses the tolerance of :func:`analysis.entanglement.schmidt_rank`.

    Raises
    ------
    tn.errors.BoundViolationError
        If any rank exceeds its bound (that would be a bug).

    Examples
    --------
    >>> import numpy as np
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()
    >>> rng = np.random.default_rng(0)
    >>> _ = net.add_tensor("L", rng.standard_normal((2, 2, 3)), (0, 1, "m"))
    >>> _ = net.add_tensor("R", rng.standard_normal((3, 2, 2)), ("m", 2, 3))
    >>> [(r.partition, r.bound, r.rank, r.tight) for r in validate(net)]
    [('left-right', 3, 3, True), ('odd-even', 4, 4, True)]
    """
    rows = []
    for part in make_partitions(net, partitions):
        start = time.perf_counter()
        cut = mincut(net, part, method=method, flow_func=flow_func)
        try:
            spectrum = schmidt_spectrum(net, part, method=spectrum_method, fixed=fixed, full=True, cut=cut,
                                        **spectrum_options)
        except SpectrumError as exc:
            if unavailable != "skip" or spectrum_method != "auto":
                raise
            rows.append(ValidationRow(part.name, part.A, cut.bound, cut.log2_bound, cut.cut, cut.method, None, None,
                                      None, None, "unavailable", time.perf_counter() - start, str(exc)))
            continue
        measures = entanglement(spectrum)
        if measures.rank > cut.bound:
            raise BoundViolationError(f"partition {part.name!r}: rank {measures.rank} exceeds the min-cut bound "
                                      f"{cut.bound} (cut {list(cut.cut)!r}, spectral gap {measures.gap:.3g})")
        rows.append(ValidationRow(part.name, part.A, cut.bound, cut.log2_bound, cut.cut, cut.method, measures.rank,
                                  measures.gap, measures.rank == cut.bound, measures.entropy, spectrum.method,
                                  time.perf_counter() - start))
    return ValidationReport(rows)


__all__ = ["validate", "ValidationRow", "ValidationReport"]
