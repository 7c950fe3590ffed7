"""Sums of tensor networks that share tensors (mixed decompositions)."""

from __future__ import annotations

import copy
import math

import numpy as np

from .cost import ContractionCost
from .errors import ShapeError, StructureError, UnknownTensorError
from .network import TensorNetwork, read_only


class NetworkSum:
    """The sum of several networks with the same open legs, possibly sharing weight tensors.

    Shared weights are tensors with the same name (and, as built, the same array) in several
    terms; :meth:`set_data` updates all of them at once. Rank bounds add over terms
    (rank(X + Y) <= rank(X) + rank(Y)).

    Examples
    --------
    >>> import numpy as np
    >>> from tn import TensorNetwork, NetworkSum
    >>> W, D = np.arange(6.0).reshape(2, 3), np.diag([1.0, 2.0, 3.0])
    >>> a, b = TensorNetwork(), TensorNetwork()
    >>> _ = a.add_tensor("W", W, ("i", "j"))
    >>> _ = b.add_tensor("W", W, ("i", "k")); _ = b.add_tensor("D", D, ("k", "j"))
    >>> s = NetworkSum([a, b])
    >>> np.allclose(s.to_dense(), W + W @ D)
    True
    """

    def __init__(self, terms, name=None):
        self.terms = list(terms)
        self.name = name
        if not self.terms:
            raise StructureError("a NetworkSum needs at least one term")
        first = self.terms[0]
        legs = set(first.output)
        sizes = {i: first.size(i) for i in first.output}
        for k, t in enumerate(self.terms[1:], 1):
            other = {i: t.size(i) for i in t.output}
            if set(t.output) != legs:
                raise StructureError(f"term {k} has open legs {t.output!r}, term 0 has {first.output!r}")
            if other != sizes:
                raise StructureError(f"term {k} has open leg sizes {other!r}, term 0 has {sizes!r}")
        self.metadata: dict = {}

    @property
    def output(self) -> tuple:
        return self.terms[0].output

    @property
    def input_legs(self) -> tuple:
        return self.terms[0].input_legs

    @property
    def size_dict(self) -> dict:
        sizes = {}
        for t in self.terms:
            sizes.update(t.size_dict)
        return sizes

    def size(self, ind) -> int:
        return self.terms[0].size(ind)

    @property
    def n_terms(self) -> int:
        """Number of terms (a sum that builds its terms lazily answers without building them)."""
        return len(self.terms)

    @property
    def is_symbolic(self) -> bool:
        return any(t.is_symbolic for t in self.terms)

    @property
    def tensor_names(self) -> tuple:
        """Every tensor name of every term, once (a property, as on :class:`TensorNetwork`)."""
        return tuple(dict.fromkeys(n for t in self.terms for n in t.tensor_names))

    @property
    def dtype(self):
        """The dtype the terms' results combine to."""
        return np.result_type(*(t.dtype for t in self.terms))

    def __contains__(self, name) -> bool:
        return any(name in t for t in self.terms)

    def data(self, name):
        """The array of tensor ``name`` (the same in every term that has it)."""
        for t in self.terms:
            if name in t:
                return t.data(name)
        raise UnknownTensorError(f"no term has a tensor named {name!r}")

    def copy(self, deep=False):
        """A new sum of copied terms; a tensor shared by several terms stays shared (one array) in the copy."""
        terms = [t.copy() for t in self.terms]
        if deep:
            for name in self.tensor_names:
                data = self.data(name)
                if data is not None:
                    fresh = read_only(data.copy(), fresh=True)
                    for t in terms:
                        if name in t:
                            t.set_data(name, fresh)
        new = NetworkSum(terms, self.name)
        new.metadata = copy.deepcopy(self.metadata)
        return new

    def set_data(self, name, data, check_finite=False):
        """Replace a tensor's values in every term that has it."""
        hit = [t for t in self.terms if name in t]
        if not hit:
            raise UnknownTensorError(f"no term has a tensor named {name!r}")
        if data is not None and not isinstance(data, tuple):
            data = read_only(np.asarray(data))  # one stored array, shared by every term that has the tensor
        for t in hit:
            t.set_data(name, data, check_finite)

    def get_inputs_output_size_dict(self, output=None) -> list:
        """One ``(inputs, output, size_dict)`` triple per term."""
        return [t.get_inputs_output_size_dict(output) for t in self.terms]

    def cost(self, output=None, optimize="auto", dtype=None) -> ContractionCost:
        """The cost of contracting every term and adding the results (one :class:`~tn.cost.ContractionCost`,
        each term's own in its ``terms``)."""
        output = self.output if output is None else tuple(output)
        return _sum_cost([t.cost(output, optimize, dtype) for t in self.terms], math.prod(map(self.size, output)))

    def contract(self, output=None, optimize="auto", memory_limit=None):
        output = self.output if output is None else tuple(output)
        return _sum(t.contract(output, optimize, memory_limit) for t in self.terms)

    def to_dense(self, order=None, optimize="auto", memory_limit=None):
        return self.contract(order, optimize, memory_limit)

    def evaluate(self, features, legs=None, batch_index="batch", optimize="auto", memory_limit=None,
                 method="auto"):
        """The sum of the terms' :meth:`TensorNetwork.evaluate` (same arguments)."""
        return _sum(t.evaluate(features, legs, batch_index, optimize, memory_limit, method) for t in self.terms)

    def evaluate_cost(self, batch, legs=None, batch_index="batch", optimize="auto", method="auto",
                      dtype=None) -> ContractionCost:
        """The exact cost of :meth:`evaluate` (the terms' costs, their additions and the running total)."""
        fed = set(self.input_legs if legs is None else legs)
        result = batch * math.prod(self.size(i) for i in self.output if i not in fed)
        return _sum_cost([t.evaluate_cost(batch, legs, batch_index, optimize, method, dtype) for t in self.terms],
                         result)

    gradients = TensorNetwork.gradients  # both work term by term, adding shared tensors' gradients
    value_and_grad = TensorNetwork.value_and_grad

    def save(self, path):
        from .io import save
        save(self, path)

    @classmethod
    def load(cls, path):
        from .io import load
        return load(path)

    def __repr__(self):
        return f"NetworkSum({len(self.terms)} terms, output={self.output!r})"


def _sum_cost(costs, result: int) -> ContractionCost:
    """Terms evaluated one after the other into a running total of ``result`` elements: FLOPs add (plus one
    addition per element for every extra term), the peak is the largest term's peak plus the total held meanwhile."""
    worst = max(costs, key=lambda c: c.largest_intermediate)
    flops = sum(c.flops for c in costs) + (len(costs) - 1) * result
    peak = max(c.peak_memory for c in costs) + (result if len(costs) > 1 else 0)
    return ContractionCost(flops, worst.largest_intermediate, worst.largest_intermediate_inds, peak, [],
                           worst.itemsize, terms=tuple(costs))


def _sum(arrays):
    total = None
    for a in arrays:
        if total is not None and a.shape != total.shape:
            raise ShapeError(f"terms contract to shapes {total.shape} and {a.shape}")
        total = a if total is None else total + a
    return total


def terms_of(net) -> list:
    """The terms of a :class:`NetworkSum`, or ``[net]`` for a single network."""
    return list(net.terms) if isinstance(net, NetworkSum) else [net]
