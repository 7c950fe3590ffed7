"""The one tree-network compiler behind every builder (theory §2, "As a tensor network").

A tree network has one matrix per tree edge and a delta (hyperedge) at every internal node:

- leaf ``i``: tensor ``("leaf", i)``, shape (M, r_parent), indices ``(i, ("h", parent))``;
- internal node ``v``: tensor ``("node", v)`` (the 1x1 conv W^v), shape (r_v, r_parent), indices
  ``(("h", v), ("h", parent))``; the root's second index is the class leg ``"y"``;
- the index ``("h", v)`` is shared by the children of ``v`` and by W^v: the product pooling.

Tensors are inserted bottom-up (children before parents), the output is ``(0, ..., N-1, "y")``, the
input legs are the positions, and the natural path contracts each node's children pairwise, then
its W^v. ``net.metadata`` records the tree, widths and the parameter key of every tensor so that
:func:`tree_of` and :func:`get_params` / :func:`set_params` work on any built network (also after
save / load), and weight sharing is explicit: tensors with the same key hold the same array.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tn import NetworkSum, TensorNetwork
from tn.errors import BuildError, WidthError
from tn.gcpause import gc_paused
from tn.netsum import terms_of
from tn.network import read_only

from .init import DEFAULT_INIT, INITS, calibrate, check_init, random_matrices, rng_for
from .modetree import ModeTree

CLASS_LEG = "y"
JSON_TREE_DEPTH = 200  # metadata["tree"] is the nested tree up to this depth, None beyond (see tree_of)


def hyper(node):
    """Index label of the hyperedge (product pooling) at an internal node."""
    return ("h", node)


@dataclass
class TreeSpec:
    """Everything the compiler needs: structure, sizes, and the weight behind every tree edge.

    ``params[keys[v]]`` is the (n_in, n_out) matrix on the edge from ``v`` to its parent, n_in = M
    at leaves and ``width[v]`` inside, n_out = ``width[parent]`` (``classes`` at the root).
    """

    tree: ModeTree
    M: int
    classes: int
    width: dict                      # internal node -> hyperedge size r_v
    keys: dict                       # node -> parameter key (hashable, JSON-able tuples/strings)
    names: dict                      # node -> tensor name
    params: dict = field(default_factory=dict)  # key -> array
    head: bool = True                # False: no conv at the root, whose hyperedge is the class leg itself
    masks: dict = field(default_factory=dict)   # internal node -> (tensor name, channel vector on its pooling)

    def in_size(self, node):
        return self.width[node] if self.tree._children[node] else self.M  # the dicts: called per node, N log N labels

    def out_size(self, node):
        parent = self.tree._parent[node]
        return self.classes if parent is None else self.width[parent]

    def shape(self, node):
        return self.in_size(node), self.out_size(node)

    @property
    def tensor_nodes(self) -> tuple:
        """Nodes holding a tensor, bottom-up: all of them, but a headless root."""
        return self.tree.nodes if self.head else self.tree.nodes[:-1]

    def pooling(self, node):
        """Index label of the product pooling at an internal node (the class leg at a headless root)."""
        return CLASS_LEG if not self.head and node == self.tree.root else hyper(node)


def default_names(tree, prefix=()):
    """``("leaf", i)`` for leaves and ``("node", v)`` for internal nodes, after an optional prefix."""
    return {v: prefix + (("node", v) if tree.children(v) else ("leaf", v[0])) for v in tree.nodes}


@gc_paused
def fill_params(spec, init=DEFAULT_INIT, seed=0, dtype=np.float64, given=None):
    """Give every key of ``spec`` an array: from ``given`` (key -> array) or drawn by ``init``.

    Keys shared by nodes of different shapes raise :class:`~tn.errors.WidthError`. Drawn Gaussian or
    orthonormal weights are calibrated (:mod:`builders.init`).
    """
    init = check_init(init)
    rng = rng_for(seed)
    owner = {}
    for v in spec.tensor_nodes:
        key, shape = spec.keys[v], spec.shape(v)
        if key in owner and spec.shape(owner[key]) != shape:
            raise WidthError(f"weight {key!r} is shared by nodes {owner[key]} (shape {spec.shape(owner[key])}) "
                             f"and {v} (shape {shape}): shared weights need equal widths")
        owner.setdefault(key, v)
    if given is not None:
        for key, v in owner.items():
            if key not in given:
                raise BuildError(f"no weight given for {key!r} (node {v}); given keys: {sorted(map(repr, given))}")
            array = np.asarray(given[key])
            if array.shape != spec.shape(v):
                raise WidthError(f"weight {key!r} has shape {array.shape}, node {v} needs {spec.shape(v)}")
            spec.params[key] = read_only(array)
    else:
        drawn = random_matrices([spec.shape(v) for v in owner.values()], init, rng, dtype)
        spec.params.update(zip(owner, drawn))
        if INITS.info(init)["calibrate"]:
            calibrate(spec.tree, spec.M, spec.params, spec.keys, rng)
        for array in spec.params.values():  # drawn here (views of blocks nobody else holds): frozen, never copied
            array.flags.writeable = False
    return spec


@gc_paused
def compile_tree(spec, metadata) -> TensorNetwork:
    """Build the :class:`tn.TensorNetwork` of a filled :class:`TreeSpec`; ``metadata`` is merged in."""
    tree = spec.tree
    net = TensorNetwork()
    for v in spec.tensor_nodes:
        parent = tree.parent(v)
        up = CLASS_LEG if parent is None else spec.pooling(parent)
        down = spec.pooling(v) if tree.children(v) else v[0]
        if v in spec.masks:  # a channel mask on the pooling, just before W^v (mixed decompositions)
            net.add_tensor(spec.masks[v][0], spec.masks[v][1], (down,))
        net.add_tensor(spec.names[v], spec.params[spec.keys[v]], (down, up))
    net.set_output(tuple(range(tree.N)) + (CLASS_LEG,))
    net.set_input_legs(tuple(range(tree.N)))
    net.set_natural_path(natural_path(tree, spec.head, spec.masks))
    net.metadata.update(metadata)
    net.metadata.update({
        # deep (chain) trees would nest beyond what JSON files hold: tree_of rebuilds them from the widths' nodes
        "tree": to_json(tree.to_nested()) if tree.depth <= JSON_TREE_DEPTH else None,
        "M": spec.M,
        "classes": spec.classes,
        "widths": [[list(v), spec.width[v]] for v in tree.internal_nodes],
        "params": _params_json(spec),
    })
    return net


def _params_json(spec) -> list:
    """``[[name, key], ...]`` in tensor order, JSON-ready; a key that is its tensor's name is converted once."""
    out = []
    for v in spec.tensor_nodes:
        name, key = spec.names[v], spec.keys[v]
        name_json = to_json(name)
        out.append([name_json, name_json if key is name else to_json(key)])
    return out


def natural_path(tree, head=True, masked=()):
    """Linear-format path over the bottom-up tensor order: per node, children pairwise, then W^v.

    ``head=False``: the root has no W^v (its children's product is the output). A node in
    ``masked`` has a mask vector just before W^v in the tensor order, applied to the product first.

    Written in linear format directly, in linear time (no SSA conversion: 2^17 tensors at N = 65536). In
    postorder the live operands when node v is contracted are: the live tensors before v's block (leaf
    children of its ancestors, untouched since they were scanned), v's own leaf children, mask and W^v,
    the tensors after W^v, then the results of finished subtrees, the last of which are v's internal
    children in order.
    """
    children = tree._children
    order = []
    for v in tree.nodes if head else tree.nodes[:-1]:
        order += [("mask", v), v] if v in masked else [v]
    n, path = len(order), []
    before, scanned = {}, 0   # tensor -> live tensors before it when scanned; live tensors scanned so far
    pending = 0                # results of finished subtrees awaiting their parent (after the live tensors)

    def contract(v, untouched):
        nonlocal scanned, pending
        kids = children[v]
        own = [t for t in (("mask", v), v) if t in before]  # v's tensors (none at a headless root)
        leaves = [c for c in kids if not children[c]]
        n_int = len(kids) - len(leaves)
        first = before[leaves[0] if leaves else own[0]] if leaves or own else scanned  # live tensors before
        tail = pending - n_int  # v's internal kids are the last pending results, in order
        # operands are consumed in order (v's leaves, mask, W^v from the front of v's region; its internal
        # kids from the front of theirs), so positions are counts: linear even for a flat root of N leaves
        used = removed = 0
        kinds, r, i = [], 0, 0
        for c in kids:
            if children[c]:
                kinds.append(("int", i))
                i += 1
            else:
                kinds.append(("region", r))
                r += 1
        kinds += [("region", r + k) for k in range(len(own))]

        def position(kind, k):
            if kind == "region":
                return first + k - used
            base = scanned + untouched + tail
            return base + k - removed if kind == "int" else base + n_int - removed  # "acc": the newest result

        acc = kinds[0]
        for c in kinds[1:]:
            path.append(tuple(sorted((position(*acc), position(*c)))))
            for kind, _ in (acc, c):
                if kind == "region":
                    used, scanned = used + 1, scanned - 1
                elif kind == "int":
                    removed += 1
            acc = ("acc", 0)
        pending = tail + 1  # v's result replaces its internal kids

    for k, t in enumerate(order):
        before[t], scanned = scanned, scanned + 1
        if t[0] != "mask" and children[t]:
            contract(t, n - k - 1)
    if not head:
        contract(tree.root, 0)
    return path


# ---------------------------------------------------------------------- reading networks back
def _flat(x, kinds) -> bool:
    """No element of ``x`` is a ``kinds`` sequence (checked per distinct type: node labels are long)."""
    types = set(map(type, x))
    return types <= _SCALARS or not any(issubclass(t, kinds) for t in types)


_SCALARS = {int, str}  # the element types of node labels and names: no subclass test needed


def _map_nested(x, kinds, make):
    """Rebuild nested ``kinds`` sequences bottom-up with ``make``, by an explicit stack (trees may be N deep).

    Labels two levels deep (tensor names like ``("node", (0, 1))``: one per tensor) take a direct route.
    """
    if not isinstance(x, kinds):
        return x
    if _flat(x, kinds):  # node labels: one C-level copy
        return make(x)
    if all(not isinstance(e, kinds) or _flat(e, kinds) for e in x):
        return make([make(e) if isinstance(e, kinds) else e for e in x])
    stack = [(iter(x), [])]
    while True:
        items, out = stack[-1]
        for e in items:
            if not isinstance(e, kinds):
                out.append(e)
            elif _flat(e, kinds):
                out.append(make(e))
            else:
                stack.append((iter(e), []))
                break
        else:
            stack.pop()
            value = make(out)
            if not stack:
                return value
            stack[-1][1].append(value)


def to_json(x):
    """Tuples -> lists, recursively (tensor names, keys, nested trees).

    Examples
    --------
    >>> to_json((("leaf", 3), [1, (2,)]))
    [['leaf', 3], [1, [2]]]
    """
    return _map_nested(x, (tuple, list), list)


def from_json(x):
    """Lists -> tuples, recursively: the inverse of :func:`to_json` for the labels builders use."""
    return _map_nested(x, list, tuple)


def _holders(net) -> list:
    """The networks holding a built network's weights: itself, a sum's terms, or a mixed network's two tracks."""
    tracks = getattr(net, "tracks", None)
    return list(tracks) if tracks is not None else terms_of(net)


def _require_built(net):
    for t in _holders(net):
        if "tree" not in t.metadata or "params" not in t.metadata:
            raise BuildError(f"{t!r} was not made by a builder (its metadata has no 'tree'/'params')")


def tree_of(net) -> ModeTree:
    """The mode tree a builder compiled ``net`` from (for a mixed term: that term's glued tree).

    Examples
    --------
    >>> import builders
    >>> net = builders.convac(builders.ModeTree.mirror(4), M=2, widths=2)
    >>> builders.tree_of(net) == builders.ModeTree.mirror(4)
    True
    """
    _require_built(net)
    if isinstance(net, NetworkSum):
        raise BuildError("a NetworkSum has one tree per term: call tree_of(term) for term in net.terms")
    nested = net.metadata["tree"]
    if nested is None:
        tree = ModeTree.from_nodes(v for v, _ in net.metadata["widths"])
    else:
        tree = ModeTree.from_nested(from_json(nested))
    tree.grid = grid_of(net)
    return tree


def grid_of(net):
    """The image shape ``(H, W)`` a network was built on (theory §9), or None for a 1D network.

    Examples
    --------
    >>> import builders
    >>> builders.grid_of(builders.deep_convac(grid=(4, 4), M=2, widths=2)), builders.grid_of(builders.deep_convac(4, 2, 2))
    ((4, 4), None)
    """
    grid = net.metadata.get("grid")
    return None if grid is None else tuple(int(x) for x in grid)


def param_names(net) -> dict:
    """Parameter key -> list of the tensor names holding it (over all terms of a sum)."""
    _require_built(net)
    out = {}
    for t in _holders(net):
        for name, key in t.metadata["params"]:
            names = out.setdefault(from_json(key), [])
            if from_json(name) not in names:
                names.append(from_json(name))
    return out


def get_params(net) -> dict:
    """Parameter key -> array (tree orientation: (n_in, n_out)) of a built network or sum.

    Examples
    --------
    >>> import builders
    >>> net = builders.deep_convac(4, M=2, widths=3, share="level")
    >>> sorted(builders.get_params(net))
    [('level', 0), ('level', 1), ('level', 2)]
    """
    terms = _holders(net)
    out = {}
    for key, names in param_names(net).items():
        holder = next(t for t in terms if names[0] in t)
        out[key] = holder.data(names[0])
    return out


def set_params(net, params):
    """Set arrays by parameter key (every tensor sharing a key gets the same array), in place."""
    keyed = param_names(net)
    unknown = [k for k in params if k not in keyed]
    if unknown:
        raise BuildError(f"unknown parameter key(s) {unknown!r}; the network has {sorted(map(repr, keyed))}")
    for key, array in params.items():
        array = read_only(np.asarray(array))  # one copy shared by every holder
        for name in keyed[key]:
            net.set_data(name, array)  # a sum sets it in every term holding it
