"""zarr-python on LSIO I/O: :class:`ZarrStore`, a ``zarr.abc.store.Store`` over an :class:`lsio.Store`.

    import zarr, lsio.zarr
    z = zarr.open_array(store=lsio.zarr.ZarrStore("/data/era5.zarr"), path="t2m", mode="r")
    z[0:24]                                    # zarr-python decodes; LSIO reads the bytes

Reads are async-native: ``get``, ``get_partial_values`` and ``_get_many`` each submit ONE LSIO batch
(``await store.read_ranges_async``) and await it without blocking the event loop. Calls with no async variant in
LSIO (put, remove, sizes, list) run on a helper thread (``asyncio.to_thread``).

Semantics worth knowing:
  - a missing key reads as None; a ``RangeByteRequest`` ending past the end of the value is cut at the end (a second
    batch, only for those ranges), one starting past it is an error (lsio.OutOfRangeError);
  - ``set`` replaces the value atomically (``Store.put``); ``set_if_not_exists`` checks then writes, so it is atomic
    between the threads and tasks of this process only;
  - ``delete`` of a key that is a prefix of other keys (a directory in a file store) deletes them;
  - empty directories left in a file store by deletes show up in ``list_dir`` (as in zarr's LocalStore);
  - stores pickle as (URL, LSIO store options, read_only) and reopen lazily, sharing one LSIO store per process and
    URL; a memory:// store pickles as a copy of its contents (as zarr's MemoryStore), and compares by contents.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Optional, Union

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

import lsio

from . import zarr as _lz
from ._lsio import OutOfRangeError

__all__ = ["ZarrStore"]

_Range = tuple[int, Optional[int]]


# ---- byte requests -------------------------------------------------------------------------------------------------


def _range(byte_range: Optional[ByteRequest]) -> _Range:
    """An LSIO (start, end) for a zarr byte request: end None reads to the end, a negative start the last bytes."""
    if byte_range is None:
        return 0, None
    if isinstance(byte_range, RangeByteRequest):
        if byte_range.start < 0 or byte_range.end < byte_range.start:
            raise ValueError(f"Unexpected byte_range, got {byte_range}: need 0 <= start <= end")
        return byte_range.start, byte_range.end
    if isinstance(byte_range, OffsetByteRequest):
        if byte_range.offset < 0:
            raise ValueError(f"Unexpected byte_range, got {byte_range}: the offset must be >= 0")
        return byte_range.offset, None
    if isinstance(byte_range, SuffixByteRequest):
        if byte_range.suffix < 0:
            raise ValueError(f"Unexpected byte_range, got {byte_range}: the suffix must be >= 0")
        # -0 would be "from 0 to the end"; an empty suffix is the empty range [0, 0) (still an error when missing).
        return (-byte_range.suffix, None) if byte_range.suffix else (0, 0)
    raise TypeError(f"Unexpected byte_range, got {byte_range!r} (expected a RangeByteRequest, OffsetByteRequest, "
                    "SuffixByteRequest or None)")


def _check_key(key: str) -> str:
    """The key, after refusing what could leave the store's root (absolute paths, '..' segments)."""
    if not isinstance(key, str):
        raise TypeError(f"keys are str, not {type(key).__name__}")
    if key.startswith("/") or ".." in key.split("/"):
        raise ValueError(f"invalid key {key!r}: keys are relative, without '..' segments")
    return key


def _dir_prefix(prefix: str) -> str:
    """'a/b' or 'a/b/' -> 'a/b/'; '' stays '' (the root)."""
    p = prefix.rstrip("/")
    return p + "/" if p else ""


# ---- the store's address (what pickles) ---------------------------------------------------------------------------


def _normalized_url(url: str) -> str:
    """A local root made absolute (a pickled store reopens in a process with another working directory)."""
    root = _lz._local_root(url)
    if root is None:
        return url
    if not root:
        raise ValueError("ZarrStore needs a root: a directory, a file:// URL or another store URL, not ''")
    return ("file://" if url.startswith("file://") else "") + os.path.abspath(root)


def _is_memory(url: str) -> bool:
    return url.startswith("memory://")


def _reopen(url: str, options: dict[str, Any], read_only: bool) -> ZarrStore:
    """Unpickles a ZarrStore: the process's shared LSIO store for (url, options), opened on first use."""
    return ZarrStore(url, read_only=read_only, options=options)


def _from_snapshot(items: list[tuple[str, bytes]], read_only: bool) -> ZarrStore:
    """Unpickles a memory:// ZarrStore: a new memory store holding the pickled contents."""
    store = lsio.open("memory://")
    for key, data in items:
        store.put(key, data)
    return ZarrStore(store, read_only=read_only)


def _snapshot(store: lsio.Store) -> list[tuple[str, bytes]]:
    """Every (key, value) of a store, read in one batch."""
    keys = [k for k, _ in store.list("")]
    if not keys:
        return []
    return [(k, bytes(b)) for k, b in zip(keys, store.read_ranges(keys, [0] * len(keys)))]


# ---- the store ----------------------------------------------------------------------------------------------------


class ZarrStore(Store):
    """A zarr-python store whose bytes move through an :class:`lsio.Store` (file://, memory://, remote URLs).

    ``url_or_store``: a directory, a ``file://`` URL, another URL ``lsio.open`` understands, or an open
    ``lsio.Store``. A URL opens (on first use) the process's shared LSIO store for that URL and ``options`` (the
    ``lsio.open`` keywords); ``"memory://"`` opens a new, empty in-process store. The store's keys are the LSIO
    store's paths (relative to its root).
    """

    supports_writes: bool = True
    supports_deletes: bool = True
    supports_listing: bool = True

    def __init__(
        self,
        url_or_store: Union[str, os.PathLike[str], lsio.Store],
        *,
        read_only: bool = False,
        options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(read_only=read_only)
        self._lsio: Optional[lsio.Store]
        if isinstance(url_or_store, lsio.Store):
            if options:
                raise ValueError("options apply to a URL; this store is already open")
            self._url = _normalized_url(url_or_store.url)
            self._options = _lz._store_options(url_or_store)
            self._lsio = url_or_store
        else:
            url = os.fspath(url_or_store)
            if not isinstance(url, str):
                raise TypeError(f"url_or_store must be a str, os.PathLike or lsio.Store, not {type(url).__name__}")
            self._url = _normalized_url(url)
            self._options = dict(options or {})
            # A memory store is opened now: it is this object's data (no two ZarrStore("memory://") share one).
            self._lsio = lsio.open(self._url, **self._options) if _is_memory(self._url) else None
        self._lock = threading.Lock()

    # -- the LSIO store --
    @property
    def lsio_store(self) -> lsio.Store:
        """The :class:`lsio.Store` doing the I/O (opened on first use after unpickling)."""
        store = self._lsio
        if store is None:
            with self._lock:
                if self._lsio is None:
                    self._lsio = _lz._shared_store(self._url, self._options)
                store = self._lsio
        return store

    @property
    def url(self) -> str:
        """The LSIO store's URL (a local root is absolute)."""
        return self._url

    def with_read_only(self, read_only: bool = False) -> ZarrStore:
        """Another (not yet open) ZarrStore on the same LSIO store, with ``read_only`` set."""
        other = ZarrStore.__new__(ZarrStore)
        Store.__init__(other, read_only=read_only)
        other._url, other._options, other._lsio = self._url, self._options, self._lsio
        other._lock = threading.Lock()
        return other

    def __reduce__(self) -> tuple[Any, ...]:
        if _is_memory(self._url):
            return (_from_snapshot, (_snapshot(self.lsio_store), self.read_only))
        return (_reopen, (self._url, dict(self._options), self.read_only))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZarrStore) or self.read_only != other.read_only or self._url != other._url:
            return False
        if not _is_memory(self._url):
            return True
        # Two memory stores hold the same data when they are one store, or have the same contents.
        return self.lsio_store is other.lsio_store or _snapshot(self.lsio_store) == _snapshot(other.lsio_store)

    __hash__ = None  # type: ignore[assignment]  # mutable contents (memory://) decide equality

    def __str__(self) -> str:
        return f"memory://{id(self.lsio_store):x}" if _is_memory(self._url) else self._url

    def __repr__(self) -> str:
        return f"ZarrStore({str(self)!r}, read_only={self.read_only})"

    def _mark_open(self) -> None:
        # Operations work on a store that was not opened (as zarr's LocalStore); no await between check and set.
        if not self._is_open:
            self._is_open = True

    # -- reads --
    async def _read(
        self, requests: Sequence[tuple[str, Optional[ByteRequest]]], prototype: Optional[BufferPrototype]
    ) -> list[Optional[Buffer]]:
        """The values of all requests as zarr Buffers of ``prototype`` (None for missing keys)."""
        proto = prototype if prototype is not None else default_buffer_prototype()
        return [self._buffer(r, proto) for r in await self._read_raw(requests)]

    async def _read_raw(self, requests: Sequence[tuple[str, Optional[ByteRequest]]]) -> list[Any]:
        """ONE LSIO batch for all requests (a second one only for ranges that end past their value's end): an
        lsio.Buffer or an exception per request."""
        self._mark_open()
        if not requests:
            return []
        keys = [_check_key(k) for k, _ in requests]
        ranges = [_range(r) for _, r in requests]
        store = self.lsio_store
        results = await store.read_ranges_async(
            keys, [s for s, _ in ranges], [e for _, e in ranges], on_error="return"
        )
        cut = [i for i, r in enumerate(results) if isinstance(r, OutOfRangeError) and ranges[i][1] is not None]
        if cut:
            await self._reread_cut(store, keys, ranges, cut, results)
        return results

    @staticmethod
    async def _reread_cut(
        store: lsio.Store, keys: list[str], ranges: list[_Range], cut: list[int], results: list[Any]
    ) -> None:
        """Rereads the ranges of ``cut`` (they reached past their value's end) up to that end, into ``results``."""
        sizes = await asyncio.to_thread(store.sizes, [keys[i] for i in cut], on_error="return")
        again: list[tuple[int, int]] = []  # (request index, end cut at the value's size)
        for i, size in zip(cut, sizes):
            start, end = ranges[i]
            if isinstance(size, int) and end is not None and start <= size:
                again.append((i, min(end, size)))
        if not again:
            return
        reread = await store.read_ranges_async(
            [keys[i] for i, _ in again], [ranges[i][0] for i, _ in again], [e for _, e in again], on_error="return"
        )
        for (i, _), r in zip(again, reread):
            results[i] = r

    @staticmethod
    def _buffer(result: Any, prototype: BufferPrototype) -> Optional[Buffer]:
        """The zarr Buffer of one LSIO result (zero-copy), None for a missing key; raises other errors."""
        if isinstance(result, FileNotFoundError):
            return None
        if isinstance(result, BaseException):
            raise result
        return prototype.buffer.from_bytes(result)

    async def get(
        self, key: str, prototype: Optional[BufferPrototype] = None, byte_range: Optional[ByteRequest] = None
    ) -> Optional[Buffer]:
        """The value of ``key`` (or its ``byte_range``), None when there is none."""
        return (await self._read([(key, byte_range)], prototype))[0]

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, Optional[ByteRequest]]]
    ) -> list[Optional[Buffer]]:
        """Every (key, range) in one LSIO batch, in order; None for missing keys."""
        return await self._read(list(key_ranges), prototype)

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, Optional[ByteRequest]]]
    ) -> Any:  # AsyncGenerator[tuple[str, Buffer | None], None]
        """Every request in one LSIO batch, yielded as (key, value) once the batch is done."""
        reqs = list(requests)
        results = await self._read_raw([(k, r) for k, _, r in reqs])
        for (key, prototype, _), result in zip(reqs, results):
            yield key, self._buffer(result, prototype if prototype is not None else default_buffer_prototype())

    def get_sync(
        self, key: str, *, prototype: Optional[BufferPrototype] = None, byte_range: Optional[ByteRequest] = None
    ) -> Optional[Buffer]:
        """``get`` for synchronous callers (blocks this thread for one LSIO batch)."""
        self._mark_open()
        start, end = _range(byte_range)
        proto = prototype if prototype is not None else default_buffer_prototype()
        store = self.lsio_store
        result = store.read_ranges([_check_key(key)], [start], [end], on_error="return")[0]
        if isinstance(result, OutOfRangeError) and end is not None:
            size = store.sizes([key], on_error="return")[0]
            if isinstance(size, int) and start <= size:
                result = store.read_ranges([key], [start], [min(end, size)], on_error="return")[0]
        return self._buffer(result, proto)

    async def exists(self, key: str) -> bool:
        size = (await asyncio.to_thread(self.lsio_store.sizes, [_check_key(key)], on_error="return"))[0]
        return isinstance(size, int)

    async def getsize(self, key: str) -> int:
        """The size of the value of ``key`` in bytes (FileNotFoundError when there is none)."""
        size = (await asyncio.to_thread(self.lsio_store.sizes, [_check_key(key)], on_error="return"))[0]
        if isinstance(size, FileNotFoundError):
            raise FileNotFoundError(key) from size
        if isinstance(size, BaseException):
            raise size
        return int(size)

    async def getsize_prefix(self, prefix: str) -> int:
        """The total size of the values under ``prefix`` (one listing, sizes included)."""
        listed = await asyncio.to_thread(self.lsio_store.list, _dir_prefix(prefix))
        return sum(size for _, size in listed)

    # -- writes --
    def _check_value(self, value: Buffer) -> None:
        if not isinstance(value, Buffer):
            raise TypeError(f"ZarrStore.set(): value must be a zarr Buffer, not {type(value).__name__}")

    async def set(self, key: str, value: Buffer) -> None:
        """Replaces the value of ``key`` atomically."""
        self._mark_open()
        self._check_writable()
        self._check_value(value)
        await asyncio.to_thread(self.lsio_store.put, _check_key(key), value.as_buffer_like())

    def set_sync(self, key: str, value: Buffer) -> None:
        """``set`` for synchronous callers."""
        self._mark_open()
        self._check_writable()
        self._check_value(value)
        self.lsio_store.put(_check_key(key), value.as_buffer_like())

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Writes ``value`` unless ``key`` has one (atomic within this process only)."""
        self._mark_open()
        self._check_writable()
        self._check_value(value)
        await asyncio.to_thread(self._put_if_absent, _check_key(key), value)

    def _put_if_absent(self, key: str, value: Buffer) -> None:
        with _put_if_absent_lock:
            if not isinstance(self.lsio_store.sizes([key], on_error="return")[0], int):
                self.lsio_store.put(key, value.as_buffer_like())

    async def delete(self, key: str) -> None:
        """Deletes ``key`` (no error when missing); a key that is a directory deletes the keys below it."""
        self._check_writable()
        await asyncio.to_thread(self.delete_sync, key)

    def delete_sync(self, key: str) -> None:
        """``delete`` for synchronous callers."""
        self._check_writable()
        store = self.lsio_store
        error = store.remove([_check_key(key)], on_error="return")
        if error and error[0] is not None:
            below = [k for k, _ in store.list(_dir_prefix(key))] if key.strip("/") else []
            if not below:
                raise error[0]
            store.remove(below)

    async def delete_dir(self, prefix: str) -> None:
        """Deletes every key below ``prefix`` (all keys when it is '')."""
        self._check_writable()
        await asyncio.to_thread(self._delete_below, _dir_prefix(prefix))

    def _delete_below(self, prefix: str) -> None:
        store = self.lsio_store
        keys = [k for k, _ in store.list(prefix)]
        if keys:
            store.remove(keys)

    async def clear(self) -> None:
        """Deletes every key."""
        self._check_writable()
        await self.delete_dir("")

    # -- listing --
    async def list(self) -> AsyncIterator[str]:
        """Every key, sorted."""
        for key, _ in await asyncio.to_thread(self.lsio_store.list, ""):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        """Every key starting with ``prefix`` (a plain string prefix), sorted."""
        for key, _ in await asyncio.to_thread(self.lsio_store.list, prefix):
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        """The names of the keys and prefixes directly below ``prefix`` (no '/' in them)."""
        p = _dir_prefix(prefix)
        objects, prefixes = await asyncio.to_thread(self._list_dir, p)
        for key, _ in objects:
            yield key[len(p):]
        for sub in prefixes:
            yield sub[len(p):].rstrip("/")

    def _list_dir(self, prefix: str) -> tuple[list[tuple[str, int]], list[str]]:
        """The LSIO store's list_dir; in a file store, without the directories that hold no file (left by deletes;
        zarr would warn about them as unknown nodes)."""
        store = self.lsio_store
        objects, prefixes = store.list_dir(prefix)
        if _lz._local_root(self._url) is not None:
            prefixes = [sub for sub in prefixes if _holds_a_key(store, sub)]
        return objects, prefixes

    async def is_empty(self, prefix: str) -> bool:
        """True when no key lies below ``prefix``."""
        return not await asyncio.to_thread(_holds_a_key, self.lsio_store, _dir_prefix(prefix))


_put_if_absent_lock = threading.Lock()


def _holds_a_key(store: lsio.Store, prefix: str) -> bool:
    """Whether some key lies below ``prefix`` ('' or ending in '/'): a depth-first walk of list_dir that stops at
    the first key, so it lists more than one level only below prefixes without keys (empty directories)."""
    objects, prefixes = store.list_dir(prefix)
    return bool(objects) or any(_holds_a_key(store, sub) for sub in prefixes)
