"""Zarr v2 and v3 arrays (sharded or not) read into numpy in one batched pass.

    import lsio.zarr
    a = lsio.zarr.open("/data/sat.zarr")           # an Array (or a Group)
    x = a[100:164, 2000:2512, 3000:3512]           # numpy basic indexing -> a new numpy array
    y = a.oindex[[3, 70, 9], :, 5:9]               # orthogonal indexing: index lists, bool masks, slices
    a.read((slice(0, 10), ...), out=buf)           # into a caller array, no extra copy
    b = lsio.zarr.create("/data/out.zarr", shape=(64, 1024, 1024), dtype="uint16",
                         chunks=(1, 64, 64), shards=(16, 512, 512))
    b[0:16] = x

Names follow zarr-python where the concept is the same (``shape``, ``dtype``,
``chunks``, ``shards``, ``attrs``, ``fill_value``, ``oindex``...). Each read
is one batch on the store's engine: shard indexes in one pass, then every chunk
the selection needs, each decoded on the worker that read it and written
straight into its place in the result (allocated once). Missing chunks, shards
and inner chunks read as the fill value. The GIL is released during reads and
writes.

Errors: a missing array is FileNotFoundError; corrupt data (bad checksum,
truncated shard, undecodable chunk) is lsio.DataLossError; invalid metadata or
arguments are ValueError; metadata this library does not support (an unknown
codec...) is lsio.LsioError. Messages name the key. An index out of bounds is
BoundsCheckError (both an IndexError and a ValueError).
"""

from __future__ import annotations

import atexit
import copy as _pycopy
import json
import math
import operator
import os
import pickle
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _lsio, default_store
from ._lsio import CancelToken, Store

__all__ = [
    "Array",
    "BoundsCheckError",
    "Group",
    "Stats",
    "copy",
    "create",
    "open",
    "open_array",
    "open_group",
]

StoreLike = Union[str, "os.PathLike[str]", Store]
Mode = Literal["r", "r+", "a"]
JSON = Any


class BoundsCheckError(IndexError, ValueError):
    """An index or slice of a selection lies outside the array (an IndexError and a ValueError)."""


# ---- stores and paths -------------------------------------------------------------------------------------------


class _Location:
    """Where a node lives: a Store, the node's key prefix in it, and its directory when the store is local."""

    __slots__ = ("store", "path", "directory")

    def __init__(self, store: Store, path: str, directory: Optional[str]) -> None:
        self.store = store
        self.path = path
        self.directory = directory

    def child(self, name: str) -> _Location:
        path = f"{self.path}/{name}" if self.path else name
        directory = os.path.join(self.directory, name) if self.directory is not None else None
        return _Location(self.store, path, directory)


def _local_root(url: str) -> Optional[str]:
    if url.startswith("file://"):
        return url[len("file://") :]
    if "://" in url:
        return None
    return url


def _locate(store: StoreLike, path: str) -> _Location:
    path = os.fspath(path).rstrip("/") if path else ""
    if isinstance(store, Store):
        root = _local_root(store.url)
        directory = None
        if root is not None:
            directory = os.path.join(root, path) if root else (path or None)
        return _Location(store, path, directory)
    url = os.fspath(store)
    root = _local_root(url)
    if root is None and url.split("://", 1)[0] in ("s3", "http", "https"):
        # A remote node by URL: the store is rooted at it (options from the AWS_* variables; pass an
        # lsio.open(url, **options) Store for anything else).
        return _Location(_open_store(url), path, None)
    if root is None:
        raise ValueError(
            f"{url!r}: no store for this URL scheme (local paths, file://, s3://, http(s)://); "
            "open other stores with lsio.open(url) and pass the Store"
        )
    full = os.path.abspath(os.path.join(root, path) if path else root)
    # The default store has root "": its keys are absolute paths (and error messages show them).
    return _Location(default_store(), full, full)


# ---- pickling -----------------------------------------------------------------------------------------------------
#
# Arrays and groups pickle as their address: (store URL, store options, path, mode). Unpickling opens no file and
# starts no thread; the first use that needs the node (a read, a write, its shape or metadata) opens the store (one
# per process, URL and options, shared by every node reopened there) and then the node. A node pickled in one
# process and unpickled in a child (spawn, forkserver or fork) so never touches the parent's store or its threads.


class _Address(NamedTuple):
    """What a pickled node keeps: enough to reopen it, nothing that is open."""

    url: str
    options: dict[str, Any]
    path: str
    mode: Mode


def _store_options(store: Store) -> dict[str, Any]:
    """The lsio.open keywords that reopen ``store``: its ``options`` when the compiled Store reports them; else the
    engine it runs, unless that was a fallback chosen automatically (then {}: "auto" again where it is reopened)."""
    options = getattr(store, "options", None)
    if isinstance(options, Mapping):
        return {str(k): v for k, v in options.items()}
    description = str(getattr(store, "engine", ""))
    engine = description.split(" ", 1)[0]
    if engine in ("uring", "posix") and "chosen automatically" not in description:
        return {"engine": engine}
    return {}


def _address(store: Store, path: str, read_only: bool, what: str) -> _Address:
    url = store.url
    if url.startswith("memory://"):
        raise pickle.PicklingError(
            f"cannot pickle {what}: its store is {url!r} and its data lives in this process, so another process "
            "could not reopen it; write the data to a file store (lsio.open(directory)) to share it"
        )
    root = _local_root(url)
    if root:  # a relative root would be resolved against the unpickling process's working directory
        url = ("file://" if url.startswith("file://") else "") + os.path.abspath(root)
    return _Address(url, _store_options(store), path, "r" if read_only else "r+")


def _open_store(url: str, **options: Any) -> Store:
    """lsio.open: its keywords (store.options: remote and planning options, cache) and the tune profile."""
    from . import open as lsio_open

    return lsio_open(url, **options)


_stores: dict[tuple[int, str, str], Store] = {}
_stores_lock = threading.Lock()
_reopen_lock = threading.RLock()


def _shared_store(url: str, options: Mapping[str, Any]) -> Store:
    """The store that reopened nodes use: one per (process, URL, options). Keyed by process id: a child forked
    after a store was opened here gets its own (the parent's worker threads do not exist in the child); the
    inherited entries are kept, never destroyed in the child."""
    key = (os.getpid(), url, json.dumps(dict(options), sort_keys=True, default=repr))
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _open_store(url, **options)
            _stores[key] = store
        return store


@atexit.register
def _close_shared_stores() -> None:
    # Join this process's stores' worker threads while the interpreter is whole (as lsio's default store).
    pid = os.getpid()
    with _stores_lock:
        for key in [k for k in _stores if k[0] == pid]:
            del _stores[key]


def _lazy_array(url: str, options: dict[str, Any], path: str, mode: Mode) -> Array:
    """An unpickled Array: nothing is opened until it is used."""
    array = Array.__new__(Array)
    array._set_lazy(_Address(url, options, path, mode))
    return array


def _lazy_group(url: str, options: dict[str, Any], path: str, mode: Mode) -> Group:
    """An unpickled Group: nothing is opened until it is used."""
    group = Group.__new__(Group)
    group._set_lazy(_Address(url, options, path, mode))
    return group


def _key(location: _Location, name: str) -> str:
    return f"{location.path}/{name}" if location.path else name


def _attributes(location: _Location, zarr_format: int, attributes_json: str) -> dict[str, JSON]:
    """The attributes as written. The compiled parser reads the bare NaN/Infinity/-Infinity tokens that Python's
    json module writes as strings; when such strings show up, the document is re-read with Python's json (which
    gives floats, as zarr-python does)."""
    attrs: dict[str, JSON] = json.loads(attributes_json)
    if not any(t in attributes_json for t in ('"NaN"', '"Infinity"', '"-Infinity"')):
        return attrs
    name = "zarr.json" if zarr_format == 3 else ".zattrs"
    try:
        doc = json.loads(bytes(location.store.read_ranges(_key(location, name), [0])[0]))
    except (OSError, ValueError):
        return attrs
    raw = doc.get("attributes", {}) if zarr_format == 3 else doc
    return raw if isinstance(raw, dict) else attrs


def _check_mode(mode: str) -> bool:
    """True when the mode allows writes."""
    if mode not in ("r", "r+", "a"):
        raise ValueError(f"mode must be 'r', 'r+' or 'a' (open an existing node), not {mode!r}; use create() to make one")
    return mode != "r"


# ---- selections ---------------------------------------------------------------------------------------------------


class _Selection:
    """A key normalised for the compiled layer.

    items: per array dimension, (start, stop, step) or an int64 index array (all non-negative, in bounds).
    full_shape: the shape the compiled layer reads (one entry per array dimension).
    result_shape: the shape the caller sees (ints dropped, None axes and index-array shapes applied).
    reshaped: full_shape reshaped (C order, no copy) before `move` is applied.
    move: (source axes, destination axes 0..k-1) for numpy's rule that moves the advanced index dimensions first.
    """

    __slots__ = ("items", "full_shape", "result_shape", "reshaped", "move")

    def __init__(
        self,
        items: list[Union[tuple[int, int, int], npt.NDArray[np.int64]]],
        full_shape: tuple[int, ...],
        reshaped: tuple[int, ...],
        move: Optional[tuple[list[int], list[int]]],
    ) -> None:
        self.items = items
        self.full_shape = full_shape
        self.reshaped = reshaped
        self.move = move
        if move is None:
            self.result_shape = reshaped
        else:  # the moved axes go to the front, in order (as np.moveaxis(x, src, range(len(src))))
            src = move[0]
            self.result_shape = tuple(reshaped[a] for a in src) + tuple(
                n for a, n in enumerate(reshaped) if a not in src
            )


def _as_int(item: Any) -> Optional[int]:
    """The integer of an int-like scalar index (not bool), else None."""
    if isinstance(item, (bool, np.bool_)):
        return None
    if isinstance(item, (int, np.integer)) or (isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu"):
        return operator.index(item)
    return None


def _dim_count(item: Any) -> int:
    """How many array dimensions a key item consumes (None and Ellipsis: 0)."""
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, np.ndarray) and item.dtype == np.bool_:
        return max(item.ndim, 1)
    return 1


def _normalize_int(value: int, n: int, dim: int) -> int:
    i = value + n if value < 0 else value
    if not 0 <= i < n:
        raise BoundsCheckError(f"index {value} is out of bounds for dimension {dim} with length {n}")
    return i


def _normalize_slice(s: slice, n: int, dim: int) -> tuple[int, int, int]:
    for name in ("start", "stop", "step"):
        v = getattr(s, name)
        if v is not None and _as_int(v) is None:
            raise IndexError(f"slice {name} must be an integer or None, got {v!r} (dimension {dim})")
    if s.step is not None and operator.index(s.step) <= 0:
        raise IndexError(f"only slices with step >= 1 are supported, got step {s.step} (dimension {dim})")
    start, stop, step = s.indices(n)
    return start, max(start, stop), step


def _index_array(item: Any, n: int, dim: int, allow_nd: bool) -> npt.NDArray[np.int64]:
    """An int list/array or a bool mask as in-bounds int64 indices (original shape kept for int arrays)."""
    arr = np.asarray(item)
    if arr.dtype == np.bool_:
        if arr.ndim != 1:
            raise IndexError(f"a boolean mask must be 1-dimensional, got {arr.ndim} dimensions (dimension {dim})")
        if arr.shape[0] != n:
            raise BoundsCheckError(f"boolean mask of length {arr.shape[0]} does not match dimension {dim} of length {n}")
        return np.flatnonzero(arr).astype(np.int64)
    if arr.size == 0 and arr.dtype.kind not in "iu":
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"index arrays must hold integers or booleans, got dtype {arr.dtype} (dimension {dim})")
    if arr.ndim != 1 and not allow_nd:
        raise IndexError(f"orthogonal index arrays must be 1-dimensional, got {arr.ndim} dimensions (dimension {dim})")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise BoundsCheckError(f"index {arr.max()} is out of bounds for dimension {dim} with length {n}")
    idx = arr.astype(np.int64, copy=True)
    np.add(idx, n, out=idx, where=idx < 0)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = arr.flat[int(np.argmax((idx < 0) | (idx >= n)))]
        raise BoundsCheckError(f"index {bad} is out of bounds for dimension {dim} with length {n}")
    return idx


def _expand(key: Any, ndim: int, allow_none: bool) -> list[tuple[int, Any]]:
    """The key with its Ellipsis expanded and trailing dimensions filled with slices, each item paired with its
    position in the key as written (an Ellipsis's slices share its position; numpy's rules need it)."""
    if not isinstance(key, tuple):
        key = (key,)
    if not allow_none and any(k is None for k in key):
        raise IndexError("None (numpy.newaxis) is not supported in orthogonal selections")
    ellipses = sum(1 for k in key if k is Ellipsis)
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dim_count(k) for k in key)
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {used} were indexed")
    out: list[tuple[int, Any]] = []
    for pos, k in enumerate(key):
        if k is Ellipsis:
            out.extend([(pos, slice(None))] * (ndim - used))
        else:
            out.append((pos, k))
    if not ellipses:
        out.extend([(len(key), slice(None))] * (ndim - used))
    return out


def _select(key: Any, shape: tuple[int, ...], orthogonal: bool) -> _Selection:
    items: list[Union[tuple[int, int, int], npt.NDArray[np.int64]]] = []
    full: list[int] = []
    reshaped: list[int] = []
    # Positions (in the key) of advanced indices for numpy's basic-indexing rules.
    advanced_positions: list[int] = []
    array_positions: list[int] = []
    array_result_axis = -1  # first axis of the index array's dimensions in `reshaped`
    array_ndim = 0
    dim = 0
    for pos, k in _expand(key, len(shape), allow_none=not orthogonal):
        if k is None:
            reshaped.append(1)
            continue
        n = shape[dim]
        i = _as_int(k)
        if i is not None:
            i = _normalize_int(i, n, dim)
            items.append((i, i + 1, 1))
            full.append(1)
            advanced_positions.append(pos)
        elif isinstance(k, slice):
            start, stop, step = _normalize_slice(k, n, dim)
            items.append((start, stop, step))
            count = (stop - start + step - 1) // step
            full.append(count)
            reshaped.append(count)
        elif isinstance(k, (list, np.ndarray)) or (hasattr(k, "__array__") and not isinstance(k, (str, bytes))):
            if not orthogonal and array_positions:
                raise IndexError(
                    "only one index array is supported in [] (numpy would broadcast several); "
                    "use .oindex[...] for orthogonal selection"
                )
            arr = np.asarray(k)
            idx = _index_array(arr, n, dim, allow_nd=not orthogonal)
            items.append(np.ascontiguousarray(idx.reshape(-1)))
            full.append(idx.size)
            if orthogonal:
                reshaped.append(idx.size)
            else:
                array_positions.append(pos)
                advanced_positions.append(pos)
                array_result_axis = len(reshaped)
                dims = idx.shape if arr.dtype != np.bool_ else (idx.size,)
                array_ndim = len(dims)
                reshaped.extend(dims)
        else:
            raise IndexError(
                f"unsupported index {k!r} for dimension {dim}: use integers, slices, "
                "integer lists/arrays, boolean masks, Ellipsis" + ("" if orthogonal else " or None")
            )
        dim += 1
    move = None
    if array_positions:
        # numpy: with an index array, integers are advanced indices too; when the advanced indices are not
        # adjacent in the key (a slice, None or Ellipsis, even an empty one, between them), the index array's
        # dimensions come first in the result.
        adjacent = advanced_positions == list(range(advanced_positions[0], advanced_positions[-1] + 1))
        if not adjacent and array_result_axis != 0:
            src = list(range(array_result_axis, array_result_axis + array_ndim))
            move = (src, list(range(array_ndim)))
    return _Selection(items, tuple(full), tuple(reshaped), move)


# ---- arrays -------------------------------------------------------------------------------------------------------


Axis = Union[None, int, Sequence[int]]


def _finish(v: npt.NDArray[Any]) -> Any:
    """A 0-d result as a numpy scalar (as numpy's reductions), else the array."""
    return v[()] if v.ndim == 0 else v


class Stats(NamedTuple):
    """Array.reduce_stats: per output element (``shape``: the kept dimensions) the count of non-NaN elements, of
    NaN, their float64 sum, mean, m2 (sum of squared deviations), exact integer sum (object array of Python ints,
    integer and bool arrays only), min and max (the array's dtype; meaningless where count is 0)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    count: npt.NDArray[np.uint64]
    nan_count: npt.NDArray[np.uint64]
    sum: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    m2: npt.NDArray[np.float64]
    int_sum: Optional[npt.NDArray[Any]]
    min: npt.NDArray[Any]
    max: npt.NDArray[Any]

    def _nan_out(self, skipna: bool) -> npt.NDArray[np.bool_]:
        """Where the result is NaN because of a NaN element (skipna=False)."""
        return np.zeros(self.shape, dtype=bool) if skipna else self.nan_count > 0

    def _float_dtype(self, dtype: Any) -> np.dtype[Any]:
        if dtype is not None:
            return np.dtype(dtype)
        return self.dtype if self.dtype.kind == "f" else np.dtype(np.float64)

    def sum_(self, skipna: bool = False, dtype: Any = None) -> Any:
        if self.int_sum is not None:
            if dtype is None:
                dtype = np.uint64 if self.dtype.kind == "u" else np.int64
            want = np.dtype(dtype)
            if want.kind in "iu":
                info = np.iinfo(want)
                flat = self.int_sum.ravel()
                if all(info.min <= int(v) <= info.max for v in flat):
                    return _finish(np.array(flat.tolist(), dtype=want).reshape(self.shape))
                return _finish(self.int_sum)  # exact: Python ints where the dtype would overflow
            return _finish(np.asarray(self.int_sum.astype(np.float64), dtype=want).reshape(self.shape))
        out = np.where(self._nan_out(skipna), np.nan, self.sum)
        return _finish(out.astype(self._float_dtype(dtype)))

    def mean_(self, skipna: bool = False, dtype: Any = None) -> Any:
        out = np.where(self._nan_out(skipna) | (self.count == 0), np.nan, self.mean)
        return _finish(out.astype(self._float_dtype(dtype)))

    def var_(self, skipna: bool = False, dtype: Any = None, ddof: int = 0) -> Any:
        n = self.count.astype(np.float64) - ddof
        with np.errstate(divide="ignore", invalid="ignore"):
            v = self.m2 / n
        out = np.where(self._nan_out(skipna) | (n <= 0), np.nan, v)
        return _finish(out.astype(self._float_dtype(dtype)))

    def std_(self, skipna: bool = False, dtype: Any = None, ddof: int = 0) -> Any:
        v = self.var_(skipna, np.float64, ddof)
        return _finish(np.sqrt(np.asarray(v)).astype(self._float_dtype(dtype)))

    def _extreme(self, values: npt.NDArray[Any], skipna: bool, name: str) -> Any:
        empty = (self.count == 0) & (self.nan_count == 0)
        if empty.any():
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
        nan = self._nan_out(skipna) | (self.count == 0)
        if nan.any():
            values = np.where(nan, np.nan, values).astype(values.dtype)
        return _finish(values.copy())

    def merge(self, other: Stats, reduced0: bool) -> Stats:
        """These statistics and those of the next slab along dimension 0: concatenated when dimension 0 is kept,
        else combined element by element (Chan's formula for mean and m2)."""
        if not reduced0:
            cat = lambda a, b: np.concatenate([a, b])  # noqa: E731
            return Stats(
                shape=(self.shape[0] + other.shape[0], *self.shape[1:]),
                dtype=self.dtype,
                count=cat(self.count, other.count),
                nan_count=cat(self.nan_count, other.nan_count),
                sum=cat(self.sum, other.sum),
                mean=cat(self.mean, other.mean),
                m2=cat(self.m2, other.m2),
                int_sum=None if self.int_sum is None or other.int_sum is None else cat(self.int_sum, other.int_sum),
                min=cat(self.min, other.min),
                max=cat(self.max, other.max),
            )
        na, nb = self.count.astype(np.float64), other.count.astype(np.float64)
        n = na + nb
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(nb > 0, other.mean, 0.0) - np.where(na > 0, self.mean, 0.0)
            mean = np.where(na == 0, other.mean, np.where(nb == 0, self.mean, self.mean + delta * nb / n))
            m2 = self.m2 + other.m2 + np.where(n > 0, delta * delta * na * nb / n, 0.0)
            # An infinite mean (the slab held an infinity): inf + inf = inf, inf + -inf = NaN; m2 is NaN already.
            infinite = (na > 0) & (nb > 0) & ~(np.isfinite(self.mean) & np.isfinite(other.mean))
            mean = np.where(infinite, self.mean + other.mean, mean)
        a_empty, b_empty = self.count == 0, other.count == 0
        lo = np.where(a_empty, other.min, np.where(b_empty, self.min, np.minimum(self.min, other.min)))
        hi = np.where(a_empty, other.max, np.where(b_empty, self.max, np.maximum(self.max, other.max)))
        arr = lambda v, dt: np.asarray(v, dtype=dt).reshape(self.shape)  # noqa: E731  (0-d stays an array)
        return Stats(
            shape=self.shape,
            dtype=self.dtype,
            count=arr(self.count + other.count, np.uint64),
            nan_count=arr(self.nan_count + other.nan_count, np.uint64),
            sum=arr(self.sum + other.sum, np.float64),
            mean=arr(mean, np.float64),
            m2=arr(m2, np.float64),
            int_sum=None if self.int_sum is None or other.int_sum is None else arr(self.int_sum + other.int_sum, object),
            min=arr(lo, self.dtype),
            max=arr(hi, self.dtype),
        )

    def min_(self, skipna: bool = False) -> Any:
        return self._extreme(self.min, skipna, "minimum")

    def max_(self, skipna: bool = False) -> Any:
        return self._extreme(self.max, skipna, "maximum")


class Array:
    """A Zarr v2 or v3 array (see lsio.zarr.open / create). Indexing reads; assignment writes.

    Arrays pickle (and ``copy.deepcopy``) as (store URL, store options, path, mode) and reopen lazily: unpickling
    opens nothing, the first use reopens the array (a FileNotFoundError then if it is gone). Arrays on a memory://
    store do not pickle (pickle.PicklingError). ``copy.copy`` gives another handle on the same open array.
    """

    _core_: Optional[_lsio.ZarrArray]
    _location_: Optional[_Location]
    _shape_: tuple[int, ...]
    _dtype_: np.dtype[Any]
    _attrs: Optional[dict[str, JSON]]
    _lazy: Optional[_Address]  # set while unpickled and not reopened yet

    def __init__(self, core: _lsio.ZarrArray, location: _Location, *, read_only: bool = False) -> None:
        self._read_only = read_only
        self._path = location.path
        self._lazy = None
        self._bind(core, location)

    def _bind(self, core: _lsio.ZarrArray, location: _Location) -> None:
        self._shape_ = tuple(core.shape)
        self._dtype_ = np.dtype(core.dtype)
        self._attrs = None
        self._location_ = location
        self._core_ = core  # last: a concurrent reader that sees it sees the rest

    def _set_lazy(self, address: _Address) -> None:
        self._read_only = not _check_mode(address.mode)
        self._path = address.path
        self._attrs = None
        self._core_ = None
        self._location_ = None
        self._lazy = address

    def _reopen(self) -> _lsio.ZarrArray:
        with _reopen_lock:
            if self._core_ is None:
                assert self._lazy is not None
                url, options, path, mode = self._lazy
                opened = open_array(_shared_store(url, options), path, mode=mode)
                assert opened._core_ is not None and opened._location_ is not None
                self._bind(opened._core_, opened._location_)
                self._lazy = None
            assert self._core_ is not None
            return self._core_

    @property
    def _core(self) -> _lsio.ZarrArray:
        core = self._core_
        return core if core is not None else self._reopen()

    @property
    def _location(self) -> _Location:
        if self._location_ is None:
            self._reopen()
        assert self._location_ is not None
        return self._location_

    @property
    def _shape(self) -> tuple[int, ...]:
        if self._core_ is None:
            self._reopen()
        return self._shape_

    @property
    def _dtype(self) -> np.dtype[Any]:
        if self._core_ is None:
            self._reopen()
        return self._dtype_

    # -- pickling and copies --
    def __reduce__(self) -> tuple[Any, ...]:
        address = self._lazy
        if address is None:
            location = self._location
            address = _address(location.store, location.path, self._read_only, f"lsio.zarr.Array {self._path!r}")
        return (_lazy_array, tuple(address))

    def __copy__(self) -> Array:
        return self._view(self._read_only)

    def _view(self, read_only: bool) -> Array:
        """Another handle on this array (sharing its open state, or its address while unpickled)."""
        with _reopen_lock:
            lazy, core, location = self._lazy, self._core_, self._location_
        if core is None or location is None:
            assert lazy is not None
            return _lazy_array(lazy.url, lazy.options, lazy.path, "r" if read_only else "r+")
        return Array(core, location, read_only=read_only)

    # -- description --
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of what reads return (native byte order, whatever the stored order)."""
        return self._dtype

    @property
    def chunks(self) -> tuple[int, ...]:
        """The chunk shape; for a sharded array, the inner chunk shape (as zarr-python)."""
        return tuple(self._core.chunks)

    @property
    def shards(self) -> Optional[tuple[int, ...]]:
        """The shard shape, or None when the array is not sharded."""
        s = self._core.shards
        return None if s is None else tuple(s)

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of the whole array decoded (size * itemsize)."""
        return self.size * self._dtype.itemsize

    @property
    def zarr_format(self) -> int:
        return int(self._core.zarr_format)

    @property
    def fill_value(self) -> Any:
        """The fill value as a numpy scalar of the array's dtype."""
        return np.frombuffer(self._core.fill_value, dtype=self._dtype.newbyteorder("<"))[0].astype(self._dtype)

    @property
    def attrs(self) -> dict[str, JSON]:
        """The user attributes (a copy; v3 zarr.json "attributes", v2 .zattrs)."""
        if self._attrs is None:
            self._attrs = _attributes(self._location, self.zarr_format, self._core.attributes_json)
        return _pycopy.deepcopy(self._attrs)

    @property
    def metadata(self) -> dict[str, JSON]:
        """The metadata document: zarr.json (v3), or .zarray with the .zattrs under "attributes" (v2)."""
        return dict(json.loads(self._core.metadata_json))

    @property
    def dimension_names(self) -> Optional[tuple[Optional[str], ...]]:
        names = self._core.dimension_names
        return None if names is None else tuple(names)

    @property
    def path(self) -> str:
        """The array's key prefix in its store."""
        return self._path

    @property
    def store(self) -> Store:
        return self._location.store

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def oindex(self) -> _OIndex:
        """Orthogonal indexing: ``a.oindex[[3, 70, 9], :, mask]`` selects the outer product of each dimension's picks."""
        return _OIndex(self)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d array")
        return self._shape[0]

    def __repr__(self) -> str:
        shards = f", shards={self.shards}" if self.shards is not None else ""
        return (
            f"<lsio.zarr.Array {self.path!r} shape={self.shape} dtype={self.dtype} "
            f"chunks={self.chunks}{shards} zarr_format={self.zarr_format}>"
        )

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> npt.NDArray[Any]:
        out = self[...]
        return out if dtype is None else out.astype(dtype, copy=False)

    # -- reads --
    def _empty(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
        """An uninitialised output array in memory from the store's buffer pool (see lsio.Store.allocate): a loop
        of reads reuses memory already faulted in instead of zeroing fresh pages for every result."""
        n = math.prod(shape) * dtype.itemsize
        if not _POOLED_OUTPUT_BYTES[0] <= n <= _POOLED_OUTPUT_BYTES[1] or dtype.hasobject:
            return np.empty(shape, dtype=dtype)
        return self._location.store.allocate(n).view(dtype).reshape(shape)

    def _read(
        self,
        sel: _Selection,
        out: Optional[npt.NDArray[Any]] = None,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> npt.NDArray[Any]:
        if out is None:
            buf = self._empty(sel.full_shape, self._dtype)
            self._core.read(sel.items, buf, timeout=timeout, cancel=cancel)
            res = buf.reshape(sel.reshaped)
            return res if sel.move is None else np.ascontiguousarray(np.moveaxis(res, *sel.move))
        self._core.read(sel.items, out, timeout=timeout, cancel=cancel)
        return out

    def __getitem__(self, key: Any) -> npt.NDArray[Any]:
        """numpy basic indexing (ints, slices with step >= 1, Ellipsis, None) plus one integer/boolean index array.

        Returns a new numpy array (a 0-d array when every dimension is indexed by an integer, as zarr-python).
        """
        return self._read(_select(key, self._shape, orthogonal=False))

    def get_orthogonal_selection(self, selection: Any) -> npt.NDArray[Any]:
        return self._read(_select(selection, self._shape, orthogonal=True))

    def get_basic_selection(self, selection: Any = Ellipsis) -> npt.NDArray[Any]:
        return self[selection]

    def read(
        self,
        selection: Any = Ellipsis,
        *,
        out: Optional[npt.NDArray[Any]] = None,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> npt.NDArray[Any]:
        """Reads an orthogonal selection (as ``oindex``), into ``out`` when given, and returns it.

        ``out`` must be a writable C-contiguous numpy array of exactly the selection's shape (integers drop
        their dimension) and of dtype ``self.dtype``; ValueError otherwise. Nothing is allocated. ``timeout``
        (seconds) raises TimeoutError, ``cancel`` (an lsio.CancelToken) lsio.CancelledError, and Ctrl-C
        KeyboardInterrupt, each after the reads in flight drained.
        """
        sel = _select(selection, self._shape, orthogonal=True)
        if out is None:
            return self._read(sel, timeout=timeout, cancel=cancel)
        if not isinstance(out, np.ndarray):
            raise ValueError(f"out must be a numpy array, not {type(out).__name__}")
        if out.dtype != self._dtype:
            raise ValueError(f"out has dtype {out.dtype}, the array's is {self._dtype}")
        if out.shape != sel.result_shape:
            raise ValueError(f"out has shape {out.shape}, the selection's is {sel.result_shape}")
        if not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous")
        if not out.flags.writeable:
            raise ValueError("out must be writable")
        return self._read(sel, out, timeout, cancel)

    async def read_async(self, selection: Any = Ellipsis, *, out: Optional[npt.NDArray[Any]] = None) -> npt.NDArray[Any]:
        """``await array.read_async(selection)``: :meth:`read` without blocking the event loop.

        The read runs on a helper thread and the store's workers; cancelling the awaiting task cancels the read
        (the reads in flight drain before the helper thread ends).
        """
        import asyncio

        token = CancelToken()
        task = asyncio.get_running_loop().run_in_executor(
            None, lambda: self.read(selection, out=out, cancel=token)
        )
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            token.cancel("read_async cancelled")
            raise

    # -- reductions --
    def _axes(self, axis: Axis) -> tuple[int, ...]:
        nd = len(self._shape)
        if axis is None:
            return tuple(range(nd))
        items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        out: list[int] = []
        for a in items:
            i = operator.index(a)
            if not -nd <= i < nd:
                raise np.exceptions.AxisError(i, nd)
            i %= nd if nd else 1
            if i in out:
                raise ValueError("duplicate value in 'axis'")
            out.append(i)
        return tuple(out)

    def reduce_stats(
        self,
        axis: Axis = None,
        *,
        progress: Optional[Callable[[int, int], object]] = None,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> Stats:
        """Every statistic of the array over ``axis`` in one streamed pass (see :class:`Stats`).

        Each chunk is decoded and folded on the store worker that read it (float64 with compensated sums,
        Chan-merged variance, 128-bit integer sums); missing chunks count as the fill value without being read.
        With ``progress``, the array is reduced in about 100 slabs along dimension 0 (aligned to its shards or
        chunks) whose statistics are merged, and ``progress(bytes done, bytes total)`` is called after each.
        """
        axes = self._axes(axis)
        full = [(0, n, 1) for n in self._shape]
        if progress is None or not self._shape or self._shape[0] == 0:
            return self._reduce(full, axes, timeout, cancel)
        grid = (self.shards or self.chunks)[0]
        n0 = self._shape[0]
        step = max(1, -(-n0 // 100 // grid)) * grid
        row = self.nbytes // n0
        total: Optional[Stats] = None
        progress(0, self.nbytes)
        for start in range(0, n0, step):
            stop = min(start + step, n0)
            part = self._reduce([(start, stop, 1), *full[1:]], axes, timeout, cancel)
            total = part if total is None else total.merge(part, reduced0=0 in axes)
            progress(stop * row, self.nbytes)
        assert total is not None
        return total

    def _reduce(
        self, items: list[tuple[int, int, int]], axes: tuple[int, ...], timeout: Optional[float],
        cancel: Optional[CancelToken],
    ) -> Stats:  # fmt: skip
        d = self._core.reduce(items, list(axes), timeout=timeout, cancel=cancel)
        shape = tuple(d["shape"])
        dt = self._dtype
        int_sum: Optional[npt.NDArray[Any]] = None
        if d["int_sum_hi"]:
            hi = np.frombuffer(d["int_sum_hi"], dtype=np.int64).reshape(shape)
            lo = np.frombuffer(d["int_sum_lo"], dtype=np.uint64).reshape(shape)
            int_sum = np.array(hi.astype(object) * (1 << 64) + lo.astype(object), dtype=object).reshape(shape)
        return Stats(
            shape=shape,
            dtype=dt,
            count=np.frombuffer(d["count"], dtype=np.uint64).reshape(shape),
            nan_count=np.frombuffer(d["nan_count"], dtype=np.uint64).reshape(shape),
            sum=np.frombuffer(d["sum"], dtype=np.float64).reshape(shape),
            mean=np.frombuffer(d["mean"], dtype=np.float64).reshape(shape),
            m2=np.frombuffer(d["m2"], dtype=np.float64).reshape(shape),
            int_sum=int_sum,
            min=np.frombuffer(d["min"], dtype=dt).reshape(shape),
            max=np.frombuffer(d["max"], dtype=dt).reshape(shape),
        )

    def sum(self, axis: Axis = None, *, skipna: bool = False, dtype: Any = None) -> Any:
        """numpy's ``sum`` (``nansum`` with skipna=True) of the whole array over ``axis``, streamed."""
        return self.reduce_stats(axis).sum_(skipna, dtype)

    def mean(self, axis: Axis = None, *, skipna: bool = False, dtype: Any = None) -> Any:
        """numpy's ``mean`` (``nanmean`` with skipna=True), streamed."""
        return self.reduce_stats(axis).mean_(skipna, dtype)

    def var(self, axis: Axis = None, *, skipna: bool = False, dtype: Any = None, ddof: int = 0) -> Any:
        """numpy's ``var`` (``nanvar`` with skipna=True), streamed."""
        return self.reduce_stats(axis).var_(skipna, dtype, ddof)

    def std(self, axis: Axis = None, *, skipna: bool = False, dtype: Any = None, ddof: int = 0) -> Any:
        """numpy's ``std`` (``nanstd`` with skipna=True), streamed."""
        return self.reduce_stats(axis).std_(skipna, dtype, ddof)

    def min(self, axis: Axis = None, *, skipna: bool = False) -> Any:
        """numpy's ``min`` (``nanmin`` with skipna=True), streamed. ValueError on an empty array."""
        return self.reduce_stats(axis).min_(skipna)

    def max(self, axis: Axis = None, *, skipna: bool = False) -> Any:
        """numpy's ``max`` (``nanmax`` with skipna=True), streamed. ValueError on an empty array."""
        return self.reduce_stats(axis).max_(skipna)

    def count_nan(self, axis: Axis = None) -> Any:
        """How many elements are NaN (0 for integer arrays), over ``axis``."""
        return _finish(self.reduce_stats(axis).nan_count.astype(np.int64))

    def to_dask(self, chunks: Any = None, *, name: Optional[str] = None) -> Any:
        """A dask array of this array: one task per block, each one read (one LSIO batch); see lsio.dask.

        ``chunks=None`` gives the shard grid (the chunk grid when unsharded); otherwise anything
        ``dask.array.normalize_chunks`` takes. The array travels to dask workers as its address and reopens there.
        """
        from .dask import from_array

        return from_array(self, chunks, name=name)

    def read_crops(
        self,
        starts: npt.ArrayLike,
        shape: Sequence[int],
        *,
        out: Optional[npt.NDArray[Any]] = None,
        dtype: Any = None,
        channel_dim: int = 0,
        scale: Union[float, Sequence[float]] = 1.0,
        offset: Union[float, Sequence[float]] = 0.0,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> npt.NDArray[Any]:
        """Reads many boxes of the same ``shape`` in one batch and returns them stacked: (len(starts), *shape).

        ``starts`` is (n, ndim) integers, the first element of each box. Boxes may reach outside the array (negative
        starts, past the end): those elements read as the fill value. With ``dtype`` float32 or float64 each element
        becomes ``x * scale[c] + offset[c]`` as its chunk is placed (no second pass), ``c`` being its index along
        ``channel_dim`` of the box; scale and offset are one number or one per index along that dimension. ``out``
        (C-contiguous, writable, the right shape and dtype) is filled instead of a new array. ``timeout`` and
        ``cancel`` as in :meth:`read`.
        """
        st = np.ascontiguousarray(np.asarray(starts, dtype=np.int64))
        if st.ndim != 2 or st.shape[1] != self.ndim:
            raise ValueError(f"starts must have shape (n, {self.ndim}), not {st.shape}")
        box = tuple(operator.index(s) for s in shape)
        if len(box) != self.ndim or any(s < 0 for s in box):
            raise ValueError(f"shape must be {self.ndim} non-negative integers, not {tuple(shape)}")
        convert = dtype is not None or np.ndim(scale) != 0 or scale != 1.0 or np.ndim(offset) != 0 or offset != 0.0
        out_dtype = np.dtype(dtype) if dtype is not None else (np.dtype(np.float32) if convert else self._dtype)
        if convert and out_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            if dtype is not None and out_dtype == self._dtype and np.ndim(scale) == 0 and np.ndim(offset) == 0 \
                    and scale == 1.0 and offset == 0.0:
                convert = False
            else:
                raise ValueError(f"dtype must be float32 or float64 to convert, not {out_dtype}")
        full = (st.shape[0], *box)
        if out is None:
            out = self._empty(full, out_dtype)
        elif out.shape != full or out.dtype != out_dtype or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"out must be a writable C-contiguous {out_dtype} array of shape {full}, "
                             f"not {out.dtype} {out.shape}")
        if convert:
            self._core.read_crops(st.reshape(-1), box, out, out_dtype.name, channel_dim,
                                  [float(v) for v in np.atleast_1d(scale)], [float(v) for v in np.atleast_1d(offset)],
                                  timeout=timeout, cancel=cancel)
        else:
            self._core.read_crops(st.reshape(-1), box, out, timeout=timeout, cancel=cancel)
        return out

    # -- writes --
    def _write(self, sel: _Selection, value: Any) -> None:
        if self._read_only:
            raise PermissionError(f"array {self.path!r} was opened read-only (mode='r')")
        v = np.asarray(value, dtype=self._dtype)
        try:
            v = np.broadcast_to(v, sel.result_shape)
        except ValueError:
            raise ValueError(
                f"could not broadcast a value of shape {np.shape(value)} to the selection's shape {sel.result_shape}"
            ) from None
        if sel.move is not None:
            v = np.moveaxis(v, sel.move[1], sel.move[0])
        v = np.ascontiguousarray(v).reshape(sel.full_shape)
        self._core.write(sel.items, v)

    def __setitem__(self, key: Any, value: Any) -> None:
        """Writes ``value`` (a scalar or an array broadcastable to the selection) into a basic selection."""
        self._write(_select(key, self._shape, orthogonal=False), value)

    def set_orthogonal_selection(self, selection: Any, value: Any) -> None:
        self._write(_select(selection, self._shape, orthogonal=True), value)

    def set_basic_selection(self, selection: Any, value: Any) -> None:
        self[selection] = value


class _OIndex:
    __slots__ = ("_array",)

    def __init__(self, array: Array) -> None:
        self._array = array

    def __getitem__(self, selection: Any) -> npt.NDArray[Any]:
        return self._array.get_orthogonal_selection(selection)

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._array.set_orthogonal_selection(selection, value)


# ---- groups -------------------------------------------------------------------------------------------------------


_NODE_FILES = ("zarr.json", ".zarray", ".zgroup")
# Outputs of these sizes come from the store's buffer pool. Smaller ones are cheap for numpy's allocator; larger
# ones would never be kept idle by the pool (see lsio.Store.allocate), so they gain nothing from it.
_POOLED_OUTPUT_BYTES = (1 << 20, 4 << 30)


class _GroupState:
    """An open group's description."""

    __slots__ = ("location", "zarr_format", "attrs", "consolidated")

    def __init__(self, info: Mapping[str, Any], location: _Location) -> None:
        self.location = location
        self.zarr_format = int(info["zarr_format"])
        self.attrs: dict[str, JSON] = _attributes(location, self.zarr_format, info["attributes"])
        self.consolidated: Optional[JSON] = None if info["consolidated"] is None else json.loads(info["consolidated"])


class Group(Mapping[str, Union[Array, "Group"]]):
    """A Zarr v2 or v3 group: a read-only mapping of member names to arrays and groups.

    Groups pickle (and ``copy.deepcopy``) as (store URL, store options, path, mode) and reopen lazily on first use,
    as arrays do; ``copy.copy`` gives another handle on the same group.
    """

    _state: Optional[_GroupState]
    _lazy: Optional[_Address]  # set while unpickled and not reopened yet

    def __init__(self, info: Mapping[str, Any], location: _Location, *, read_only: bool = False) -> None:
        self._read_only = read_only
        self._path = location.path
        self._lazy = None
        self._names: Optional[list[str]] = None
        self._state = _GroupState(info, location)

    def _set_lazy(self, address: _Address) -> None:
        self._read_only = not _check_mode(address.mode)
        self._path = address.path
        self._names = None
        self._state = None
        self._lazy = address

    @property
    def _opened(self) -> _GroupState:
        state = self._state
        if state is not None:
            return state
        with _reopen_lock:
            if self._state is None:
                assert self._lazy is not None
                url, options, path, mode = self._lazy
                self._state = open_group(_shared_store(url, options), path, mode=mode)._opened
                self._lazy = None
            return self._state

    @property
    def _location(self) -> _Location:
        return self._opened.location

    def __reduce__(self) -> tuple[Any, ...]:
        address = self._lazy
        if address is None:
            location = self._location
            address = _address(location.store, location.path, self._read_only, f"lsio.zarr.Group {self._path!r}")
        return (_lazy_group, tuple(address))

    def __copy__(self) -> Group:
        """Another handle on this group (sharing its open state, or its address while unpickled)."""
        group = Group.__new__(Group)
        group._read_only, group._path, group._names = self._read_only, self._path, None
        with _reopen_lock:
            group._state, group._lazy = self._state, self._lazy
        return group

    @property
    def zarr_format(self) -> int:
        return self._opened.zarr_format

    @property
    def attrs(self) -> dict[str, JSON]:
        """The user attributes (a copy)."""
        return _pycopy.deepcopy(self._opened.attrs)

    @property
    def path(self) -> str:
        return self._path

    @property
    def store(self) -> Store:
        return self._location.store

    @property
    def consolidated_metadata(self) -> Optional[JSON]:
        """The consolidated metadata as written (v3: the "consolidated_metadata" member; v2: .zmetadata's
        "metadata"), or None."""
        return self._opened.consolidated

    def _member_names(self) -> list[str]:
        if self._names is None:
            self._names = sorted(self._list_members())
        return self._names

    def _list_members(self) -> list[str]:
        c = self._opened.consolidated
        if c is not None:
            if self._opened.zarr_format == 3:
                meta = c.get("metadata") or {}
                return [k for k in meta if "/" not in k]
            names = set()
            for k in c:
                parts = k.split("/")
                if len(parts) == 2 and parts[1] in (".zarray", ".zgroup"):
                    names.add(parts[0])
            return list(names)
        # Through the store (never the file system): a member is a sub-"directory" holding a node document.
        loc = self._location
        prefix = f"{loc.path}/" if loc.path else ""
        _, dirs = loc.store.list_dir(prefix)
        names = []
        for d in dirs:
            name = d[len(prefix) :].strip("/")
            if not name:
                continue
            files, _ = loc.store.list_dir(f"{prefix}{name}/")
            if any(k.rsplit("/", 1)[-1] in _NODE_FILES for k, _ in files):
                names.append(name)
        return names

    def __getitem__(self, name: str) -> Union[Array, Group]:
        if not isinstance(name, str) or not name.strip("/"):
            raise KeyError(name)
        try:
            return _open_node(self._location.child(name.strip("/")), self._read_only)
        except FileNotFoundError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._member_names())

    def __len__(self) -> int:
        return len(self._member_names())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def members(self) -> list[tuple[str, Union[Array, Group]]]:
        return [(name, self[name]) for name in self]

    def arrays(self) -> list[tuple[str, Array]]:
        return [(n, m) for n, m in self.members() if isinstance(m, Array)]

    def groups(self) -> list[tuple[str, Group]]:
        return [(n, m) for n, m in self.members() if isinstance(m, Group)]

    def array_keys(self) -> list[str]:
        return [n for n, _ in self.arrays()]

    def group_keys(self) -> list[str]:
        return [n for n, _ in self.groups()]

    def __repr__(self) -> str:
        return f"<lsio.zarr.Group {self.path!r} zarr_format={self.zarr_format}>"


# ---- opening and creating -----------------------------------------------------------------------------------------


def _open_node(location: _Location, read_only: bool) -> Union[Array, Group]:
    node = _lsio.zarr_open_node(location.store, location.path)
    if isinstance(node, _lsio.ZarrArray):
        return Array(node, location, read_only=read_only)
    return Group(node, location, read_only=read_only)


def open(store: StoreLike, path: str = "", *, mode: Mode = "r+") -> Union[Array, Group]:  # noqa: A001
    """Opens the Zarr array or group at ``path`` of ``store`` (a local path, a file://, s3:// or http(s):// URL,
    or an lsio.Store).

    zarr.json (v3) is looked for first, then .zarray/.zgroup (v2). ``mode="r"`` refuses writes.
    FileNotFoundError when there is no node.
    """
    return _open_node(_locate(store, path), read_only=not _check_mode(mode))


def open_array(store: StoreLike, path: str = "", *, mode: Mode = "r+") -> Array:
    """Opens the Zarr array at ``path`` of ``store`` (FileNotFoundError when there is none)."""
    location = _locate(store, path)
    core = _lsio.zarr_open(location.store, location.path)
    return Array(core, location, read_only=not _check_mode(mode))


def open_group(store: StoreLike, path: str = "", *, mode: Mode = "r+") -> Group:
    """Opens the Zarr group at ``path`` of ``store``; its members come from consolidated metadata when present,
    else from the directory (file stores)."""
    node = open(store, path, mode=mode)
    if not isinstance(node, Group):
        raise ValueError(f"{node.path!r} is an array, not a group")
    return node


_V3_NAMES = {
    "b": {1: "bool"},
    "i": {1: "int8", 2: "int16", 4: "int32", 8: "int64"},
    "u": {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"},
    "f": {2: "float16", 4: "float32", 8: "float64"},
    "c": {8: "complex64", 16: "complex128"},
}


def _dtype_name(dtype: np.dtype[Any]) -> str:
    name = _V3_NAMES.get(dtype.kind, {}).get(dtype.itemsize)
    if name is None:
        raise ValueError(f"unsupported dtype {dtype} (supported: bool, int8..int64, uint8..uint64, float16/32/64, complex64/128)")
    return name


def _float_json(v: float) -> Union[float, str]:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return float(v)


def _fill_json(value: Any, dtype: np.dtype[Any]) -> JSON:
    """The JSON form of a fill value; ValueError naming "fill_value" when it does not fit the dtype."""
    if value is None:
        value = 0
    try:
        if dtype.kind == "b":
            return bool(value)
        if dtype.kind in "iu":
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            v = operator.index(value)
            info = np.iinfo(dtype)
            if not info.min <= v <= info.max:
                raise ValueError(f"{v} is out of range for {dtype.name}")
            return v
        if dtype.kind == "f":
            return _float_json(float(value))
        c = complex(value)
        return [_float_json(c.real), _float_json(c.imag)]
    except (TypeError, ValueError) as e:
        raise ValueError(f"fill_value {value!r} does not fit dtype {dtype.name}: {e}") from None


def _bytes_codec(dtype: np.dtype[Any], endian: str = "little") -> dict[str, JSON]:
    if dtype.itemsize == 1:
        return {"name": "bytes"}
    return {"name": "bytes", "configuration": {"endian": endian}}


def _codec_list(codecs: Any) -> list[JSON]:
    if isinstance(codecs, (str, dict)):
        return [codecs]
    return list(codecs)


def _guess_chunks(shape: tuple[int, ...], itemsize: int, target: int = 1 << 20) -> tuple[int, ...]:
    chunks = [max(1, s) for s in shape]
    while math.prod(chunks) * itemsize > target and max(chunks) > 1:
        d = chunks.index(max(chunks))
        chunks[d] = (chunks[d] + 1) // 2
    return tuple(chunks)


def _as_shape(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (operator.index(value),)
    return tuple(operator.index(v) for v in value)


def create(
    store: StoreLike,
    shape: Union[int, Sequence[int]],
    dtype: npt.DTypeLike,
    *,
    path: str = "",
    chunks: Optional[Sequence[int]] = None,
    shards: Optional[Sequence[int]] = None,
    codecs: Any = None,
    fill_value: Any = 0,
    zarr_format: Literal[2, 3] = 3,
    attributes: Optional[Mapping[str, JSON]] = None,
    dimension_names: Optional[Sequence[Optional[str]]] = None,
    index_location: Literal["start", "end"] = "end",
    order: Literal["C", "F"] = "C",
    dimension_separator: Literal[".", "/"] = ".",
    overwrite: bool = False,
) -> Array:
    """Creates a Zarr array and returns it (open for writing). Chunks are written on assignment.

    Defaults match zarr-python's ``create_array``:
      - v3 sharded (``shards`` given): inner codecs [bytes little-endian, zstd level 0 no checksum], index codecs
        [bytes little-endian, crc32c], index at the end; ``chunks`` is the inner chunk shape;
      - v3 unsharded: [bytes little-endian, zstd level 0 no checksum];
      - v2: compressor zstd level 0, no filters, ``order`` C, ``dimension_separator`` ".".
    ``codecs``: v3, the codec list (of the inner chunks when sharded), entries ``{"name", "configuration"}`` or
    bare names; v2, the compressor (``{"id": ...}``, a one-element list of it, or ``[]`` for none).
    ``chunks=None`` picks chunks of about 1 MiB. ``overwrite=True`` replaces an existing node (for a local
    directory that holds Zarr metadata, its contents are deleted first, as zarr-python does).
    """
    location = _locate(store, path)
    dt = np.dtype(dtype)
    name = _dtype_name(dt)
    shape_t = _as_shape(shape, "shape")
    if chunks is None:
        chunks_t = _guess_chunks(shards if shards is not None else shape_t, dt.itemsize)
    else:
        chunks_t = _as_shape(chunks, "chunks")
    if len(chunks_t) != len(shape_t):
        raise ValueError(f"chunks {chunks_t} must have one entry per dimension of shape {shape_t}")
    fill = _fill_json(fill_value, dt)
    attrs = dict(attributes) if attributes is not None else {}
    if zarr_format == 3:
        if codecs is None:
            inner: list[JSON] = [_bytes_codec(dt), {"name": "zstd", "configuration": {"level": 0, "checksum": False}}]
        else:
            inner = _codec_list(codecs)
        if shards is not None:
            shards_t = _as_shape(shards, "shards")
            if len(shards_t) != len(shape_t):
                raise ValueError(f"shards {shards_t} must have one entry per dimension of shape {shape_t}")
            grid = list(shards_t)
            array_codecs: list[JSON] = [
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": list(chunks_t),
                        "codecs": inner,
                        "index_codecs": [_bytes_codec(np.dtype("u8")), {"name": "crc32c"}],
                        "index_location": index_location,
                    },
                }
            ]
        else:
            grid = list(chunks_t)
            array_codecs = inner
        doc: dict[str, JSON] = {
            "zarr_format": 3,
            "node_type": "array",
            "shape": list(shape_t),
            "data_type": name,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": grid}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill,
            "codecs": array_codecs,
            "attributes": attrs,
            "storage_transformers": [],
        }
        if dimension_names is not None:
            doc["dimension_names"] = list(dimension_names)
        metadata_text, attributes_text = json.dumps(doc), ""
    elif zarr_format == 2:
        if shards is not None:
            raise ValueError("zarr_format=2 arrays cannot be sharded (shards must be None)")
        if dimension_names is not None:
            raise ValueError("zarr_format=2 arrays have no dimension_names")
        if codecs is None:
            compressor: JSON = {"id": "zstd", "level": 0}
        else:
            lst = _codec_list(codecs)
            if len(lst) > 1:
                raise ValueError("zarr_format=2: codecs is the compressor: one {'id': ...} object (or [] for none)")
            compressor = lst[0] if lst else None
        typestr = dt.str if dt.byteorder != "=" else dt.newbyteorder("<").str
        doc = {
            "zarr_format": 2,
            "shape": list(shape_t),
            "chunks": list(chunks_t),
            "dtype": typestr,
            "fill_value": fill,
            "order": order,
            "filters": None,
            "dimension_separator": dimension_separator,
            "compressor": compressor,
        }
        metadata_text = json.dumps(doc)
        attributes_text = json.dumps(attrs) if attrs else ""
    else:
        raise ValueError(f"zarr_format must be 2 or 3, not {zarr_format!r}")
    if overwrite:
        _remove_node(location)
    core = _lsio.zarr_create(location.store, location.path, metadata_text, attributes_text, overwrite)
    return Array(core, location)


def _remove_node(location: _Location) -> None:
    """Deletes everything under ``location`` when a Zarr node is there (as zarr-python's overwrite does), through
    the store: list the prefix, remove the keys (a file store, S3 or memory alike). No node: nothing is deleted,
    so overwrite never empties a directory of unrelated files."""
    prefix = f"{location.path}/" if location.path else ""
    node_keys = [prefix + f for f in (*_NODE_FILES, ".zattrs")]
    if not any(isinstance(n, int) for n in location.store.sizes(node_keys, on_error="return")):
        return
    keys = [k for k, _ in location.store.list(prefix)]
    if keys:
        location.store.remove(keys)


from ._copy import copy  # noqa: E402  (uses Array and create above)


def __getattr__(name: str) -> Any:
    """``lsio.zarr.ZarrStore`` (imports zarr-python on first use)."""
    if name == "ZarrStore":
        from .zarr_store import ZarrStore

        return ZarrStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
