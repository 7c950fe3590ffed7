"""One exception hierarchy for the whole engine.

Every error the library raises on bad input derives from :class:`TNError`. Each
class also derives from the builtin that matches its meaning (``ValueError``,
``KeyError``, ``MemoryError``, ...) so ordinary ``except`` clauses keep working.
Messages always name the offending tensor / index / value and the sizes involved.
"""

from __future__ import annotations


class TNError(Exception):
    """Base class of every error raised on purpose by tn, builders and analysis."""


# --- structure of a network -------------------------------------------------------------------
class StructureError(TNError, ValueError):
    """A tensor network is malformed."""


class IndexSizeError(StructureError):
    """One index was given two different sizes (mismatched bond)."""


class ShapeError(StructureError):
    """An array's shape does not fit the tensor's indices or its previous shape."""


class UnknownIndexError(StructureError, KeyError):
    """An index was named that the network does not have."""

    def __str__(self):  # KeyError would quote the message
        return Exception.__str__(self)


class DuplicateNameError(TNError, ValueError):
    """A registry already holds this name (pass ``replace=True`` to replace it)."""


class UnknownTensorError(StructureError, KeyError):
    """A tensor was named that the network does not have."""

    def __str__(self):
        return Exception.__str__(self)


class DuplicateTensorError(StructureError):
    """A tensor name was used twice."""


class DuplicateIndexError(StructureError):
    """An index is repeated inside one tensor's legs or inside an output."""


class DTypeError(TNError, TypeError):
    """An array has a dtype the engine cannot contract (object, string, ...)."""


class NonFiniteError(TNError, ValueError):
    """An array holds NaN or infinity where finite values were required."""


class SymbolicTensorError(TNError, ValueError):
    """Numbers were needed but a tensor is symbolic (shape only)."""


class OptimizeError(TNError, ValueError):
    """An unknown or unusable contraction-path optimizer was requested."""


class MemoryLimitError(TNError, MemoryError):
    """A contraction would allocate an intermediate larger than the memory limit."""


class SettingError(TNError, ValueError):
    """A setting (memory limit, batch size, dtype, ...) has an invalid value."""


class SerializationError(TNError, ValueError):
    """A network could not be written to or read from disk."""


class InteropError(TNError, ValueError):
    """Conversion to or from another tensor-network library failed."""


# --- builders ----------------------------------------------------------------------------------
class BuildError(TNError, ValueError):
    """An architecture description does not fit a builder."""


class TermLimitError(BuildError):
    """A mixed network would expand to more hybrid-tree terms than its limit allows."""


class TreeError(BuildError):
    """A mode tree is malformed (a position missing or repeated, a unary node, ...)."""


class WidthError(BuildError):
    """Layer widths have the wrong length, type or value."""


class UnknownNameError(TNError, KeyError):
    """A registry lookup (builder, cut algorithm, flow function, partition) failed."""

    def __str__(self):
        return Exception.__str__(self)


# --- analysis ----------------------------------------------------------------------------------
class PartitionError(TNError, ValueError):
    """A partition overlaps, misses inputs, is empty or names legs that do not exist."""


class SpectrumError(TNError, ValueError):
    """No exact Schmidt spectrum can be computed for this request."""


class RankError(TNError, ValueError):
    """No exact rank can be computed for this request (non-integer own weights, a cut too large, a bad prime)."""


class BoundViolationError(TNError, AssertionError):
    """A measured rank exceeded its min-cut bound: this is a bug somewhere."""


class DynamicsError(TNError, ValueError):
    """Optimization dynamics diverged or were given inconsistent inputs."""


class DomainError(TNError, ValueError):
    """Values outside the domain an operation needs (e.g. negative weights for the log-domain forward)."""


# --- warnings ----------------------------------------------------------------------------------
class TNWarning(UserWarning):
    """Base class of the warnings tn, builders and analysis issue."""


class UnderflowWarning(TNWarning, RuntimeWarning):
    """A floating-point result came out as 0 or subnormal: the values underflowed (or are truly zero)."""
