"""A picture of a network and a cut (needs the ``plot`` extra: matplotlib, imported only here)."""

from __future__ import annotations

import networkx as nx

from tn.errors import TNError

from .cutgraph import cut_graph
from .treedp import tree_dp

COLORS = {"A": "#4c72b0", "B": "#dd8452", "none": "#bbbbbb", "cut": "#c44e52"}


def _layout(G, dp):
    """Tree layout (leaves in order, parents above their children's mean) for trees, else spring."""
    if dp is None:
        return nx.spring_layout(G, seed=0)
    children = {}
    for v in dp.order:
        children.setdefault(dp.parent[v], []).append(v)
    pos, next_x = {}, [0.0]

    def place(v):
        kids = children.get(v, [])
        for c in kids:
            place(c)
        x = sum(pos[c][0] for c in kids) / len(kids) if kids else next_x[0]
        if not kids:
            next_x[0] += 1.0
        pos[v] = (x, -dp.depth[v])

    for root in children.get(-1, []):
        place(root)
    return pos


def draw(net, cut=None, path=None, ax=None, labels=False):
    """Draw ``net``: tensors colored by side of ``cut``, cut edges in red, hyperedges as small dots.

    Parameters
    ----------
    net : tn.TensorNetwork
    cut : MinCutResult, optional
        From :func:`analysis.mincut`; without it every tensor is grey.
    path : str, optional
        Write a PNG there (the figure is closed afterwards).
    ax : matplotlib Axes, optional
    labels : bool
        Write tensor names next to the nodes.

    Returns
    -------
    the matplotlib Axes
    """
    try:
        import matplotlib
        if path is not None and ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise TNError("draw needs matplotlib: pip install 'tn-engine[plot]'") from None
    g = cut_graph(net)
    dp = tree_dp(g)
    nt = len(g.tensors)
    G = nx.Graph()
    G.add_nodes_from(range(nt + len(g.hyperedges)))
    cut_labels = set(cut.cut) if cut is not None else set()
    for (i, j), bond in g.bonds.items():
        G.add_edge(i, j, cut=any(b in cut_labels for b in bond))
    for k, (label, ids) in enumerate(g.hyperedges):
        G.add_edges_from(((nt + k, t) for t in ids), cut=label in cut_labels)
    pos = _layout(G, dp)
    on_a = set(cut.sides[0]) if cut is not None else set()
    side_color = [COLORS["none"] if cut is None else COLORS["A" if g.tensors[t] in on_a else "B"] for t in range(nt)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6, nt * 0.25), 5))
    edges = list(G.edges(data="cut"))
    nx.draw_networkx_edges(G, pos, ax=ax, edgelist=[(u, v) for u, v, c in edges if not c], edge_color="#888888")
    nx.draw_networkx_edges(G, pos, ax=ax, edgelist=[(u, v) for u, v, c in edges if c],
                           edge_color=COLORS["cut"], width=2.5)
    nx.draw_networkx_nodes(G, pos, ax=ax, nodelist=list(range(nt)), node_color=side_color, node_size=120)
    nx.draw_networkx_nodes(G, pos, ax=ax, nodelist=list(range(nt, G.number_of_nodes())), node_color="black",
                           node_size=15)
    if labels:
        nx.draw_networkx_labels(G, pos, ax=ax, labels={t: str(g.tensors[t]) for t in range(nt)}, font_size=6)
    title = "" if cut is None else f"A={list(cut.A)}  bound={cut.bound}  cut={list(cut.cut)}"
    ax.set_title(title if len(title) < 100 else title[:97] + "...", fontsize=8)
    ax.set_axis_off()
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
    return ax


__all__ = ["draw"]
