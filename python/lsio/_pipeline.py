"""Pieces shared by the slab pipelines of lsio.zarr.copy and lsio.grib.to_zarr: one read ahead of the write, and the
resume test of stored write units."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Generic, Optional, TypeVar

from ._lsio import CancelToken

T = TypeVar("T")
R = TypeVar("R")


class ReadAhead(Generic[T, R]):
    """``with ReadAhead(items, read, token) as stream: for item, data in stream: ...`` yields ``(item,
    read(item))`` in order while ``read`` of the next item runs on a helper thread (the store's workers decode), so
    reading item i + 1 overlaps the caller's work (the write) on item i: two items in memory at most.

    On any exception, in a read or in the caller's loop body, and on Ctrl-C: ``token`` (when given; pass the same
    token to ``read``) is cancelled so the pending read stops early, the pending read is waited for (never left
    running behind the caller) and the exception goes on. ``read`` without a cancel token (GRIB decode) is only
    waited for."""

    def __init__(self, items: Sequence[T], read: Callable[[T], R], token: Optional[CancelToken] = None,
                 name: str = "lsio-read-ahead") -> None:  # fmt: skip
        self._items = items
        self._read = read
        self._token = token
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._pending: Optional[concurrent.futures.Future[R]] = None

    def __enter__(self) -> ReadAhead[T, R]:
        return self

    def __iter__(self) -> Iterator[tuple[T, R]]:
        items = self._items
        if not items:
            return
        self._pending = self._pool.submit(self._read, items[0])
        for i, item in enumerate(items):
            assert self._pending is not None
            data = self._pending.result()
            self._pending = self._pool.submit(self._read, items[i + 1]) if i + 1 < len(items) else None
            yield item, data
            del data

    def __exit__(self, kind: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:  # fmt: skip
        try:
            if kind is not None and self._token is not None:
                self._token.cancel("stopped: " + (kind.__name__ if exc is None else f"{kind.__name__}: {exc}"))
            if self._pending is not None:
                concurrent.futures.wait([self._pending])  # its own error (often CancelledError) is not the cause
                self._pending = None
        finally:
            self._pool.shutdown(wait=True)


def present(dst: Any, coords: list[list[int]], min_size: int, unit: Sequence[int]) -> bool:
    """Whether every write unit of a slab is already stored and verified: at least as big as a shard index, and,
    for shards, the index read and checked (its crc32c, every inner chunk inside the object) and an element of
    each shard decoded, all in one read of one element per shard. Anything wrong: the slab is copied again."""
    core = dst._core
    keys = [core.chunk_key(c) for c in coords]
    sizes = dst.store.sizes(keys, on_error="return")
    if not all(isinstance(n, int) and n >= min_size for n in sizes):
        return False
    if not min_size:  # unsharded: a chunk is put whole (atomically), its presence is enough
        return True
    origins = [sorted({c[d] * unit[d] for c in coords}) for d in range(len(unit))]
    try:
        dst.read(tuple(origins))
    except (OSError, ValueError):
        return False
    return True


__all__ = ["ReadAhead", "present"]
