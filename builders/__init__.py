"""builders: architectures (ConvACs, dilated ConvNets, mixed decompositions) -> tensor networks.

Every builder compiles a :class:`ModeTree` through one tree compiler (:mod:`builders.compiler`):
tensors named after tree nodes (``("leaf", i)``, ``("node", v)``), a hyperedge ``("h", v)`` per
internal node, input legs = positions 0..N-1, class leg ``"y"``. Plain-numpy references for the
tests live in :mod:`builders.reference`.

Examples
--------
>>> import builders
>>> net = builders.deep_convac(8, M=2, widths=2)
>>> net.output
(0, 1, 2, 3, 4, 5, 6, 7, 'y')
>>> builders.tree_of(net) == builders.ModeTree.balanced(8)
True
"""

from . import reference
from .compiler import get_params, grid_of, param_names, set_params, tree_of
from .convacs import convac, deep_convac, shallow_convac
from .dilated import dilated_convnet, dilated_params
from .linear import balanced_factors, deep_linear, tensor_train
from .mixtures import mixed, mixed_dilated
from .modetree import ModeTree
from .rectifiers import G_OPERATORS, generalized, generalized_forward
from .truncated import truncated_convac, truncated_tree
from .reference import reference_forward
from .registry import available, get

__all__ = [
           "G_OPERATORS",
           "ModeTree",
           "available",
           "balanced_factors",
           "convac",
           "deep_convac",
           "deep_linear",
           "dilated_convnet",
           "dilated_params",
           "generalized",
           "generalized_forward",
           "get",
           "get_params",
           "grid_of",
           "mixed",
           "mixed_dilated",
           "param_names",
           "reference",
           "reference_forward",
           "set_params",
           "shallow_convac",
           "tensor_train",
           "tree_of",
           "truncated_convac",
           "truncated_tree",
]
