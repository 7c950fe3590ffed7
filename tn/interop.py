"""Conversion to and from google ``tensornetwork`` and ``quimb``, for cross-checks, keeping what a network means.

A round trip keeps tensor names, index labels (any hashable: they travel JSON-encoded as in :mod:`tn.io`), the
output order, which open legs are *inputs* (the class leg never becomes one), the network's name and metadata:

- **quimb** (optional extra; hyperindices native): index names are the JSON of the labels, each tensor carries the
  tag ``"tn-name:<JSON of its name>"``, and the first tensor carries ``"tn-network:<JSON header>"`` (name, output,
  input legs, metadata). A :class:`~tn.NetworkSum` exports as a list of quimb networks, one per term, and a list
  imports back as a sum (tensors of the same name share one array again).
- **google tensornetwork** (no hyperedges): each hyperedge becomes a ``CopyNode``; node names and edge names are
  the JSON of tensor names and labels; the header rides on the first node as the attribute ``tn_header`` (it lives
  as long as the node objects). An index summed on one tensor is exported with a ones vector named
  ``"tn-sum:..."``, which the import drops again. Imports also accept foreign nodes: connected CopyNodes merge into
  one index; a CopyNode with several dangling edges gets one open leg per edge (identities join the extra ones).

Examples
--------
>>> import numpy as np
>>> from tn import TensorNetwork
>>> net = TensorNetwork("pair")
>>> _ = net.add_tensor(("leaf", 0), np.ones((2, 3)), (0, ("h", 1)))
>>> _ = net.add_tensor(("leaf", 1), np.ones((2, 3)), (1, ("h", 1)))
>>> _ = net.add_tensor("W", np.ones((3, 4)), (("h", 1), "y"))
>>> net.set_output((0, 1, "y")); net.set_input_legs((0, 1)); net.metadata["builder"] = "by hand"
>>> back = from_tensornetwork(*to_tensornetwork(net))
>>> back.tensor_names == net.tensor_names, back.output, back.input_legs, back.metadata
(True, (0, 1, 'y'), (0, 1), {'builder': 'by hand'})
"""

from __future__ import annotations

import json

import numpy as np

from .errors import InteropError
from .io import decode, encode

_NAME_TAG, _HEADER_TAG, _SUM = "tn-name:", "tn-network:", "tn-sum:"


def _text(value) -> str:
    return json.dumps(encode(value), separators=(",", ":"), sort_keys=True)


def _value(text: str):
    return decode(json.loads(text))


def _header(net) -> dict:
    return {"name": net.name, "output": list(net.output), "input_legs": list(net.input_legs),
            "metadata": net.metadata}


def _finish(net, header, output):
    """Set the output (the header's when present), input legs and metadata of an imported network."""
    if header is None:
        net.set_output(tuple(output))
        return net
    net.name = header["name"]
    net.set_output(tuple(header["output"]))
    net.set_input_legs(tuple(header["input_legs"]))
    net.metadata.update(header["metadata"])
    return net


def _import_google():
    try:
        import tensornetwork
    except ImportError as exc:  # a required dependency, but keep the message clear
        raise InteropError("google tensornetwork is not installed: pip install tensornetwork") from exc
    return tensornetwork


def _is_sum(net):
    from .netsum import NetworkSum
    return isinstance(net, NetworkSum)


# ---------------------------------------------------------------------------------- google tensornetwork
def to_tensornetwork(net):
    """``(nodes, output_edges)``: google tensornetwork nodes wired like ``net``, hyperedges as CopyNodes.

    Contract with e.g. ``tensornetwork.contractors.auto(nodes, output_edge_order=output_edges)``. A
    :class:`~tn.NetworkSum` gives a list of such pairs, one per term.
    """
    if _is_sum(net):
        return [to_tensornetwork(t) for t in net.terms]
    gtn = _import_google()
    arrays = net.arrays()
    dtype = arrays[0].dtype if arrays else np.float64
    nodes = {n: gtn.Node(a, name=_text(n)) for n, a in zip(net.tensor_names, arrays)}
    out_set = set(net.output)
    open_edges, extra = {}, []
    for ind, where in net.index_map.items():
        ends = [nodes[t][k] for t in where for k, i in enumerate(net.inds(t)) if i == ind]
        for edge in ends:
            edge.set_name(_text(ind))
        if len(ends) >= 3 or (len(ends) == 2 and ind in out_set):
            rank = len(ends) + (ind in out_set)
            copy = gtn.CopyNode(rank, net.size(ind), name=f"copy:{_text(ind)}", dtype=dtype)
            extra.append(copy)
            for k, edge in enumerate(ends):
                edge ^ copy[k]
            if ind in out_set:
                open_edges[ind] = copy[rank - 1]
                open_edges[ind].set_name(_text(ind))
        elif len(ends) == 2:
            ends[0] ^ ends[1]
        elif ind in out_set:
            open_edges[ind] = ends[0]
        else:  # summed on its own tensor: a ones vector sums it (dropped again on import)
            ones = gtn.Node(np.ones(net.size(ind), dtype=dtype), name=_SUM + _text(ind))
            ends[0] ^ ones[0]
            extra.append(ones)
    all_nodes = list(nodes.values()) + extra
    if all_nodes:
        all_nodes[0].tn_header = _header(net)
    return all_nodes, [open_edges[i] for i in net.output]


def from_tensornetwork(nodes, output_edge_order=None):
    """A :class:`~tn.TensorNetwork` from google tensornetwork nodes; CopyNodes become hyperedges.

    Nodes made by :func:`to_tensornetwork` come back with their names, labels, input legs and metadata.
    Dangling edges are the open legs, in ``output_edge_order`` if given. A list of ``(nodes, edges)`` pairs
    (an exported :class:`~tn.NetworkSum`) comes back as a NetworkSum.
    """
    from .network import TensorNetwork
    from .unionfind import UnionFind
    if output_edge_order is None and nodes and all(isinstance(p, tuple) and len(p) == 2 for p in nodes):
        return _sum([from_tensornetwork(*pair) for pair in nodes])
    gtn = _import_google()
    nodes = list(nodes)
    header = getattr(nodes[0], "tn_header", None) if nodes else None
    dropped = {id(n) for n in nodes if header is not None and n.name.startswith(_SUM)}
    nodes = [n for n in nodes if id(n) not in dropped]
    copies = [n for n in nodes if isinstance(n, gtn.CopyNode)]
    uf = UnionFind()  # every edge is an index, except that all edges of one CopyNode are one index
    for node in copies:
        for e in node.edges[1:]:
            uf.union(node.edges[0], e)
    labels = {}
    for node in nodes:
        for e in node.edges:
            root = uf.find(e)
            if root not in labels:
                labels[root] = _value(e.name) if header is not None else len(labels)
    net = TensorNetwork()
    for k, node in enumerate(n for n in nodes if not isinstance(n, gtn.CopyNode)):
        if header is not None:
            name = _value(node.name)
        else:
            name = node.name if node.name not in net and not node.name.startswith("__unnamed") else f"node{k}"
        net.add_tensor(name, np.asarray(node.tensor), tuple(labels[uf.find(e)] for e in node.edges))
    dangling = [e for n in nodes for e in n.edges if e.is_dangling()]
    order = dangling if output_edge_order is None else list(output_edge_order)
    if {id(e) for e in order} != {id(e) for e in dangling}:
        raise InteropError("output_edge_order must list exactly the dangling edges")
    output, seen = [], set()
    for e in order:  # a CopyNode with several dangling edges: one open leg each, identities join the extra ones
        label = labels[uf.find(e)]
        if label in seen:
            fresh = ("copy-leg", label, len(output))
            net.add_tensor(("identity", fresh), np.eye(e.dimension), (label, fresh))
            label = fresh
        seen.add(label)
        output.append(label)
    return _finish(net, header, output)


# ----------------------------------------------------------------------------------------------- quimb
def _quimb():
    try:
        import quimb.tensor as qtn
    except ImportError as exc:
        raise InteropError("quimb is an optional extra: pip install 'tn-engine[quimb]'") from exc
    return qtn


def to_quimb(net):
    """``(qtn_network, output)``: a ``quimb.tensor.TensorNetwork`` (hyperindices native) and the quimb index names
    of ``net.output`` in order. A :class:`~tn.NetworkSum` gives a list of such pairs, one per term."""
    if _is_sum(net):
        return [to_quimb(t) for t in net.terms]
    qtn = _quimb()
    names = {ind: _text(ind) for ind in net.size_dict}
    tensors = []
    for k, (n, a) in enumerate(zip(net.tensor_names, net.arrays())):
        tags = {_NAME_TAG + _text(n)} | ({_HEADER_TAG + json.dumps(encode(_header(net)))} if k == 0 else set())
        tensors.append(qtn.Tensor(a, inds=[names[i] for i in net.inds(n)], tags=tags))
    return qtn.TensorNetwork(tensors, virtual=True), [names[i] for i in net.output]


def from_quimb(qnet, output=None):
    """A :class:`~tn.TensorNetwork` from a quimb network; ``output`` defaults to its outer indices.

    Networks made by :func:`to_quimb` come back with their names, labels, input legs and metadata; a list of
    ``(network, output)`` pairs comes back as a :class:`~tn.NetworkSum`.
    """
    from .network import TensorNetwork
    if isinstance(qnet, list):
        return _sum([from_quimb(q, out) for q, out in qnet])
    tensors = list(qnet.tensors)
    header = None
    for t in tensors:
        for tag in t.tags:
            if tag.startswith(_HEADER_TAG):
                header = decode(json.loads(tag[len(_HEADER_TAG):]))
    net = TensorNetwork()
    for k, t in enumerate(tensors):
        tagged = [tag[len(_NAME_TAG):] for tag in t.tags if tag.startswith(_NAME_TAG)]
        name = _value(tagged[0]) if header is not None and tagged else f"T{k}"
        inds = tuple(_value(i) for i in t.inds) if header is not None else tuple(t.inds)
        net.add_tensor(name, np.asarray(t.data), inds)
    return _finish(net, header, tuple(qnet.outer_inds()) if output is None else tuple(output))


def _sum(terms):
    """A NetworkSum of imported terms; tensors of one name with equal data share one array again."""
    from .netsum import NetworkSum
    shared = {}
    for term in terms:
        for name in term.tensor_names:
            data = term.data(name)
            first = shared.setdefault(name, data)
            if first is not data and first.shape == data.shape and np.array_equal(first, data):
                term.set_data(name, first)
    return NetworkSum(terms)


__all__ = ["to_tensornetwork", "from_tensornetwork", "to_quimb", "from_quimb"]
