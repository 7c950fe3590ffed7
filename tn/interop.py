"""Conversion to and from google ``tensornetwork`` and ``quimb``, for cross-checks.

google tensornetwork has no hyperedges: each hyperedge becomes a ``CopyNode`` (a delta tensor,
which that library may densify); conversions back merge every CopyNode into one index again.
quimb supports hyperindices natively; its index names must be strings, so labels are mapped to
einsum symbols and the mapping is kept in the tensors' tags.
"""

from __future__ import annotations

import numpy as np

from .errors import InteropError


def _import_google():
    try:
        import tensornetwork
    except ImportError as exc:  # a required dependency, but keep the message clear
        raise InteropError("google tensornetwork is not installed: pip install tensornetwork") from exc
    return tensornetwork


def to_tensornetwork(net):
    """``(nodes, output_edges)``: google tensornetwork nodes wired like ``net``, hyperedges as CopyNodes.

    Contract with e.g. ``tensornetwork.contractors.auto(nodes, output_edge_order=output_edges)``.
    """
    gtn = _import_google()
    arrays = net.arrays()
    nodes = {n: gtn.Node(a, name=str(n)) for n, a in zip(net.tensor_names, arrays)}
    output = net.output
    out_set = set(output)
    open_edges = {}
    copies = []
    for ind, where in net.index_map.items():
        ends = [nodes[t][net.inds(t).index(ind)] for t in where]
        if len(where) >= 3 or (len(where) == 2 and ind in out_set):
            rank = len(where) + (ind in out_set)
            copy = gtn.CopyNode(rank, net.size(ind), name=f"copy:{ind!r}", dtype=arrays[0].dtype)
            copies.append(copy)
            for k, edge in enumerate(ends):
                edge ^ copy[k]
            if ind in out_set:
                open_edges[ind] = copy[rank - 1]
        elif len(where) == 2:
            ends[0] ^ ends[1]
        elif ind in out_set:
            open_edges[ind] = ends[0]
        else:  # a dangling index summed on its own tensor: sum it with a ones vector
            ones = gtn.Node(np.ones(net.size(ind), dtype=arrays[0].dtype), name=f"sum:{ind!r}")
            ends[0] ^ ones[0]
            copies.append(ones)
    return list(nodes.values()) + copies, [open_edges[i] for i in output]


def from_tensornetwork(nodes, output_edge_order=None):
    """A :class:`~tn.TensorNetwork` from google tensornetwork nodes; CopyNodes become hyperedges.

    Connected CopyNodes are merged into a single index. Dangling edges are the open legs, in
    ``output_edge_order`` if given.
    """
    from .network import TensorNetwork
    gtn = _import_google()
    nodes = list(nodes)
    is_copy = [isinstance(n, gtn.CopyNode) for n in nodes]
    # union-find over edges: every edge is an index, except that all edges of one CopyNode are one index
    parent = {}

    def find(e):
        while parent.setdefault(e, e) is not e:
            parent[e] = parent[parent[e]]
            e = parent[e]
        return e

    for node, copy in zip(nodes, is_copy):
        if copy:
            first = node.edges[0]
            for e in node.edges[1:]:
                parent[find(e)] = find(first)
    labels = {}
    for node in nodes:
        for e in node.edges:
            labels.setdefault(find(e), len(labels))
    net = TensorNetwork()
    for k, (node, copy) in enumerate(zip(nodes, is_copy)):
        if not copy:
            name = node.name if node.name not in net and not node.name.startswith("__unnamed") else f"node{k}"
            net.add_tensor(name, np.asarray(node.tensor), tuple(labels[find(e)] for e in node.edges))
    dangling = [e for n in nodes for e in n.edges if e.is_dangling()]
    order = dangling if output_edge_order is None else list(output_edge_order)
    if {id(e) for e in order} != {id(e) for e in dangling}:
        raise InteropError("output_edge_order must list exactly the dangling edges")
    net.set_output(tuple(labels[find(e)] for e in order))
    return net


def to_quimb(net):
    """A ``quimb.tensor.TensorNetwork`` with one tensor per tensor of ``net`` (hyperindices native).

    Returns ``(qtn, output)`` with ``output`` the quimb index names of ``net.output`` in order.
    """
    try:
        import quimb.tensor as qtn
    except ImportError as exc:
        raise InteropError("quimb is an optional extra: pip install 'tn-engine[quimb]'") from exc
    from .contraction import symbols_for
    inputs, output, _ = net.get_inputs_output_size_dict()
    table = {ind: f"i{k}" for k, ind in enumerate(symbols_for(inputs, output))}
    tensors = [qtn.Tensor(a, inds=[table[i] for i in net.inds(n)], tags={f"T{k}"})
               for k, (n, a) in enumerate(zip(net.tensor_names, net.arrays()))]
    return qtn.TensorNetwork(tensors, virtual=True), [table[i] for i in output]


def from_quimb(qnet, output=None):
    """A :class:`~tn.TensorNetwork` from a quimb network; ``output`` defaults to its outer indices."""
    from .network import TensorNetwork
    net = TensorNetwork()
    for k, t in enumerate(qnet.tensors):
        net.add_tensor(f"T{k}", np.asarray(t.data), tuple(t.inds))
    net.set_output(tuple(qnet.outer_inds()) if output is None else tuple(output))
    return net
