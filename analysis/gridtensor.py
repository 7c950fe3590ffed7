"""Grid tensors of generalized (rectifier) networks (theory §11): the network on every template combination.

A generalized network is not multilinear, so no contraction gives its coefficient tensor; its grid
tensor A[d_1..d_N] = h(x^(d_1), ..., x^(d_N)) on M template points is computed by one forward pass over
all M^N combinations. Integer weights and templates keep max / ReLU exact (Python integers), so ranks of
its matricizations can then be computed exactly.
"""

from __future__ import annotations

import numpy as np

from builders.rectifiers import generalized_forward, templates_of
from tn.errors import MemoryLimitError

MAX_COMBINATIONS = 2 ** 22


def grid_tensor(net, templates=None):
    """The grid tensor of a :func:`builders.generalized` network, shape (M,) * N + (classes,).

    Parameters
    ----------
    net : tn.TensorNetwork
        Built by :func:`builders.generalized`.
    templates : (M, M) array, optional
        Row d = the features (f_1..f_M) of template point d; default the network's own
        (``metadata["templates"]``, the identity unless given at build time).

    Returns
    -------
    ndarray
        Entry [d_1, ..., d_N, y] = class-y score on the input (x^(d_1), ..., x^(d_N)); an object array of
        Python integers when weights and templates are integers (exact), else float.

    Raises
    ------
    MemoryLimitError
        More than ``MAX_COMBINATIONS`` (2^22) template combinations.

    Examples
    --------
    >>> import numpy as np, builders, analysis
    >>> net = builders.generalized(builders.ModeTree.balanced(4), M=2, widths=2, g="product")
    >>> np.allclose(analysis.grid_tensor(net).astype(float), net.to_dense())   # identity templates
    True
    >>> relu = builders.generalized(builders.ModeTree.flat(4), M=3, widths=5, g="relu-sum", init="integer")
    >>> A = analysis.grid_tensor(relu)[..., 0]
    >>> A.shape, A.dtype
    ((3, 3, 3, 3), dtype('O'))
    """
    F = templates_of(net) if templates is None else np.asarray(templates)
    M, N = F.shape[0], len(net.input_legs)
    count = M ** N
    if count > MAX_COMBINATIONS:
        raise MemoryLimitError(f"grid tensor of N={N} positions on M={M} templates has M^N={count} entries "
                               f"(limit {MAX_COMBINATIONS}): use fewer positions or templates")
    combos = np.indices((M,) * N).reshape(N, -1).T           # row-major: last position fastest
    scores = generalized_forward(net, F[combos])
    return scores.reshape((M,) * N + (scores.shape[-1],))


__all__ = ["MAX_COMBINATIONS", "grid_tensor"]
