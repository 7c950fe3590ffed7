"""Mode trees: rooted trees whose leaves are the input positions 0..N-1 (theory §2).

A node is the sorted tuple of the positions below it: leaf ``i`` is ``(i,)``, the root is
``(0, 1, ..., N-1)``. Children are kept sorted by their smallest position, so two trees with the
same set of nodes are equal whatever order their nested description used.
"""

from __future__ import annotations

import random
from functools import cached_property
from itertools import chain, combinations
from numbers import Integral

from tn.errors import TreeError
from tn.gcpause import gc_paused
from tn.labels import LONG, Positions


def _is_int(x) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def as_node(positions) -> tuple:
    """Canonical node label: the sorted tuple of positions (an int ``i`` means the leaf ``(i,)``)."""
    if _is_int(positions):
        return (int(positions),)
    return tuple(sorted(int(p) for p in positions))


_NODE_TYPES = (tuple, Positions)


def _power_exponent(N, base):
    """L with base**L == N, or None."""
    L, n = 0, 1
    while n < N:
        n, L = n * base, L + 1
    return L if n == N else None


class ModeTree:
    """A rooted tree over the positions 0..N-1, any arity >= 2 (a mode tree, theory §2).

    Parameters
    ----------
    nested : nested tuples / lists of ints
        Leaves are ints, an internal node is a sequence of at least two subtrees. Every position
        0..N-1 must appear exactly once, N >= 2.

    Examples
    --------
    >>> t = ModeTree(((0, 4), (1, 5)))
    Traceback (most recent call last):
    ...
    tn.errors.TreeError: mode tree over positions [0, 1, 4, 5]: position(s) 2, 3 are missing (need 0..5, each once)
    >>> t = ModeTree.balanced(4)
    >>> t.root, t.children(t.root), t.level(t.root), t.depth
    ((0, 1, 2, 3), ((0, 1), (2, 3)), 2, 2)
    >>> ModeTree.interleaved(8).children((0, 1, 2, 3, 4, 5, 6, 7))
    ((0, 2, 4, 6), (1, 3, 5, 7))
    >>> ModeTree.from_nested(t.to_nested()) == t
    True
    """

    @gc_paused
    def __init__(self, nested):
        self._children: dict = {}
        self._parent: dict = {}
        self._level: dict = {}
        self.grid = None  # (H, W) when built by :meth:`grid`
        leaves: list = []
        self.root = self._build(nested, leaves)
        self._parent[self.root] = None
        self.N = len(leaves)
        if sorted(leaves) != list(range(self.N)) or self.N < 2:
            self._complain(leaves)
        self._order = self._postorder(self.root)  # canonical: children in sorted order

    def _postorder(self, node):
        order, stack = [], [(node, False)]
        while stack:
            v, done = stack.pop()
            if done or not self._children[v]:
                order.append(v)
            else:
                stack.append((v, True))
                stack.extend((c, False) for c in reversed(self._children[v]))
        return order

    def _build(self, nested, leaves):
        """Read the nested description with an explicit stack (caterpillar trees are N deep)."""
        # frame: [item, its slot in the parent, its subtrees (None until read), the finished child nodes]
        stack, done = [[nested, 0, None, []]], []
        while stack:
            frame = stack[-1]
            item, _, items, kids = frame
            if items is None:
                if _is_int(item):
                    node = (int(item),)
                    leaves.append(node[0])
                    self._children[node], self._level[node] = (), 0
                    stack.pop()
                    (stack[-1][3] if stack else done).append(node)
                    continue
                frame[2] = items = self._subtrees(item, stack)
            if len(kids) < len(items):
                stack.append([items[len(kids)], len(kids), None, []])
                continue
            stack.pop()
            kids.sort(key=lambda n: n[0])
            node = tuple(sorted(chain.from_iterable(kids)))  # sorted runs: linear
            if len(node) >= LONG:  # long labels hash once (short ones hash faster in C as plain tuples)
                node = Positions(node)
            for c in kids:
                self._parent[c] = node
            self._children[node] = tuple(kids)
            self._level[node] = 1 + max(self._level[c] for c in kids)
            (stack[-1][3] if stack else done).append(node)
        return done[0]

    @staticmethod
    def _subtrees(item, stack) -> list:
        def where():  # the entry's path of child slots, built only for an error (it is as long as the depth)
            return [f[1] for f in stack[1:]]

        if isinstance(item, (str, bytes)):
            raise TreeError(f"mode tree entry {item!r} at {where()} is not a position (int) "
                            "or a sequence of subtrees")
        try:
            items = list(item)
        except TypeError:
            raise TreeError(f"mode tree entry {item!r} at {where()} is neither a position (int) "
                            "nor a sequence of subtrees") from None
        if len(items) < 2:
            raise TreeError(f"mode tree node {item!r} at {where()} has {len(items)} child(ren): "
                            "internal nodes need at least 2")
        return items

    @staticmethod
    def _complain(leaves):
        N = max(max(leaves, default=0) + 1, len(leaves))
        repeated = sorted({p for p in leaves if leaves.count(p) > 1})
        missing = sorted(set(range(N)) - set(leaves))
        bad = sorted(p for p in leaves if p < 0)
        parts = [f"position(s) {', '.join(map(str, v))} {what}" for v, what in
                 ((repeated, "are repeated"), (missing, "are missing"), (bad, "are negative")) if v]
        if not parts:
            parts = [f"it has {len(leaves)} position(s), at least 2 are needed"]
        raise TreeError(f"mode tree over positions {sorted(set(leaves))}: {'; '.join(parts)} "
                        f"(need 0..{N - 1}, each once)")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_nested(cls, nested) -> ModeTree:
        """The tree described by nested tuples/lists of positions, e.g. ``((0, 4), (1, 5))``."""
        return cls(nested)

    @classmethod
    def from_nodes(cls, nodes) -> ModeTree:
        """The tree whose internal nodes are ``nodes`` (collections of positions; leaves are implied).

        Each node's children are the largest given nodes (or single positions) inside it, so the nodes
        must be nested (laminar) and the largest must hold every position 0..N-1. No recursion: used to
        read back trees of any depth.

        Examples
        --------
        >>> ModeTree.from_nodes([(0, 1, 2, 3), (0, 1), (2, 3)]) == ModeTree.balanced(4)
        True
        >>> ModeTree.from_nodes([(0, 1, 2), (1, 2, 3)])
        Traceback (most recent call last):
        ...
        tn.errors.TreeError: mode tree nodes (0, 1, 2) and (1, 2, 3) overlap without one containing the other
        """
        ordered = sorted({as_node(v) for v in nodes}, key=len)
        if not ordered:
            raise TreeError("mode tree from nodes: no internal nodes given")
        top = {}  # position -> (node label, nested subtree) of the largest node holding it so far
        for v in ordered:
            kids = {}
            for p in v:
                label, sub = top.get(p, ((p,), p))
                kids[label] = sub
            if sum(map(len, kids)) != len(v):  # the disjoint tops meeting v cover more than v
                other = next(k for k in kids if not set(k) <= set(v))
                raise TreeError(f"mode tree nodes {other} and {v} overlap without one containing the other")
            if len(kids) < 2:
                raise TreeError(f"mode tree node {v} has fewer than 2 children among the given nodes")
            subtree = tuple(kids[k] for k in sorted(kids))
            for p in v:
                top[p] = (v, subtree)
        root = ordered[-1]
        missing = [p for p in top if top[p][0] != root]
        if missing:
            raise TreeError(f"mode tree nodes: the largest node {root} does not contain positions {missing[:12]}")
        return cls(top[root[0]][1])

    @classmethod
    def balanced(cls, N, arity=2) -> ModeTree:
        """Contiguous pooling windows of size ``arity`` at every level; N must be a power of ``arity``."""
        items = _positions(N, arity, "balanced")
        while len(items) > 1:
            items = [tuple(items[k:k + arity]) for k in range(0, len(items), arity)]
        return cls(items[0])

    @classmethod
    def interleaved(cls, N, arity=2) -> ModeTree:
        """Odd-even pooling: level-1 nodes {i, i + N/arity, ...}, then the same rule recursively."""
        items = _positions(N, arity, "interleaved")
        while len(items) > 1:
            stride = len(items) // arity
            items = [tuple(items[i + j * stride] for j in range(arity)) for i in range(stride)]
        return cls(items[0])

    @classmethod
    def mirror(cls, N) -> ModeTree:
        """Level-1 nodes {i, N-1-i}, then contiguous binary pooling of those pairs; N a power of 2, >= 4."""
        if not _is_int(N) or N < 4 or _power_exponent(N, 2) is None:
            raise TreeError(f"mirror tree: N={N!r} must be a power of 2, at least 4")
        items = [(i, N - 1 - i) for i in range(N // 2)]
        while len(items) > 1:
            items = [(items[k], items[k + 1]) for k in range(0, len(items), 2)]
        return cls(items[0])

    @classmethod
    def grid(cls, H, W, window=(2, 2), pooling="square") -> ModeTree:
        """The pooling geometry of an H x W image (theory §9); positions row-major, p = row * W + col.

        Parameters
        ----------
        H, W : int
            Image height and width (H = 1: a sequence of W positions).
        window : (a, b) or sequence of (a, b)
            Pooling window (rows, cols). One pair is used at every level, clipped to the grid
            that is left (so 2 x 2 windows finish a 4 x 16 image with 1 x 2 windows, and pool a
            sequence pairwise); H and W must then be powers of a and b. A sequence gives one window
            per level, used as given: their heights multiply to H, their widths to W.
        pooling : {"square", "mirror"}
            ``"square"``: contiguous windows at every level. ``"mirror"``: level-1 nodes are a
            pixel with its reflections, {(r, c), (r, W-1-c), (H-1-r, c), (H-1-r, W-1-c)}, then
            square pooling (``window``) of those nodes over the top-left quadrant.

        Returns
        -------
        ModeTree
            With ``tree.grid == (H, W)``.

        Examples
        --------
        >>> t = ModeTree.grid(4, 4)
        >>> t.by_level()[1][:2], t.grid
        (((0, 1, 4, 5), (2, 3, 6, 7)), (4, 4))
        >>> ModeTree.grid(4, 4, pooling="mirror").by_level()[1][:2]
        ((0, 3, 12, 15), (1, 2, 13, 14))
        >>> ModeTree.grid(1, 8) == ModeTree.balanced(8), ModeTree.grid(1, 8, pooling="mirror") == ModeTree.mirror(8)
        (True, True)
        >>> ModeTree.grid(6, 4)
        Traceback (most recent call last):
        ...
        tn.errors.TreeError: grid tree 6 x 4: window (2, 2) does not tile the 3 x 2 grid left after 1 level(s): H=6 must be a power of the window height 2 and W=4 of the width 2
        """
        for name, value in (("H", H), ("W", W)):
            if not _is_int(value) or value < 1:
                raise TreeError(f"grid tree: {name}={value!r} must be a positive int")
        if H * W < 2:
            raise TreeError(f"grid tree {H} x {W}: at least 2 positions are needed")
        windows = _windows(window)
        if pooling == "square":
            cells = [[r * W + c for c in range(W)] for r in range(H)]
        elif pooling == "mirror":
            for name, value in (("H", H), ("W", W)):
                if value > 1 and value % 2:
                    raise TreeError(f"mirror grid tree {H} x {W}: {name}={value} must be 1 or even "
                                    "(each pixel is pooled with its reflections)")
            cells = [[tuple(sorted({r * W + c, r * W + W - 1 - c, (H - 1 - r) * W + c, (H - 1 - r) * W + W - 1 - c}))
                      for c in range(max(1, W // 2))] for r in range(max(1, H // 2))]
        else:
            raise TreeError(f"grid tree: pooling={pooling!r} is not 'square' or 'mirror'")
        tree = cls(_pool_grid(cells, windows, f"{'mirror ' if pooling == 'mirror' else ''}grid tree {H} x {W}",
                              H, W))
        tree.grid = (H, W)
        return tree

    @classmethod
    def flat(cls, N) -> ModeTree:
        """One root with N leaf children: the shallow network / CP decomposition."""
        if not _is_int(N) or N < 2:
            raise TreeError(f"flat tree: N={N!r} must be an int >= 2")
        return cls(tuple(range(N)))

    @classmethod
    def from_dilations(cls, N, dilations) -> ModeTree:
        """The tree of a dilated ConvNet (theory §6) read at the last time step N-1.

        Layer l joins h[t - d_l] (the earlier child) with h[t]; the schedule must reach every
        position 0..N-1 exactly once, i.e. the dilations are a permutation of 1, 2, 4, ..., N/2.

        Examples
        --------
        >>> ModeTree.from_dilations(4, (2, 1)).to_nested()
        ((0, 2), (1, 3))
        """
        dilations = tuple(dilations)
        if not dilations or any(not _is_int(d) or d < 1 for d in dilations):
            raise TreeError(f"dilations {dilations!r} must be a non-empty sequence of positive ints")
        if not _is_int(N) or N < 2:
            raise TreeError(f"dilated ConvNet: N={N!r} must be an int >= 2")
        reached = sorted(N - 1 - sum(s) for k in range(len(dilations) + 1) for s in combinations(dilations, k))
        if reached != list(range(N)):
            raise TreeError(f"dilations {dilations!r} do not cover a sequence of N={N} steps exactly once: the "
                            f"last output reaches positions {_summary(reached)} (need a permutation of "
                            f"1, 2, 4, ..., N/2)")

        # layer l joins h[t - d_l] and h[t]: find the steps each layer needs top-down, then build bottom-up
        needed = [{N - 1}]
        for d in reversed(dilations):
            needed.append({u for t in needed[-1] for u in (t - d, t)})
        built = {t: t for t in needed.pop()}
        for d in dilations:
            built = {t: (built[t - d], built[t]) for t in needed.pop()}
        return cls(built[N - 1])

    @classmethod
    def random(cls, N, arity=(2, 3), seed=0) -> ModeTree:
        """A random tree over 0..N-1 (for tests): positions shuffled, then merged in random groups.

        ``arity`` is an int or a collection of allowed arities (a group may be smaller at the end).
        """
        if not _is_int(N) or N < 1:
            raise TreeError(f"random tree: N={N!r} must be a positive int")
        rng = random.Random(seed)
        arities = sorted({arity} if _is_int(arity) else set(arity))
        if not arities or arities[0] < 2:
            raise TreeError(f"random tree: arity {arity!r} must be ints >= 2")
        items = list(range(N))
        rng.shuffle(items)
        while len(items) > 1:
            k = min(rng.choice(arities), len(items))
            start = rng.randrange(len(items) - k + 1)
            items[start:start + k] = [tuple(items[start:start + k])]
        return cls(items[0])

    # ------------------------------------------------------------------ queries
    @cached_property
    def nodes(self) -> tuple:
        """Every node, bottom-up (postorder: children before parents, root last)."""
        return tuple(self._order)

    @cached_property
    def internal_nodes(self) -> tuple:
        """The non-leaf nodes, bottom-up."""
        return tuple(n for n in self._order if self._children[n])

    def postorder(self):
        """Iterate over the nodes, children before parents."""
        return iter(self._order)

    def leaves(self, node=None) -> tuple:
        """The positions below ``node`` (default: the root), sorted."""
        return self._check(node if node is not None else self.root)

    def children(self, node) -> tuple:
        """Child nodes sorted by their smallest position (``()`` for a leaf)."""
        return self._children[self._check(node)]

    def parent(self, node):
        """The parent node, ``None`` for the root."""
        return self._parent[self._check(node)]

    def slot(self, node) -> int:
        """Index of ``node`` among its parent's children (0 for the root)."""
        parent = self.parent(node)
        return 0 if parent is None else self._children[parent].index(as_node(node))

    def level(self, node) -> int:
        """0 for a leaf, 1 + the largest child level otherwise."""
        return self._level[self._check(node)]

    @property
    def depth(self) -> int:
        """The root's level."""
        return self._level[self.root]

    def by_level(self) -> tuple:
        """Tuple of node tuples, entry l holding the level-l nodes in postorder."""
        out = [[] for _ in range(self.depth + 1)]
        for n in self._order:
            out[self._level[n]].append(n)
        return tuple(tuple(x) for x in out)

    def __contains__(self, node) -> bool:
        try:
            return as_node(node) in self._level
        except (TypeError, ValueError):
            return False

    def _check(self, node) -> tuple:
        if type(node) in _NODE_TYPES and node in self._level:  # already canonical (the common call)
            return node
        key = as_node(node)
        if key not in self._level:
            raise TreeError(f"{node!r} is not a node of {self!r}")
        return key

    def to_nested(self, node=None):
        """Nested tuples of ints (leaves as ints), children in :meth:`children` order."""
        node = self.root if node is None else self._check(node)
        built = {}
        for v in self._postorder(node):  # children before parents: no recursion on the depth
            kids = self._children[v]
            built[v] = tuple(built.pop(c) for c in kids) if kids else v[0]
        return built[node]

    def __eq__(self, other):
        return isinstance(other, ModeTree) and self._children == other._children

    def __hash__(self):
        return hash(tuple(self._order))

    def __repr__(self):
        return f"ModeTree({self.to_nested()!r})"


def _positions(N, arity, kind) -> list:
    """``[0, ..., N-1]`` once N is checked to be a power of ``arity`` (the regular trees' requirement)."""
    _check_arity(arity)
    if not _is_int(N) or N < 2 or _power_exponent(N, arity) is None:
        raise TreeError(f"{kind} tree: N={N!r} is not a power of the arity {arity} (>= {arity})")
    return list(range(N))


def _check_arity(arity):
    if not _is_int(arity) or arity < 2:
        raise TreeError(f"arity {arity!r} must be an int >= 2")


def _windows(window):
    """``[(a, b)]`` (one window, clipped per level) or the per-level list ``[(a1, b1), ...]``, checked."""
    per_level = not (isinstance(window, (tuple, list)) and len(window) == 2 and all(map(_is_int, window)))
    pairs = list(window) if per_level and isinstance(window, (tuple, list)) else [window]
    for pair in pairs:
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(_is_int(x) and x >= 1 for x in pair)
                or pair[0] * pair[1] < 2):
            raise TreeError(f"grid window {pair!r} must be a pair (rows, cols) of positive ints covering at least "
                            f"2 positions (window={window!r})")
    if not pairs:
        raise TreeError("grid windows: the per-level list is empty")
    return [tuple(map(int, p)) for p in pairs], per_level


def _pool_grid(cells, windows, what, H, W):
    """Pool a grid of subtrees (rows of nested tuples) window by window until one node is left."""
    pairs, per_level = windows
    level = 0
    while len(cells) * len(cells[0]) > 1:
        h, w = len(cells), len(cells[0])
        if per_level:
            if level == len(pairs):
                raise TreeError(f"{what}: the {len(pairs)} windows {pairs} leave a {h} x {w} grid unpooled")
            a, b = pairs[level]
        else:
            a, b = min(pairs[0][0], h), min(pairs[0][1], w)
        if h % a or w % b or a * b < 2:
            hint = (f"window {pairs[level]} does not divide" if per_level else
                    f"window {pairs[0]} does not tile") + f" the {h} x {w} grid left after {level} level(s)"
            need = ("the windows' heights must multiply to H and their widths to W" if per_level else
                    f"H={H} must be a power of the window height {pairs[0][0]} and W={W} of the width {pairs[0][1]}")
            raise TreeError(f"{what}: {hint}: {need}")
        cells = [[tuple(cells[i + di][j + dj] for di in range(a) for dj in range(b)) for j in range(0, w, b)]
                 for i in range(0, h, a)]
        level += 1
    if per_level and level != len(pairs):
        raise TreeError(f"{what}: only {level} of the {len(pairs)} windows {pairs} are used "
                        "(the windows' heights must multiply to H and their widths to W)")
    return cells[0][0]


def _summary(values):
    text = ", ".join(map(str, values[:12]))
    return f"[{text}{', ...' if len(values) > 12 else ''}]"
