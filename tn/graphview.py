"""The structure of a network as a networkx graph.

Nodes are the tensor names (``kind="tensor"``), one :class:`Hyperedge` node per hyperedge
(``kind="hyperedge"``) and one :class:`OpenLeg` node per open leg (``kind="open"``). Each edge
carries ``inds`` (the index labels it stands for), ``dim`` (the exact product of their sizes) and
``log2`` (the sum of their log2 sizes). Parallel bonds between two tensors are merged into one edge
whose ``inds`` lists all of them, so nothing is overwritten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx


@dataclass(frozen=True)
class Hyperedge:
    """Graph node standing for the delta tensor of a hyperedge index."""
    ind: object


@dataclass(frozen=True)
class OpenLeg:
    """Graph node at the free end of an open leg."""
    ind: object


def _link(G, u, v, ind, size):
    if G.has_edge(u, v):
        data = G.edges[u, v]
        data["inds"].append(ind)
        data["dim"] *= size
        data["log2"] += math.log2(size)
    else:
        G.add_edge(u, v, inds=[ind], dim=size, log2=math.log2(size))


def network_graph(net) -> nx.Graph:
    """Build the graph view of ``net`` (see the module docstring)."""
    G = nx.Graph()
    for name in net.tensor_names:
        G.add_node(name, kind="tensor", inds=net.inds(name), shape=net.shape(name))
    hyper = set(net.hyperedges())
    output = set(net.output)
    for ind, where in net.index_map.items():
        size = net.size(ind)
        if ind in hyper:
            h = Hyperedge(ind)
            G.add_node(h, kind="hyperedge", ind=ind, dim=size)
            for t in where:
                _link(G, t, h, ind, size)
            anchor = h
        elif len(where) == 2:
            _link(G, where[0], where[1], ind, size)
            continue
        else:
            anchor = where[0]
        if ind in output:
            G.add_node(OpenLeg(ind), kind="open", ind=ind, dim=size)
            _link(G, anchor, OpenLeg(ind), ind, size)
        elif anchor is where[0] and ind not in hyper:
            G.nodes[anchor].setdefault("summed", []).append(ind)  # a dangling index summed on its own tensor
    return G
