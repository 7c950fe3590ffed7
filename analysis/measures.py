"""Entanglement measures of a Schmidt spectrum (theory §3).

With singular values s_1 >= s_2 >= ... and p_i = s_i^2 / sum_j s_j^2:

- Schmidt number = rank: the number of s_i above ``max(m, n) * eps * s_1`` (numpy's default for an
  m x n matrix; pass a :class:`~analysis.spectrum.Spectrum` so (m, n) is known, else m = n = the
  number of values), reported with its spectral gap (last kept / first dropped value, ``inf`` when
  nothing is dropped) so users can judge how certain the rank is;
- von Neumann entropy -sum p_i log2 p_i; Renyi-alpha entropy log2(sum p_i^alpha) / (1 - alpha)
  (alpha = 1 gives von Neumann, alpha = inf gives -log2 p_1, alpha = 0 gives log2 of the support);
- geometric measure 1 - p_1.

An all-zero spectrum has rank 0 and every measure 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tn.errors import SpectrumError


@dataclass(frozen=True)
class Entanglement:
    """Measures of one spectrum; ``renyi`` maps alpha -> Renyi entropy (base 2)."""

    rank: int
    gap: float
    tolerance: float
    entropy: float
    geometric: float
    renyi: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rank": self.rank, "gap": self.gap, "tolerance": self.tolerance, "entropy": self.entropy,
                "geometric": self.geometric, "renyi": {str(k): v for k, v in self.renyi.items()}}


def _values(spectrum):
    try:
        values = np.asarray(spectrum, dtype=float).ravel()
    except (TypeError, ValueError):
        raise SpectrumError(f"a spectrum must be an array of singular values, got {spectrum!r:.80}") from None
    if not np.all(np.isfinite(values)):
        raise SpectrumError("the spectrum holds NaN or infinite values")
    if np.any(values < 0):
        raise SpectrumError(f"singular values are >= 0; got {values[values < 0][:3]!r}")
    return np.sort(values)[::-1]


def schmidt_rank(spectrum, rtol=None) -> tuple:
    """``(rank, gap, tolerance)``: values above ``rtol * s_1`` (default ``max(m, n) * eps``).

    >>> schmidt_rank([2.0, 1.0, 1e-20])
    (2, 1e+20, 1.3322676295501878e-15)
    """
    values = _values(spectrum)
    if rtol is None:
        shape = getattr(spectrum, "shape", None)
        size = max(shape) if isinstance(shape, tuple) and len(shape) == 2 else len(values)
        rtol = size * np.finfo(float).eps
    tolerance = float(rtol * values[0]) if len(values) else 0.0
    rank = int(np.sum(values > tolerance)) if len(values) and values[0] > 0 else 0
    if rank == 0 or rank == len(values):
        gap = math.inf
    else:
        gap = math.inf if values[rank] == 0 else float(values[rank - 1] / values[rank])
    return rank, gap, tolerance


def _probabilities(values):
    """p_i = s_i^2 / sum s_j^2, scaled by s_1 first so that squaring cannot overflow (values are descending)."""
    if not len(values) or values[0] == 0:
        return values[:0]
    power = (values / values[0]) ** 2
    p = power / power.sum()
    return p[p > 0]  # filtered after dividing: a tiny value can underflow to 0 there (0 * log 0 = NaN)


def renyi_entropy(spectrum, alpha) -> float:
    """Renyi-alpha entropy (base 2) of p_i = s_i^2 / sum s_j^2.

    >>> renyi_entropy([1.0, 1.0], 2), renyi_entropy([1.0, 1.0, 0.0], 0)
    (1.0, 1.0)
    """
    p = _probabilities(_values(spectrum))
    if p.size == 0:
        return 0.0
    if alpha == 1:  # + 0.0: a product state gives 0, not -0 (-1 * log2 1)
        return float(-(p * np.log2(p)).sum()) + 0.0
    if alpha == math.inf:
        return -math.log2(p.max()) + 0.0
    if alpha == 0:
        return math.log2(p.size)
    if alpha < 0:
        raise SpectrumError(f"Renyi order alpha={alpha!r} must be >= 0")
    return float(math.log2((p ** alpha).sum()) / (1 - alpha)) + 0.0


def von_neumann_entropy(spectrum) -> float:
    """-sum p_i log2 p_i: ``entanglement([1, 1]).entropy == 1``."""
    return renyi_entropy(spectrum, 1)


def geometric_measure(spectrum) -> float:
    """1 - s_1^2 / sum s_i^2."""
    p = _probabilities(_values(spectrum))
    return float(1 - p.max()) if p.size else 0.0


def entanglement(spectrum, alphas=(2, math.inf), rtol=None) -> Entanglement:
    """All measures of a spectrum (an array of singular values or a :class:`~analysis.spectrum.Spectrum`).

    Examples
    --------
    >>> e = entanglement([np.sqrt(0.5), np.sqrt(0.25), np.sqrt(0.25)])
    >>> e.rank, e.entropy, round(e.geometric, 12), round(e.renyi[2], 12)   # log2(8/3)
    (3, 1.5, 0.5, 1.415037499279)
    """
    rank, gap, tolerance = schmidt_rank(spectrum, rtol)
    return Entanglement(rank, gap, tolerance, von_neumann_entropy(spectrum), geometric_measure(spectrum),
                        {alpha: renyi_entropy(spectrum, alpha) for alpha in alphas})


__all__ = ["entanglement", "Entanglement", "schmidt_rank", "von_neumann_entropy", "renyi_entropy",
           "geometric_measure"]
