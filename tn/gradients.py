"""Gradients of a scalar function of a contraction with respect to every tensor, by environments.

The *environment* of a tensor T in a network is the network contracted with T removed, its open
legs being T's indices (and, for a non-scalar output, weighted by the output cotangent). For a
scalar ``L(out)`` of the contracted output ``out``,

    dL/dT[t] = sum_o  dL/dout[o] * d out[o] / dT[t],

which is the environment of T in the network where the cotangent ``dL/dout`` is attached to the
open legs. All environments come from one sweep: the contraction path of the network (the cached
plan of :mod:`tn.contraction`, so the path the engine itself would use) is replayed in SSA form,
keeping every intermediate (the upward pass), then the output cotangent is pushed back down the
contraction tree with one einsum per operand of every step (the downward pass). For a pairwise
step ``C = einsum(A, B -> kept)``,

    dL/dA = einsum(dL/dC, B -> inds(A)),

and an index of A that is summed on A alone (in neither C nor B, e.g. a hyperedge whose other
tensors were already absorbed, or a dangling index) is broadcast, since the derivative does not
depend on it. Hyperedges are never densified: they are plain shared einsum indices throughout.
The cost of the sweep is about three times that of one contraction; the memory is that of all
intermediates of the path.

The per-structure program (step equations compiled with ``opt_einsum.contract_expression``) is
cached, so repeated calls with new arrays, as in gradient descent, only run the einsums.

Conventions: gradients are plain (holomorphic) derivatives, no complex conjugation; a
:class:`tn.NetworkSum` is differentiated term by term and gradients of tensors shared by several
terms (same name) are added.
"""

from __future__ import annotations

import math

import numpy as np

from . import contraction, memory
from .cost import replay, size_of
from .errors import ShapeError, StructureError, UnknownTensorError
from .netsum import terms_of
from .network import exact_dtype, owned

_PROGRAMS = contraction.PlanCache(maxsize=64)


class _Step:
    """One step of the path: operands ``taken`` (SSA ids, their indices) contracted to ``kept``."""

    __slots__ = ("taken", "inds", "kept", "out", "forward", "backward")

    def __init__(self, taken, inds, kept, out, size_dict):
        self.taken, self.inds, self.kept, self.out = taken, inds, kept, out
        self.forward = contraction.step_expression(inds, kept, size_dict)
        self.backward = [self._backward(k, size_dict) for k in range(len(inds))]

    def _backward(self, k, size_dict):
        """(expression, broadcast shape or None) giving the cotangent of operand ``k``."""
        others = [t for j, t in enumerate(self.inds) if j != k]
        present = set(self.kept).union(*others)
        target = tuple(i for i in self.inds[k] if i in present)
        expr = contraction.step_expression([self.kept, *others], target, size_dict)
        if len(target) == len(self.inds[k]):
            return expr, None
        # indices summed on operand k alone: the derivative is constant along them
        view = tuple(size_dict[i] if i in present else 1 for i in self.inds[k])
        return expr, view


def _program(net, output, path):
    """The SSA replay of ``path`` (linear format) over the network's tensors, cached by structure."""
    inputs, output, size_dict = net.get_inputs_output_size_dict(output)

    def build():
        return [_Step(ids, inds, kept, len(inputs) + s, size_dict)
                for s, (ids, inds, kept) in enumerate(replay(inputs, output, path))]

    return _PROGRAMS.get((net.structure_key(), tuple(output), tuple(map(tuple, path))), build)


def _wanted(net, wrt):
    known = set().union(*(t.tensor_names for t in terms_of(net)))
    names = known if wrt is None else set(wrt)
    unknown = names - known
    if unknown:
        raise UnknownTensorError(f"wrt names tensor(s) {sorted(map(repr, unknown))} that the network does not have")
    return names


def _programs(terms, output, optimize):
    """``(cost, steps)`` per term: the cached plan's path and its SSA program."""
    out = []
    for term in terms:
        if not len(term):
            raise StructureError("cannot differentiate a network with no tensors")
        cost = term.cost(output=output, optimize=optimize)
        out.append((cost, _program(term, output, cost.path)))
    return out


def _needed(term, steps, wanted) -> dict:
    """SSA id -> whether the backward pass descends into it (it holds a wanted tensor)."""
    needed = {i: name in wanted for i, name in enumerate(term.tensor_names)}
    for s in steps:
        needed[s.out] = any(needed[i] for i in s.taken)
    return needed


def _backward_peak(term, steps, needed) -> int:
    """Elements alive at the worst moment of the backward pass, beyond the forward values and the gradients.

    Replays :func:`_backward`: the cotangent being pushed, the cotangents of intermediates not yet
    pushed, and one operand copy (an einsum may transpose its larger input into a new layout).
    """
    sizes, n = term.size_dict, len(term)
    size = {s.out: size_of(s.kept, sizes) for s in steps}
    alive, peak = 0, 0
    for s in reversed(steps):
        if not needed[s.out]:
            continue
        g = size[s.out]
        for i in s.taken:
            if needed[i]:
                d = size[i] if i >= n else size_of(term.inds(term.tensor_names[i]), sizes)
                peak = max(peak, alive + d + max(g, d))
                if i >= n:
                    alive += d
        alive -= g if s is not steps[-1] else 0
    return peak


def peak_bytes(net, output=None, optimize="auto", wrt=None, dtype=None) -> int:
    """The peak memory of :func:`value_and_grad` / :func:`environments`, in bytes, without any data.

    Every input and every intermediate of every term (the forward values are all kept for the
    backward pass), the output and its cotangent, the gradients (one array per wanted tensor, of its
    shape), and the worst moment of the backward pass (:func:`_backward_peak`); ``dtype`` defaults to
    the network's.
    """
    terms = terms_of(net)
    output = tuple(net.output if output is None else output)
    return _peak(terms, _programs(terms, output, optimize), _wanted(net, wrt), dtype)


def _peak(terms, programs, wanted, dtype=None) -> int:
    itemsize = np.dtype(dtype if dtype is not None else np.result_type(*(t.dtype for t in terms))).itemsize
    forward, backward, grads = 0, 0, {}
    for term, (cost, steps) in zip(terms, programs):
        sizes = term.size_dict
        inputs = [size_of(term.inds(n), sizes) for n in term.tensor_names]
        forward += sum(inputs) + sum(size_of(s.kept, sizes) for s in steps)
        needed = _needed(term, steps, wanted)
        backward = max(backward, _backward_peak(term, steps, needed))
        for k, name in enumerate(term.tensor_names):
            if needed[k]:
                grads[name] = inputs[k]
    out = size_of(steps[-1].kept, terms[0].size_dict)
    return (forward + 2 * out + backward + sum(grads.values())) * itemsize


def _forward(term, steps, dtype=None):
    """Every intermediate of the contraction of one network, by SSA id (arrays cast to ``dtype`` if given)."""
    arrays = term.arrays()
    values = dict(enumerate(arrays if dtype is None else (a.astype(dtype, copy=False) for a in arrays)))
    for s in steps:
        values[s.out] = s.forward(*(values[i] for i in s.taken))
    return values


def _backward(term, steps, values, output_grad, wanted):
    """Push ``output_grad`` down the contraction tree; gradients of the wanted tensors by name."""
    names = term.tensor_names
    needed = _needed(term, steps, wanted)
    cot = {steps[-1].out: output_grad}
    for s in reversed(steps):
        if not needed[s.out]:
            continue
        g = cot.pop(s.out)
        for k, i in enumerate(s.taken):
            if not needed[i]:
                continue
            expr, view = s.backward[k]
            d = expr(g, *(values[j] for j in s.taken if j != i))
            if view is not None:
                d = np.broadcast_to(d.reshape(view), term.shape(names[i])).copy()
            cot[i] = d
    sources = [output_grad, *(values[i] for i in range(len(names)))]
    return {names[i]: owned(cot[i], sources) for i in range(len(names)) if needed[i]}


def value_and_grad(net, loss_fn, output=None, optimize="auto", memory_limit=None, wrt=None):
    """A scalar loss of a network's contraction and its gradient with respect to the tensors.

    Parameters
    ----------
    net : TensorNetwork or NetworkSum
        A numeric network.
    loss_fn : callable
        ``loss_fn(out) -> (value, dvalue_dout)`` where ``out`` is the contracted output (axes in
        ``output`` order) and ``dvalue_dout`` an array of the same shape.
    output : sequence, optional
        Open legs to contract to (default ``net.output``); other open legs are summed.
    optimize : str, PathOptimizer or path
        The contraction path, as for :meth:`TensorNetwork.contract`; the same cached plan is used.
    memory_limit : int or str, optional
        Memory guard (:func:`tn.memory.check`) for the path's largest intermediate.
    wrt : iterable of tensor names, optional
        Only these gradients (branches of the contraction tree holding none of them are not
        descended). Default: every tensor.

    Returns
    -------
    value : the loss value returned by ``loss_fn``
    grads : dict
        Tensor name -> array of that tensor's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from tn import TensorNetwork
    >>> A, B = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    >>> net = TensorNetwork()
    >>> _ = net.add_tensor("A", A, ("i", "k")); _ = net.add_tensor("B", B, ("k", "j"))
    >>> net.set_output(("i", "j"))
    >>> value, grads = value_and_grad(net, lambda out: (0.5 * np.sum(out**2), out))
    >>> float(value)
    153.0
    >>> np.allclose(grads["A"], (A @ B) @ B.T)
    True
    """
    terms = terms_of(net)
    output = tuple(net.output if output is None else output)
    wanted = _wanted(net, wrt)
    for t in terms:
        t.arrays()  # numbers needed: a symbolic tensor is an error before any planning
    programs = _programs(terms, output, optimize)
    # integer networks: every sum (forward, and backward times the cotangent) in a dtype that cannot overflow
    arrays = [a for t in terms for a in t.arrays()]
    terms_total = len(terms) * max(math.prod(t.size_dict.values()) for t in terms) \
        if all(a.dtype.kind in "iu" for a in arrays) else 1
    work = exact_dtype(arrays, terms_total)
    nbytes = _peak(terms, programs, wanted, work)
    memory.check_bytes(nbytes, memory_limit, "gradients",
                       f"the sweep keeps every intermediate of the path and the gradients: {memory.human_size(nbytes)} "
                       f"at its peak")
    runs = [(steps, _forward(t, steps, work)) for t, (_, steps) in zip(terms, programs)]
    out = sum(values[steps[-1].out] for steps, values in runs) if len(runs) > 1 else \
        runs[0][1][runs[0][0][-1].out]
    value, output_grad = loss_fn(out)
    output_grad = np.asarray(output_grad)
    if output_grad.shape != np.shape(out):
        raise ShapeError(f"the loss gradient has shape {output_grad.shape} but the contracted output over "
                         f"{output!r} has shape {np.shape(out)}")
    if work is not None and output_grad.dtype.kind in "iu":
        back = exact_dtype([*arrays, output_grad], terms_total)
        output_grad = output_grad.astype(back)
        if back != work:
            runs = [(steps, {k: v.astype(back) for k, v in values.items()}) for steps, values in runs]
    grads = {}
    for term, (steps, values) in zip(terms, runs):
        for name, g in _backward(term, steps, values, output_grad, wanted).items():
            grads[name] = grads[name] + g if name in grads else g
    return value, grads


def environments(net, output_grad=None, output=None, optimize="auto", memory_limit=None, wrt=None):
    """Every tensor's environment: the gradient of ``sum(output_grad * out)``, all in one sweep.

    For a network whose output is a scalar, ``output_grad=None`` gives the plain environments
    (the network contracted with each tensor removed). For an output with open legs,
    ``output_grad`` (default: all ones) is the cotangent attached to the open legs.

    Parameters
    ----------
    net : TensorNetwork or NetworkSum
    output_grad : array_like, optional
        Shape of the contracted output; default ones.
    output, optimize, memory_limit, wrt
        As for :func:`value_and_grad`.

    Returns
    -------
    dict
        Tensor name -> array of that tensor's shape.

    Examples
    --------
    A ring of three matrices: the environment of each is the product of the other two.

    >>> import numpy as np
    >>> from tn import TensorNetwork
    >>> rng = np.random.default_rng(0)
    >>> A, B, C = (rng.standard_normal((3, 3)) for _ in range(3))
    >>> net = TensorNetwork()
    >>> for name, M, inds in (("A", A, "ij"), ("B", B, "jk"), ("C", C, "ki")):
    ...     _ = net.add_tensor(name, M, tuple(inds))
    >>> env = environments(net)          # trace(ABC): d/dA = (BC)^T
    >>> np.allclose(env["A"], (B @ C).T)
    True
    """
    def linear(out):
        g = np.ones_like(out) if output_grad is None else output_grad  # float32 stays float32
        return None, g

    return value_and_grad(net, linear, output, optimize, memory_limit, wrt)[1]


__all__ = ["environments", "peak_bytes", "value_and_grad"]
