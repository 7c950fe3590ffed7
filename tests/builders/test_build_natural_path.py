"""The compiler writes the natural path in linear format directly: check it against the SSA description
(children pairwise, then the mask, then W^v) converted by opt_einsum's own ``ssa_to_linear``."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from opt_einsum.paths import ssa_to_linear

import builders
from builders.compiler import natural_path

from .builders_helpers import nested_trees


def ssa_reference(tree, head, masked):
    order = []
    for v in tree.nodes if head else tree.nodes[:-1]:
        order += [("mask", v), v] if v in masked else [v]
    position = {t: k for k, t in enumerate(order)}
    result, ssa, next_id = {}, [], len(order)
    for v in tree.nodes:
        kids = tree.children(v)
        if not kids:
            result[v] = position[v]
            continue
        acc = result.pop(kids[0])
        operands = [result.pop(c) if c in result else position[c] for c in kids[1:]]
        operands += [position[t] for t in (("mask", v), v) if t in position]
        for op in operands:
            ssa.append((acc, op))
            acc, next_id = next_id, next_id + 1
        result[v] = acc
    return [tuple(s) for s in ssa_to_linear(ssa)]


@settings(max_examples=200, deadline=None)
@given(tree=nested_trees(max_n=14, arities=(2, 3, 4)), head=st.booleans(), data=st.data())
def test_natural_path_equals_the_ssa_description(tree, head, data):
    candidates = [v for v in tree.internal_nodes if head or v != tree.root]
    masked = set(data.draw(st.lists(st.sampled_from(candidates), unique=True))) if candidates else set()
    assert natural_path(tree, head, masked) == ssa_reference(tree, head, masked)


def test_natural_path_contracts_a_mixed_network_like_einsum():
    net = builders.mixed(builders.ModeTree.balanced(8), builders.ModeTree.interleaved(8), M=2, widths=2)
    for term in net.terms:
        assert np.allclose(term.contract(optimize="natural"), term.contract(optimize="greedy"))
