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
