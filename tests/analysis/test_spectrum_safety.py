"""Spectra refuse or convert values LAPACK cannot take, naming the tensor (issue 17)."""

import re

import numpy as np
import pytest

import builders
from analysis import schmidt_spectrum, validate
from tn import errors

A = [0, 1, 2, 3]


def with_value(net, value):
    name = net.tensor_names[2]
    d = net.data(name).copy()
    d[0, 0] = value
    net.set_data(name, d)
    return name


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["dense", "gram"])
def test_nan_and_inf_weights_name_the_tensor(value, method):
    net = builders.deep_convac(8, 2, 2)
    name = with_value(net, value)
    with pytest.raises(errors.NonFiniteError, match=re.escape(f"tensor {name!r}")):
        schmidt_spectrum(net, A, method=method)


def test_validate_reports_nan_weights_as_a_tn_error():
    net = builders.deep_convac(8, 2, 2)
    name = with_value(net, np.nan)
    with pytest.raises(errors.NonFiniteError, match=re.escape(f"tensor {name!r}")):
        validate(net, ["left-right"])


def test_weights_times_1e200_on_the_dense_route_are_a_spectrum_error():
    net = builders.deep_convac(8, 2, 2)
    for name in net.tensor_names:
        net.set_data(name, net.data(name) * 1e200)
    with pytest.raises(errors.SpectrumError, match="method='gram'"):
        schmidt_spectrum(net, A, method="dense")


def test_integer_networks_have_floating_spectra():
    ints = builders.deep_convac(8, 2, 2, init="integer", dtype=np.int8, seed=1)
    floats = builders.deep_convac(8, 2, 2, init="integer", dtype=np.float64, seed=1)
    dense = floats.to_dense().reshape(16, 16)
    expected = np.linalg.svd(dense, compute_uv=False)
    assert expected[0] > 1e5  # int8 arithmetic would have wrapped
    for method in ("dense", "gram"):
        got = schmidt_spectrum(ints, A, method=method)
        assert np.allclose(got[:2], expected[:2], rtol=1e-10)


def test_float16_is_converted_and_longdouble_refused():
    half = builders.deep_convac(8, 2, 2, dtype=np.float16)
    wide = half.copy()
    for name in wide.tensor_names:
        wide.set_data(name, half.data(name).astype(np.float64))
    dense = wide.to_dense().reshape(16, 16)
    assert np.allclose(schmidt_spectrum(half, A)[:2], np.linalg.svd(dense, compute_uv=False)[:2], rtol=1e-5)
    if np.dtype(np.longdouble) == np.dtype(np.float64):
        pytest.skip("longdouble is float64 on this platform")
    long = builders.deep_convac(8, 2, 2, dtype=np.longdouble)
    with pytest.raises(errors.DTypeError, match="no float128 routine|no longdouble routine"):
        schmidt_spectrum(long, A)


def test_the_dense_svd_workspace_is_guarded():
    net = builders.deep_convac(8, 2, 2)
    dense_bytes = 2**8 * 8
    with pytest.raises(errors.MemoryLimitError, match="dense Schmidt spectrum"):
        schmidt_spectrum(net, A, method="dense", memory_limit=int(1.5 * dense_bytes))
