"""Light Speed IO: batched reads of many byte ranges of many files, with io_uring.

    import lsio, numpy
    chunks = lsio.read_ranges("data.bin", [0, 4096, -100], [100, 8192, None])
    array = numpy.frombuffer(chunks[0], numpy.uint8)  # zero-copy

A range is ``[start, end)``; ``end=None`` (or -1) reads to the end of the file and
a negative start means the last ``-start`` bytes. Malformed arguments raise
TypeError/ValueError at once; ``on_error`` decides what an I/O error of one
request does: ``"raise"`` raises the first one, ``"return"`` puts the exception
in the result list at that request's position (its neighbours are unaffected).

The GIL is released during all I/O.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional, Union, overload

def _load_extension() -> None:
    """Imports _lsio with RTLD_DEEPBIND: its libcurl, OpenSSL and libldap then bind to each other, not to other
    copies already loaded globally by another wheel (the eccodes/eckit wheels bundle libcurl, OpenSSL 1.1 and
    libldap 2.4; without this, a process that imported them first crashed at exit in libldap's destructor)."""
    import sys

    flags = sys.getdlopenflags()
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    sys.setdlopenflags(flags | deepbind)
    try:
        from . import _lsio  # noqa: F401
    finally:
        sys.setdlopenflags(flags)


_load_extension()
from . import _lsio  # noqa: E402
from ._lsio import (
    BatchResult,
    Buffer,
    CancelledError,
    CancelToken,
    ChangedError,
    DataLossError,
    LsioError,
    OutOfRangeError,
    PendingRead,
    Store,
)
from ._tune import TuneProfile, tune  # noqa: E402

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ._lsio import BatchPaths, Engine, Ints, OnError, OptionalInts, Paths, WritableBuffer

__all__ = [
    "BatchResult",
    "Buffer",
    "CancelToken",
    "CancelledError",
    "ChangedError",
    "DataLossError",
    "LsioError",
    "OutOfRangeError",
    "PendingRead",
    "Store",
    "TuneProfile",
    "__version__",
    "default_store",
    "engine",
    "open",
    "read_batch",
    "read_into",
    "read_ranges",
    "tune",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lsio")
    except PackageNotFoundError:  # running from a build tree
        return "0+unknown"


__version__: str = _version()

_default: Optional[Store] = None
_default_lock = threading.Lock()


def open(  # noqa: A001 - lsio.open, like gzip.open
    url: Union[str, os.PathLike[str]] = "",
    *,
    engine: Optional[Engine] = None,
    workers: Optional[int] = None,
    queue_depth: Optional[int] = None,
    max_open_files: int = 0,
    cache: Union[int, str, None] = None,
    revalidate_after: Union[float, str, None] = None,
    direct_threshold: Union[int, str, None] = None,
    inline_reads: bool = True,
    tune: Union[bool, str, TuneProfile] = True,
    **remote: Any,
) -> Store:
    """Open a store by URL.

    ``""`` (paths used as given), ``"/data"``, ``"relative/dir"`` or
    ``"file:///data"`` open a file store whose keys are paths relative to that
    root; ``"memory://"`` an in-process store. ``engine="auto"`` picks io_uring
    when the kernel allows it, else posix, and honours ``LSIO_ENGINE``.
    ``workers=0`` means one per CPU; ``max_open_files`` bounds the descriptors
    the store holds, in use or kept open across calls (each is revalidated
    against its path before reuse); 0 derives the bound from ``RLIMIT_NOFILE``.

    ``cache`` ("2GiB", "512MB" or a number of bytes) puts a RAM cache of read
    results in front of the store; only reads of a pinned object version are
    cached (Zarr pins every inner chunk of a shard, so a second epoch of
    random crops is served from RAM), and Zarr keeps decoded inner chunks
    there, so a cached chunk is neither read nor decoded again.
    ``store.cache_stats()`` gives its counters. Zarr confirms the version of
    every shard a read touches on each call (a HEAD per shard for remote
    stores), so a rewritten shard is seen by the next read;
    ``revalidate_after`` (seconds, or "500ms", "10s", "5min", "1h") lets the
    cache answer those version checks from RAM for that long: within it a
    shard replaced by another writer may be served stale.

    ``"s3://bucket/prefix"`` opens an S3 store and ``"http(s)://host/base/"`` a
    read-only HTTP store; keys are appended to the prefix or base. Their
    keyword options (all optional; see ``lsio.REMOTE_OPTIONS``): ``endpoint``,
    ``region``, ``access_key_id``, ``secret_access_key``, ``session_token``,
    ``profile``, ``anonymous`` (else the ``AWS_*`` variables and the shared
    credentials file), ``addressing`` ("auto", "path", "virtual"),
    ``max_connections`` (64 per host), ``max_inflight`` (64 requests),
    ``max_inflight_bytes`` (body bytes of the requests in flight; 0, the
    default: no limit; a budget keeps many small requests in flight but few
    big ones, and one request larger than it still goes, alone),
    ``http2``, ``connect_timeout`` (5 s), ``low_speed_limit`` (1024 B/s) over
    ``low_speed_time`` (30 s), ``verify_tls``, ``ca_bundle``, ``max_attempts``
    (10), ``max_retry_time`` (180 s), ``backoff_initial`` (0.1 s),
    ``backoff_max`` (15 s), ``retry_after_cap`` (60 s),
    ``multipart_threshold`` and ``multipart_part_size`` (8 MiB), and the
    store's planning defaults ``coalesce_gap`` (1 MiB: right for cloud
    latency; ~64 KiB suits a fast server nearby), ``max_merged`` (16 MiB: the
    longest merged fetch) and ``part_size`` (8 MiB: the longest GET; a longer
    fetch, merged or not, goes out as parallel parts). Secrets never appear in
    any message or repr.

    ``coalesce_gap``, ``max_merged`` and ``part_size`` are also the planning
    defaults of a file store (0, 16 MiB and 64 MiB unless set), and
    ``direct_threshold`` (bytes, or "8MiB") makes a file store read files with
    a planned read of at least that size (default 8 MiB) with O_DIRECT unless
    the page cache holds most of the file's planned span, and write puts
    (whole objects: Zarr chunks and shards) of at least that size with O_DIRECT
    (falling back to the page cache where the file system refuses O_DIRECT;
    0: never).
    ``inline_reads`` (a file store): a small batch whose bytes the page cache
    holds (at most 8 ranges of one file, 1 MiB; one range when a callback
    consumes it) is read on the calling thread, which saves the hand-off to a
    worker and back; anything else goes to the workers. ``False``: every read
    goes through the workers (e.g. to measure the engine alone).
    For a file store, ``max_inflight_bytes`` (2 MiB) bounds a worker's buffered
    read bytes in flight (O_DIRECT reads: at least 64 MiB): small keeps hot
    page-cache copies in the CPU caches, large keeps a cold device busy.

    ``tune``: a profile saved by :func:`lsio.tune` for the storage of ``url``
    (the device of a local path; S3 endpoint and bucket; HTTP host) is applied
    by default to every setting not given here; ``tune=False`` ignores it,
    ``tune="nvme"|"hdd"|"s3"|"http"`` applies a preset and a
    :class:`TuneProfile` applies that profile. ``store.option_sources`` says
    where each setting came from.
    """
    unknown = sorted(set(remote) - set(REMOTE_OPTIONS))
    if unknown:
        raise TypeError(f"lsio.open() got unexpected keyword arguments {unknown}; remote options are {REMOTE_OPTIONS}")
    from ._tune import resolve_open_settings

    url = os.fspath(url)
    remote = {k: v for k, v in remote.items() if v is not None}
    explicit = {k: v for k, v in {"engine": engine, "workers": workers, "queue_depth": queue_depth,
                                  "direct_threshold": direct_threshold, **remote}.items() if v is not None}  # fmt: skip
    tuned, sources = resolve_open_settings(url, explicit, tune, remote)
    settings = {**tuned, **explicit}
    for name in ("coalesce_gap", "max_merged", "part_size", "max_inflight_bytes", "max_inflight", "max_connections"):
        if name in settings:
            remote[name] = parse_size(settings[name]) if name not in ("max_inflight", "max_connections") else settings[name]
    if revalidate_after is not None and cache is None:
        raise ValueError("revalidate_after needs a cache (cache=...)")
    return _lsio.open(
        url,
        engine=settings.get("engine", "auto"),
        workers=settings.get("workers", 0),
        queue_depth=settings.get("queue_depth", 128),
        max_open_files=max_open_files,
        cache_bytes=parse_size(cache) if cache is not None else 0,
        cache_revalidate_after=parse_duration(revalidate_after) if revalidate_after is not None else 0.0,
        remote=remote,
        direct_threshold=parse_size(settings.get("direct_threshold", DEFAULT_DIRECT_THRESHOLD)),
        inline_reads=inline_reads,
        sources=sources,
    )


# StoreOptions::direct_threshold (include/lsio/store.h): O_DIRECT for planned reads this large of files the page
# cache does not mostly hold.
DEFAULT_DIRECT_THRESHOLD = 8 << 20


_SIZE_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
               "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(size: Union[int, str]) -> int:
    """Bytes from 123, "123", "512MiB", "2GiB", "1.5GB" (decimal K/M/G/T, binary KiB/MiB/GiB/TiB)."""
    if isinstance(size, int):
        if size < 0:
            raise ValueError(f"a size cannot be negative: {size}")
        return size
    text = str(size).strip()
    number = text.rstrip("BbKkMmGgTtIi ")
    unit = text[len(number):].strip().upper()
    if unit not in _SIZE_UNITS or not number:
        raise ValueError(f"not a size: {size!r} (examples: 1048576, '512MiB', '2GiB', '1.5GB')")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a size: {size!r} (examples: 1048576, '512MiB', '2GiB', '1.5GB')") from None
    if value < 0:
        raise ValueError(f"a size cannot be negative: {size!r}")
    return int(value * _SIZE_UNITS[unit])


_DURATION_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "m": 60.0, "h": 3600.0}


def parse_duration(duration: Union[float, str]) -> float:
    """Seconds from 1.5, "1.5", "500ms", "10s", "5min" or "1h"."""
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        value = float(duration)
    else:
        text = str(duration).strip()
        number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
        unit = text[len(number):].strip().lower()
        try:
            value = float(number) * _DURATION_UNITS[unit]
        except (KeyError, ValueError):
            raise ValueError(f"not a duration: {duration!r} (examples: 2.5, '500ms', '10s', '5min', '1h')") from None
    if not 0 <= value <= 1e9:
        raise ValueError(f"a duration must be between 0 and 1e9 seconds: {duration!r}")
    return value


REMOTE_OPTIONS: tuple[str, ...] = (
    "endpoint",
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "profile",
    "anonymous",
    "addressing",
    "max_connections",
    "max_inflight",
    "http2",
    "connect_timeout",
    "low_speed_limit",
    "low_speed_time",
    "verify_tls",
    "ca_bundle",
    "max_attempts",
    "max_retry_time",
    "backoff_initial",
    "backoff_max",
    "retry_after_cap",
    "multipart_threshold",
    "multipart_part_size",
    "coalesce_gap",
    "max_merged",
    "part_size",
    "max_inflight_bytes",
)
"""The keyword options of lsio.open for s3:// and http(s):// stores (and the planning ones of file stores)."""


def _reopen(url: str, options: dict[str, Any]) -> Store:
    """Unpickles a Store: the same URL and options, opened in this process."""
    return open(url, **options)


async def _read_ranges_async(
    store: Store,
    paths: Paths,
    starts: Ints,
    ends: OptionalInts = None,
    *,
    on_error: OnError = "raise",
    coalesce_gap: int | None = None,
    direct: bool = False,
) -> Union[list[Buffer], list[Union[Buffer, Exception]]]:
    """``await store.read_ranges_async(...)``: read_ranges without blocking the event loop.

    The batch runs on the store's workers; cancelling the awaiting task cancels
    the batch (reads already in the kernel drain in the background).
    """
    import asyncio

    pending = store.submit_read(paths, starts, ends, coalesce_gap=coalesce_gap, direct=direct)
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not finished.done():
            finished.set_result(None)

    def notify() -> None:
        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop closed meanwhile (a cancelled task's batch finished after it)
            pass

    pending.add_done_callback(notify)
    try:
        await finished
    except asyncio.CancelledError:
        pending.cancel()
        raise
    return pending.result(on_error)


def default_store() -> Store:
    """The store used by the module-level functions: ``lsio.open("")``, created on first use."""
    global _default
    store = _default
    if store is None:
        with _default_lock:
            if _default is None:
                _default = open("")
            store = _default
    return store


@atexit.register
def _close_default_store() -> None:
    # Join the default store's worker threads while the interpreter is whole, and call no done-callback
    # after this (a worker's batch may finish while the interpreter shuts down).
    global _default
    _default = None
    _lsio._close_callbacks()


def engine() -> str:
    """The default store's engine, e.g. ``"uring"`` or ``"posix (LSIO_ENGINE=posix)"``."""
    return default_store().engine


@overload
def read_ranges(
    paths: BatchPaths,
    starts: Ints,
    ends: OptionalInts = None,
    *,
    on_error: Literal["raise"] = "raise",
    coalesce_gap: int | None = None,
    direct: bool = False,
    timeout: Optional[float] = None,
    out: None = None,
) -> list[Buffer]: ...
@overload
def read_ranges(
    paths: BatchPaths,
    starts: Ints,
    ends: OptionalInts = None,
    *,
    on_error: OnError,
    coalesce_gap: int | None = None,
    direct: bool = False,
    timeout: Optional[float] = None,
    out: None = None,
) -> list[Union[Buffer, Exception]]: ...
@overload
def read_ranges(
    paths: BatchPaths,
    starts: Ints,
    ends: OptionalInts = None,
    *,
    on_error: Literal["raise"] = "raise",
    coalesce_gap: int | None = None,
    direct: bool = False,
    timeout: Optional[float] = None,
    out: WritableBuffer,
) -> npt.NDArray[np.int64]: ...
def read_ranges(
    paths: BatchPaths,
    starts: Ints,
    ends: OptionalInts = None,
    *,
    on_error: OnError = "raise",
    coalesce_gap: int | None = None,
    direct: bool = False,
    timeout: Optional[float] = None,
    out: Optional[WritableBuffer] = None,
) -> Union[list[Buffer], list[Union[Buffer, Exception]], npt.NDArray[np.int64]]:
    """Read ``[starts[i], ends[i])`` of ``paths[i]`` (or of ``paths`` if it is one path) for every i.

    Returns one read-only :class:`Buffer` per range, in request order. Ranges of
    one file closer than ``coalesce_gap`` bytes are read together and share one
    allocation. ``direct=True`` bypasses the page cache (O_DIRECT). ``timeout``
    (seconds) cancels the batch and raises TimeoutError naming what was pending;
    Ctrl-C cancels it and raises KeyboardInterrupt within a few tens of ms.

    ``paths`` may also be ``(files, file_index)``: a list of paths and an integer
    array naming ``files[file_index[i]]`` for range i (no string per range).
    With ``out=`` (a writable C-contiguous buffer, e.g. a numpy array) every
    range is read straight into ``out``, back to back, and the ``n + 1``
    offsets where each starts are returned (numpy int64); ranges must then be
    ``[start, end)`` with ``0 <= start <= end``. For many small ranges,
    :func:`read_batch` (one result object, no Python object per range) is faster.
    """
    return default_store().read_ranges(  # type: ignore[call-overload,no-any-return]
        paths, starts, ends, on_error=on_error, coalesce_gap=coalesce_gap, direct=direct, timeout=timeout, out=out
    )


def read_batch(
    paths: BatchPaths,
    starts: Ints,
    ends: OptionalInts = None,
    *,
    out: Optional[WritableBuffer] = None,
    on_error: OnError = "raise",
    coalesce_gap: int | None = None,
    direct: bool = False,
    timeout: Optional[float] = None,
) -> BatchResult:
    """Read the ranges of :func:`read_ranges` into one :class:`BatchResult`, without a Python object per range.

    ``r[i]`` is a zero-copy read-only :class:`Buffer` of range i (made on access; it
    keeps its memory alive after ``r`` and the store are gone), ``len(r)``,
    iteration, ``r.sizes`` / ``r.offsets`` (numpy int64; ``offsets`` has n + 1
    values), ``r.ok`` (numpy bool), ``r.error(i)``, ``r.errors()`` and
    ``r.to_numpy()`` (every range back to back). ``on_error="return"`` keeps
    going: a failed range's ``r[i]`` is its exception (naming path and range).
    ``paths`` may be one path, one per range, or ``(files, file_index)``.
    With ``out=`` the ranges are read straight into that writable buffer, back
    to back (``r.flat`` is True and ``r.to_numpy()`` is a view of it).
    """
    return default_store().read_batch(
        paths,
        starts,
        ends,
        out=out,
        on_error=on_error,
        coalesce_gap=coalesce_gap,
        direct=direct,
        timeout=timeout,
    )


@overload
def read_into(
    paths: Paths,
    starts: Ints,
    outs: Sequence[WritableBuffer],
    *,
    on_error: Literal["raise"] = "raise",
    direct: bool = False,
    timeout: Optional[float] = None,
) -> None: ...
@overload
def read_into(
    paths: Paths,
    starts: Ints,
    outs: Sequence[WritableBuffer],
    *,
    on_error: OnError,
    direct: bool = False,
    timeout: Optional[float] = None,
) -> Optional[list[Optional[Exception]]]: ...
def read_into(
    paths: Paths,
    starts: Ints,
    outs: Sequence[WritableBuffer],
    *,
    on_error: OnError = "raise",
    direct: bool = False,
    timeout: Optional[float] = None,
) -> Optional[list[Optional[Exception]]]:
    """Read ``len(outs[i])`` bytes (its size in bytes) of ``paths[i]`` at ``starts[i]`` into ``outs[i]``.

    ``outs`` are writable C-contiguous buffers (numpy arrays, slices of one,
    bytearrays...). A negative start ``-n`` reads the last ``n`` bytes, and ``n``
    must then equal the buffer's size. Reading past the end of a file is an
    error. Returns None, or with ``on_error="return"`` a list of None-or-exception.
    """
    return default_store().read_into(paths, starts, outs, on_error=on_error, direct=direct, timeout=timeout)
