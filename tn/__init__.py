"""tn: the core of the tensor-network graph engine.

A :class:`TensorNetwork` is a hypergraph of named tensors (any hashable labels, hyperedges kept
symbolic) that contracts along optimized, cached einsum paths under a memory guard, reports exact
costs, saves to an open format and converts to and from google tensornetwork and quimb.
"""

from . import errors, gradients
from .contraction import cache_info, optimizer_names
from .cost import ContractionCost
from .graphview import Hyperedge, OpenLeg
from .memory import clear_cache, get_memory_limit, set_memory_limit
from .netsum import NetworkSum
from .network import TensorNetwork


def load(path, memory_limit=None):
    """Read a :class:`TensorNetwork` or :class:`NetworkSum` saved with ``.save(path)`` (see :func:`tn.io.load`)."""
    from .io import load as _load
    return _load(path, memory_limit)


__all__ = ["TensorNetwork", "gradients", "NetworkSum", "ContractionCost", "Hyperedge", "OpenLeg", "errors", "load",
           "cache_info", "optimizer_names", "get_memory_limit", "set_memory_limit", "clear_cache"]
__version__ = "0.2.0"
