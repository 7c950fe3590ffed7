"""builders.init: the default init is well conditioned, 'orthogonal' is 'orthonormal', integer inits are generic."""

import numpy as np
import pytest

import builders
from builders.init import DEFAULT_INIT, INITS


def test_default_init_is_orthonormal_and_orthogonal_is_an_alias():
    assert DEFAULT_INIT == "orthonormal"
    assert INITS.get("orthogonal") is INITS.get("orthonormal") and INITS.info("orthogonal")["calibrate"]
    a = builders.deep_convac(8, M=2, widths=2, seed=3)
    b = builders.deep_convac(8, M=2, widths=2, seed=3, init="orthogonal")
    assert np.array_equal(a.to_dense(), b.to_dense())
    q = INITS.get("orthogonal")((5, 3), np.random.default_rng(0))
    assert np.allclose(q.T @ q, np.eye(3))  # orthonormal columns (before calibration)


def test_integer_init_never_gives_a_zero_coefficient_tensor():
    """Issue 17: with 0 among the values, 22 of 200 seeds gave an all-zero tensor (balanced N = 16, M = 2, widths 2)."""
    for seed in range(200):
        net = builders.deep_convac(16, M=2, widths=2, seed=seed, init="integer")
        values = np.concatenate([np.ravel(net.data(n)) for n in net.tensor_names])
        assert values.min() >= 1 and np.array_equal(values, np.round(values))
    T = builders.deep_convac(8, M=2, widths=2, seed=0, init="integer").to_dense()
    assert T.min() > 0 and np.array_equal(T, np.round(T))  # positive sums of positive products: never zero


@pytest.mark.slow
def test_calibration_has_no_overflow_at_n_2_20():
    """Single probes spread like exp(sqrt(N)) around the calibrated mean: the probe is carried in logs."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        net = builders.deep_convac(2**20, M=2, widths=2)  # ~2 min: the first size whose probes overflowed
    sizes = [float(np.abs(net.data(n)).max()) for n in net.tensor_names[::997]]
    assert np.all(np.isfinite(sizes)) and 0.01 < min(sizes) and max(sizes) < 100
