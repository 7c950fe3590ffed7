"""A .tnet file is checked whole against its JSON; every malformed file is a SerializationError (issue 17, 19)."""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import builders
import tn
from tn import NetworkSum, TensorNetwork, errors


def two_tensors():
    net = TensorNetwork("pair")
    net.add_tensor("A", np.arange(4.0).reshape(2, 2), ("i", ("h", (0, 1))))
    net.add_tensor("B", np.arange(4, dtype=np.int32).reshape(2, 2), (("h", (0, 1)), "j"))
    net.set_output(("i", "j"))
    return net


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(path, out, doc=None, replace=None, compression=zipfile.ZIP_STORED):
    """Copy ``path`` to ``out`` with network.json replaced by ``doc`` (a dict or raw text) and members replaced."""
    files = members(path)
    if doc is not None:
        files["network.json"] = doc if isinstance(doc, (str, bytes)) else json.dumps(doc)
    files.update(replace or {})
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def npy(array=None, header_shape=None, dtype="<f8", data=b""):
    buf = io.BytesIO()
    if array is not None:
        np.lib.format.write_array(buf, array)
    else:
        np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": header_shape})
        buf.write(data)
    return buf.getvalue()


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "pair.tnet"
    two_tensors().save(path)
    return path, json.loads(members(path)["network.json"])


def test_round_trip_checks_values_dtypes_and_sharing(saved, tmp_path):
    path, doc = saved
    back = tn.load(path)
    net = two_tensors()
    for name in net.tensor_names:
        assert np.array_equal(back.data(name), net.data(name)) and back.data(name).dtype == net.data(name).dtype
        assert back.inds(name) == net.inds(name) and not back.data(name).flags.writeable
    assert len(doc["labels"]) == 5  # A, B, i, ("h", (0, 1)), j: the shared hyperedge label is written once


def mutate(doc, fn):
    doc = json.loads(json.dumps(doc))
    fn(doc)
    return doc


CASES = [
    ("top-level list", lambda d: [1, 2], "must hold a JSON object"),
    ("version string", lambda d: dict(d, version="2"), "version must be a positive int"),
    ("version bool", lambda d: dict(d, version=True), "version must be a positive int"),
    ("version future", lambda d: dict(d, version=99), "format version 99"),
    ("kind bogus", lambda d: dict(d, kind="bogus"), "kind must be one of 'network', 'sum'"),
    ("tensors = 3", lambda d: dict(d, tensors=3), "field 'tensors' must be dict"),
    ("inds = 5", lambda d: mutate(d, lambda x: x["tensors"]["inds"].__setitem__(0, 5)), "expected a list of labels"),
    ("natural_path = abc", lambda d: dict(d, natural_path="abc"), "field 'natural_path' must be list"),
    ("bad tuple tag", lambda d: mutate(d, lambda x: x["labels"].__setitem__(2, {"__tuple__": 5})), "malformed __tuple__"),
    ("label id out of range", lambda d: mutate(d, lambda x: x["tensors"]["name"].__setitem__(0, 77)),
     "label id 77 is not in the label table"),
    ("shape 7x7 over 2x2", lambda d: mutate(d, lambda x: x["tensors"]["shape"].__setitem__(0, [7, 7])),
     "declares float64 \\(7, 7\\) but its array 0 is float64 \\(2, 2\\)"),
    ("dtype differs", lambda d: mutate(d, lambda x: x["tensors"]["dtype"].__setitem__(0, "float32")),
     "declares float32"),
    ("unknown dtype", lambda d: mutate(d, lambda x: x["tensors"]["dtype"].__setitem__(0, "float99")),
     "unknown dtype 'float99'"),
    ("missing member", lambda d: mutate(d, lambda x: x["packs"][0].__setitem__("member", "arrays/nope.npy")),
     "arrays/nope.npy: not in the archive"),
    ("array slice past its pack", lambda d: mutate(d, lambda x: x["arrays"][0].__setitem__(1, 3)),
     "exceed arrays/0.npy's 4"),
    ("pack size differs from header", lambda d: mutate(d, lambda x: x["packs"][0].__setitem__("size", 6)),
     "header declares float64 \\(4,\\), the JSON float64 \\(6,\\)"),
    ("columns of different length", lambda d: mutate(d, lambda x: x["tensors"]["dtype"].pop()),
     "differ in length"),
    ("metadata not an object", lambda d: dict(d, metadata=[1]), "metadata must be an object"),
    ("sum without terms", lambda d: dict(d, kind="sum", terms=[]), "at least one term"),
]


@pytest.mark.parametrize("name, change, message", CASES, ids=[c[0] for c in CASES])
def test_malformed_json_is_a_serialization_error_naming_the_place(saved, tmp_path, name, change, message):
    path, doc = saved
    bad = rewrite(path, tmp_path / "bad.tnet", change(doc))
    with pytest.raises(errors.SerializationError, match=message):
        tn.load(bad)


def test_deep_json_and_invalid_json(saved, tmp_path):
    path, _ = saved
    with pytest.raises(errors.SerializationError, match="nested too deeply"):
        tn.load(rewrite(path, tmp_path / "deep.tnet", "[" * 100_000 + "]" * 100_000))
    with pytest.raises(errors.SerializationError, match="not valid JSON"):
        tn.load(rewrite(path, tmp_path / "broken.tnet", "{"))


def test_index_sizes_must_agree_across_tensors(saved, tmp_path):
    path, doc = saved
    # tensor B says (3, 2) over a (3, 2) array: consistent alone, but the hyperedge has size 2 on A
    doc = mutate(doc, lambda x: (x["tensors"]["shape"].__setitem__(1, [3, 2]), x["arrays"][1].__setitem__(2, [3, 2]),
                                 x["packs"][1].__setitem__("size", 6)))
    new = npy(np.arange(6, dtype=np.int32))
    with pytest.raises(errors.SerializationError, match="tensor 'B'.*size 2 on tensor"):
        tn.load(rewrite(path, tmp_path / "sizes.tnet", doc, {"arrays/1.npy": new}))


def test_npy_headers_and_member_sizes_are_checked_before_reading(saved, tmp_path):
    path, doc = saved
    huge = npy(header_shape=(2**40,), data=b"\0" * 64)  # declares 8 TiB, holds 64 bytes
    doc8 = mutate(doc, lambda x: x["packs"][0].__setitem__("size", 2**40))
    tracemalloc.start()
    with pytest.raises(errors.SerializationError, match="holds 64 data bytes but its header declares"):
        tn.load(rewrite(path, tmp_path / "huge.tnet", doc8, {"arrays/0.npy": huge}))
    assert tracemalloc.get_traced_memory()[1] < 2**24
    tracemalloc.stop()
    other = npy(np.zeros((5, 2)))  # a (5, 2) array where the JSON says 4 entries
    with pytest.raises(errors.SerializationError, match="header declares float64 \\(5, 2\\)"):
        tn.load(rewrite(path, tmp_path / "other.tnet", None, {"arrays/0.npy": other}))
    with pytest.raises(errors.SerializationError, match="not a valid .npy header"):
        tn.load(rewrite(path, tmp_path / "garbage.tnet", None, {"arrays/0.npy": b"garbage"}))


def test_declared_bytes_are_checked_against_the_memory_limit(tmp_path):
    net = TensorNetwork()
    net.add_tensor("A", np.ones((256, 256)), ("i", "j"))
    net.save(tmp_path / "a.tnet")
    with pytest.raises(errors.MemoryLimitError, match="declares 524,288 bytes of arrays"):
        tn.load(tmp_path / "a.tnet", memory_limit=10**5)


def test_a_compressed_array_is_read_without_a_second_copy(tmp_path):
    """Version 1 (one deflated member per array): the peak is the array itself, not bytes + a copy."""
    n = 2**21  # 16 MiB of zeros, ~16 KiB compressed
    doc = {"format": "tnet", "version": 1, "kind": "network", "name": None, "output": ["i"], "input_legs": ["i"],
           "natural_path": None, "metadata": {},
           "tensors": [{"name": "Z", "inds": ["i"], "shape": [n], "dtype": "float64", "array": "arrays/0.npy"}]}
    path = tmp_path / "v1.tnet"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("network.json", json.dumps(doc))
        zf.writestr("arrays/0.npy", npy(np.zeros(n)))
    tracemalloc.start()
    back = tn.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert back.shape("Z") == (n,) and not back.data("Z").any()
    assert peak < 1.2 * 8 * n


def test_version_1_files_still_load(tmp_path):
    W = np.arange(6.0).reshape(2, 3)
    doc = {"format": "tnet", "version": 1, "kind": "sum", "name": "s", "metadata": {"k": {"__tuple__": [1, 2]}},
           "terms": [{"name": None, "output": ["i", "j"], "input_legs": ["i"], "natural_path": None, "metadata": {},
                      "tensors": [{"name": {"__tuple__": ["W", 0]}, "inds": ["i", "j"], "shape": [2, 3],
                                   "dtype": "float64", "array": "arrays/0.npy"}]}] * 2}
    path = tmp_path / "v1.tnet"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("network.json", json.dumps(doc))
        zf.writestr("arrays/0.npy", npy(W))
    back = tn.load(path)
    assert isinstance(back, NetworkSum) and back.metadata == {"k": (1, 2)}
    assert np.array_equal(back.to_dense(), 2 * W)
    assert back.terms[0].data(("W", 0)) is back.terms[1].data(("W", 0))


def test_save_refuses_what_could_not_be_read_back(tmp_path):
    class Label:  # hashable, but not a JSON value
        pass

    net = TensorNetwork()
    net.add_tensor(Label(), np.ones(2), ("i",))
    with pytest.raises(errors.SerializationError, match="cannot serialize"):
        net.save(tmp_path / "x.tnet")
    ok = TensorNetwork()
    ok.add_tensor("A", np.ones(2), ("i",))
    deep = []
    for _ in range(5000):
        deep = [deep]
    ok.metadata["deep"] = deep
    with pytest.raises(errors.SerializationError, match="nested too deeply"):
        ok.save(tmp_path / "y.tnet")


def json_bytes(path):
    with zipfile.ZipFile(path) as zf:
        return zf.getinfo("network.json").file_size


def test_files_grow_linearly_in_the_network(tmp_path):
    """A flat network's every tensor carries the root hyperedge (a label of N positions): interned, it is written once."""
    sizes = {}
    for N in (256, 1024):
        builders.shallow_convac(N, 2, 2).save(tmp_path / f"cp{N}.tnet")
        sizes[N] = json_bytes(tmp_path / f"cp{N}.tnet")
    assert sizes[1024] / sizes[256] < 4.5  # linear: 4x (quadratic was 16x)


def test_mixed_dtypes_and_byte_orders_round_trip(tmp_path):
    net = TensorNetwork()
    arrays = {"f": np.arange(3.0), "c": np.arange(3) * 1j, "i8": np.arange(3, dtype=np.int8),
              "be": np.arange(3, dtype=">f8"), "f2": np.ones((3, 1, 2), dtype=np.float32, order="F")}
    for k, a in arrays.items():
        net.add_tensor(k, a, ("x",) + tuple(f"{k}{d}" for d in range(a.ndim - 1)))
    net.save(tmp_path / "m.tnet")
    back = tn.load(tmp_path / "m.tnet")
    for k, a in arrays.items():
        assert back.data(k).dtype == a.dtype and np.array_equal(back.data(k), a)
