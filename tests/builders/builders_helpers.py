"""Independent computations shared by the builders tests (plain numpy, no tn, no builders.reference)."""

import numpy as np
from hypothesis import strategies as st

import builders


def score(A, x):
    """sum_d A[d, y] prod_i x[b, i, d_i] by one np.einsum."""
    N = A.ndim - 1
    operands = [A, list(range(N + 1))]
    for i in range(N):
        operands += [x[:, i, :], [N + 1, i]]
    return np.einsum(*operands, [N + 1, N], optimize=True)


def features(x):
    """(B, N, M) -> the per-leg list evaluate takes."""
    return list(np.asarray(x).transpose(1, 0, 2))


def matricize(A, rows):
    """[A]_{rows, rest} for a tensor whose last axis (the class) is fixed to 0."""
    T = A[..., 0]
    rows = sorted(rows)
    cols = [i for i in range(T.ndim) if i not in rows]
    m = int(np.prod([T.shape[i] for i in rows]))
    return np.transpose(T, rows + cols).reshape(m, -1)


def rank_mod_p(matrix, p=2_147_483_647):
    """Exact rank over GF(p) of an integer-valued matrix (Gaussian elimination)."""
    a = np.mod(np.rint(matrix).astype(np.int64), p)
    rank, (rows, cols) = 0, a.shape
    for c in range(cols):
        pivot = next((r for r in range(rank, rows) if a[r, c]), None)
        if pivot is None:
            continue
        a[[rank, pivot]] = a[[pivot, rank]]
        a[rank] = a[rank] * pow(int(a[rank, c]), p - 2, p) % p
        others = np.nonzero(a[:, c])[0]
        for r in others[others != rank]:
            a[r] = (a[r] - a[r, c] * a[rank]) % p
        rank += 1
    return rank


@st.composite
def nested_trees(draw, min_n=2, max_n=9, arities=(2, 3)):
    """Random mode trees drawn structurally: shuffled positions merged in groups of the given arities."""
    n = draw(st.integers(min_n, max_n))
    items = draw(st.permutations(list(range(n))))
    while len(items) > 1:
        k = min(draw(st.sampled_from(arities)), len(items))
        start = draw(st.integers(0, len(items) - k))
        items = items[:start] + [tuple(items[start:start + k])] + items[start + k:]
    return builders.ModeTree.from_nested(items[0])


def unit_features(rng, B, N, M):
    x = rng.standard_normal((B, N, M))
    return x / np.linalg.norm(x, axis=2, keepdims=True)
