"""The central object: a hypergraph of named tensors.

An index on two tensors is a bond, an index listed in the output is an open leg, and an
index on three or more tensors is a hyperedge: a delta (COPY) tensor that is never built,
because einsum semantics already sum a shared index once over all its tensors.

Ownership: a network never shares writeable memory with anyone. Arrays given to ``add_tensor`` /
``set_data`` are stored read-only (a writeable array is copied, a read-only one is kept, so a
shared weight costs one array; :func:`read_only`); ``data()`` and ``arrays()`` hand out those
read-only arrays; every computed result (``contract``, ``to_dense``, ``evaluate``, ``gradients``)
is a new array that the caller owns.
"""

from __future__ import annotations

import copy
import math
import warnings
import weakref
from collections.abc import Mapping

import numpy as np

from . import contraction, memory, treeexec
from .cost import ContractionCost
from .errors import (
    DTypeError,
    DuplicateIndexError,
    DuplicateTensorError,
    IndexSizeError,
    NonFiniteError,
    OptimizeError,
    SettingError,
    ShapeError,
    StructureError,
    SymbolicTensorError,
    UnderflowWarning,
    UnknownIndexError,
    UnknownTensorError,
)


def _as_shape(shape, name) -> tuple:
    try:
        dims = tuple(shape)
    except TypeError:
        raise ShapeError(f"tensor {name!r}: expected an array or a shape tuple, got {type(shape).__name__}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ShapeError(f"tensor {name!r}: shape {dims!r} must hold positive integers")
    return tuple(int(d) for d in dims)


def _as_array(data, name, check_finite, allow_empty=False):
    array = np.asarray(data)
    if array.dtype.kind not in "biufc":
        raise DTypeError(f"tensor {name!r}: dtype {array.dtype} cannot be contracted (need a numeric dtype)")
    if array.dtype.kind == "b":  # einsum on booleans is logical, not arithmetic
        array = array.astype(np.int64)
    if 0 in array.shape and not allow_empty:
        raise ShapeError(f"tensor {name!r}: shape {array.shape} has a size-0 axis (an index of size 0 makes every "
                         "contraction empty and every cut meaningless)")
    if check_finite and not np.all(np.isfinite(array)):
        raise NonFiniteError(f"tensor {name!r}: {int(np.size(array) - np.isfinite(array).sum())} "
                             f"non-finite value(s) in an array of shape {array.shape}")
    return read_only(array, fresh=array is not data)


def read_only(array, fresh=False):
    """``array`` as the network stores it: itself if already read-only, else a read-only copy.

    The ownership rule of :class:`TensorNetwork`: a network never shares writeable memory with anyone.
    A writeable array given to it is copied (``fresh=True``: the caller vouches that nobody else holds
    ``array``, e.g. it was just converted, so it is frozen in place instead); an array that is already
    read-only is trusted to stay unchanged and kept as is. Giving the same writeable array again (to
    another tensor, another term of a sum) reuses its copy as long as both live and the values are
    still equal, so weight sharing survives without a copy per tensor.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.ones(3)
    >>> B = read_only(A)
    >>> B is A, B.flags.writeable, read_only(B) is B, read_only(A) is B
    (False, False, True, True)
    >>> A[0] = 2                     # the source changed: a new copy
    >>> read_only(A) is B
    False
    """
    if not array.flags.writeable:
        return array
    if fresh and array.flags.owndata:
        array.flags.writeable = False
        return array
    entry = _COPIES.get(id(array))
    if entry is not None:
        source, copy_ = entry[0](), entry[1]()
        if source is array and copy_ is not None and copy_.shape == array.shape and copy_.dtype == array.dtype \
                and np.array_equal(copy_, array):
            return copy_
    copy_ = array.copy()
    copy_.flags.writeable = False
    if len(_COPIES) > 2 * _COPIES_PRUNED[0] + 64:  # drop entries whose source or copy died
        for key in [k for k, (src, cp) in _COPIES.items() if src() is None or cp() is None]:
            _COPIES.pop(key, None)
        _COPIES_PRUNED[0] = len(_COPIES)
    _COPIES[id(array)] = (weakref.ref(array), weakref.ref(copy_))
    return copy_


_COPIES: dict = {}  # id(writeable source) -> (weakref to it, weakref to its read-only copy)
_COPIES_PRUNED = [0]


OBJECT_ITEMSIZE = 48  # an object array of Python ints: the pointer and a small int object per entry


def _all_integer(arrays) -> bool:
    return all(a.dtype.kind in "iu" for a in arrays)


def exact_dtype(arrays, summed):
    """The dtype in which integer ``arrays`` contract without overflow, or None if any array is not integer.

    ``summed`` is the number of terms of the sum (the product of the sizes of the summed indices).
    Every entry of the result, and of every intermediate, is at most ``summed * prod(max(max|a|, 1))``
    in absolute value: int64 if that bound fits, else Python ints (``object``: exact, slower).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.full((2, 2), 100, dtype=np.int8)
    >>> exact_dtype([a, a], summed=2), exact_dtype([a.astype(float)], 1)
    (dtype('int64'), None)
    >>> exact_dtype([np.full(2, 2**40)] * 2, summed=2**10)
    dtype('O')
    """
    if not arrays or not _all_integer(arrays):
        return None
    bound = summed
    for a in arrays:
        bound *= max(int(a.max()), -int(a.min()), 1)
    return np.dtype(np.int64) if bound <= np.iinfo(np.int64).max else np.dtype(object)


def _work_itemsize(dtype) -> int:
    return OBJECT_ITEMSIZE if dtype == object else dtype.itemsize


def warn_underflow(result):
    """``result``, with an :class:`~tn.errors.UnderflowWarning` if floating entries came out 0 or subnormal."""
    if result.dtype.kind in "fc" and result.size:
        tiny = np.finfo(result.dtype).tiny
        low = int(np.count_nonzero(np.abs(result) < tiny))
        if low:
            warnings.warn(f"{low} of {result.size} output value(s) are 0 or subnormal (|x| < {tiny:.3g}, the "
                          f"smallest normal {result.dtype}): a product over many positions underflows; unless they "
                          "are truly zero, evaluate in the log domain: evaluate(..., domain='log')",
                          UnderflowWarning, stacklevel=3)
    return result


def _frozen_view(array):
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def owned(result, sources):
    """``result``, copied if it shares memory with one of ``sources`` (a one-tensor contraction may be a view)."""
    if result.flags.owndata and all(result is not s for s in sources):
        return result  # a new array: the contraction allocated it
    return result.copy() if any(np.may_share_memory(result, s) for s in sources) else result


class _StructureKey:
    """A structure key that hashes once: Python does not cache tuple hashes, and a builder network's labels
    (tuples of positions) make every hash O(N log N), paid again at each cached-plan lookup otherwise."""

    __slots__ = ("_hash", "parts")

    def __init__(self, parts):
        self.parts, self._hash = parts, hash(parts)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return self is other or (isinstance(other, _StructureKey) and self._hash == other._hash
                                 and self.parts == other.parts)

    def __repr__(self):
        return f"StructureKey({self._hash:#x})"


class TensorNetwork:
    """A tensor network with named tensors, arbitrary hashable index labels and hyperedges.

    Examples
    --------
    >>> import numpy as np
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()
    >>> rng = np.random.default_rng(0)
    >>> A, B, C = rng.random((2, 3)), rng.random((4, 3)), rng.random((3, 5))
    >>> _ = net.add_tensor("A", A, ("i", "h"))
    >>> _ = net.add_tensor("B", B, ("j", "h"))
    >>> _ = net.add_tensor("C", C, ("h", "k"))      # "h" on three tensors: a hyperedge
    >>> net.set_output(("i", "j", "k"))
    >>> np.allclose(net.to_dense(), np.einsum("ih,jh,hk->ijk", A, B, C))
    True
    >>> net.hyperedges()
    ('h',)
    """

    def __init__(self, name=None):
        self.name = name
        self._inds: dict = {}      # tensor name -> tuple of index labels
        self._shapes: dict = {}    # tensor name -> tuple of ints
        self._data: dict = {}      # tensor name -> ndarray or None (symbolic)
        self._sizes: dict = {}     # index -> int
        self._where: dict = {}     # index -> list of tensor names
        self._output: tuple | None = None
        self._input_legs: tuple | None = None
        self._natural_path: list | None = None
        self.metadata: dict = {}
        self._key = None
        self._plans: dict = {}    # fed legs -> tree plan (or None): the structure key is hashed once per structure
        self._weights: dict = {}  # domain -> treeexec.Weights of the current arrays (stacked once per version)

    # ------------------------------------------------------------------ building
    def add_tensor(self, name, data, inds, check_finite=False):
        """Add a tensor: ``data`` an array (numeric) or a shape *tuple* (symbolic). Returns ``name``.

        An index repeated within ``inds`` takes the diagonal, exactly as in ``np.einsum``: the tensor
        is stored as its diagonal over the distinct indices, in order of first appearance (so
        ``inds(name)`` and ``shape(name)`` list each index once). A writeable array is copied
        (see :func:`read_only` for the ownership rule); labels must round-trip (no NaN).
        """
        return self._add(name, data, inds, check_finite)

    def _add(self, name, data, inds, check_finite=False, allow_empty=False):
        """:meth:`add_tensor`; ``allow_empty`` admits a size-0 axis (an empty batch of features)."""
        if name in self._inds:
            raise DuplicateTensorError(f"a tensor named {name!r} already exists")
        check_label(name, "tensor name", name)
        inds = _labels(inds, f"tensor {name!r}")
        if isinstance(data, tuple):  # a shape: the tensor is symbolic
            array, shape = None, _as_shape(data, name)
        else:
            array = _as_array(data, name, check_finite, allow_empty)
            shape = array.shape
        if len(inds) != len(shape):
            raise ShapeError(f"tensor {name!r} has {len(shape)} axes {shape} but {len(inds)} indices {inds!r}")
        if len(set(inds)) != len(inds):
            array, inds, shape = _diagonal(name, array, inds, shape)
        sizes = self._sizes  # each label is hashed as few times as possible: tuple labels can be long
        new = []
        for ind, dim in zip(inds, shape):
            known = sizes.get(ind)
            if known is None:
                check_label(ind, "index label", f"tensor {name!r}")
                new.append((ind, int(dim)))
            elif known != dim:
                raise IndexSizeError(f"index {ind!r} has size {known} on tensor(s) "
                                     f"{self._where[ind]!r} but size {dim} on tensor {name!r}")
        self._inds[name], self._shapes[name], self._data[name] = inds, tuple(map(int, shape)), array
        sizes.update(new)
        for ind in inds:
            self._where.setdefault(ind, []).append(name)
        self._changed()
        return name

    def set_data(self, name, data, check_finite=False):
        """Replace a tensor's values (same shape): compiled plans stay valid."""
        self._require(name)
        array = _as_array(data, name, check_finite)
        if array.shape != self._shapes[name]:
            raise ShapeError(f"tensor {name!r} has shape {self._shapes[name]}, new data has shape {array.shape}")
        self._data[name] = array
        self._weights.clear()

    def remove_tensor(self, name):
        """Remove a tensor; indices left on no tensor disappear (also from the output)."""
        self._require(name)
        for ind in self._inds.pop(name):
            self._where[ind].remove(name)
            if not self._where[ind]:
                del self._where[ind], self._sizes[ind]
        del self._shapes[name], self._data[name]
        if self._output is not None:
            self._output = tuple(i for i in self._output if i in self._sizes)
        if self._input_legs is not None:
            self._input_legs = tuple(i for i in self._input_legs if i in self._sizes)
        self._natural_path = None
        self._changed()

    def set_output(self, inds):
        """Set the ordered open legs."""
        inds = self._check_inds(inds, "output")
        self._output = inds
        self._changed()

    def set_input_legs(self, legs):
        """Choose which open legs :meth:`evaluate` feeds by default, in order."""
        self._input_legs = self._check_inds(legs, "input legs")

    def set_natural_path(self, path):
        """Attach a structure-aware path (linear format over :attr:`tensor_names`); see contraction.best_path."""
        contraction._check_path([tuple(s) for s in path], len(self._inds))
        self._natural_path = [tuple(s) for s in path]
        self._changed()  # plans are keyed on the natural path too

    def _check_inds(self, inds, what):
        inds = _labels(inds, what)
        unknown = [i for i in inds if i not in self._sizes]
        if unknown:
            raise UnknownIndexError(f"{what} names unknown index(es) {unknown!r}; the network has "
                                    f"{len(self._sizes)} indices, e.g. {list(self._sizes)[:8]!r}")
        if len(set(inds)) != len(inds):
            raise DuplicateIndexError(f"{what} {inds!r} repeats an index")
        return inds

    def _check_open(self, legs, what):
        """``legs`` checked to be distinct open legs (only open legs can be fed or split)."""
        legs, output = self._check_inds(legs, what), set(self.output)
        inner = [leg for leg in legs if leg not in output]
        if inner:
            raise UnknownIndexError(f"{what} {inner!r} are not open legs (open legs: {self.output[:8]!r}"
                                    f"{'...' if len(self.output) > 8 else ''})")
        return legs

    def _require(self, name):
        if name not in self._inds:
            raise UnknownTensorError(f"no tensor named {name!r} (the network has {len(self._inds)} tensors)")

    def _changed(self):
        self._key = None
        self._plans.clear()
        self._weights.clear()

    # ------------------------------------------------------------------ queries
    @property
    def tensor_names(self) -> tuple:
        return tuple(self._inds)

    def __len__(self):
        return len(self._inds)

    def __contains__(self, name):
        return name in self._inds

    def inds(self, name) -> tuple:
        self._require(name)
        return self._inds[name]

    def shape(self, name) -> tuple:
        self._require(name)
        return self._shapes[name]

    def data(self, name):
        self._require(name)
        return self._data[name]

    def size(self, ind) -> int:
        if ind not in self._sizes:
            raise UnknownIndexError(f"no index {ind!r} in this network")
        return self._sizes[ind]

    @property
    def size_dict(self) -> dict:
        return dict(self._sizes)

    @property
    def index_map(self) -> dict:
        return {i: tuple(ts) for i, ts in self._where.items()}

    @property
    def output(self) -> tuple:
        """Ordered open legs; by default the indices that sit on exactly one tensor, in order of appearance."""
        if self._output is None:
            return tuple(i for i, ts in self._where.items() if len(ts) == 1)
        return self._output

    @property
    def input_legs(self) -> tuple:
        return self._input_legs if self._input_legs is not None else self.output

    @property
    def natural_path(self):
        return None if self._natural_path is None else list(self._natural_path)

    def hyperedges(self) -> tuple:
        """Indices on >= 3 tensors, or on >= 2 tensors and open."""
        out = set(self.output)
        return tuple(i for i, ts in self._where.items() if len(ts) >= 3 or (len(ts) == 2 and i in out))

    def bonds(self) -> tuple:
        """Indices on exactly two tensors and not open."""
        out = set(self.output)
        return tuple(i for i, ts in self._where.items() if len(ts) == 2 and i not in out)

    @property
    def is_symbolic(self) -> bool:
        return any(d is None for d in self._data.values())

    @property
    def dtype(self):
        arrays = [d for d in self._data.values() if d is not None]
        return np.result_type(*arrays) if arrays else np.dtype(np.float64)

    def structure_key(self):
        """A hashable key of everything a compiled plan depends on (indices, sizes, output), not the values."""
        if self._key is None:
            # indices as numbers into the label table: comparing two keys compares each label once, not once
            # per tensor holding it (a flat network's root label, an N-tuple, is on every tensor)
            number = {label: k for k, label in enumerate(self._sizes)}
            self._key = _StructureKey((tuple(tuple(map(number.__getitem__, inds)) for inds in self._inds.values()),
                                       tuple(self._sizes.items()), tuple(map(number.__getitem__, self.output)),
                                       None if self._natural_path is None else tuple(self._natural_path)))
        return self._key

    def get_inputs_output_size_dict(self, output=None):
        """``(inputs, output, size_dict)`` in the quimb / cotengra convention."""
        output = self.output if output is None else self._check_inds(output, "output")
        return [self._inds[n] for n in self._inds], output, dict(self._sizes)

    def copy(self, deep=False):
        """A new network with the same structure; arrays shared unless ``deep``."""
        new = TensorNetwork(self.name)
        for n in self._inds:
            d = self._data[n]
            new.add_tensor(n, self._shapes[n] if d is None else (read_only(d.copy(), True) if deep else d),
                           self._inds[n])
        new._output, new._input_legs = self._output, self._input_legs
        new._natural_path = self.natural_path
        new.metadata = copy.deepcopy(self.metadata)
        return new

    def __repr__(self):
        return (f"TensorNetwork({len(self._inds)} tensors, {len(self._sizes)} indices, "
                f"{len(self.hyperedges())} hyperedges, output={self.output!r}{', symbolic' if self.is_symbolic else ''})")

    # ------------------------------------------------------------------ contraction
    def _plan(self, output, optimize, itemsize):
        output = self.output if output is None else self._check_inds(output, "output")
        inputs, _, sizes = self.get_inputs_output_size_dict()
        return contraction.get_plan(self.structure_key(), inputs, output, sizes, optimize, self._natural_path,
                                    itemsize)

    def cost(self, output=None, optimize="auto", dtype=None) -> ContractionCost:
        """Exact cost (FLOPs, largest intermediate, peak memory, path) of contracting to ``output``.

        Works on symbolic networks; every number is a Python int (no overflow at any size).
        """
        return self._plan(output, optimize, _itemsize(dtype if dtype is not None else self.dtype)).cost

    def arrays(self) -> list:
        """The arrays in tensor order; raises :class:`SymbolicTensorError` if any tensor is symbolic."""
        missing = [n for n, d in self._data.items() if d is None]
        if missing:
            raise SymbolicTensorError(f"{len(missing)} tensor(s) have no data, e.g. {missing[:5]!r}: "
                                      "set_data() them before contracting")
        return list(self._data.values())

    def contract(self, output=None, optimize="auto", memory_limit=None):
        """Contract the network to ``output`` (default :attr:`output`) along an optimized path.

        Open legs not in ``output`` are summed over. The compiled expression is cached by structure,
        so calls with new arrays of the same shapes reuse it. Refuses, before allocating, a path
        whose largest intermediate exceeds the memory limit (:mod:`tn.memory`).
        """
        if not self._inds:
            raise StructureError("cannot contract a network with no tensors")
        arrays = self.arrays()
        out = self.output if output is None else self._check_inds(output, "output")
        work = None
        if _all_integer(arrays):  # exact arithmetic: pick a dtype the bound on |values| fits in
            kept = set(out)
            work = exact_dtype(arrays, math.prod(s for i, s in self._sizes.items() if i not in kept))
        plan = self._plan(out, optimize, self.dtype.itemsize if work is None else _work_itemsize(work))
        memory.check(plan.cost, memory_limit, "contract")
        if work is not None:
            arrays = [a.astype(work, copy=False) for a in arrays]
        return owned(plan(*arrays), arrays)  # never the caller's or the network's memory

    def to_dense(self, order=None, optimize="auto", memory_limit=None):
        """The full tensor with axes in ``order`` (default :attr:`output`), guarded by the memory limit."""
        return self.contract(self.output if order is None else order, optimize, memory_limit)

    def evaluate(self, features, legs=None, batch_index="batch", optimize="auto", memory_limit=None,
                 method="auto", domain="linear"):
        """Batched forward pass: one (B, dim) feature matrix per leg, a batch index shared by all of them.

        Parameters
        ----------
        features : mapping leg -> array (B, dim), or a sequence / array of shape (len(legs), B, dim)
        legs : sequence, optional
            The legs fed when ``features`` is a sequence; default :attr:`input_legs`.
        batch_index : hashable
            Label of the batch hyperindex (must not already be in the network).
        method : {"auto", "tree", "einsum"}
            ``"tree"``: level-batched execution (:mod:`tn.treeexec`), for tree networks of matrices
            (every ConvAC / dilated / CP network); ``"einsum"``: one contraction of the network with the
            features attached (:meth:`fed_network`), along an optimized path; ``"auto"``: the tree
            executor when it applies.
        domain : {"linear", "log"}
            ``"log"``: the log of the output, computed in log space (theory §12: logsumexp 1x1 convs,
            product pooling as sums of logs), finite at any N; needs non-negative weights and features
            (a :class:`~tn.errors.DomainError` names the first tensor or leg that is not) and a tree network.

        Returns
        -------
        ndarray of shape (B, *open legs not fed, in output order)
        """
        legs, mats = self._features(features, legs)
        self._check_batch_index(batch_index)
        if domain != "log" and _all_integer([mats] if isinstance(mats, np.ndarray) else mats) \
                and _all_integer(self.arrays()):  # float features (the usual case) decide it at once
            # exact: contract() picks an overflow-free dtype
            return self.fed_network(mats, legs, batch_index).contract(optimize=optimize, memory_limit=memory_limit)
        if treeexec.check_domain(domain) == "log" and method == "einsum":
            raise SettingError("domain='log' runs on the tree executor: use method='auto' or 'tree'")
        plan = self._tree_plan(legs, method, optimize)
        if plan is not None:
            weights = self._tree_weights(plan, domain)
            memory.check(plan.cost(len(mats[0]), np.result_type(weights.dtype, mats[0]).itemsize), memory_limit,
                         "evaluate", owner=plan)
            feats = treeexec.log_features(mats, legs) if domain == "log" else mats
            out = plan(None, feats, weights=weights)
            return out if domain == "log" else warn_underflow(out)
        if domain == "log":
            raise StructureError("domain='log' needs a tree network of matrices with one unfed open leg "
                                 "(see tn.treeexec.tree_plan)")
        return warn_underflow(self.fed_network(mats, legs, batch_index).contract(optimize=optimize,
                                                                                 memory_limit=memory_limit))

    def evaluate_cost(self, batch, legs=None, batch_index="batch", optimize="auto", method="auto",
                      dtype=None) -> ContractionCost:
        """The exact cost of :meth:`evaluate` on ``batch`` rows, without any data (same arguments)."""
        legs = self.input_legs if legs is None else self._check_open(legs, "evaluate legs")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 0:
            raise SettingError(f"batch size must be a non-negative int, got {batch!r}")
        itemsize = _itemsize(dtype if dtype is not None else self.dtype)
        plan = self._tree_plan(legs, method, optimize)
        if plan is not None:
            return plan.cost(batch, itemsize)
        shapes = [(batch, self._sizes[leg]) for leg in legs]
        return self.fed_network(shapes, legs, batch_index).cost(optimize=optimize, dtype=dtype)

    def fed_network(self, features, legs, batch_index="batch"):
        """This network with one tensor ``("feature", leg)`` of indices (batch_index, leg) per fed leg.

        ``features`` are arrays or, for a symbolic network, shape tuples. The output is the batch index,
        then the open legs not fed; a natural path is extended so each feature joins its tensor just before
        the natural path first uses that tensor (depth-first).
        The features are held as read-only views of the given arrays (no copy of the batch).
        """
        self._check_batch_index(batch_index)
        fed = self.copy()
        for leg, mat in zip(legs, features):
            fed._add(("feature", leg), mat if isinstance(mat, tuple) else _frozen_view(mat), (batch_index, leg),
                     allow_empty=True)
        fed_legs = set(legs)
        fed._output = (batch_index, *(i for i in self.output if i not in fed_legs))
        if self._natural_path is not None:
            fed._natural_path = _feed_path(self._natural_path, len(self), legs, self._where, self.tensor_names)
        return fed

    def _check_batch_index(self, batch_index):
        if batch_index in self._sizes:
            raise DuplicateIndexError(f"batch index {batch_index!r} is already an index of the network")

    def _tree_plan(self, legs, method, optimize="auto"):
        """The level-batched plan for ``legs`` under ``method``, or None for the einsum route."""
        contraction.check_optimizer(optimize)  # the tree route ignores it, but a typo is still an error
        if method not in ("auto", "tree", "einsum"):
            raise OptimizeError(f"evaluate method must be 'auto', 'tree' or 'einsum', not {method!r}")
        if method == "einsum":
            return None
        if legs not in self._plans:
            self._plans[legs] = contraction.PLANS.get(("tree", self.structure_key(), legs),
                                                      lambda: treeexec.tree_plan(self, legs))
        plan = self._plans[legs]
        if plan is None and method == "tree":
            raise OptimizeError("evaluate(method='tree') needs a tree network of matrices with one unfed open "
                                "leg (see tn.treeexec.tree_plan); use method='einsum'")
        return plan

    def _tree_weights(self, plan, domain):
        """The arrays prepared for ``plan`` (:meth:`tn.treeexec.TreePlan.prepare`), once per weight version."""
        weights = self._weights.get(domain)
        if weights is None or weights.plan is not plan:
            weights = self._weights[domain] = plan.prepare(self.arrays(), domain, self.tensor_names)
        return weights

    def _features(self, features, legs):
        """``(legs, matrices)`` checked: one (B, size) matrix per leg; a 3-d array stays one array."""
        if isinstance(features, Mapping):
            legs, mats = tuple(features), [features[k] for k in features]
        else:
            legs = self.input_legs if legs is None else tuple(legs)
            mats = features if isinstance(features, np.ndarray) and features.ndim == 3 else list(features)
            if len(mats) != len(legs):
                raise ShapeError(f"evaluate got {len(mats)} feature matrices for {len(legs)} legs")
        if not (type(legs) is tuple and legs in self._plans):  # legs already fed once were checked then
            legs = self._check_open(legs, "evaluate legs")
        if not legs:
            raise ShapeError("evaluate needs at least one leg to feed")
        if isinstance(mats, np.ndarray):  # one stacked array: check it whole, no per-leg work
            plan = self._plans.get(legs)  # a tree plan feeds legs of one size
            sizes = {plan.sizes[0][1]} if plan is not None else {self._sizes[leg] for leg in legs}
            if sizes == {mats.shape[2]} and mats.dtype.kind in "fc":
                return legs, mats
            mats = list(mats)
        return legs, [self._feature_matrix(leg, m, mats[0]) for leg, m in zip(legs, mats)]

    def _feature_matrix(self, leg, mat, first):
        mat = _as_array(mat, ("feature", leg), False)
        if mat.ndim != 2 or mat.shape[1] != self._sizes[leg]:
            raise ShapeError(f"features for leg {leg!r} must have shape (B, {self._sizes[leg]}), got {mat.shape}")
        if len(mat) != len(first):
            raise ShapeError(f"features for leg {leg!r} have batch size {len(mat)}, others {len(first)}")
        return mat

    # ------------------------------------------------------------------ gradients
    def gradients(self, output_grad=None, output=None, optimize="auto", memory_limit=None, wrt=None) -> dict:
        """Environments: d <output_grad, contraction> / d tensor for every tensor (:func:`tn.gradients.environments`)."""
        from .gradients import environments
        return environments(self, output_grad, output, optimize, memory_limit, wrt)

    def value_and_grad(self, loss_fn, output=None, optimize="auto", memory_limit=None, wrt=None):
        """``(loss, {name: gradient})`` for ``loss_fn(contraction) -> (value, d value / d contraction)``."""
        from .gradients import value_and_grad
        return value_and_grad(self, loss_fn, output, optimize, memory_limit, wrt)

    # ------------------------------------------------------------------ views and files
    def graph(self):
        """The structure as a networkx Graph (see :func:`tn.graphview.network_graph`)."""
        from .graphview import network_graph
        return network_graph(self)

    def save(self, path):
        """Write the network to ``path`` (format: :mod:`tn.io`)."""
        from .io import save
        save(self, path)

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`."""
        from .io import load
        return load(path)

    def to_tensornetwork(self):
        from .interop import to_tensornetwork
        return to_tensornetwork(self)

    @classmethod
    def from_tensornetwork(cls, nodes, output_edge_order=None):
        from .interop import from_tensornetwork
        return from_tensornetwork(nodes, output_edge_order)

    def to_quimb(self):
        from .interop import to_quimb
        return to_quimb(self)

    @classmethod
    def from_quimb(cls, qtn, output=None):
        from .interop import from_quimb
        return from_quimb(qtn, output)


def _labels(inds, what) -> tuple:
    """Index labels as a tuple of hashables (a bare string would silently split into characters)."""
    if isinstance(inds, (str, bytes)):
        raise StructureError(f"{what}: indices must be a sequence of labels, not the string {inds!r} "
                             f"(write ({inds!r},) for one index)")
    inds = tuple(inds)
    try:
        hash(inds)  # hashes each label once
    except TypeError:
        bad = next(i for i in inds if not _hashable(i))
        raise StructureError(f"{what}: index label {bad!r} is not hashable (use a tuple, not a list)") from None
    return inds


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def check_label(label, kind, what):
    """A label must be hashable and equal to a copy of itself (NaN is not: it could never be found or read back).

    Only new labels need the check: a label equal to a NaN-free one is NaN-free (NaN equals nothing).
    """
    try:
        hash(label)
    except TypeError:
        raise StructureError(f"{what}: {kind} {label!r} is not hashable (use a tuple, not a list)") from None
    kind_ = type(label)
    if kind_ is str or kind_ is int or (kind_ is tuple and set(map(type, label)) <= _PLAIN_TYPES):
        return
    stack = [label]
    while stack:
        x = stack.pop()
        if isinstance(x, (tuple, frozenset)):
            if not set(map(type, x)) <= _PLAIN_TYPES:  # ints and strings hold no NaN (checked at C speed)
                stack.extend(x)
        elif isinstance(x, (float, complex, np.inexact)) and np.isnan(x):
            raise StructureError(f"{what}: {kind} {label!r} holds a NaN, which equals nothing, not even itself: "
                                 "it could not be looked up or read back from a file")


_PLAIN_TYPES = {int, str}


def _diagonal(name, array, inds, shape):
    """``(array, inds, shape)`` of the diagonal over an index repeated within one tensor (``np.einsum``'s trace)."""
    first = {}
    for i, d in zip(inds, shape):
        if first.setdefault(i, d) != d:
            raise IndexSizeError(f"tensor {name!r}: index {i!r} is repeated with sizes {first[i]} and {d}")
    distinct = tuple(first)
    if array is not None:
        table = {i: chr(97 + k) if k < 26 else chr(65 + k - 26) for k, i in enumerate(distinct)}
        if len(distinct) > 52:
            raise ShapeError(f"tensor {name!r}: a diagonal over more than 52 distinct indices is not supported")
        diag = np.einsum("".join(map(table.get, inds)) + "->" + "".join(map(table.get, distinct)), array)
        array = read_only(diag.copy(), fresh=True)
    return array, distinct, tuple(first.values())


def _itemsize(dtype) -> int:
    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        raise DTypeError(f"{dtype!r} is not a numpy dtype") from None


def _feed_path(natural, n, legs, where, names):
    """Extend a natural path (over ``n`` tensors) to the network with one feature tensor per leg.

    Depth-first: each feature is absorbed by the tensor carrying its leg just before the natural
    path first uses that tensor, so the batch index rides up one subtree at a time (absorbing every
    feature first keeps all of them alive at once: 1.58x the peak at N = 16, B = 64). Works in SSA
    ids, returns linear format.
    """
    position = {name: i for i, name in enumerate(names)}
    k = len(legs)
    feeds = {}  # original tensor -> SSA ids of its features
    for j, leg in enumerate(legs):
        feeds.setdefault(position[where[leg][0]], []).append(n + j)
    ssa, renamed = [], {}  # natural SSA id -> SSA id in the fed network

    def resolve(x):
        if x >= n:
            return renamed[x]
        for feature in feeds.pop(x, ()):
            ssa.append((x, feature))
            x = n + k + len(ssa) - 1
        return x

    for s, step in enumerate(contraction.linear_to_ssa(natural, n)):
        ids = tuple(resolve(x) for x in step)
        ssa.append(ids)
        renamed[n + s] = n + k + len(ssa) - 1
    return contraction.ssa_to_linear(ssa, n + k)
