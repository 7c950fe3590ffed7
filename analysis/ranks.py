"""Certified ranks: the rank of a matricization over GF(p), computed along a min cut (theory §10).

A float SVD cannot decide most ranks that matter (deep networks' spectra fall smoothly over many
decades); exact arithmetic modulo a prime can. Every function here works on integers mod p only:
no tolerance anywhere.

:func:`exact_rank`
    Split the network along a cut C (by default its min cut): [T]_{A,B} = L_A L_B^T, L_A the A side
    contracted to (inputs of A) x (cut legs). Each side is contracted pairwise along a greedy path and
    every partial result, viewed as (its input legs) x (its other legs), is replaced by a basis of its
    row space (row echelon reduction mod p) whenever it has more rows than columns: that never changes
    the row space of the final L and keeps every intermediate at most (other legs) rows. Then
    rank [T]_{A,B} = rank (B_A B_B^T) for the two side bases, a matrix of at most D x D (D = the cut
    dimension). A :class:`~tn.NetworkSum` stacks its terms' sides (the cut space is the direct sum of
    the terms'); per-term echelon forms cannot be stacked (each term reduces its rows differently),
    so the stacked sides are sketched instead: every side is evaluated on the same k random product
    inputs mod p (k = min(D, both side dimensions) >= the rank), giving U^T L_A and V^T L_B; rank (U^T T V)
    is then <= rank T always and equal to it unless the random inputs are degenerate (probability <= k * N / p,
    Schwartz-Zippel: the minor that proves the rank is a nonzero polynomial of degree k * N in them).
:func:`rank_lower_bound`
    When D is too large: the rank mod p of the k x k submatrix of [T]_{A,B} on k random input
    configurations per side (one-hot inputs), evaluated exactly by one contraction of the network fed
    with both batches. A submatrix never has a larger rank than its matrix, and a rank mod p never
    exceeds the rank over Q of the same integers, so the result is <= the true rank: a certified lower
    bound, whatever k and whatever configurations.

**What a rank mod p certifies.** The matricization of integer weights has rank_p <= rank over Q,
and an instance's rank <= the architecture's generic rank <= the min-cut bound. So with
``weights="random"`` (uniform integers mod p, the default: a certificate about the *architecture*)
rank_p == bound proves that the architecture attains its bound; rank_p < bound says it does not,
except with probability <= deg / p per draw (Schwartz-Zippel; :func:`analysis.validate` confirms a
strict result with a second, independent prime and draw). ``weights="own"`` uses the network's own
integer weights (a float that is not an integer is an error): rank_p is then a certified lower bound
on that instance's rank, equal to it unless p divides every maximal nonzero minor. Weight sharing is
kept: tensors holding the same array (or, in a sum, the same name) get the same random draw.

The linear algebra mod p is python-flint's ``nmod_mat`` (the ``exact`` extra) for matrices of more
than :data:`FLINT_MIN_ENTRIES` entries and a numpy elimination below that, where it is faster (the
cost of flint is dominated by converting entries: ~1 us each). Without python-flint the numpy
elimination does everything, correctly but 7-30x slower from 512 x 512 on (benchmarks/certify.md).
Products mod p run on float64 BLAS, exactly: operands are split into 16-bit limbs so that no
float sum exceeds 2^53.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import opt_einsum

from tn import NetworkSum, TensorNetwork
from tn.contraction import equation, find_path, symbols_for
from tn.errors import RankError, SymbolicTensorError
from tn.netsum import terms_of
from tn.registry import Registry

from .bounds import resolve_cut
from .partitions import make_partition
from .spectrum import _split, project

EXACT_MAX_DIM = 2048
LOWER_K = 64
FLINT_MIN_ENTRIES = 4096
PRIME_RANGE = (2**30, 2**31)
_EXACT_FLOAT = 2**53
RANK_METHODS = Registry("rank method", extra=("auto",))


@dataclass(frozen=True)
class RankResult:
    """A rank with how it was obtained.

    Attributes
    ----------
    rank : int
        For ``method="exact"``/``"lower"``: a rank over GF(``prime``), a certified lower bound on the
        true rank (see the module docstring). For ``"float"``: numpy's float rank (judge it by ``gap``).
    method : str
        ``"exact"``, ``"lower"`` or ``"float"``.
    prime : int or None
        The modulus (None for float ranks).
    seconds : float
    cut_dim : int
        The dimension of the cut the rank was computed along (0 for a lower bound, which needs none).
    route : str
        ``"echelon"`` (single network), ``"sketch"`` (a sum), ``"submatrix"`` (lower bound), or the
        spectrum method of a float rank.
    weights : str
        ``"random"`` or ``"own"``.
    k : int
        Size of the k x k matrix whose rank was taken (0 for ``"echelon"``).
    gap : float or None
        Spectral gap of a float rank (last kept / first dropped singular value); None when exact.
    """

    rank: int
    method: str
    prime: int | None
    seconds: float
    cut_dim: int
    route: str
    weights: str = "random"
    k: int = 0
    gap: float | None = None

    @property
    def exact(self) -> bool:
        """True for ranks over GF(p) (certified lower bounds), False for float ranks."""
        return self.prime is not None


# ---------------------------------------------------------------------- primes and weights
def _is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin, exact for n < 3.2e9 (bases 2, 3, 5, 7)."""
    if n < 2:
        return False
    for q in (2, 3, 5, 7):
        if n % q == 0:
            return n == q
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(seed=0) -> int:
    """A prime drawn uniformly-ish from [2^30, 2^31) by ``seed`` (the next prime after a uniform draw).

    >>> p = random_prime(0)
    >>> 2**30 <= p < 2**31 and _is_prime(p) and random_prime(0) == p
    True
    """
    n = int(np.random.default_rng(seed).integers(*PRIME_RANGE))
    while not _is_prime(n):
        n += 1
    return n


def _check_prime(prime, seed) -> int:
    if prime is None:
        return random_prime(seed)
    if isinstance(prime, bool) or not isinstance(prime, (int, np.integer)) or not 2 <= prime < 2**31 \
            or not _is_prime(int(prime)):
        raise RankError(f"prime={prime!r} must be a prime below 2^31 (default: one drawn from the seed)")
    return int(prime)


def _own_mod(data, name, p):
    """The integer array ``data`` mod p as int64; a clear error for anything that is not integers."""
    if data is None:
        raise SymbolicTensorError(f"weights='own' needs numbers: tensor {name!r} is symbolic "
                                  "(weights='random' needs none)")
    array = np.asarray(data)
    if array.dtype.kind in "biu":
        return np.array(np.mod(array, p), dtype=np.int64)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return np.array(np.fmod(array, p).astype(np.int64) % p)   # fmod is exact on integral floats
    raise RankError(f"weights='own' needs integer weights: tensor {name!r} has dtype {array.dtype} with "
                    f"non-integer values (build it with init='integer', or use weights='random' to certify "
                    f"the architecture)")


def modular_network(net, prime, weights="random", seed=0):
    """A copy of ``net`` (network or sum) whose tensors are int64 arrays mod ``prime``.

    ``"random"``: uniform integers mod p, one draw per distinct array (shared weights stay shared; in
    a sum, tensors of the same name share too); symbolic tensors are fine. ``"own"``: the network's
    own integer weights mod p.
    """
    if weights not in ("random", "own"):
        raise RankError(f"weights={weights!r} must be 'random' or 'own'")
    rng = np.random.default_rng(seed)
    drawn = {}

    def value(t, name):
        data = t.data(name)
        if weights == "own":
            array = _own_mod(data, name, prime)
        else:
            key = ("name", name) if isinstance(net, NetworkSum) else ("id", id(data) if data is not None else name)
            if key not in drawn:
                drawn[key] = rng.integers(0, prime, size=t.shape(name), dtype=np.int64)
            array = drawn[key]
        array.flags.writeable = False  # fresh and read-only: the network keeps it without a copy
        return array

    out = []
    for t in terms_of(net):
        copy = TensorNetwork(t.name)
        for name in t.tensor_names:
            copy.add_tensor(name, value(t, name), t.inds(name))
        copy.set_output(t.output)
        copy.set_input_legs(t.input_legs)
        out.append(copy)
    return NetworkSum(out) if isinstance(net, NetworkSum) else out[0]


# ---------------------------------------------------------------------- linear algebra mod p
def _flint():
    try:
        import flint
    except ImportError:
        return None
    return flint


def _to_flint(flint, matrix, p):
    """An ``nmod_mat`` (via ``fmpz_mat``: its constructor reads Python ints ~1.6x faster)."""
    return flint.nmod_mat(flint.fmpz_mat(matrix.tolist()), p)


def _echelon_numpy(matrix, p):
    """``(rows of a row echelon form of matrix mod p with the zero rows dropped, pivot columns)``."""
    a = np.array(matrix, dtype=np.int64) % p
    rows, cols = a.shape
    r, pivots = 0, []
    for c in range(cols):
        if r == rows:
            break
        nonzero = np.flatnonzero(a[r:, c])
        if not len(nonzero):
            continue
        k = r + nonzero[0]
        if k != r:
            a[[r, k]] = a[[k, r]]
        a[r, c:] = a[r, c:] * pow(int(a[r, c]), p - 2, p) % p
        below = r + 1 + np.flatnonzero(a[r + 1:, c])
        if len(below):  # products < 2^62: exact in int64
            a[below, c:] = (a[below, c:] - a[below, c, None] * a[r, c:]) % p
        pivots.append(c)
        r += 1
    return a[:r], pivots


def row_basis(matrix, p):
    """A basis (as rows, int64) of the row space of ``matrix`` mod p.

    Small matrices: the echelon rows (numpy). Large ones: python-flint's rref of the transpose, whose
    pivot columns are the independent rows of ``matrix``, returned as they are (no entry is read back).

    >>> row_basis(np.array([[1, 2], [2, 4], [0, 1]]), 7)
    array([[1, 2],
           [0, 1]])
    """
    flint = _flint()
    if flint is None or matrix.size < FLINT_MIN_ENTRIES:
        return _echelon_numpy(matrix, p)[0]
    reduced, rank = _to_flint(flint, np.ascontiguousarray(matrix.T), p).rref()
    pivots, column = [], 0
    for i in range(rank):  # pivots increase: one scan over the columns finds them all
        while int(reduced[i, column]) == 0:
            column += 1
        pivots.append(column)
        column += 1
    return matrix[pivots]


def rank_mod(matrix, p) -> int:
    """The rank of an integer matrix mod p.

    >>> rank_mod(np.array([[1, 2], [3, 6]]), 5), rank_mod(np.array([[1, 2], [3, 6]]), 1000003)
    (1, 1)
    """
    if 0 in matrix.shape:
        return 0
    flint = _flint()
    if flint is None or matrix.size < FLINT_MIN_ENTRIES:
        return len(_echelon_numpy(matrix, p)[1])
    return int(_to_flint(flint, matrix % p, p).rank())


def _limbs(x, count):
    """``x`` (int64 in [0, 2^31)) as ``count`` float64 limbs of ``bits`` bits, low first, and ``bits``."""
    bits = -(-31 // count)
    return [((x >> (bits * i)) & ((1 << bits) - 1)).astype(np.float64) for i in range(count)], bits


def _limb_counts(terms):
    """Fewest limb pairs (x limbs, y limbs) whose products, summed ``terms`` times, stay below 2^53."""
    counts = _limb_counts_for(max(terms, 1).bit_length())
    if counts is None:
        raise RankError(f"a contraction sums {terms} products per entry, too many for exact float arithmetic")
    return counts


@functools.cache
def _limb_counts_for(need):
    options = [(cx * cy, cx, cy) for cx in range(1, 32) for cy in range(1, 32)
               if -(-31 // cx) + -(-31 // cy) + need <= 53]
    return min(options)[1:] if options else None


def mod_einsum(eq, x, y, p, terms):
    """``einsum(eq, x, y) mod p`` exactly, for int64 operands in [0, p), p < 2^31, on float64 BLAS.

    ``terms`` is the number of products summed into one output entry. The operands are split into
    limbs (of bx and by bits, bx + by + log2(terms) <= 53) so that every float sum is an exact integer;
    a bond of size <= 64 needs two float contractions, a 2048-wide product four.

    >>> x, y = np.array([[2**31 - 2, 5]]), np.array([[2**31 - 3], [7]])
    >>> int(mod_einsum("ij,jk->ik", x, y, 2**31 - 1, 2)[0, 0]) == ((2**31 - 2) * (2**31 - 3) + 35) % (2**31 - 1)
    True
    """
    count_x, count_y = _limb_counts(terms)
    (xs, bits_x), (ys, bits_y) = _limbs(x, count_x), _limbs(y, count_y)
    out = 0
    for i, a in enumerate(xs):
        for j, b in enumerate(ys):
            part = opt_einsum.contract(eq, a, b).astype(np.int64) % p
            out = out + part * pow(2, bits_x * i + bits_y * j, p) % p   # <= 31 limb pairs: no overflow
    return out % p


# ---------------------------------------------------------------------- contraction mod p
@dataclass
class _Operand:
    array: np.ndarray   # (rows, *sizes of inds), int64 mod p
    inds: tuple
    independent: bool   # rows known to be linearly independent


def _operands(net, legs, p, reduce):
    """One operand per tensor: its ``legs`` as rows (reduced to a row basis when ``reduce``)."""
    ops = []
    for name in net.tensor_names:
        inds = net.inds(name)
        rows = [k for k, i in enumerate(inds) if i in legs]
        cols = [k for k, i in enumerate(inds) if i not in legs and net.size(i) > 1]  # size 1: no information
        ones = [k for k, i in enumerate(inds) if i not in legs and net.size(i) == 1]
        data = np.transpose(np.asarray(net.data(name)).astype(np.int64), rows + cols + ones)  # project() floats
        matrix = data.reshape(math.prod(data.shape[:len(rows)]), -1)
        if reduce:
            matrix = row_basis(matrix, p)
        shape = [net.size(inds[k]) for k in cols]
        ops.append(_Operand(matrix.reshape(len(matrix), *shape), tuple(inds[k] for k in cols), reduce))
    return ops


def _merge(taken, remaining, sizes, p, reduce):
    """Contract operands (rows side by side, kept indices after), then re-reduce the rows if needed."""
    joint = list(dict.fromkeys(i for op in taken for i in op.inds))
    kept = tuple(i for i in joint if i in remaining)
    rows = [("rows", j) for j in range(len(taken))]
    terms = [(row, *op.inds) for row, op in zip(rows, taken)]
    table = symbols_for(terms, (*rows, *kept))
    summed = math.prod(sizes[i] for i in joint if i not in remaining)
    if len(taken) == 1:
        (op,), axes = taken, tuple(1 + k for k, i in enumerate(taken[0].inds) if i not in remaining)
        out = op.array.sum(axis=axes) % p if axes else op.array
    else:
        out = mod_einsum(equation(terms, (*rows, *kept), table), taken[0].array, taken[1].array, p, summed)
    n_rows, n_cols = math.prod(out.shape[:len(taken)]), math.prod(sizes[i] for i in kept)
    matrix = out.reshape(n_rows, n_cols)
    shared = len(taken) > 1 and bool(set(taken[0].inds) & set(taken[1].inds))
    independent = all(op.independent for op in taken) and not shared and len(taken) > 1
    if reduce and n_rows > n_cols:
        matrix, independent = row_basis(matrix, p), True
    return _Operand(matrix.reshape(len(matrix), *(sizes[i] for i in kept)), kept, independent)


def _contract_mod(net, legs, keys, p, reduce, batch=()):
    """``(matrix, independent)``: the network mod p as (its ``legs``, row-reduced) x (``keys``).

    With no ``legs`` (a fed network) it is a plain exact contraction to ``keys`` (one row). ``batch``
    indices (hyperedges over every fed input, part of ``keys``) are left out of the path search: the
    path is that of one sample, so no step multiplies two inputs' features together.
    """
    net = _hold_shared_legs(net, legs)
    legs, sizes = set(legs), net.size_dict
    live = tuple(k for k in keys if sizes[k] > 1)
    ops = _operands(net, legs, p, reduce)
    if len(ops) > 1:
        inputs = [tuple(i for i in op.inds if i not in batch) for op in ops]
        path = find_path(inputs, tuple(k for k in live if k not in batch), sizes, "greedy")
    else:
        path = []
    for step in path:
        taken = [ops.pop(k) for k in sorted(step, reverse=True)]
        while len(taken) > 2:  # fold wider steps pairwise
            taken.append(_merge([taken.pop(), taken.pop()], _alive(ops + taken, live), sizes, p, reduce))
        ops.append(_merge(taken, _alive(ops, live), sizes, p, reduce))
    (op,) = ops
    if set(op.inds) - set(live):  # indices no other operand needed: sum them out
        op = _merge([op], set(live), sizes, p, reduce)
    order = [op.inds.index(k) for k in live]
    array = np.transpose(op.array, [0] + [k + 1 for k in order])
    return array.reshape(len(array), -1), op.independent


def _alive(ops, live):
    """Indices still needed after a step: those of the other operands and the output."""
    return {i for op in ops for i in op.inds} | set(live)


def _hold_shared_legs(net, legs):
    """An input leg on several tensors becomes an inner hyperedge plus an identity that holds the row."""
    where = net.index_map
    shared = [leg for leg in legs if len(where.get(leg, ())) > 1]
    if not shared:
        return net
    out = TensorNetwork()
    relabel = {leg: ("held", leg) for leg in shared}
    for name in net.tensor_names:
        out.add_tensor(name, net.data(name), tuple(relabel.get(i, i) for i in net.inds(name)))
    for leg in shared:
        out.add_tensor(("hold", leg), np.eye(net.size(leg), dtype=np.int64), (leg, ("held", leg)))
    return out


# ---------------------------------------------------------------------- public functions
def _fixed_values(net, part):
    chosen = set(part.A) | set(part.B)
    return {leg: 0 for leg in net.output if leg not in chosen}


def exact_rank(net, partition, B=None, *, prime=None, seed=0, weights="random", cut=None,
               max_dim=EXACT_MAX_DIM) -> RankResult:
    """The rank of the matricization [T]_{A,B} over GF(p), computed along a min cut (module docstring).

    Parameters
    ----------
    net : tn.TensorNetwork or tn.NetworkSum
        Trees, cycles, hyperedges; symbolic tensors too with ``weights="random"``.
    partition, B : a partition spec (see :func:`analysis.partitions.make_partition`); it may name any
        open leg, the class leg included. Open legs on neither side are fixed to 0.
    prime : int, optional
        The modulus (< 2^31); default: a prime in [2^30, 2^31) drawn from ``seed``.
    seed : int
        Seeds the prime, the random weights and (for a sum) the sketch.
    weights : {"random", "own"}
        Uniform random weights mod p (a certificate about the architecture) or the network's own
        integer weights.
    cut : MinCutResult, optional
        The min cut of this partition, if the caller has it.
    max_dim : int
        Refuse (:class:`~tn.errors.RankError`) cuts of larger dimension: cost grows like D^2 to D^3.

    Returns
    -------
    RankResult
        ``rank`` <= the true rank (of the architecture, or of the integer instance with "own"),
        ``route`` ``"echelon"`` or, for a sum, ``"sketch"``.

    Examples
    --------
    >>> import builders
    >>> net = builders.deep_convac(8, M=2, widths=2)
    >>> r = exact_rank(net, "odd-even")
    >>> r.rank, r.cut_dim, r.route                    # theory §4: min(M, r)^(N/2) = 16
    (16, 16, 'echelon')
    >>> exact_rank(net, "left-right").rank            # one hyperedge of size 2 is cut
    2
    """
    start = time.perf_counter()
    part = make_partition(net, partition, B)
    p = _check_prime(prime, seed)
    cut, cuts = resolve_cut(net, part, cut)
    mod = project(modular_network(net, p, weights, seed), _fixed_values(net, part))
    terms = terms_of(mod)
    splits = [_split(t, part, c) for t, c in zip(terms, cuts)]
    dims = [math.prod(t.size(k) for k in legs) for t, (_, _, legs) in zip(terms, splits)]
    dim = sum(dims)
    # a sum's sketch evaluates k = min(D, both side sizes) >= rank inputs per side: two k x D matrices and a
    # k x k rank, so k (not D) is what max_dim bounds, and k * D is held to the max_dim x max_dim budget
    sides = [math.prod(mod.size(i) for i in legs) for legs in (part.A, part.B)]
    k = dim if len(terms) == 1 else min(dim, *sides)
    if k > max_dim or k * dim > max_dim ** 2:
        raise RankError(f"no exact rank for partition {part.name!r}: its cut has dimension {dim}"
                        + ("" if len(terms) == 1 else f" and its matricization is {sides[0]:,} x {sides[1]:,}")
                        + f", above max_dim={max_dim} (raise max_dim, or use rank_lower_bound)")
    keys = [[("cut", k) for k in legs] for _, _, legs in splits]
    if len(terms) == 1:
        (side_a, side_b, _), = splits
        basis_a, full_a = _contract_mod(side_a, part.A, keys[0], p, True)
        basis_b, full_b = _contract_mod(side_b, part.B, keys[0], p, True)
        rank = _product_rank(basis_a, full_a, basis_b, full_b, dim, p)
        route, k = "echelon", 0
    else:
        rng = np.random.default_rng([seed, 1])
        sketches = []
        for legs, index in ((part.A, 0), (part.B, 1)):
            features = {leg: rng.integers(0, p, size=(k, mod.size(leg)), dtype=np.int64) for leg in legs}
            sketches.append(np.concatenate([_fed(split[index], features, key, p)
                                            for split, key in zip(splits, keys)], axis=1))
        rank, route = rank_mod(_matmul_mod(sketches[0], sketches[1].T, p), p), "sketch"
    return RankResult(rank, "exact", p, time.perf_counter() - start, dim, route, weights, k)


def _product_rank(basis_a, full_a, basis_b, full_b, dim, p) -> int:
    """rank (B_A B_B^T) mod p. Rows known independent and spanning all D columns (an invertible side)
    leave the other side's rank; otherwise the rank of the (at most D x D) product."""
    for (basis, full), (other, other_full) in (((basis_a, full_a), (basis_b, full_b)),
                                               ((basis_b, full_b), (basis_a, full_a))):
        if full and len(basis) == dim:
            return len(other) if other_full else rank_mod(other, p)
    return rank_mod(_matmul_mod(basis_a, basis_b.T, p), p)


def _matmul_mod(x, y, p):
    return mod_einsum("ij,jk->ik", x, y, p, x.shape[1])


def _feed(net, features):
    """A copy of ``net`` with one tensor ``("feature", leg)`` of indices (batch, leg) per fed leg it has.

    ``features`` maps leg -> (rows (batch size, leg size), batch index label).
    """
    fed = TensorNetwork()
    for name in net.tensor_names:
        fed.add_tensor(name, net.data(name), net.inds(name))
    for leg, (rows, batch) in features.items():
        if leg in net.size_dict:
            fed.add_tensor(("feature", leg), rows, (batch, leg))
    return fed


def _fed(side, features, keys, p):
    """Rows ``U^T L``: the side evaluated on batched features (a batch index shared by all its legs)."""
    batch = ("batch",)
    fed = _feed(side, {leg: (rows, batch) for leg, rows in features.items()})
    matrix, _ = _contract_mod(fed, (), (batch, *keys), p, False, batch=(batch,))
    return matrix.reshape(len(next(iter(features.values()))), -1)


def rank_lower_bound(net, partition, B=None, *, k=LOWER_K, prime=None, seed=0, weights="random") -> RankResult:
    """A certified lower bound on rank [T]_{A,B}: the rank mod p of a k x k submatrix.

    The rows are k distinct random input configurations of A, the columns k of B (fewer when a side
    has fewer); each entry T[a, b] is the network fed one-hot inputs, all k x k of them computed exactly
    mod p by one contraction of the network with two batch indices. The rank of a submatrix is at
    most that of the whole matrix, and a rank mod p at most the rank over Q of the same integers, so
    ``rank`` <= the true rank, for any k and any configurations. No cut is needed: it works at any N.

    Parameters
    ----------
    net, partition, B, prime, seed, weights : as :func:`exact_rank`.
    k : int
        Configurations per side (cost ~ k^2 per tensor on the way to the cut).

    Examples
    --------
    >>> import builders
    >>> net = builders.deep_convac(64, M=2, widths=[2, 2, 4, 4, 8, 8])
    >>> r = rank_lower_bound(net, "odd-even", k=64)   # the exact route would need a cut of 2^32
    >>> r.rank, r.route
    (64, 'submatrix')
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RankError(f"k={k!r} must be a positive int")
    start = time.perf_counter()
    part = make_partition(net, partition, B)
    p = _check_prime(prime, seed)
    mod = project(modular_network(net, p, weights, seed), _fixed_values(net, part))
    rng = np.random.default_rng([seed, 2])
    batches = [("rows", "A"), ("rows", "B")]
    features = {}
    for legs, batch in zip((part.A, part.B), batches):
        configs = _configurations([mod.size(i) for i in legs], k, rng)
        for leg, column in zip(legs, configs.T):
            features[leg] = (np.eye(mod.size(leg), dtype=np.int64)[column], batch)
    total = None
    for term in terms_of(mod):
        sub, _ = _contract_mod(_feed(term, features), (), batches, p, False, batch=batches)
        total = sub if total is None else (total + sub) % p
    shape = [len(features[part.A[0]][0]), len(features[part.B[0]][0])]
    rank = rank_mod(total.reshape(shape), p)
    return RankResult(rank, "lower", p, time.perf_counter() - start, 0, "submatrix", weights, min(shape))


def _configurations(sizes, k, rng) -> np.ndarray:
    """min(k, prod sizes) distinct configurations (rows) of legs with these sizes, drawn at random."""
    total = math.prod(sizes)
    if total <= 4 * k:  # few: enumerate and choose
        picks = rng.choice(total, size=min(k, total), replace=False)
        return np.array(np.unravel_index(picks, sizes)).T.reshape(-1, len(sizes))
    seen, rows = set(), []
    while len(rows) < k:
        row = tuple(int(v) for v in (rng.integers(0, s) for s in sizes))
        if row not in seen:
            seen.add(row)
            rows.append(row)
    return np.array(rows, dtype=np.int64)


# ---------------------------------------------------------------------- the registry validate uses
@RANK_METHODS.register("exact", certified=True)
def _exact_method(net, part, cut=None, *, prime=None, seed=0, weights="random", max_dim=EXACT_MAX_DIM, **_):
    return exact_rank(net, part, prime=prime, seed=seed, weights=weights, cut=cut, max_dim=max_dim)


@RANK_METHODS.register("lower", certified=True)
def _lower_method(net, part, cut=None, *, prime=None, seed=0, weights="random", k=LOWER_K, **_):
    return rank_lower_bound(net, part, k=k, prime=prime, seed=seed, weights=weights)


@RANK_METHODS.register("float", certified=False)
def _float_method(net, part, cut=None, *, spectrum=None, **spectrum_options):
    from .measures import entanglement
    from .spectrum import schmidt_spectrum
    start = time.perf_counter()
    if spectrum is None:
        spectrum = schmidt_spectrum(net, part, full=True, cut=cut, **spectrum_options)
    e = entanglement(spectrum)
    return RankResult(e.rank, "float", None, time.perf_counter() - start, spectrum.shape[0]
                      if spectrum.method == "gram" else 0, spectrum.method, "own", 0, e.gap)


__all__ = [
    "EXACT_MAX_DIM",
    "LOWER_K",
    "RANK_METHODS",
    "RankResult",
    "exact_rank",
    "mod_einsum",
    "modular_network",
    "random_prime",
    "rank_lower_bound",
    "rank_mod",
    "row_basis",
]
