"""analysis: min-cut bounds, Schmidt spectra, entanglement measures and their validation.

For a partition (A, B) of a network's input legs, :func:`mincut` bounds the rank of the
matricization [T]_{A,B} by a minimum cut of the network's graph (capacities log2 of the index
sizes, a hyperedge paid once); :func:`schmidt_spectrum` computes the true singular values (dense SVD,
or exactly from two Gram matrices along the cut for large N); :func:`entanglement` turns them into
the Schmidt number, entropies and the geometric measure; :func:`exact_rank` and
:func:`rank_lower_bound` certify ranks with exact arithmetic mod p; :func:`validate` puts bound,
certified rank interval, verdict and float spectrum side by side; :func:`sweep` reduces the bounds of a whole partition family (locally or on dask);
``tn-mincut`` (:mod:`analysis.cli`) does it all from the command line.
"""

from .bounds import (FLOW_FUNCS, MinCutResult, flow_func_names, method_names, mincut, mincut_batch,
                     register_method)
from .partitions import Partition, balanced_partitions, make_partition, make_partitions, partition_names
from .spectrum import Spectrum, schmidt_spectrum
from .measures import Entanglement, entanglement
from .ranks import RANK_METHODS, RankResult, exact_rank, rank_lower_bound
from .validation import ValidationReport, validate
from .drawing import draw, draw_partition, draw_partitions
from .geometry import PoolingBounds, pooling_bounds
from .training import FitResult, fit
from .gridtensor import grid_tensor
from .families import PartitionFamily, make_family
from .sweeps import SweepResult, architecture_sweep, sweep
from .treebounds import TreeRankBounds, tree_rank_bounds

__all__ = ["mincut", "mincut_batch", "MinCutResult", "register_method", "method_names", "flow_func_names",
           "FLOW_FUNCS", "Partition", "make_partition", "make_partitions", "balanced_partitions",
           "partition_names", "schmidt_spectrum", "Spectrum", "entanglement", "Entanglement", "validate",
           "ValidationReport", "draw", "draw_partition", "draw_partitions", "pooling_bounds", "PoolingBounds", "fit",
           "FitResult", "grid_tensor", "sweep", "architecture_sweep",
           "SweepResult", "PartitionFamily", "make_family", "tree_rank_bounds", "TreeRankBounds",
           "exact_rank", "rank_lower_bound", "RankResult", "RANK_METHODS"]
