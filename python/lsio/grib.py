"""GRIB2 files through LSIO: index without decoding, read at decode speed, open as xarray.

    idx = lsio.grib.index(["gfs.f000.grib2", "gfs.f006.grib2"])   # one batched pass over the files
    idx.to_json("gfs.idx.json")                                     # keys relative to a root: survives moves
    idx = lsio.grib.Index.from_json("gfs.idx.json")
    t = idx.select(shortName="t").read()                            # (n, Nj, Ni) float32, NaN where missing
    ds = lsio.grib.open_dataset(idx)                                # lazy, cfgrib-compatible names and coords

Indexing reads section 0 of every message (its length) and sections 1-6 (the whole message when small) in
batches and takes the keys from ecCodes without decoding values; with a NOAA wgrib2 ``FILE.idx`` or an ECMWF
``.index`` beside a file, the message boundaries come from it and the section-0 walk is skipped
(``inventories=``, see index()). Reads are one batch of whole messages, each
decoded by ecCodes on the store worker that read it, straight into its slot of the output array.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _lsio
from ._grib_inventory import GribInventoryError

if TYPE_CHECKING:
    import xarray

    from . import Store

__all__ = ["GribInventoryError", "GribWarning", "Index", "Record", "index", "open_dataset", "to_zarr"]

_FORMAT = "lsio.grib.index"
_VERSION = 1


class GribWarning(UserWarning):
    """Bytes skipped while indexing (garbage between messages), a message only partly indexed, or an inventory
    beside a file that was not used (it disagrees with the file)."""


@dataclass(frozen=True)
class Record:
    """One GRIB2 field as the index knows it (ecCodes key names; ``path`` is a key of the index's store)."""

    path: str
    offset: int
    length: int
    field: int
    fields: int
    edition: int
    shortName: str  # noqa: N815 - ecCodes key names
    typeOfLevel: str  # noqa: N815
    packingType: str  # noqa: N815
    gridType: str  # noqa: N815
    units: str
    name: str
    stepUnits: str  # noqa: N815
    level: int
    dataDate: int  # noqa: N815
    dataTime: int  # noqa: N815
    step: int
    validityDate: int  # noqa: N815
    validityTime: int  # noqa: N815
    number: int  # ensemble member, -1 when the message has none
    paramId: int  # noqa: N815
    discipline: int
    parameterCategory: int  # noqa: N815
    parameterNumber: int  # noqa: N815
    Ni: int  # noqa: N815
    Nj: int  # noqa: N815
    numberOfPoints: int  # noqa: N815
    numberOfValues: int  # noqa: N815
    bitmapPresent: int  # noqa: N815
    latitudeOfFirstGridPointInDegrees: float  # noqa: N815
    longitudeOfFirstGridPointInDegrees: float  # noqa: N815
    latitudeOfLastGridPointInDegrees: float  # noqa: N815
    longitudeOfLastGridPointInDegrees: float  # noqa: N815
    iDirectionIncrementInDegrees: float  # noqa: N815
    jDirectionIncrementInDegrees: float  # noqa: N815
    iScansNegatively: int  # noqa: N815
    jScansPositively: int  # noqa: N815

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """(Nj, Ni) for regular grids, else (numberOfPoints,)."""
        if self.Ni > 0 and self.Nj > 0 and self.Ni * self.Nj == self.numberOfPoints:
            return (self.Nj, self.Ni)
        return (self.numberOfPoints,)


_FIELDS = [f.name for f in fields(Record)]

# ---- stores ---------------------------------------------------------------------------------------------------------

_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _store_for(root: str) -> Store:
    """One shared store per root (a local directory or an s3:// / http(s):// base URL)."""
    import lsio

    with _stores_lock:
        s = _stores.get(root)
        if s is None:
            s = _stores[root] = lsio.open(root)
        return s


def _split(paths: Sequence[str]) -> tuple[str, list[str]]:
    """(root, keys): the common parent of `paths` and each path relative to it."""
    if not paths:
        raise ValueError("lsio.grib.index: no files given")
    if all(_is_url(p) for p in paths):
        parents = [p.rsplit("/", 1)[0] + "/" for p in paths]
        root = os.path.commonprefix(parents)
        root = root[: root.rfind("/") + 1]  # a whole directory ("s3://bucket/a/", "http://host/x/")
        return root, [p[len(root) :] for p in paths]
    if any(_is_url(p) for p in paths):
        raise ValueError("lsio.grib.index: mix of URLs and local paths")
    absolute = [os.path.abspath(p[7:] if p.startswith("file://") else p) for p in paths]
    root = os.path.commonpath([os.path.dirname(p) for p in absolute])
    return root, [os.path.relpath(p, root) for p in absolute]


# ---- the index ------------------------------------------------------------------------------------------------------


class Index(Sequence[Record]):
    """The messages of some GRIB2 files: plain records, in file then offset order.

    ``root`` is the directory or URL the record paths are relative to (``None`` when the index was built on a
    store given by the caller: the paths are then that store's keys).
    """

    def __init__(self, records: Sequence[Record], store: Store, root: Optional[str] = None,
                 warnings: Sequence[str] = ()) -> None:  # fmt: skip
        self.records: list[Record] = list(records)
        self.store = store
        self.root = root
        self.warnings: list[str] = list(warnings)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return Index(self.records[i], self.store, self.root)
        return self.records[i]

    def __repr__(self) -> str:
        files = len({r.path for r in self.records})
        return f"<lsio.grib.Index: {len(self)} messages in {files} files under {self.root!r}>"

    # -- selection --

    def select(self, fn: Optional[Callable[[Record], bool]] = None, **keys: Any) -> Index:
        """The records where every ``key=value`` matches (a value may be a list/tuple/set of values) and ``fn``."""

        def ok(r: Record) -> bool:
            for k, v in keys.items():
                got = getattr(r, k)
                if isinstance(v, (list, tuple, set, frozenset)):
                    if got not in v:
                        return False
                elif got != v:
                    return False
            return fn is None or bool(fn(r))

        return Index([r for r in self.records if ok(r)], self.store, self.root)

    def to_records(self) -> list[dict[str, Any]]:
        """The records as plain dicts (ecCodes key names)."""
        return [asdict(r) for r in self.records]

    # -- reads --

    def read(self, selection: Union[None, Index, Iterable[Union[Record, int]]] = None, *, dtype: Any = np.float32,
             out: Optional[npt.NDArray[Any]] = None, timeout: Optional[float] = None) -> npt.NDArray[Any]:  # fmt: skip
        """Decodes the selected messages (all by default) into one array of shape (n, *grid_shape).

        One LSIO batch of whole messages; each is decoded on the store worker that read it straight into its
        slot (float32 or float64; missing values NaN). Every message must have the same number of points.
        """
        recs = self._pick(selection)
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"lsio.grib: dtype must be float32 or float64, not {dt}")
        shapes = {r.grid_shape for r in recs}
        if len(shapes) > 1:
            raise ValueError(f"lsio.grib: the selected messages have different grids: {sorted(shapes)}")
        shape = shapes.pop() if shapes else (0,)
        stride = int(np.prod(shape))
        if out is None:
            out = np.empty((len(recs), *shape), dtype=dt)
        elif out.dtype != dt or not out.flags.c_contiguous or out.size != len(recs) * stride:
            raise ValueError("lsio.grib: out must be C-contiguous, of dtype and size of the selection")
        if recs:
            _read_into(self.store, recs, out, dt, stride, timeout)
        return out

    def _pick(self, selection: Union[None, Index, Iterable[Union[Record, int]]]) -> list[Record]:
        if selection is None:
            return self.records
        if isinstance(selection, Index):
            return selection.records
        return [self.records[s] if isinstance(s, (int, np.integer)) else s for s in selection]

    # -- JSON --

    def to_json(self, path: Union[str, os.PathLike[str]], *, root: Optional[str] = None) -> None:
        """Writes the index as JSON, paths relative to ``root``.

        ``root`` defaults to the directory of the JSON file for local files (so the index moves with its data),
        or to the base URL for remote files.
        """
        path = os.fspath(path)
        here = self.root
        if here is None:
            base, keys = None, [r.path for r in self.records]
        elif _is_url(here):
            base, keys = root or here, [self._relative(r.path, here, root or here) for r in self.records]
        else:
            base = os.path.abspath(root or os.path.dirname(os.path.abspath(path)))
            keys = [os.path.relpath(os.path.join(here, r.path), base) for r in self.records]
        doc = {
            "format": _FORMAT,
            "version": _VERSION,
            "root": base if base is None or _is_url(base) or root is not None else ".",
            "fields": _FIELDS,
            "messages": [[k, *list(asdict(r).values())[1:]] for k, r in zip(keys, self.records)],
        }
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
        os.replace(tmp, path)

    @staticmethod
    def _relative(key: str, here: str, base: str) -> str:
        full = here.rstrip("/") + "/" + key
        if not full.startswith(base.rstrip("/") + "/"):
            raise ValueError(f"lsio.grib: {full} is not under {base}")
        return full[len(base.rstrip("/")) + 1 :]

    @classmethod
    def from_json(cls, path: Union[str, os.PathLike[str]], *, root: Optional[str] = None,
                  store: Optional[Store] = None) -> Index:  # fmt: skip
        """Reads an index written by to_json. Paths resolve against ``root`` (default: the root written in the
        file; "." means the JSON file's directory), or are keys of ``store`` when one is given."""
        path = os.fspath(path)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("format") != _FORMAT or doc.get("version") != _VERSION:
            raise ValueError(f"{path}: not an lsio.grib index (format {doc.get('format')!r}, version {doc.get('version')!r})")
        names = doc["fields"]
        if names != _FIELDS:
            raise ValueError(f"{path}: index fields differ from this lsio version's")
        records = [Record(*row) for row in doc["messages"]]
        if store is not None:
            return cls(records, store, None)
        base = root if root is not None else doc.get("root")
        if base is None:
            raise ValueError(f"{path}: the index was built on a caller's store: pass store= or root=")
        if base == "." or not _is_url(base):
            base = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(path)), base))
        return cls(records, _store_for(base), base)


def _read_into(store: Store, recs: Sequence[Record], out: npt.NDArray[Any], dt: np.dtype[Any], stride: int,
               timeout: Optional[float]) -> None:  # fmt: skip
    _lsio.grib_read(
        store,
        [r.path for r in recs],
        [r.offset for r in recs],
        [r.length for r in recs],
        [r.numberOfPoints for r in recs],
        [r.field for r in recs],
        [r.fields for r in recs],
        out,
        dtype=dt.name,
        stride=stride,
        timeout=timeout,
    )


def index(paths: Union[str, os.PathLike[str], Iterable[Union[str, os.PathLike[str]]]], store: Optional[Store] = None, *,
          skip_garbage: bool = True, probe_bytes: int = 65536, timeout: Optional[float] = None,
          inventories: Literal["auto", "ignore", "require"] = "auto") -> Index:  # fmt: skip
    """Indexes the GRIB2 messages of many files (local paths, or s3:// / http(s):// URLs) in batched passes.

    Values are not decoded. With ``store``, ``paths`` are keys of that store. Bytes that are not GRIB
    (garbage before, between or after messages) are skipped with a GribWarning, or refused with
    ``skip_garbage=False``; a truncated message, a wrong length in section 0, a file that is not GRIB or a
    missing file raise an lsio error naming the file and the byte offset.

    ``inventories``: NOAA wgrib2 ``FILE.idx`` and ECMWF ``FILE.index`` / ``STEM.index`` beside the files give
    the message boundaries, so the section-0 walk is skipped and the headers of all messages are read in one
    batch (the keys still come from the messages: the index is the one a walk gives). "auto" (default) uses an
    inventory when there is one; one that cannot be parsed or disagrees with its file (no "GRIB" at an offset,
    a length other than section 0's, a file size other than the inventory's end) gives a GribWarning naming
    the inventory, line and offset, and that file is walked instead. "require": every file must have an
    inventory that agrees with it, else GribInventoryError (a ValueError) naming the inventory, line and
    offset. "ignore": always walk.
    """
    if not getattr(_lsio, "HAS_GRIB", False):
        raise ImportError("lsio was built without ecCodes (libeccodes-dev): lsio.grib is not available")
    if inventories not in ("auto", "ignore", "require"):
        raise ValueError(f"lsio.grib.index: inventories must be 'auto', 'ignore' or 'require', not {inventories!r}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    plist = [os.fspath(p) for p in paths]
    if store is not None:
        root, keys = None, plist
    else:
        root, keys = _split(plist)
        store = _store_for(root)
    if inventories == "ignore":
        records, warns = _walk(store, keys, skip_garbage, probe_bytes, timeout)
    else:
        records, warns = _index_with_inventories(store, root, keys, inventories == "require", skip_garbage,
                                                 probe_bytes, timeout)  # fmt: skip
    for w in warns:
        warnings.warn(w, GribWarning, stacklevel=2)
    return Index(records, store, root, warns)


def _records(columns: Mapping[str, list[Any]]) -> list[Record]:
    return [Record(*row) for row in zip(*(columns[name] for name in _FIELDS))]


def _walk(store: Store, keys: list[str], skip_garbage: bool, probe_bytes: int,
          timeout: Optional[float]) -> tuple[list[Record], list[str]]:  # fmt: skip
    if not keys:
        return [], []
    columns, warns = _lsio.grib_scan(store, keys, skip_garbage=skip_garbage, probe_bytes=probe_bytes, timeout=timeout)
    return _records(columns), list(warns)


def _index_with_inventories(store: Store, root: Optional[str], keys: list[str], require: bool, skip_garbage: bool,
                            probe_bytes: int, timeout: Optional[float]) -> tuple[list[Record], list[str]]:  # fmt: skip
    """Files with an inventory: their messages in one batch (no walk); the others (and, in auto mode, those whose
    inventory disagrees with the file, with a warning) walked."""
    from ._grib_inventory import Inventory, Span, candidates, find

    def name_of(key: str) -> str:
        if root is None:
            return key
        return root.rstrip("/") + "/" + key if _is_url(root) else os.path.join(root, key)

    warns: list[str] = []
    bad: dict[int, GribInventoryError] = {}  # file index -> why its inventory is not used

    def reject(i: int, e: GribInventoryError) -> None:
        if require:
            raise e
        bad[i] = e
        warns.append(f"{e}; indexing {name_of(keys[i])} by walking its messages instead")

    found = find(store, keys, name_of, timeout)
    with_inv = [i for i, inv in enumerate(found) if isinstance(inv, Inventory)]
    for i, inv in enumerate(found):
        if isinstance(inv, GribInventoryError):
            reject(i, inv)
        elif inv is None and require:
            tried = ", ".join(name_of(c) for c in candidates(keys[i]))
            raise GribInventoryError(f"GRIB {name_of(keys[i])}: no inventory (looked for {tried})")
    sizes = store.sizes([keys[i] for i in with_inv]) if with_inv else []
    spans: dict[int, list[Span]] = {}
    for i, size in zip(with_inv, sizes):
        inv = found[i]
        assert isinstance(inv, Inventory)
        try:
            spans[i] = inv.spans(size)
        except GribInventoryError as e:
            reject(i, e)
    order = [(i, sp) for i in sorted(spans) for sp in spans[i]]
    by_file: dict[int, list[Record]] = {}
    if order:
        columns, span_warns, errors = _lsio.grib_scan_spans(
            store, [keys[i] for i, _ in order], [sp.offset for _, sp in order], [sp.length for _, sp in order],
            probe_bytes=probe_bytes, timeout=timeout)  # fmt: skip
        for (i, sp), err in zip(order, errors):
            if err is not None and i not in bad:
                inv = found[i]
                assert isinstance(inv, Inventory)
                reject(i, GribInventoryError(f"GRIB inventory {inv.name}: line {sp.line}: {err}"))
        warns += span_warns
        recs = _records(columns)
        files = {keys[i]: i for i in spans}
        for r in recs:
            i = files[r.path]
            if i not in bad:
                by_file.setdefault(i, []).append(r)
    walk = [i for i in range(len(keys)) if i not in spans or i in bad]
    walked, walk_warns = _walk(store, [keys[i] for i in walk], skip_garbage, probe_bytes, timeout)
    warns += walk_warns
    walk_files = {keys[i]: i for i in walk}
    for r in walked:
        by_file.setdefault(walk_files[r.path], []).append(r)
    return [r for i in range(len(keys)) for r in by_file.get(i, [])], warns


# ---- xarray --------------------------------------------------------------------------------------------------------


def open_dataset(source: Union[Index, str, os.PathLike[str], Iterable[Union[str, os.PathLike[str]]]], *,
                 dtype: Any = np.float32, drop_variables: Union[str, Iterable[str], None] = None) -> xarray.Dataset:  # fmt: skip
    """An xarray.Dataset over GRIB2 messages, lazy: only the messages a selection needs are read and decoded.

    Variables are named by shortName, with cfgrib's dimensions and coordinates (time, step, the typeOfLevel
    name such as isobaricInhPa, latitude, longitude, valid_time); dimensions of length 1 become scalar
    coordinates, as in cfgrib.
    """
    from ._grib_xarray import build_dataset

    idx = source if isinstance(source, Index) else index(source)
    drop = {drop_variables} if isinstance(drop_variables, str) else set(drop_variables or ())
    return build_dataset(idx, np.dtype(dtype), drop)


def to_zarr(source: Union[Index, str, os.PathLike[str], Iterable[Union[str, os.PathLike[str]]]],
            target: Union[str, os.PathLike[str], Store], *, chunks: Optional[Mapping[str, int]] = None,
            shards: Optional[Mapping[str, int]] = None, compressors: Optional[Sequence[Any]] = None,
            dtype: Any = np.float32, overwrite: bool = False, resume: bool = False,
            progress: Optional[Callable[[str, tuple[int, ...]], object]] = None,
            max_memory: Union[int, str] = "1GiB") -> None:  # fmt: skip
    """Converts GRIB2 messages to a Zarr v3 group (one array per shortName, CF-encoded coordinates), streaming.

    ``chunks`` and ``shards`` map dimension names to sizes (leading dimensions default to 1, latitude and
    longitude to whole); ``compressors`` are v3 codecs after ``bytes`` (e.g. ``[{"name": "zstd",
    "configuration": {"level": 3}}]``). Streaming within ``max_memory`` of decoded values: consecutive write
    units (shards, else chunks) along the last leading dimension are grouped into runs of at most half of
    it; each run's messages are read and decoded in one batch on the store's workers while the Zarr writer
    encodes and writes the previous run on all workers. A single write unit larger than that still goes
    alone. The group's zarr.json is written last.

    Restartable: ``resume=True`` continues a conversion that was stopped (killed, Ctrl-C, an error): arrays
    already there must be the ones this conversion makes (else ValueError), and write units whose shards
    (chunks) are all stored whole are skipped, as lsio.zarr.copy(resume=True) does (shards are stored
    atomically, so one that is there is complete); coordinates and the group are rewritten. ``overwrite``
    replaces existing arrays instead. ``progress(name, corner)`` is called after each write unit of each
    variable (written or skipped), with the unit's first leading indices.
    """
    from ._grib_xarray import write_zarr

    if overwrite and resume:
        raise ValueError("lsio.grib.to_zarr: overwrite and resume exclude each other")
    idx = source if isinstance(source, Index) else index(source)
    from . import parse_size

    write_zarr(idx, target, chunks=chunks, shards=shards, compressors=compressors, dtype=np.dtype(dtype),
               overwrite=overwrite, resume=resume, progress=progress, max_memory=parse_size(max_memory))  # fmt: skip


def is_grib(path: Any) -> bool:
    """True for a local path named .grib/.grib2/.grb/.grb2 or starting with "GRIB"."""
    if isinstance(path, Index):
        return True
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = os.fspath(path)
    if isinstance(p, bytes):
        return False
    if p.lower().endswith((".grib", ".grib2", ".grb", ".grb2")):
        return True
    import lsio

    try:  # the first 4 bytes, through the default store (nothing above the store layer opens files)
        return bytes(lsio.default_store().read_ranges([os.path.abspath(p)], [0], [4])[0]) == b"GRIB"
    except (OSError, ValueError):
        return False

