"""Pictures of a network and a cut, and of partitions on an image (needs the ``plot`` extra: matplotlib,
imported only when a picture is made).

- :func:`draw`: the graph: tensors colored by side, every open leg drawn as a stub colored by its
  partition side and labeled (a cut through input legs shows as red stubs), cut bonds in red, each
  hyperedge one dot (a cut hyperedge is one red mark), a legend, the bound in the title. A
  :class:`tn.NetworkSum` is drawn one panel per term.
- :func:`draw_partition`: the H x W image of a grid network (theory §9) with sides A and B colored,
  the level-1 pooling windows outlined (the windows the partition splits in red), the bound, and the
  rank and verdict when a validation row is given, in the title.
- :func:`draw_partitions`: one small image per partition with its log2 bound (a panel for a sweep).
"""

from __future__ import annotations

import math
import textwrap

import networkx as nx
import numpy as np

from tn.errors import PartitionError, TNError

from .cutgraph import cut_graph

COLORS = {"A": "#4c72b0", "B": "#dd8452", "none": "#bbbbbb", "cut": "#c44e52", "fixed": "#dddddd"}
TITLE_WIDTH = 70


def _pyplot(path, ax):
    try:
        import matplotlib
        if path is not None and ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise TNError("drawing needs matplotlib: pip install 'tn-engine[plot]'") from None
    return plt


def _finish(fig, path, plt):
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)


def bound_text(bound) -> str:
    """A bound short enough for a title: the exact int up to 9 digits, else ``2^k`` or ``~2^x``.

    Examples
    --------
    >>> bound_text(256), bound_text(2 ** 512), bound_text(3 ** 40)
    ('256', '2^512', '~2^63.40')
    """
    bound = int(bound)
    if bound < 10 ** 9:
        return str(bound)
    if bound & (bound - 1) == 0:
        return f"2^{bound.bit_length() - 1}"
    return f"~2^{math.log2(bound):.2f}"


def _wrap(text) -> str:
    return "\n".join(textwrap.wrap(text, TITLE_WIDTH, break_long_words=True))


def _legs_text(legs, limit=16) -> str:
    legs = list(legs)
    shown = ",".join(map(str, legs[:limit]))
    return f"{shown},... ({len(legs)} legs)" if len(legs) > limit else shown


# ---------------------------------------------------------------------- the graph
def _tree_layout(G, root, order_key):
    """Leaves left to right in ``order_key`` order, parents above their children's mean; no recursion."""
    parent, depth, seen, bfs = {root: None}, {root: 0}, {root}, [root]
    for v in bfs:
        for u in G[v]:
            if u not in seen:
                seen.add(u)
                parent[u], depth[u] = v, depth[v] + 1
                bfs.append(u)
    children = {v: [] for v in bfs}
    for v in bfs[1:]:
        children[parent[v]].append(v)
    key = {}
    for v in reversed(bfs):  # children before parents
        key[v] = min([order_key(v)] + [key[c] for c in children[v]])
    pos, next_x, stack = {}, 0.0, [(root, False)]
    while stack:
        v, done = stack.pop()
        kids = sorted(children[v], key=key.get)
        if not kids:
            pos[v], next_x = (next_x, -depth[v]), next_x + 1.0
        elif done:
            pos[v] = (sum(pos[c][0] for c in kids) / len(kids), -depth[v])
        else:
            stack.append((v, True))
            stack.extend((c, False) for c in reversed(kids))
    return pos


def _graph(g):
    """networkx graph of tensors (ids 0..nt-1) and hyperedge nodes (nt + k)."""
    nt = len(g.tensors)
    G = nx.Graph()
    G.add_nodes_from(range(nt + len(g.hyperedges)))
    for (i, j) in g.bonds:
        G.add_edge(i, j)
    for k, (_, ids) in enumerate(g.hyperedges):
        G.add_edges_from((nt + k, t) for t in ids)
    return G


def _layout(G, g):
    nt = len(g.tensors)
    rank = {leg: k for k, leg in enumerate(g.output)}
    legs_of = {}
    for leg, t in g.leg_tensor.items():
        legs_of.setdefault(t, []).append(leg)
    for k, (label, _) in enumerate(g.hyperedges):
        if label in rank:
            legs_of.setdefault(nt + k, []).append(label)
    if not nx.is_tree(G):
        return nx.spring_layout(G, seed=0), legs_of
    # root: the node holding a non-input open leg (the class leg), else a center of the graph
    inputs = set(g.input_legs)
    holders = [v for v, legs in legs_of.items() if any(leg not in inputs for leg in legs)]
    root = holders[0] if holders else nx.center(G)[0]
    big = len(rank) + G.number_of_nodes()
    pos = _tree_layout(G, root, lambda v: min((rank[leg] for leg in legs_of.get(v, ())), default=big))
    return pos, legs_of


MAX_PANELS = 8      # terms of a sum drawn (the title says how many there are)
PANELS_PER_ROW = 4

def draw(net, cut=None, path=None, ax=None, labels=False):
    """Draw ``net`` and a cut: sides, open legs by side, cut indices in red, the bound in the title.

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum
        A sum is drawn as one panel per term (``cut.terms`` gives each term's cut).
    cut : MinCutResult, optional
        From :func:`analysis.mincut`; without it every tensor is grey and legs are not colored.
    path : str, optional
        Write a PNG there (the figure is closed afterwards).
    ax : matplotlib Axes, optional
        Draw into it (a single network only).
    labels : bool
        Write tensor names next to the tensors (open legs are always labeled).

    Returns
    -------
    the matplotlib Axes (a list of them for a sum)
    """
    from tn import NetworkSum
    plt = _pyplot(path, ax)
    if isinstance(net, NetworkSum):
        if ax is not None:
            raise TNError("draw: a NetworkSum is drawn one panel per term; leave ax=None")
        terms = net.terms
        cuts = list(cut.terms) if cut is not None and cut.terms else [None] * len(terms)
        shown = terms[:MAX_PANELS]  # a mixed network has up to 4096 terms: a readable picture shows a few
        ncols = min(PANELS_PER_ROW, len(shown))
        nrows = -(-len(shown) // ncols)
        width = min(12, max(5, max(len(t.tensor_names) for t in shown) * 0.28))
        fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * width, nrows * 4.8 + 0.8), squeeze=False)
        axes = list(axes.flat)
        for k, (term, term_cut, a) in enumerate(zip(shown, cuts, axes)):
            _draw_one(term, term_cut, a, labels, f"term {k}: ", legend=k == len(shown) - 1)
        for a in axes[len(shown):]:
            a.set_visible(False)
        which = f"the first {len(shown)} of {len(terms)} terms" if len(shown) < len(terms) else f"{len(terms)} terms"
        if cut is not None:
            total = sum(c.bound for c in cut.terms)
            how = "the sum of the terms' bounds" if total == cut.bound else \
                f"a side's dimension (the terms' bounds sum to {bound_text(total)})"
            fig.suptitle(_wrap(f"sum of {len(terms)} terms (drawn: {which}): bound {bound_text(cut.bound)} = {how}; "
                               f"A = {_legs_text(cut.A)}"), fontsize=10)
        else:
            fig.suptitle(f"sum of {len(terms)} terms (drawn: {which})", fontsize=10)
        _finish(fig, path, plt)
        return axes[:len(shown)]
    if ax is None:
        n = len(net.tensor_names) + len(net.output)
        _, ax = plt.subplots(figsize=(min(max(6, n * 0.22), 30), 5.5))
    _draw_one(net, cut, ax, labels, "")
    _finish(ax.figure, path, plt)
    return ax


def _short_name(name) -> str:
    """A tensor name for a label: a builder's ``("node", positions)`` as its first..last position.

    Examples
    --------
    >>> _short_name(("node", tuple(range(8)))), _short_name(("leaf", 3)), _short_name("W")
    ('node 0..7', 'leaf 3', 'W')
    """
    if isinstance(name, tuple) and len(name) == 2 and isinstance(name[0], str):
        kind, what = name
        if isinstance(what, tuple) and len(what) > 3 and all(isinstance(p, int) for p in what):
            return f"{kind} {what[0]}..{what[-1]}" if list(what) == list(range(what[0], what[-1] + 1)) \
                else f"{kind} {what[0]},{what[1]}..({len(what)})"
        return f"{kind} {what}"
    return str(name)


def _draw_one(net, cut, ax, labels, prefix, legend=True):
    from matplotlib.lines import Line2D
    g = cut_graph(net)
    nt = len(g.tensors)
    G = _graph(g)
    pos, legs_of = _layout(G, g)
    cut_labels = set(cut.cut) if cut is not None else set()
    on_a = set(cut.sides[0]) if cut is not None else set()
    side_of = {}
    if cut is not None:
        side_of = {leg: "A" for leg in cut.A} | {leg: "B" for leg in cut.B}
    ys = [p[1] for p in pos.values()]
    spread = (max(ys) - min(ys)) if ys else 1.0
    stub = max(0.6, 0.08 * spread)
    # bonds (a cut bond in red) and hyperedge spokes (grey: the hyperedge itself is the one mark)
    for (i, j), bond in g.bonds.items():
        is_cut = any(b in cut_labels for b in bond)
        ax.plot(*zip(pos[i], pos[j]), color=COLORS["cut"] if is_cut else "#888888", lw=2.5 if is_cut else 1.0,
                zorder=1)
    for k, (label, ids) in enumerate(g.hyperedges):
        for t in ids:
            ax.plot(*zip(pos[nt + k], pos[t]), color="#888888", lw=1.0, zorder=1)
    # open legs: a stub per leg (input legs below their tensor, other legs above), colored by side
    n_legs = len(g.output)
    label_every = max(1, n_legs // 64)
    inputs, place = set(g.input_legs), {leg: k for k, leg in enumerate(g.output)}
    for v, legs in legs_of.items():
        x, y = pos[v]
        for k, leg in enumerate(legs):
            up = leg not in inputs
            dx = (k - (len(legs) - 1) / 2) * 0.3
            end = (x + dx, y + stub if up else y - stub)
            is_cut = leg in cut_labels
            color = COLORS["cut"] if is_cut else COLORS.get(side_of.get(leg), COLORS["none"])
            ax.plot([x, end[0]], [y, end[1]], color=color, lw=2.5 if is_cut else 1.2, ls="--" if is_cut else "-",
                    zorder=1)
            ax.scatter([end[0]], [end[1]], s=22, marker="s", color=COLORS.get(side_of.get(leg), COLORS["none"]),
                       edgecolors=COLORS["cut"] if is_cut else "none", linewidths=1.5, zorder=3)
            if place[leg] % label_every == 0 or up:
                ax.annotate(str(leg), end, xytext=(0, 6 if up else -6), textcoords="offset points", ha="center",
                            va="bottom" if up else "top", fontsize=6 if n_legs <= 32 else 5, rotation=0 if n_legs <= 32
                            else 90)
    tensor_colors = [COLORS["none"] if cut is None else COLORS["A" if g.tensors[t] in on_a else "B"]
                     for t in range(nt)]
    ax.scatter([pos[t][0] for t in range(nt)], [pos[t][1] for t in range(nt)], s=110 if nt <= 64 else 40,
               c=tensor_colors, edgecolors="white", linewidths=0.5, zorder=4)
    hyper = range(nt, G.number_of_nodes())
    hyper_cut = [g.hyperedges[h - nt][0] in cut_labels for h in hyper]
    ax.scatter([pos[h][0] for h in hyper], [pos[h][1] for h in hyper], s=[70 if c else 14 for c in hyper_cut],
               c=[COLORS["cut"] if c else "black" for c in hyper_cut], marker="o", zorder=5)
    if labels:  # crowded levels: short names, turned upright
        upright = nt > 40
        for t in range(nt):
            ax.annotate(_short_name(g.tensors[t]), pos[t], xytext=(0, 5) if upright else (4, 3),
                        textcoords="offset points", fontsize=5, rotation=90 if upright else 0,
                        ha="center" if upright else "left", va="bottom")
    handles = [Line2D([], [], marker="o", ls="", color=COLORS["A"], label="tensor on A's side"),
               Line2D([], [], marker="o", ls="", color=COLORS["B"], label="tensor on B's side"),
               Line2D([], [], marker="o", ls="", color="black", markersize=4, label="hyperedge (pooling)"),
               Line2D([], [], marker="s", ls="", color=COLORS["A"], markersize=5, label="open leg in A"),
               Line2D([], [], marker="s", ls="", color=COLORS["B"], markersize=5, label="open leg in B"),
               Line2D([], [], marker="s", ls="", color=COLORS["none"], markersize=5, label="open leg fixed"),
               Line2D([], [], color=COLORS["cut"], lw=2.5, label="cut index (hyperedge: red dot)")]
    if cut is None:
        handles = [Line2D([], [], marker="o", ls="", color=COLORS["none"], label="tensor"), handles[2],
                   Line2D([], [], marker="s", ls="", color=COLORS["none"], markersize=5, label="open leg")]
    if legend:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    if cut is None:
        title = f"{prefix}{nt} tensors, {len(g.hyperedges)} hyperedges, {n_legs} open legs"
    else:
        title = (f"{prefix}bound {bound_text(cut.bound)} (log2 bound {cut.log2_bound:.4g}), {len(cut.cut)} cut "
                 f"index(es); A = {_legs_text(cut.A)}")
    ax.set_title(_wrap(title), fontsize=9)
    ax.set_axis_off()


# ---------------------------------------------------------------------- partitions on an image
def _grid_picture(net, part):
    """(H, W), the side image (0 = A, 1 = B, 0.5 = fixed) and the level-1 window id of every pixel."""
    from .partitions import grid_shape
    legs = tuple(net.input_legs)
    shape = grid_shape(net) or (1, len(legs))
    H, W = shape
    if H * W != len(legs):
        raise PartitionError(f"the grid {H} x {W} does not match the network's {len(legs)} input legs")
    in_A, in_B = set(part.A), set(part.B)
    image = np.array([0.0 if leg in in_A else 1.0 if leg in in_B else 0.5 for leg in legs]).reshape(H, W)
    window = np.full(H * W, -1)
    try:
        from builders import tree_of
        tree = tree_of(net)
    except TNError:
        tree = None
    if tree is not None:
        for k, v in enumerate(tree.by_level()[1]):
            window[list(v)] = k
    return shape, image, window.reshape(H, W)


def _contiguous(window) -> bool:
    """Every level-1 window is a filled rectangle of pixels (square pooling) rather than scattered (mirror)."""
    for k in np.unique(window[window >= 0]):
        rows, cols = np.nonzero(window == k)
        if (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1) != len(rows):
            return False
    return True


def _outline_windows(ax, image, window, labels=True):
    """Mark the level-1 windows and those both sides meet (in red); returns (split, total).

    Rectangular windows get their borders drawn (thin black, thick red if split); scattered ones (mirror
    pooling) are shown by writing each pixel's window number, a red frame marking the pixels of split ones.
    """
    H, W = image.shape
    ids = [k for k in np.unique(window) if k >= 0]
    split = {k for k in ids if len(np.unique(image[window == k])) > 1}
    if not _contiguous(window):
        from matplotlib.patches import Rectangle
        for r in range(H):
            for c in range(W):
                k = window[r, c]
                if k in split:
                    ax.add_patch(Rectangle((c - 0.42, r - 0.42), 0.84, 0.84, fill=False, ec=COLORS["cut"], lw=1.2))
                if labels and H * W <= 256:
                    ax.text(c, r, str(k), ha="center", va="center", fontsize=7 if W <= 8 else 5, color="white")
        return len(split), len(ids)
    segments = {"plain": [], "split": []}
    for r in range(H):
        for c in range(W):
            k = window[r, c]
            sides = [(0, 1, ((c + 0.5, c + 0.5), (r - 0.5, r + 0.5))), (1, 0, ((c - 0.5, c + 0.5), (r + 0.5, r + 0.5)))]
            if r == 0:
                sides.append((-1, 0, ((c - 0.5, c + 0.5), (r - 0.5, r - 0.5))))
            if c == 0:
                sides.append((0, -1, ((c - 0.5, c - 0.5), (r - 0.5, r + 0.5))))
            for dr, dc, seg in sides:
                rr, cc = r + dr, c + dc
                other = window[rr, cc] if 0 <= rr < H and 0 <= cc < W else -2
                if other != k:
                    segments["split" if k in split or other in split else "plain"].append(seg)
    for kind, color, lw in (("plain", "black", 0.8), ("split", COLORS["cut"], 2.2)):
        for xs, ys in segments[kind]:
            ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="projecting")
    return len(split), len(ids)


def _verdict(result) -> str:
    rank = getattr(result, "rank", None)
    verdict = getattr(result, "verdict", None)
    if rank is None:
        return f", rank {verdict}" if verdict else ""
    if verdict is None:
        tight = getattr(result, "tight", None)
        verdict = "tight" if tight else ("rank < bound" if tight is False else "undetermined")
    return f", rank {bound_text(rank)} ({verdict})"


def draw_partition(network, partition, result=None, windows=True, path=None, ax=None):
    """The image of a grid network with a partition: A and B colored, windows outlined, bound in the title.

    Parameters
    ----------
    network : tn.TensorNetwork
        Built on a grid (``metadata["grid"]``); a 1D network is drawn as a 1 x N strip.
    partition : partition spec (see :func:`analysis.make_partition`: names, masks, legs)
    result : MinCutResult or ValidationRow, optional
        Its bound (and rank, tightness or verdict) go in the title; default: :func:`analysis.mincut`.
    windows : bool
        Outline the level-1 pooling windows; those the partition splits (both sides meet) in red.
    path : str, optional
        Write a PNG there (the figure is closed afterwards).
    ax : matplotlib Axes, optional

    Returns
    -------
    the matplotlib Axes
    """
    from .bounds import mincut
    from .partitions import make_partition
    plt = _pyplot(path, ax)
    part = make_partition(network, partition)
    if result is None:
        result = mincut(network, part)
    (H, W), image, window = _grid_picture(network, part)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(9, max(3.5, W * 0.4)), min(9, max(2.5, H * 0.4)) + 0.9))
    numbered = windows and (window >= 0).any() and not _contiguous(window)
    _image(ax, image, H, W, positions=not numbered)
    title = f"{part.name}: bound {bound_text(result.bound)}{_verdict(result)}"
    if windows and (window >= 0).any():
        split, total = _outline_windows(ax, image, window)
        title += f"; {split} of {total} level-1 windows split (red)"
        if numbered:
            title += "; numbers: each pixel's level-1 window"
    ax.set_title(_wrap(title), fontsize=9)
    _finish(ax.figure, path, plt)
    return ax


def _image(ax, image, H, W, small=False, positions=True):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    cmap = ListedColormap([COLORS["A"], COLORS["fixed"], COLORS["B"]])
    ax.imshow(image, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if small:
        return
    if positions and H * W <= 256:  # position labels
        for p in range(H * W):
            r, c = divmod(p, W)
            ax.text(c, r, str(p), ha="center", va="center", fontsize=7 if W <= 8 else 5, color="white")
    ax.legend(handles=[Patch(color=COLORS["A"], label="A"), Patch(color=COLORS["B"], label="B")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def draw_partitions(network, partitions, results=None, path=None, ncols=6, windows=False):
    """A panel: one small image per partition, titled with its name and log2 bound.

    Parameters
    ----------
    network : tn.TensorNetwork (a grid network, or 1D drawn as strips)
    partitions : iterable of partition specs
    results : list of MinCutResult, optional
        One per partition (default: computed).
    path : str, optional
        Write a PNG there.
    ncols : int
        Panels per row.
    windows : bool
        Outline the level-1 windows in each panel.

    Returns
    -------
    the matplotlib Figure
    """
    from .bounds import mincut
    from .partitions import make_partition
    plt = _pyplot(path, None)
    parts = [make_partition(network, p) for p in partitions]
    if not parts:
        raise PartitionError("draw_partitions needs at least one partition")
    if results is None:
        results = [mincut(network, p) for p in parts]
    if len(results) != len(parts):
        raise PartitionError(f"draw_partitions: {len(results)} results for {len(parts)} partitions")
    ncols = max(1, min(ncols, len(parts)))
    nrows = -(-len(parts) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.1 * ncols, 2.3 * nrows + 0.4), squeeze=False,
                             layout="constrained")
    for a in axes.flat[len(parts):]:
        a.set_axis_off()
    for a, part, res in zip(axes.flat, parts, results):
        (H, W), image, window = _grid_picture(network, part)
        _image(a, image, H, W, small=True)
        if windows and (window >= 0).any():
            _outline_windows(a, image, window, labels=False)
        name = part.name if len(part.name) <= 18 else part.name[:16] + "..."
        a.set_title(f"{name}\nlog2 bound {res.log2_bound:.4g}", fontsize=8)
    from matplotlib.patches import Patch
    fig.legend(handles=[Patch(color=COLORS["A"], label="A"), Patch(color=COLORS["B"], label="B")]
               + ([Patch(fill=False, ec=COLORS["cut"], lw=2, label="split level-1 window")] if windows else []),
               loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    _finish(fig, path, plt)
    return fig


__all__ = ["bound_text", "draw", "draw_partition", "draw_partitions"]
