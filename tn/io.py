"""Save and load networks in an open, documented format (``.tnet``).

A ``.tnet`` file is a zip archive holding

* ``network.json``: ``{"format": "tnet", "version": 1, "kind": "network" | "sum", ...}``. A network is
  ``{"name", "tensors": [{"name", "inds", "shape", "dtype", "array"}], "output", "input_legs",
  "natural_path", "metadata"}``; a sum is ``{"name", "metadata", "terms": [network, ...]}``.
  ``"array"`` names an entry of the archive, or is ``null`` for a symbolic tensor; terms of a sum
  that share an array point to the same entry, so sharing survives the round trip.
* ``arrays/<k>.npy``: the arrays, in numpy's standard ``.npy`` format.

Labels (tensor names, indices) and metadata may be strings, ints, floats, bools, None, tuples,
frozensets, lists and dicts; JSON has no tuples, so they are tagged: ``{"__tuple__": [...]}``,
``{"__frozenset__": [...]}``, a dict with non-string keys ``{"__dict__": [[key, value], ...]}``.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from .errors import SerializationError

FORMAT, VERSION = "tnet", 1


def encode(value):
    """A JSON-able form of a label or metadata value (tuples and frozensets tagged)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, frozenset):
        return {"__frozenset__": sorted((encode(v) for v in value), key=repr)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise SerializationError(f"cannot serialize {value!r} of type {type(value).__name__}: labels and metadata "
                             "must be str, int, float, bool, None, tuple, frozenset, list or dict")


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        if "__frozenset__" in value:
            return frozenset(decode(v) for v in value["__frozenset__"])
        if "__dict__" in value:
            return {decode(k): decode(v) for k, v in value["__dict__"]}
        return {k: decode(v) for k, v in value.items()}
    return value


def _network_record(net, arrays: dict) -> dict:
    tensors = []
    for name in net.tensor_names:
        data = net.data(name)
        key = None
        if data is not None:
            key = arrays.setdefault(id(data), (f"arrays/{len(arrays)}.npy", data))[0]
        tensors.append({"name": encode(name), "inds": [encode(i) for i in net.inds(name)],
                        "shape": list(net.shape(name)), "dtype": None if data is None else str(data.dtype),
                        "array": key})
    return {"name": encode(net.name), "tensors": tensors, "output": [encode(i) for i in net.output],
            "input_legs": [encode(i) for i in net.input_legs], "natural_path": net.natural_path,
            "metadata": encode(net.metadata)}


def save(obj, path):
    """Write a :class:`~tn.TensorNetwork` or :class:`~tn.NetworkSum` to ``path``."""
    from .netsum import NetworkSum
    arrays: dict = {}
    if isinstance(obj, NetworkSum):
        doc = {"kind": "sum", "name": encode(obj.name), "metadata": encode(obj.metadata),
               "terms": [_network_record(t, arrays) for t in obj.terms]}
    else:
        doc = {"kind": "network", **_network_record(obj, arrays)}
    doc = {"format": FORMAT, "version": VERSION, **doc}
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("network.json", json.dumps(doc, indent=1))
            for key, array in arrays.values():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
                zf.writestr(key, buf.getvalue())
    except OSError as exc:
        raise SerializationError(f"cannot write {path!s}: {exc.strerror or exc}") from None


def _network_from_record(rec, zf, cache):
    from .network import TensorNetwork
    net = TensorNetwork(decode(rec["name"]))
    for t in rec["tensors"]:
        key = t["array"]
        if key is None:
            data = tuple(t["shape"])
        else:
            if key not in cache:
                with zf.open(key) as fh:
                    cache[key] = np.lib.format.read_array(io.BytesIO(fh.read()), allow_pickle=False)
            data = cache[key]
        net.add_tensor(decode(t["name"]), data, tuple(decode(i) for i in t["inds"]))
    net.set_output(tuple(decode(i) for i in rec["output"]))
    net.set_input_legs(tuple(decode(i) for i in rec["input_legs"]))
    if rec.get("natural_path") is not None:
        net.set_natural_path(rec["natural_path"])
    net.metadata = decode(rec.get("metadata") or {})
    return net


def load(path):
    """Read a ``.tnet`` file written by :func:`save`."""
    from .netsum import NetworkSum
    try:
        with zipfile.ZipFile(path) as zf:
            doc = json.loads(zf.read("network.json"))
            if doc.get("format") != FORMAT:
                raise SerializationError(f"{path!s} is not a .tnet file (format {doc.get('format')!r})")
            if doc.get("version", 0) > VERSION:
                raise SerializationError(f"{path!s} has format version {doc['version']}, this reader knows {VERSION}")
            cache: dict = {}
            if doc["kind"] == "sum":
                total = NetworkSum([_network_from_record(r, zf, cache) for r in doc["terms"]], decode(doc.get("name")))
                total.metadata = decode(doc.get("metadata") or {})
                return total
            return _network_from_record(doc, zf, cache)
    except FileNotFoundError:
        raise SerializationError(f"no such file: {path!s}") from None
    except OSError as exc:  # a directory, no permission, ...
        raise SerializationError(f"cannot read {path!s}: {exc.strerror or exc}") from None
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, SerializationError):
            raise
        raise SerializationError(f"cannot read {path!s} as a .tnet network: {exc}") from None
