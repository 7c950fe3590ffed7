"""Schmidt spectra: the singular values of a matricization [T]_{A,B}, dense or from Gram matrices.

Open legs in neither A nor B are *fixed* (theory §8): each gets a one-hot vector (default value 0,
``fixed={leg: value}`` to choose), so the spectrum is that of one slice, e.g. one class.

``"dense"``
    SVD of ``to_dense()`` reshaped to (prod A sizes, prod B sizes): guarded by the core's memory limit.
``"gram"``
    Exact for large N without forming the 2^N tensor. The network is split along its minimum cut K
    (dimension D = product of the cut sizes): T = L_A L_B^T with L_A of shape (dim A, D) holding the
    tensors on A's side and L_B of shape (dim B, D). Each side is reduced to a factor F with
    L^H L = F^H F (the Gram matrix G = L^H L, never squared out): the side is contracted along a path
    whose every step QR-compresses the input-leg rows it has gathered (Q is an isometry on the
    inputs, only R is carried), so F has at most D rows. The singular values of T are those of the
    small matrix F_A F_B^T, accurate to ~eps * s_1 (checked against dense to 1e-12 on spectra spanning
    nine decades). If an input leg is shared by several tensors, the Gram matrix is contracted
    instead and F is its square root (accuracy ~sqrt(eps) * s_1 for the tiniest values). A
    :class:`~tn.NetworkSum` (a mixed decomposition) is split term by term: its cut space is the direct
    sum of the terms' (D = sum of their cut dimensions, the summed min-cut bound), and F comes from the
    block Gram matrix of all terms' sides (blocks L_s^H L_t), so it has the sqrt(eps) accuracy. Cost grows
    with D, so ``"auto"`` picks it only up to ``gram_max_dim``. Guarded like the dense route: the whole
    route's peak (:func:`gram_bytes`: QR workspaces, Gram matrices, the final SVD) is replayed on sizes
    and checked against the memory limit before anything large is allocated.
``"auto"``
    dense when the tensor has at most ``dense_max_entries`` entries, else gram when the cut
    dimension is at most ``gram_max_dim``, else :class:`~tn.errors.SpectrumError` saying why.

Scale: each step of the gram route divides by its largest entry and carries the factor as a log, so
deep networks whose singular values leave float64 (s_1 ~ 2^N at N >= 2048 for unit-variance weights)
still work: the returned :class:`Spectrum` then holds values / s_1 and ``log2_scale`` = log2 s_1.
Precision: spectra are computed in float64 (complex128 for complex networks) whatever the network's
dtype: the rank tolerance is float64's, and float32 round-off (~1e-7 relative) would hide small
singular values. The cost of the gram route is linear in the number of tensors (one path replay).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import opt_einsum

from tn import NetworkSum, TensorNetwork, memory
from tn.contraction import equation, find_path, symbols_for
from tn.cost import replay
from tn.errors import (
    DTypeError,
    NonFiniteError,
    PartitionError,
    SpectrumError,
    SymbolicTensorError,
)
from tn.netsum import terms_of
from tn.registry import Registry

from .bounds import resolve_cut
from .partitions import make_partition

DENSE_MAX_ENTRIES = 2**22
GRAM_MAX_DIM = 2048
FOLD_MAX_LOG2 = 900  # |log2 s_1| beyond this: the scale is kept apart (Spectrum.log2_scale)
SPECTRUM_METHODS = Registry("spectrum method", extra=("auto",))


@dataclass(frozen=True)
class Spectrum:
    """Singular values with what is needed to judge them.

    Attributes
    ----------
    values : ndarray
        Singular values, descending.
    method : str
        ``"dense"`` or ``"gram"``.
    shape : (int, int)
        Shape of the matrix whose SVD gave ``values`` (for the rank tolerance, see
        :func:`analysis.entanglement.schmidt_rank`): the matricization for dense, (D, D) for gram.
    cut : tuple
        The cut the gram method split along (empty for dense).
    seconds : float
    log2_scale : float
        The singular values are ``values * 2**log2_scale``. 0 unless they leave float64's comfortable
        range (deep networks: s_1 ~ 2^N), where ``values`` are divided by s_1 (so ``values[0] == 1``)
        and the scale is kept here; every entanglement measure is scale-free and reads ``values``.
    """

    values: np.ndarray
    method: str
    shape: tuple
    cut: tuple = ()
    seconds: float = 0.0
    log2_scale: float = 0.0

    @property
    def log2_values(self) -> np.ndarray:
        """log2 of the true singular values (``-inf`` for zeros), at any scale."""
        with np.errstate(divide="ignore"):
            return np.log2(self.values) + self.log2_scale

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)

    def __len__(self):
        return len(self.values)


def project(net, fixed: dict):
    """A new network: ``net``'s tensors plus, for each leg in ``fixed``, a one-hot tensor ``("fixed", leg)``.

    Built afresh (no natural path is carried over: it would not cover the added tensors), its arrays in at
    least float64 (the spectra are computed in double precision).
    """
    if isinstance(net, NetworkSum):
        return NetworkSum([project(t, fixed) for t in net.terms])
    out = TensorNetwork(net.name)
    for name in net.tensor_names:
        data = net.data(name)
        out.add_tensor(name, net.shape(name) if data is None else _precise(data), net.inds(name))
    for leg, value in fixed.items():
        size = net.size(leg)
        if not isinstance(value, (int, np.integer)) or not 0 <= value < size:
            raise SpectrumError(f"fixed value {value!r} for leg {leg!r} must be an int in 0..{size - 1}")
        onehot = np.zeros(size, dtype=np.promote_types(net.dtype, np.float64))
        onehot[value] = 1
        out.add_tensor(("fixed", leg), onehot, (leg,))
    out.set_output(tuple(i for i in net.output if i not in fixed))
    return out


def schmidt_spectrum(net, A, B=None, method="auto", *, fixed=None, full=False, gram_max_dim=GRAM_MAX_DIM,
                     dense_max_entries=DENSE_MAX_ENTRIES, optimize="auto", memory_limit=None, cut=None):
    """Singular values (descending) of the matricization [T]_{A,B}.

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum (dense only)
    A, B : partition (see :func:`analysis.partitions.make_partition`); B defaults to the other input legs.
    method : ``"auto"``, ``"dense"`` or ``"gram"`` (see the module docstring).
    fixed : dict leg -> int, optional
        Values of the open legs in neither A nor B (default 0 each).
    full : bool
        Return a :class:`Spectrum` (values, method, shape, cut) instead of the bare array.
    gram_max_dim, dense_max_entries : int
        Limits used by ``"auto"``; ``gram_max_dim`` also bounds ``"gram"``.
    optimize, memory_limit
        Passed to the core's contraction (memory guard included).
    cut : MinCutResult, optional
        The min cut of this partition, if the caller has it (``"gram"`` splits along it instead of solving again).

    Examples
    --------
    >>> import numpy as np
    >>> from tn import TensorNetwork
    >>> net = TensorNetwork()
    >>> _ = net.add_tensor("U", np.eye(4)[:, :2], ("a", "k"))
    >>> _ = net.add_tensor("V", np.diag([3.0, 1.0]) @ np.eye(2, 4), ("k", "b"))
    >>> schmidt_spectrum(net, ["a"])
    array([3., 1., 0., 0.])
    >>> schmidt_spectrum(net, ["a"], method="gram", full=True).shape   # split along the bond "k"
    (2, 2)
    """
    if not (isinstance(method, str) and method.lower() == "auto"):
        method = SPECTRUM_METHODS.canonical(method)
    start = time.perf_counter()
    net = spectrum_ready(net)
    part = make_partition(net, A, B)
    chosen = set(part.A) | set(part.B)
    values = {leg: 0 for leg in net.output if leg not in chosen}
    clash = sorted(set(fixed or ()) & chosen, key=repr)
    if clash:
        raise PartitionError(f"fixed legs {clash!r} are also on a side of partition {part.name!r}")
    values.update(fixed or {})
    proj = project(net, values)
    entries = math.prod(net.size(i) for i in chosen)
    if net.is_symbolic:
        raise SymbolicTensorError("a Schmidt spectrum needs numbers: this network has symbolic tensors "
                                  "(set_data() them first); its min-cut bound needs none")
    if method.lower() == "auto":
        method = "dense" if entries <= dense_max_entries else "gram"
    result = SPECTRUM_METHODS.get(method)(proj, part, cut, gram_max_dim=gram_max_dim, entries=entries,
                                          optimize=optimize, memory_limit=memory_limit)
    result = Spectrum(result.values, result.method, result.shape, result.cut, time.perf_counter() - start,
                      result.log2_scale)
    if full:
        return result
    if result.log2_scale:
        raise SpectrumError(f"the Schmidt values of partition {part.name!r} leave the float64 range "
                            f"(s_1 = 2^{result.log2_scale:.6g}): pass full=True for a Spectrum with values / s_1 "
                            f"and log2_scale")
    return result.values


def spectrum_ready(net):
    """``net`` with values LAPACK can take, else a clear error naming the tensor (before any contraction).

    NaN / inf entries: :class:`~tn.errors.NonFiniteError`. Integer, bool and float16 tensors are converted
    to float64 (a spectrum is floating point, computed in double precision; exact ranks are
    :func:`analysis.exact_rank`'s job); longdouble has no LAPACK SVD: :class:`~tn.errors.DTypeError`
    (converting would silently drop its extra precision). Returns ``net`` itself when nothing needs converting.
    """
    changes = {}
    for t in terms_of(net):
        for name in t.tensor_names:
            data = t.data(name)
            if data is None:
                continue
            if data.dtype.char in "gG":  # longdouble, clongdouble
                raise DTypeError(f"tensor {name!r} is {data.dtype}: numpy's SVD has no {data.dtype} routine; convert "
                                 "the network (e.g. set_data(name, data.astype(np.float64))) knowing it drops precision")
            target = data.dtype if data.dtype.kind in "fc" and data.dtype.itemsize > 2 else np.dtype(np.float64)
            if data.dtype.kind in "fc" and not np.isfinite(data).all():
                bad = int(data.size - np.count_nonzero(np.isfinite(data)))
                raise NonFiniteError(f"tensor {name!r} has {bad} NaN/inf value(s) (of {data.size}): no spectrum of "
                                     "such a network exists")
            if target != data.dtype:
                changes[name] = target
    if not changes:
        return net
    out = [t.copy() for t in terms_of(net)]
    for t in out:
        for name, dtype in changes.items():
            if name in t:
                t.set_data(name, t.data(name).astype(dtype))
    if isinstance(net, NetworkSum):
        total = NetworkSum(out, net.name)
        total.metadata = net.metadata
        return total
    return out[0]


def _entries(n: int) -> str:
    return f"{n:,}" if n < 2**40 else f"2^{math.log2(n):.4g}"


def dense_svd_bytes(rows, cols, dtype) -> int:
    """Peak bytes of the dense route after contracting a ``dtype`` tensor: the tensor (and its float64 copy
    when it is narrower), LAPACK's copy of it, gesdd's workspace."""
    dtype = np.dtype(dtype)
    precise = np.promote_types(dtype, np.float64)
    small, large = min(rows, cols), max(rows, cols)
    narrow = rows * cols * dtype.itemsize if dtype != precise else 0
    return narrow + (2 * rows * cols + 3 * small + max(large, 7 * small)) * precise.itemsize


@SPECTRUM_METHODS.register("dense")
def _dense(net, part, cut, *, optimize, memory_limit, entries, **_) -> Spectrum:
    rows = math.prod(net.size(i) for i in part.A)
    dtype = np.result_type(*(t.dtype for t in terms_of(net)))
    memory.check_bytes(dense_svd_bytes(rows, entries // rows, dtype), memory_limit, "dense Schmidt spectrum",
                       f"the SVD of a {rows:,} x {entries // rows:,} matrix holds it twice (LAPACK overwrites a copy)",
                       ways_out="use method='gram'")
    # in the network's own output order (one cached plan for every partition), then a transposed view
    position = {leg: k for k, leg in enumerate(net.output)}
    T = net.to_dense(optimize=optimize, memory_limit=memory_limit).transpose([position[i] for i in part.A + part.B])
    if not np.isfinite(T).all():
        raise SpectrumError(f"the tensor of partition {part.name!r} leaves the {T.dtype} range (inf/NaN entries after "
                            "contracting finite tensors): use method='gram', which carries the scale separately, "
                            "or rescale the network's tensors")
    matrix = _precise(T).reshape(rows, -1)
    del T  # when the reshape had to copy, only the copy lives on into the SVD (peak: dense_svd_bytes)
    return Spectrum(np.linalg.svd(matrix, compute_uv=False), "dense", matrix.shape)


@SPECTRUM_METHODS.register("gram")
def _gram(net, part, cut, *, gram_max_dim, entries, optimize, memory_limit) -> Spectrum:
    """Split every term along its own min cut; a sum's cut space is the direct sum of its terms'.

    ``cut`` (of the unprojected network, its ``terms`` for a sum) is reused when given, else solved here.
    The route's peak (:func:`gram_bytes`) is checked against the memory limit before anything large exists.
    """
    plan = _gram_plan(net, part, cut, optimize, gram_max_dim, entries)
    memory.check_bytes(plan.nbytes, memory_limit, "gram Schmidt spectrum",
                       f"its peak is {memory.human_size(plan.nbytes)} (cut dimension D = {plan.dim:,}: the sides' "
                       f"factors with their QR or Gram-matrix workspace, then the SVD of a "
                       f"{plan.sides[0].rows:,} x {plan.sides[1].rows:,} matrix)",
                       ways_out="a partition with a smaller min cut, a network with smaller bonds, or method='dense' "
                                "when the tensor is small")
    sides = [[split[0] for split in plan.splits], [split[1] for split in plan.splits]]
    f_a, log_a = _factor(plan.sides[0], sides[0], plan.keys, part.A, optimize, memory_limit)
    f_b, log_b = _factor(plan.sides[1], sides[1], plan.keys, part.B, optimize, memory_limit)
    values = np.linalg.svd(f_a @ f_b.T, compute_uv=False) if f_a.size and f_b.size else np.zeros(0)
    values, log2_scale = _rescaled(values, (log_a + log_b) / math.log(2))
    # the matricization has at most min(dim A, dim B) singular values: pad with zeros up to that, no further
    count = min(plan.dim, math.prod(net.size(i) for i in part.A), math.prod(net.size(i) for i in part.B))
    values = np.concatenate([values, np.zeros(max(count - len(values), 0))])[:count]
    return Spectrum(values, "gram", (plan.dim, plan.dim), plan.cut_legs, log2_scale=log2_scale)


@dataclass(frozen=True)
class _SidePlan:
    """How one side becomes its factor F (L^H L = F^H F), decided before anything is allocated.

    ``route``: ``"qr"`` (:func:`_r_factor` along ``path`` over ``leaves``: (tensor, axis order with the input
    legs first, their row count, kept indices) each, ``keys`` the cut labels of size > 1 in F's column
    order), ``"gram"`` (one Gram matrix, input legs shared) or ``"stacked"`` (the block Gram matrix of a
    sum's terms); ``rows``: F has at most that many rows; ``peak``: bytes allocated while F is formed.
    """

    route: str
    rows: int
    peak: int
    leaves: tuple = ()
    path: tuple = ()
    keys: tuple = ()


@dataclass(frozen=True)
class _GramPlan:
    """The gram route of one request: every term's split (L_A, L_B, cut legs), the cut labels ``("cut", k)`` per
    term, both sides' :class:`_SidePlan`, the cut dimension D and the peak bytes of the whole route."""

    splits: list
    keys: list
    cut_legs: tuple
    dim: int
    sides: tuple
    nbytes: int


def gram_bytes(net, part, cut=None, optimize="auto") -> int:
    """Peak bytes of the gram route on ``net`` (as :func:`project` leaves it) for partition ``part``.

    What the memory guard checks before the route allocates: the larger of each side's peak (its compressed
    factors, a step's result and QR workspace, or its Gram matrix and eigendecomposition), side A's factor
    held while B's is formed, and both factors with the SVD of their product (:func:`dense_svd_bytes`).
    The network's own arrays are not counted.
    """
    return _gram_plan(net, part, cut, optimize).nbytes


def _gram_plan(net, part, cut, optimize, gram_max_dim=None, entries=None) -> _GramPlan:
    """The :class:`_GramPlan`; a cut dimension above ``gram_max_dim`` is a :class:`SpectrumError` before any planning."""
    terms = terms_of(net)
    _, cuts = resolve_cut(net, part, cut)
    splits = [_split(t, part, c) for t, c in zip(terms, cuts)]
    dim = sum(math.prod(t.size(k) for k in legs) for t, (_, _, legs) in zip(terms, splits))
    cut_legs = tuple(k for _, _, legs in splits for k in legs)
    if gram_max_dim is not None and dim > gram_max_dim:
        raise SpectrumError(
            f"no exact Schmidt spectrum for partition {part.name!r}: the dense tensor has {_entries(entries)} "
            f"entries and the smallest cut has dimension {_entries(dim)} (cut {_preview(cut_legs)}), "
            f"above the gram limit {gram_max_dim} (pass gram_max_dim=..., tn-mincut --gram-max-dim, if the machine has room)")
    keys = [[("cut", k) for k in legs] for _, _, legs in splits]
    dtype = np.result_type(np.float64, *(t.dtype for t in terms))
    sides = tuple(_side_plan([split[j] for split in splits], keys, legs, optimize, dtype)
                  for j, legs in ((0, part.A), (1, part.B)))
    f_a, f_b = (side.rows * dim * dtype.itemsize for side in sides)
    nbytes = max(sides[0].peak, f_a + sides[1].peak,
                 f_a + f_b + dense_svd_bytes(sides[0].rows, sides[1].rows, dtype))
    return _GramPlan(splits, keys, cut_legs, dim, sides, nbytes)


def _side_plan(sides, keys, legs, optimize, dtype) -> _SidePlan:
    """The :class:`_SidePlan` of one side: its network per term (``sides``) and cut labels per term (``keys``)."""
    if len(sides) > 1:
        dims = [math.prod(side.size(k) for k in key) for side, key in zip(sides, keys)]
        dim, peak = sum(dims), _square_root_bytes(sum(dims), dtype)
        for s in range(len(sides)):
            for t in range(s, len(sides)):  # one block at a time is contracted into the D x D matrix
                pair = _gram_cost(sides[s], keys[s], legs, optimize, dtype, sides[t], keys[t])
                peak = max(peak, (dim * dim + max(pair, 2 * dims[s] * dims[t])) * dtype.itemsize)
        return _SidePlan("stacked", dim, peak)
    side, keys = sides[0], keys[0]
    index_map = side.index_map  # once: the property copies the whole map
    if any(len(index_map.get(k, ())) > 1 for k in legs):
        dim = math.prod(side.size(k) for k in keys)
        return _SidePlan("gram", dim, max(_gram_cost(side, keys, legs, optimize, dtype) * dtype.itemsize,
                                          _square_root_bytes(dim, dtype)))
    return _r_plan(side, keys, legs, dtype)


def _factor(plan, sides, keys, legs, optimize, memory_limit):
    """``(F, log scale)`` with L^H L = F^H F for the side's matricization L (rows: ``legs``, columns: the cut).

    Preferred route, :func:`_r_factor`: QR-compressed contraction, accurate to ~eps * s_1. Fallback when
    an input leg is shared by several tensors: the Gram matrix and its square root (~sqrt(eps) * s_1);
    a sum's terms: the block Gram matrix (:func:`_stacked_factor`).
    """
    if plan.route == "qr":
        return _r_factor(sides[0], plan)
    if plan.route == "stacked":
        return _stacked_factor(sides, keys, legs, optimize, memory_limit)
    gram, log_bra, _ = _gram_matrix(sides[0], keys[0], legs, optimize, memory_limit)
    return _square_root(gram.reshape(plan.rows, plan.rows)).conj().T, log_bra


def _r_plan(side, keys, legs, dtype) -> _SidePlan:
    """The ``"qr"`` plan of one side: each tensor's layout, the path, F's rows and the peak bytes of
    :func:`_r_factor`, replayed on sizes alone.

    Alive at any moment: the R factors of the tensors not yet absorbed and of the step results, plus the
    step's einsum result, or, once its operands are dropped, that result's compression (:func:`_compress_bytes`).
    """
    # size-1 indices change no matrix: dropping them keeps every operand below numpy's 64 axes
    legs, keys = set(legs), tuple(k for k in keys if side.size(k) > 1)
    size = side.size
    leaves, live, rows, total, peak = [], [], [], 0, 0  # live: elements of each operand's R; rows: its rows
    for name in side.tensor_names:
        inds = side.inds(name)
        row_axes = [p for p, i in enumerate(inds) if i in legs]
        col_axes = [p for p, i in enumerate(inds) if i not in legs and size(i) > 1]
        unit_axes = [p for p, i in enumerate(inds) if i not in legs and size(i) == 1]  # last, then dropped
        kept = tuple(inds[p] for p in col_axes)
        m, n = math.prod(size(inds[p]) for p in row_axes), math.prod(size(i) for i in kept)
        peak = max(peak, total * dtype.itemsize + _compress_bytes(m, n, dtype))  # an owned copy, compressed
        leaves.append((name, tuple(row_axes + col_axes + unit_axes), m, kept))
        rows.append(min(m, n))
        live.append(min(m, n) * n)
        total += live[-1]
    inputs = [kept for *_, kept in leaves]
    path = tuple(find_path(inputs, keys, side.size_dict, "hyper-greedy")) if len(inputs) > 1 else ()
    for ids, _, kept in replay(inputs, keys, path):
        m, n = math.prod(rows[k] for k in ids), math.prod(size(i) for i in kept)
        taken = sum(live[k] for k in ids)
        peak = max(peak, (total + m * n) * dtype.itemsize,
                   (total - taken) * dtype.itemsize + _compress_bytes(m, n, dtype))
        rows.append(min(m, n))
        live.append(min(m, n) * n)
        total += live[-1] - taken
    # the last R, and its copy with the axes in cut order
    return _SidePlan("qr", rows[-1], max(peak, 2 * live[-1] * dtype.itemsize), tuple(leaves), path, keys)


def _r_factor(side, plan):
    """R factor of the side's matricization L = Q R, without ever forming L or its Gram matrix.

    Each tensor starts as the R of its own matricization (its input legs as rows). Contracting two
    operands then keeps both row spaces as (rho_1, rho_2) and compresses them at once by a QR of the
    (rho_1 rho_2, kept indices) matrix: Q factors are isometries on the input legs, so only R is carried.
    Row dimensions stay at most the product of the kept indices (the bond dimensions), so the cost is
    polynomial in the bonds along the path, and no squaring costs precision. Each step is scaled by its
    largest entry (log returned) so deep networks cannot overflow. Temporaries are dropped as soon as
    they are used: the peak is the plan's (:func:`_r_plan`).
    """
    operands, log_scale = [], 0.0
    for name, axes, rows, kept in plan.leaves:
        data = side.data(name)
        # an owned C-ordered copy (normalized in place), input legs as rows
        matrix = np.array(np.transpose(data, axes), dtype=np.promote_types(data.dtype, np.float64)).reshape(rows, -1)
        r, scale = _compress(matrix, [side.size(i) for i in kept])
        del matrix
        operands.append((r, kept))
        log_scale += scale
    for ids, _, kept in replay([kept for *_, kept in plan.leaves], plan.keys, plan.path):
        taken = [operands[k] for k in ids]
        for k in ids:
            operands[k] = None
        rows = [("rows", j) for j in range(len(taken))]  # each operand's compressed input-leg rows
        terms = [(row, *inds) for row, (_, inds) in zip(rows, taken)]
        table = symbols_for(terms, (*rows, *kept))  # opt_einsum symbols: no 52-letter limit
        eq, arrays = equation(terms, (*rows, *kept), table), [r for r, _ in taken]
        del taken
        # numpy's einsum for the usual few-index step (no per-call path search); opt_einsum past 52 symbols
        out = np.einsum(eq, *arrays) if len(table) <= 52 else opt_einsum.contract(eq, *arrays)
        del arrays  # the operands go before the compression's workspace comes
        shape = [side.size(i) for i in kept]
        r, scale = _compress(out.reshape(-1, math.prod(shape)), shape)
        del out
        operands.append((r, kept))
        log_scale += scale
    r, inds = operands[-1]
    order = [inds.index(k) for k in plan.keys]
    r = np.transpose(r, [0] + [p + 1 for p in order])
    return r.reshape(len(r), -1), log_scale


def _stacked_factor(sides, keys, legs, optimize, memory_limit):
    """``(F, log scale)`` for the columns of all terms' side matrices side by side, L = [L_1 ... L_k].

    The block Gram matrix L^H L has blocks L_s^H L_t, each one network contraction of term s's side
    (conjugated) with term t's side over the input legs, written into the D x D matrix as it comes;
    blocks are then rescaled to a common scale.
    """
    dims = [math.prod(side.size(k) for k in key) for side, key in zip(sides, keys)]
    starts = [sum(dims[:s]) for s in range(len(sides) + 1)]
    blocks = [slice(starts[s], starts[s + 1]) for s in range(len(sides))]
    gram = np.empty((starts[-1], starts[-1]), dtype=np.result_type(np.float64, *(side.dtype for side in sides)))
    logs = [0.0] * len(sides)
    for s, bra in enumerate(sides):
        for t in range(s, len(sides)):  # L^H L is Hermitian: block (t, s) is block (s, t)^H
            block, logs[s], logs[t] = _gram_matrix(bra, keys[s], legs, optimize, memory_limit, sides[t], keys[t])
            gram[blocks[s], blocks[t]] = block.reshape(dims[s], dims[t])
            del block
            if t != s:
                gram[blocks[t], blocks[s]] = gram[blocks[s], blocks[t]].conj().T
    ref = max(logs)
    for s in range(len(sides)):
        for t in range(len(sides)):
            gram[blocks[s], blocks[t]] *= math.exp(logs[s] + logs[t] - 2 * ref)
    return _square_root(gram).conj().T, ref


def _rescaled(values, log2_scale):
    """``(values, log2 scale)`` for true values ``values * 2**log2_scale``: the scale folded into the values
    when they fit comfortably in float64 (then 0), else the values divided by s_1 and the scale kept apart."""
    if not len(values) or values[0] <= 0:
        return values, 0.0
    log2_s1 = math.log2(values[0]) + log2_scale
    if abs(log2_s1) < FOLD_MAX_LOG2:
        return values * 2.0 ** log2_scale if abs(log2_scale) < 1000 else np.exp2(np.log2(values) + log2_scale), 0.0
    return values / values[0], log2_s1


def _preview(labels) -> str:
    labels = list(labels)
    return repr(labels) if len(labels) <= 6 else f"{labels[:6]!r}... ({len(labels)} indices)"


def _split(net, part, cut):
    """Networks L_A and L_B: each side's tensors, the cut legs relabeled ``("cut", k)`` on B's side.

    An open leg of A cut away from its tensor becomes an identity (leg, ("cut", leg)) on A's side
    (and likewise for B), so every A leg lives in L_A and every B leg in L_B.
    """
    index_map = net.index_map
    a_side, b_side = set(cut.sides[0]), set(cut.sides[1])
    A, B = set(part.A), set(part.B)

    def effective(k):
        where = set(index_map[k])
        if k in A:
            return bool(where & b_side)
        if k in B:
            return bool(where & a_side)
        return bool(where & a_side) and bool(where & b_side)

    cut_legs = [k for k in cut.cut if effective(k)]
    # tensors the cut did not see (the one-hots of fixed legs, added by project()) go to every side they touch:
    # a one-hot slices its index, so each side may carry its own copy
    placed = a_side | b_side
    extra = [name for name in net.tensor_names if name not in placed]
    nets = []
    for mine, legs, other_legs in ((cut.sides[0], A, B), (cut.sides[1], B, A)):
        mine = list(mine)
        inds = {i for name in mine for i in net.inds(name)}
        mine += [name for name in extra if inds.intersection(net.inds(name))]
        side = TensorNetwork()
        relabel = {k: ("cut", k) for k in cut_legs if k not in legs}
        for name in mine:
            side.add_tensor(name, net.data(name), tuple(relabel.get(i, i) for i in net.inds(name)))
        for k in cut_legs:
            if k in legs:
                side.add_tensor(("identity", k), np.eye(net.size(k), dtype=net.dtype), (k, ("cut", k)))
        nets.append(side)
    return nets[0], nets[1], cut_legs

def _precise(array):
    """``array`` in at least float64 (complex stays complex): spectra are computed in double precision."""
    return np.asarray(array, dtype=np.promote_types(array.dtype, np.float64))


def _normalize(array) -> float:
    """Divide ``array`` (owned) by its largest |entry| in place; returns the natural log of that scale.

    Deep networks grow or shrink geometrically. A real array's largest |entry| comes from its max and min
    (no temporary); a complex one's needs ``np.abs``, a real array of the same shape.
    """
    if array.dtype.kind == "c":
        scale = float(np.abs(array).max(initial=0.0))
    else:
        scale = max(float(array.max(initial=0.0)), -float(array.min(initial=0.0)))
    scale = scale or 1.0
    array /= scale
    return math.log(scale)


def _compress(matrix, shape):
    """(R reshaped to (rows, *shape), log of the scale divided out) for the QR of an owned (rows, cols) matrix."""
    log_scale = _normalize(matrix)
    if matrix.shape[0] > matrix.shape[1]:
        matrix = np.linalg.qr(matrix, mode="r")
    return matrix.reshape(len(matrix), *shape), log_scale


def _compress_bytes(rows, cols, dtype) -> int:
    """Peak bytes of :func:`_compress` on a (rows, cols) matrix, the matrix included: numpy's QR copies it and
    LAPACK works on a second (Fortran-ordered) copy; a complex matrix's normalization needs a real |entry| array."""
    size = rows * cols * dtype.itemsize
    qr = 2 * size if rows > cols else 0
    return size + max(qr, size // 2 if dtype.kind == "c" else 0)


def _gram_network(side, keys, legs, ket, ket_keys, numeric=True):
    """``(network, output, log scale of side, log scale of ket)`` whose contraction is the Gram block
    sum over ``legs`` of conj(side) (x) ket; ``numeric=False``: shapes only (for its cost).

    Every tensor is an owned copy divided by its largest entry so that deep networks, whose entries grow or
    shrink geometrically, do not overflow; the log scales are natural logs of the products of those maxima.
    """
    gram, scales = TensorNetwork(), []
    for tag, network, conj in (("bra", side, True), ("ket", ket, False)):
        log_scale = 0.0
        for name in network.tensor_names:
            inds = tuple(i if i in legs else (tag, i) for i in network.inds(name))
            if not numeric:
                gram.add_tensor((tag, name), network.shape(name), inds)
                continue
            data = network.data(name)
            array = np.array(data, dtype=np.promote_types(data.dtype, np.float64))
            if conj and array.dtype.kind == "c":
                np.conjugate(array, out=array)
            log_scale += _normalize(array)
            array.flags.writeable = False  # the network keeps it as is (no copy, see tn.network.read_only)
            gram.add_tensor((tag, name), array, inds)
        scales.append(log_scale)
    output = tuple(("bra", k) for k in keys) + tuple(("ket", k) for k in ket_keys)
    return gram, output, scales[0], scales[1]


def _gram_cost(side, keys, legs, optimize, dtype, ket=None, ket_keys=None) -> int:
    """Peak elements of :func:`_gram_matrix`: its contraction's, the normalized copies of the tensors included."""
    ket, ket_keys = (side, keys) if ket is None else (ket, ket_keys)
    network, output, _, _ = _gram_network(side, keys, legs, ket, ket_keys, numeric=False)
    return network.cost(output, optimize, dtype).peak_memory


def _gram_matrix(side, keys, legs, optimize, memory_limit, ket=None, ket_keys=None):
    """sum over ``legs`` of conj(side) (x) ket, axes (bra keys..., ket keys...); ``ket`` defaults to ``side``.

    Returns ``(array, log scale of side, log scale of ket)`` (see :func:`_gram_network`).
    """
    ket, ket_keys = (side, keys) if ket is None else (ket, ket_keys)
    network, output, log_bra, log_ket = _gram_network(side, keys, legs, ket, ket_keys)
    return network.contract(output=output, optimize=optimize, memory_limit=memory_limit), log_bra, log_ket


def _square_root(gram):
    """F with F F^H == gram (Hermitian PSD, symmetrized in place), numerically-zero directions dropped: (D, rank)."""
    gram += gram.conj().T  # numpy copies the overlapping operand first: one D x D temporary
    gram /= 2
    w, v = np.linalg.eigh(gram)
    keep = w > len(w) * np.finfo(float).eps * max(w.max(initial=0.0), 0.0)
    return v[:, keep] * np.sqrt(w[keep])


def _square_root_bytes(dim, dtype) -> int:
    """Peak bytes of :func:`_square_root` on a (dim, dim) matrix, the matrix included: LAPACK's copy of it,
    the eigenvectors and syevd's workspace (2 dim^2 + O(dim) elements)."""
    return (5 * dim * dim + 16 * dim) * dtype.itemsize


__all__ = ["DENSE_MAX_ENTRIES", "GRAM_MAX_DIM", "SPECTRUM_METHODS", "Spectrum", "gram_bytes", "project",
           "schmidt_spectrum"]
