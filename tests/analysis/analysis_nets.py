"""Hand-made networks for the analysis tests, built with TensorNetwork.add_tensor only.

Independent of the builders package on purpose: a second construction of the same ConvAC networks
(theory §2): leaf i is a matrix (M, r_parent) on legs (i, ("h", parent)); an internal node v is a
hyperedge ("h", v) of size r_v joining its children's outgoing legs and the input leg of W^v, of
shape (r_v, r_parent(v)); the root's W carries the class leg "y".
"""

import itertools
import math

import numpy as np

from tn import TensorNetwork


def balanced(n):
    """Nested tuples of the balanced binary tree over 0..n-1 (n a power of 2)."""
    nodes = list(range(n))
    while len(nodes) > 1:
        nodes = [(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
    return nodes[0]


def mirror(n):
    """Level-1 pairs (i, n-1-i), then contiguous groups of those pairs."""
    nodes = [(i, n - 1 - i) for i in range(n // 2)]
    while len(nodes) > 1:
        nodes = [(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
    return nodes[0]


def flat(n):
    return tuple(range(n))


def leaves(tree):
    return [tree] if isinstance(tree, int) else [x for c in tree for x in leaves(c)]


def convac(tree, M=2, width=2, classes=1, seed=0, symbolic=False, orthonormal=False):
    """The ConvAC tensor network of a nested-tuple mode tree; ``width`` an int or a callable(node) -> int."""
    rng = np.random.default_rng(seed)
    width_of = width if callable(width) else (lambda node: width)
    net = TensorNetwork()

    def data(shape):
        if symbolic:
            return shape
        a = rng.standard_normal(shape)
        if orthonormal and shape[0] >= shape[1]:
            a = np.linalg.qr(a)[0]
        return a

    def add(node, up, up_size):
        if isinstance(node, int):
            net.add_tensor(("leaf", node), data((M, up_size)), (node, up))
            return
        r = width_of(node)
        net.add_tensor(("W", node), data((r, up_size)), (("h", node), up))
        for child in node:
            add(child, ("h", node), r)

    add(tree, "y", classes)
    n = len(leaves(tree))
    net.set_output(tuple(range(n)) + ("y",))
    net.set_input_legs(tuple(range(n)))
    return net


def mps(n, phys=2, bond=3, seed=0):
    """A chain (matrix product state) with open ends, physical legs 0..n-1."""
    rng = np.random.default_rng(seed)
    net = TensorNetwork()
    for k in range(n):
        inds = (k,) + ((("b", k - 1),) if k else ()) + ((("b", k),) if k < n - 1 else ())
        shape = (phys,) + (bond,) * (len(inds) - 1)
        net.add_tensor(("site", k), rng.standard_normal(shape), inds)
    net.set_output(tuple(range(n)))
    return net


def brute_force_bound(net, A, B):
    """Exact min over every 2-coloring of the tensors of the product of the sizes cut (theory §4 cost).

    A bond pays when its tensors differ; a hyperedge (with its terminal if open in A or B) pays its size
    once when its members are not all on one side; a fixed open leg (in neither A nor B) is sliced and
    pays nothing; an open leg pays when its tensor is on the other side.
    """
    names = net.tensor_names
    out = set(net.output)
    best = None
    for colors in itertools.product((0, 1), repeat=len(names)):
        side = dict(zip(names, colors))
        cost = 1
        for ind, where in net.index_map.items():
            members = {side[t] for t in where}
            if ind in out:
                if ind not in A and ind not in B:
                    continue
                members.add(0 if ind in A else 1)
            elif len(where) == 1:
                continue
            if len(members) > 1:
                cost *= net.size(ind)
        best = cost if best is None else min(best, cost)
    return best


def matricization_rank(net, A, B, fixed=0):
    """Dense SVD rank (numpy default tolerance) of [T]_{A,B}, other open legs fixed to ``fixed``."""
    rest = [i for i in net.output if i not in A and i not in B]
    T = net.to_dense(order=list(A) + list(B) + rest)
    T = T[(Ellipsis,) + (fixed,) * len(rest)] if rest else T
    rows = math.prod(net.size(i) for i in A)
    return int(np.linalg.matrix_rank(T.reshape(rows, -1)))


def ring(n, phys=2, bond=2, chord=None):
    """A periodic MPS (a cycle): site k has leg k and bonds to k - 1 and k + 1 (mod n); ``chord=(i, j)`` adds a bond
    ``("c", 0)`` between sites i and j."""
    net = TensorNetwork()
    for k in range(n):
        on_chord = chord is not None and k in chord
        inds = (k, ("b", k), ("b", (k + 1) % n)) + ((("c", 0),) if on_chord else ())
        net.add_tensor(("site", k), (phys, bond, bond) + ((bond,) if on_chord else ()), inds)
    net.set_output(tuple(range(n)))
    return net
