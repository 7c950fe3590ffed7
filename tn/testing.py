"""Hypothesis strategies for tensor networks (needs the ``test`` extra), shared by the test suites."""

import string

import numpy as np
from hypothesis import strategies as st

from .network import TensorNetwork


@st.composite
def random_networks(draw, max_tensors=6, max_inds=9, symbolic=False, max_size=3):
    """Random hypergraphs: bonds, hyperedges (an index on 3+ tensors), open legs, sizes 1..max_size.

    Returns ``(net, arrays, equation)`` where ``equation`` is the plain ``np.einsum`` equation of the
    same network (letters in index order), an independent reference for contraction tests.
    """
    n = draw(st.integers(1, max_tensors))
    k = draw(st.integers(1, max_inds))
    sizes = [draw(st.integers(1, max_size)) for _ in range(k)]
    where = [sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=min(n, 4)))) for _ in range(k)]
    legs = [[j for j in range(k) if t in where[j]] for t in range(n)]
    order = draw(st.permutations(range(k)))
    out = list(order[:draw(st.integers(0, min(k, 4)))])
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # labels of mixed hashable types, as users give them
    label = [(j, "x") if j % 3 == 0 else (f"i{j}" if j % 3 == 1 else j) for j in range(k)]
    net, arrays = TensorNetwork(), []
    for t in range(n):
        shape = tuple(sizes[j] for j in legs[t])
        arrays.append(rng.standard_normal(shape))
        net.add_tensor(("T", t), shape if symbolic else arrays[-1], tuple(label[j] for j in legs[t]))
    net.set_output(tuple(label[j] for j in out))
    eq = ",".join("".join(string.ascii_letters[j] for j in legs[t]) for t in range(n))
    return net, arrays, eq + "->" + "".join(string.ascii_letters[j] for j in out)


@st.composite
def random_matrix_trees(draw, max_leaves=10, max_width=4, shared=False):
    """Random tree networks of matrices joined by delta hyperedges (the ConvAC shape), built by hand.

    Leaves are legs ``0..N-1`` of size M; every internal node of a random tree of arity 2-3 is a
    junction index (a plain bond when it has one child); the root matrix carries the open leg ``"y"``.
    With ``shared``, matrices of equal shape at one depth share one array (as in a dilated ConvNet).
    Returns ``(net, N, M)``.
    """
    n_leaves = draw(st.integers(1, max_leaves))
    M = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    net, counter, pool = TensorNetwork(), [0], {}

    def matrix(shape, depth):
        key = (shape, depth)
        if shared and key in pool:
            return pool[key]
        pool[key] = rng.standard_normal(shape) / np.sqrt(shape[0])
        return pool[key]

    def grow(leaves, depth, up):
        """Add the subtree over ``leaves`` whose top matrix ends in index ``up`` of size size[up]."""
        counter[0] += 1
        me = ("t", counter[0])
        if len(leaves) == 1 and draw(st.booleans()):
            orient = draw(st.booleans())
            inds = (leaves[0], up) if orient else (up, leaves[0])
            shape = (M, sizes[up]) if orient else (sizes[up], M)
            net.add_tensor(me, matrix(shape, depth), inds)
            return
        width = draw(st.integers(1, max_width))
        junction = ("j", counter[0])
        sizes[junction] = width
        net.add_tensor(me, matrix((width, sizes[up]), depth), (junction, up))
        if len(leaves) == 1:  # a plain bond down to a leaf matrix
            net.add_tensor(("leaf", leaves[0]), matrix((M, width), depth + 1), (leaves[0], junction))
            return
        k = draw(st.integers(2, min(3, len(leaves))))
        cuts = sorted(draw(st.sets(st.integers(1, len(leaves) - 1), min_size=k - 1, max_size=k - 1)))
        parts = [leaves[a:b] for a, b in zip([0, *cuts], [*cuts, len(leaves)])]
        for part in parts:
            if len(part) == 1 and draw(st.booleans()):
                net.add_tensor(("leaf", part[0]), matrix((M, width), depth + 1), (part[0], junction))
            else:
                grow(part, depth + 1, junction)

    sizes = {"y": draw(st.integers(1, 3))}
    positions = list(draw(st.permutations(range(n_leaves))))
    grow(positions, 0, "y")
    net.set_output(tuple(range(n_leaves)) + ("y",))
    net.set_input_legs(tuple(range(n_leaves)))
    return net, n_leaves, M


def shared_sum(seed=0, dtype=np.float64):
    """``(sum, W, D)``: the NetworkSum W + W D of two terms sharing the tensor ``"W"`` (one array in both)."""
    from .netsum import NetworkSum
    rng = np.random.default_rng(seed)
    W, D = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)).astype(dtype)
    W.flags.writeable = D.flags.writeable = False  # read-only: the networks keep these very arrays
    a, b = TensorNetwork(), TensorNetwork()
    a.add_tensor("W", W, ("i", "j"))
    b.add_tensor("W", W, ("i", "k"))
    b.add_tensor("D", D, ("k", "j"))
    return NetworkSum([a, b]), W, D
