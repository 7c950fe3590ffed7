"""Save and load networks in an open, documented format (``.tnet``).

A ``.tnet`` file is a zip archive holding

* ``network.json`` (compact JSON)::

      {"format": "tnet", "version": 2, "kind": "network" | "sum",
       "labels": [label, ...],                  every tensor name and index label, once
       "packs": [{"member": "arrays/0.npy", "dtype": "<f8", "size": n}, ...],
       "arrays": [[pack, offset, shape], ...],  an array = ``size(shape)`` entries of a pack from ``offset``
       ...a network record, or "name", "metadata", "terms": [network record, ...] for a sum,
       or "name", "metadata", "module", "parts": [network record, ...] for a registered kind}

  A network record is ``{"name", "tensors", "output", "input_legs", "natural_path", "metadata"}`` with
  ``"tensors": {"name": [label id], "inds": [[label id, ...]], "shape": [[int, ...]], "dtype": [str | null],
  "array": [array id | null]}`` (one column per field; ``null`` marks a symbolic tensor) and
  ``"output"`` / ``"input_legs"`` lists of label ids. Labels are interned: a label such as the root
  hyperedge of a flat network, which every tensor carries, is written once, so the file grows
  linearly in the network. Terms of a sum that share an array point to the same array id, so
  sharing survives the round trip.
* ``arrays/<k>.npy``: one 1-d array per dtype (numpy's ``.npy`` format, stored uncompressed), every
  array of that dtype raveled (C order) one after the other.

Labels and metadata may be strings, ints, floats, bools, None, tuples, frozensets, lists and dicts;
JSON has no tuples, so they are tagged: ``{"__tuple__": [...]}``, ``{"__frozenset__": [...]}``, a dict
with non-string keys ``{"__dict__": [[key, value], ...]}``. Labels are interned by value (a label
equal to an earlier one of the same type is the same entry); ``save`` refuses a label that would not
read back equal to itself.

**Registered kinds.** An object that is neither a plain network nor a plain sum (e.g. a mixed decomposition,
which expands to astronomically many terms but is two networks plus a rule) is saved as its parts: its class
has ``tnet_kind`` (a name in :data:`KINDS`) and ``tnet_parts() -> (networks, metadata)``; ``load`` hands the
parts and metadata to the function registered under that name (``KINDS.register(kind, rebuild)``), by the
package that defines the class (``"module"`` in the file names it, so a reader without it gets a clear error).

``load`` checks the whole file against its JSON before building anything (kinds, versions, field
types, label ids, shapes and dtypes against each ``.npy`` header, each member's size against its
header, index sizes across tensors) and reads version-1 files (labels inline, one member per
array) too. Every problem is a :class:`~tn.errors.SerializationError` naming the member or tensor.
Arrays are read straight into their final buffer (no intermediate copy) and come back read-only.
"""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np

from . import memory
from .errors import SerializationError, TNError
from .gcpause import gc_paused
from .labels import LONG, Positions
from .network import check_label
from .registry import Registry

FORMAT, VERSION = "tnet", 2
KINDS = Registry("file kind", hint="(the package defining the object registers its kind when imported)")
_BUILTIN_KINDS = ("network", "sum")
_JSON = "network.json"
_MAX_HEADER = 10_000  # bytes of a .npy header (numpy's own default limit)
_CHUNK = 2**18


def encode(value):
    """A JSON-able form of a label or metadata value (tuples and frozensets tagged)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is tuple:
        return {"__tuple__": _encode_items(value)}
    if kind is list:
        return _encode_items(value)
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": _encode_items(value)}
    if isinstance(value, frozenset):
        return {"__frozenset__": sorted((encode(v) for v in value), key=repr)}
    if isinstance(value, list):
        return _encode_items(value)
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise SerializationError(f"cannot serialize {value!r} of type {type(value).__name__}: labels and metadata "
                             "must be str, int, float, bool, None, tuple, frozenset, list or dict")


def _plain(items) -> bool:
    """Only ints and strings: nothing to tag (the common case, checked at C speed)."""
    return set(map(type, items)) <= _PLAIN_TYPES


_PLAIN_TYPES = {int, str}


def _encode_items(items) -> list:
    return list(items) if _plain(items) else [encode(v) for v in items]


def decode(value):
    """The inverse of :func:`encode`; a malformed tag is a :class:`SerializationError`."""
    if isinstance(value, list):
        return value if _plain(value) else [decode(v) for v in value]
    if isinstance(value, dict):
        for tag, build in (("__tuple__", tuple), ("__frozenset__", frozenset)):
            if tag in value:
                items = value[tag]
                if len(value) != 1 or not isinstance(items, list):
                    raise SerializationError(f"malformed {tag} value {_preview(value)} (expected {{{tag!r}: [...]}})")
                try:
                    if _plain(items):  # long int tuples (tree-node labels) come back hash-cached
                        long = build is tuple and len(items) >= LONG and set(map(type, items)) == {int}
                        return Positions(items) if long else build(items)
                    return build(decode(v) for v in items)
                except TypeError:  # an unhashable member of a frozenset
                    raise SerializationError(f"malformed {tag} value {_preview(value)}: unhashable members") from None
        if "__dict__" in value:
            pairs = value["__dict__"]
            if len(value) != 1 or not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2
                                                                         for p in pairs):
                raise SerializationError(f"malformed __dict__ value {_preview(value)} (expected [[key, value], ...])")
            try:
                return {decode(k): decode(v) for k, v in pairs}
            except TypeError:
                raise SerializationError(f"malformed __dict__ value {_preview(value)}: an unhashable key") from None
        return {k: decode(v) for k, v in value.items()}
    return value


def _preview(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------- save
class _Writer:
    """Interns labels and arrays while the records are built."""

    def __init__(self):
        self.labels, self._label_ids = [], {}
        self.arrays, self._array_ids = [], {}  # arrays: (pack key, array); ids by identity (sharing survives)
        self.packs: dict = {}  # dtype str -> [pack index, total size, arrays]
        self._dtype_names: dict = {}

    def label(self, label) -> int:
        key = (type(label), label)
        found = self._label_ids.get(key)
        if found is None:
            try:
                check_label(label, "label", "save")
            except TNError as exc:
                raise SerializationError(f"cannot save: {exc}") from None
            found = self._label_ids[key] = len(self.labels)
            self.labels.append(encode(label))
        return found

    def array(self, data) -> int:
        found = self._array_ids.get(id(data))
        if found is None:
            pack = self.packs.setdefault(data.dtype.str, [len(self.packs), 0, []])
            self.arrays.append([pack[0], pack[1], list(data.shape)])
            pack[1] += data.size
            pack[2].append(data)
            found = self._array_ids[id(data)] = len(self.arrays) - 1
        return found

    def dtype_name(self, dtype) -> str:
        if dtype not in self._dtype_names:
            self._dtype_names[dtype] = str(dtype)
        return self._dtype_names[dtype]

    def record(self, net) -> dict:
        names, inds, shapes, dtypes, arrays = [], [], [], [], []
        for name in net.tensor_names:
            data = net.data(name)
            names.append(self.label(name))
            inds.append([self.label(i) for i in net.inds(name)])
            shapes.append(list(net.shape(name)))
            dtypes.append(None if data is None else self.dtype_name(data.dtype))
            arrays.append(None if data is None else self.array(data))
        return {"name": encode(net.name),
                "tensors": {"name": names, "inds": inds, "shape": shapes, "dtype": dtypes, "array": arrays},
                "output": [self.label(i) for i in net.output], "input_legs": [self.label(i) for i in net.input_legs],
                "natural_path": net.natural_path, "metadata": encode(net.metadata)}

    def header(self) -> dict:
        packs = [{"member": f"arrays/{k}.npy", "dtype": dtype, "size": size}
                 for dtype, (k, size, _) in self.packs.items()]
        return {"labels": self.labels, "packs": packs, "arrays": self.arrays}


@gc_paused
def save(obj, path):
    """Write a :class:`~tn.TensorNetwork` or :class:`~tn.NetworkSum` to ``path`` (format: module docstring)."""
    from .netsum import NetworkSum
    writer = _Writer()
    try:
        kind = getattr(type(obj), "tnet_kind", None)
        if kind is not None:
            KINDS.get(kind)  # an unregistered kind could not be read back
            parts, metadata = obj.tnet_parts()
            body = {"kind": kind, "name": encode(obj.name), "metadata": encode(metadata),
                    "module": type(obj).__module__, "parts": [writer.record(t) for t in parts]}
        elif isinstance(obj, NetworkSum):
            body = {"kind": "sum", "name": encode(obj.name), "metadata": encode(obj.metadata),
                    "terms": [writer.record(t) for t in obj.terms]}
        else:
            body = {"kind": "network", **writer.record(obj)}
        text = json.dumps({"format": FORMAT, "version": VERSION, **writer.header(), **body}, separators=(",", ":"))
    except RecursionError:
        raise SerializationError("cannot save: a label or the metadata is nested too deeply for JSON") from None
    try:
        with zipfile.ZipFile(path, "w") as zf:
            # level 1: 4.4x faster than the default on the 52 MB label table of N = 65536, the file 19 % larger
            zf.writestr(_JSON, text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
            for dtype, (k, size, arrays) in writer.packs.items():
                with zf.open(f"arrays/{k}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array_header_2_0(
                        fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                             "shape": (size,)})
                    for a in arrays:  # streamed: no concatenated copy of the arrays
                        fh.write(np.ascontiguousarray(a).data)
    except OSError as exc:
        raise SerializationError(f"cannot write {path!s}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------- load
class _Reader:
    """Checks a parsed document piece by piece; every complaint names where in the file it is."""

    def __init__(self, path, zf, doc):
        self.path, self.zf, self.doc = path, zf, doc
        self.version = doc["version"]
        self.labels = None
        self._packs, self._arrays = {}, {}

    def fail(self, where, message):
        raise SerializationError(f"{self.path!s}: {where}: {message}")

    def field(self, rec, key, types, where, optional=False):
        if key not in rec:
            if optional:
                return None
            self.fail(where, f"missing field {key!r}")
        value = rec[key]
        if optional and value is None:
            return None
        if not isinstance(value, types) or isinstance(value, bool) and bool not in _tuple(types):
            names = " or ".join(t.__name__ for t in _tuple(types))
            self.fail(where, f"field {key!r} must be {names}, not {type(value).__name__} ({_preview(value)})")
        return value

    def count(self, value, where, minimum=0):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(where, f"expected an int >= {minimum}, got {_preview(value)}")
        return value

    def ids(self, values, where):
        if not isinstance(values, list):
            self.fail(where, f"expected a list of labels, got {_preview(values)}")
        if self.version == 1:
            return [self.decoded(v, where) for v in values]
        labels = self.label_table()
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < len(labels):
                self.fail(where, f"label id {_preview(v)} is not in the label table (of {len(labels)})")
            out.append(labels[v])
        return out

    def decoded(self, value, where):
        label = decode(value)
        try:
            hash(label)
        except TypeError:
            self.fail(where, f"label {_preview(value)} is not hashable")
        return label

    def label_table(self):
        if self.labels is None:
            self.labels = [self.decoded(v, f"label {k}") for k, v in
                           enumerate(self.field(self.doc, "labels", list, "header"))]
        return self.labels

    # -- arrays
    def check_arrays(self):
        """Validate packs (against their .npy headers and member sizes) and array slices; returns the byte total."""
        if self.version == 1:
            return 0  # members are checked one by one, as tensors name them
        packs = self.field(self.doc, "packs", list, "header")
        total = 0
        for k, pack in enumerate(packs):
            where = f"pack {k}"
            if not isinstance(pack, dict):
                self.fail(where, f"expected an object, got {_preview(pack)}")
            member = self.field(pack, "member", str, where)
            dtype = self.dtype(self.field(pack, "dtype", str, where), where)
            size = self.count(self.field(pack, "size", int, where), where)
            self.header(member, dtype, (size,))
            self._packs[k] = (member, dtype, size)
            total += size * dtype.itemsize
        for a, entry in enumerate(self.field(self.doc, "arrays", list, "header")):
            where = f"array {a}"
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], list)):
                self.fail(where, f"expected [pack, offset, shape], got {_preview(entry)}")
            pack, offset, shape = entry
            if isinstance(pack, bool) or pack not in self._packs:
                self.fail(where, f"pack {_preview(pack)} does not exist ({len(self._packs)} packs)")
            offset = self.count(offset, where)
            shape = tuple(self.count(d, where, 1) for d in shape)
            member, dtype, size = self._packs[pack]
            if offset + math.prod(shape) > size:
                self.fail(where, f"entries {offset}..{offset + math.prod(shape)} exceed {member}'s {size}")
        return total

    def dtype(self, text, where):
        try:
            dtype = np.dtype(text)
        except TypeError:
            self.fail(where, f"unknown dtype {text!r}")
        if dtype.kind not in "biufc":
            self.fail(where, f"dtype {dtype} is not a numeric dtype")
        return dtype

    def header(self, member, dtype, shape):
        """Check ``member``'s .npy header against the dtype and shape the JSON declares, and its size."""
        try:
            info = self.zf.getinfo(member)
        except KeyError:
            self.fail(f"member {member}", "not in the archive")
        with self.zf.open(info) as fh:
            try:
                version = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                got_shape, fortran, got_dtype = read(fh, max_header_size=_MAX_HEADER)
            except ValueError as exc:
                self.fail(f"member {member}", f"not a valid .npy header ({exc})")
            offset = fh.tell()
        if got_dtype != dtype or (shape is not None and tuple(got_shape) != tuple(shape)):
            self.fail(f"member {member}", f"the .npy header declares {got_dtype} {tuple(got_shape)}, the JSON "
                                          f"{dtype} {tuple(shape) if shape is not None else ''}")
        nbytes = math.prod(got_shape) * got_dtype.itemsize
        if info.file_size != offset + nbytes:
            self.fail(f"member {member}", f"holds {info.file_size - offset:,} data bytes but its header declares "
                                          f"{got_dtype} {tuple(got_shape)} = {nbytes:,} bytes")
        return tuple(got_shape), fortran

    def _read_member(self, member, dtype, shape, fortran=False):
        buffer = np.empty(math.prod(shape), dtype)
        with self.zf.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(
                fh, max_header_size=_MAX_HEADER)
            view = memoryview(buffer).cast("B")
            done = 0
            while done < len(view):  # straight into the final buffer: no bytes object, no copy
                n = fh.readinto(view[done:done + _CHUNK])  # zipfile reads a whole request into bytes first
                if not n:
                    self.fail(f"member {member}", "ends early")
                done += n
        buffer = buffer.reshape(shape, order="F" if fortran else "C")
        buffer.flags.writeable = False
        return buffer

    def array(self, ref, shape, dtype_text, where):
        """The array a tensor names, checked against the tensor's declared shape and dtype."""
        if not isinstance(dtype_text, str):
            self.fail(where, f"a numeric tensor needs a dtype string, got {_preview(dtype_text)}")
        dtype = self.dtype(dtype_text, where)
        if self.version == 1:
            if not isinstance(ref, str):
                self.fail(where, f"field 'array' must be a member name, got {_preview(ref)}")
            if ref not in self._arrays:
                got_shape, fortran = self.header(ref, dtype, shape)
                self._arrays[ref] = self._read_member(ref, dtype, got_shape, fortran)
            return self._arrays[ref]
        table = self.doc["arrays"]
        if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < len(table):
            self.fail(where, f"array id {_preview(ref)} is not in the array table (of {len(table)})")
        pack, offset, array_shape = table[ref]
        member, pack_dtype, size = self._packs[pack]
        if tuple(array_shape) != tuple(shape) or pack_dtype != dtype:
            self.fail(where, f"declares {dtype} {tuple(shape)} but its array {ref} is {pack_dtype} "
                             f"{tuple(array_shape)} (in {member})")
        if pack not in self._arrays:
            self._arrays[pack] = self._read_member(member, pack_dtype, (size,))
        key = ("array", ref)
        if key not in self._arrays:  # one view per array id: shared arrays stay shared
            self._arrays[key] = self._arrays[pack][offset:offset + math.prod(shape)].reshape(shape)
        return self._arrays[key]

    # -- networks
    def network(self, rec, where):
        from .network import TensorNetwork
        if not isinstance(rec, dict):
            self.fail(where, f"a network record must be an object, not {_preview(rec)}")
        net = TensorNetwork(decode(rec.get("name")))
        for name, inds, data in self.tensors(rec, where):
            try:
                net.add_tensor(name, data, inds)
            except TNError as exc:
                self.fail(f"{where}, tensor {name!r}", str(exc))
        try:
            net.set_output(tuple(self.ids(self.field(rec, "output", list, where), f"{where}, output")))
            net.set_input_legs(tuple(self.ids(self.field(rec, "input_legs", list, where), f"{where}, input_legs")))
            path = self.field(rec, "natural_path", list, where, optional=True)
            if path is not None:
                if not all(isinstance(s, list) and all(isinstance(p, int) and not isinstance(p, bool) for p in s)
                           for s in path):
                    self.fail(where, f"natural_path must be a list of lists of ints, got {_preview(path)}")
                net.set_natural_path(path)
        except TNError as exc:
            if isinstance(exc, SerializationError):
                raise
            self.fail(where, str(exc))
        net.metadata = self.metadata(rec, where)
        return net

    def tensors(self, rec, where):
        """(name, inds, array or shape) per tensor, every field checked."""
        if self.version == 1:
            rows = self.field(rec, "tensors", list, where)
            if not all(isinstance(t, dict) for t in rows):
                self.fail(where, "every tensor record must be an object")
            columns = {k: [t.get(k) for t in rows] for k in ("name", "inds", "shape", "dtype", "array")}
            columns["name"] = [self.decoded(n, f"{where}, tensor {k}") for k, n in enumerate(columns["name"])]
        else:
            columns = self.field(rec, "tensors", dict, where)
            for key in ("name", "inds", "shape", "dtype", "array"):
                self.field(columns, key, list, f"{where}, tensors")
            if len({len(columns[k]) for k in ("name", "inds", "shape", "dtype", "array")}) != 1:
                self.fail(f"{where}, tensors", "the columns name, inds, shape, dtype, array differ in length")
            columns = dict(columns, name=self.ids(columns["name"], f"{where}, tensor names"))
        for k, name in enumerate(columns["name"]):
            at = f"{where}, tensor {name!r}"
            inds = tuple(self.ids(columns["inds"][k], f"{at}, inds"))
            shape = columns["shape"][k]
            if not isinstance(shape, list):
                self.fail(at, f"shape must be a list of ints, got {_preview(shape)}")
            shape = tuple(self.count(d, f"{at}, shape", 1) for d in shape)
            if len(shape) != len(inds):
                self.fail(at, f"shape {shape} has {len(shape)} axes but {len(inds)} indices")
            ref = columns["array"][k]
            yield name, inds, shape if ref is None else self.array(ref, shape, columns["dtype"][k], at)

    def metadata(self, rec, where):
        value = decode(rec.get("metadata") or {})
        if not isinstance(value, dict):
            self.fail(where, f"metadata must be an object, got {_preview(value)}")
        return value

    def build(self):
        from .netsum import NetworkSum
        kind = self.field(self.doc, "kind", str, "header")
        if kind == "network":
            return self.network(self.doc, "network")
        if kind != "sum":
            return self.registered(kind)
        terms = self.field(self.doc, "terms", list, "header")
        if not terms:
            self.fail("header", "a sum needs at least one term")
        nets = [self.network(r, f"term {k}") for k, r in enumerate(terms)]
        try:
            total = NetworkSum(nets, decode(self.doc.get("name")))
        except TNError as exc:
            self.fail("terms", str(exc))
        total.metadata = self.metadata(self.doc, "sum")
        return total


    def registered(self, kind):
        if kind not in KINDS:
            module = self.doc.get("module")
            known = ", ".join(map(repr, (*_BUILTIN_KINDS, *KINDS.names())))
            self.fail("header", f"kind must be one of {known}, not {kind!r}"
                      + (f" (files of this kind are read after `import {module}`)" if isinstance(module, str) else ""))
        parts = self.field(self.doc, "parts", list, "header")
        nets = [self.network(r, f"part {k}") for k, r in enumerate(parts)]
        metadata = self.metadata(self.doc, kind)
        try:
            return KINDS.get(kind)(nets, metadata, decode(self.doc.get("name")))
        except (TNError, KeyError, TypeError, ValueError, IndexError) as exc:  # parts or metadata that do not fit
            self.fail("parts", f"cannot rebuild a {kind!r}: {type(exc).__name__}: {exc}")


def _tuple(types):
    return types if isinstance(types, tuple) else (types,)


@gc_paused
def load(path, memory_limit=None):
    """Read a ``.tnet`` file written by :func:`save` (or by version 1 of the format).

    The declared array bytes are checked against the memory limit (:mod:`tn.memory`) before any
    array is read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            doc = _document(path, zf, memory_limit)
            reader = _Reader(path, zf, doc)
            nbytes = reader.check_arrays() + 2 * _CHUNK  # zipfile's read buffer and the chunk being copied
            memory.check_bytes(nbytes, memory_limit, "load", f"{path!s} declares {nbytes - 2 * _CHUNK:,} bytes of "
                               "arrays", ways_out="load it on a machine with more memory")
            return reader.build()
    except FileNotFoundError:
        raise SerializationError(f"no such file: {path!s}") from None
    except OSError as exc:  # a directory, no permission, ...
        raise SerializationError(f"cannot read {path!s}: {exc.strerror or exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise SerializationError(f"cannot read {path!s} as a .tnet network: {exc}") from None
    except RecursionError:
        raise SerializationError(f"{path!s}: the JSON is nested too deeply to be a .tnet network") from None


def _document(path, zf, memory_limit):
    """The parsed ``network.json``, its size checked before reading, its header fields checked."""
    try:
        info = zf.getinfo(_JSON)
    except KeyError:
        raise SerializationError(f"{path!s} is not a .tnet file (no {_JSON} member)") from None
    memory.check_bytes(info.file_size, memory_limit, "load", f"its {_JSON} has {info.file_size:,} bytes",
                       ways_out="load it on a machine with more memory")
    try:
        doc = json.loads(zf.read(info))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(f"{path!s}: {_JSON} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise SerializationError(f"{path!s}: {_JSON} must hold a JSON object, not {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise SerializationError(f"{path!s} is not a .tnet file (format {_preview(doc.get('format'))})")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SerializationError(f"{path!s}: version must be a positive int, got {_preview(version)}")
    if version > VERSION:
        raise SerializationError(f"{path!s} has format version {version}, this reader knows 1..{VERSION}")
    return doc
