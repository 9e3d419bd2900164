"""Helpers for the lsio tests: test files and the os.pread oracle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, cast

import numpy as np
import pytest

import lsio

if TYPE_CHECKING:
    from lsio._lsio import Engine


def open_store(root: str, engine: str) -> lsio.Store:
    """lsio.open(root, engine=engine); skips (never passes) when io_uring is not available here."""
    try:
        return lsio.open(root, engine=cast("Engine", engine))
    except lsio.LsioError as e:
        if engine == "uring":
            pytest.skip(f"io_uring is not available: {e}")
        raise


def write_file(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def pattern(size: int, seed: int = 0) -> bytes:
    """size bytes whose 16-bit words count up from a seed-dependent value (misplaced reads show)."""
    words = (np.arange((size + 1) // 2, dtype=np.uint32) + seed * 7919).astype("<u2")
    return words.tobytes()[:size]


def expected_read(path: str, start: int, end: Optional[int]) -> Optional[bytes]:
    """The oracle, with os.pread: the bytes lsio must return, or None if the range is past EOF.

    [start, end) with end > size, and [start, EOF) with start > size, are errors;
    a negative start is the last -start bytes (the whole file if it is shorter).
    """
    size = os.path.getsize(path)
    if start < 0:
        begin, stop = max(0, size + start), size
    else:
        begin, stop = start, size if end is None else end
        if stop > size or begin > size:
            return None
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, stop - begin, begin)
    finally:
        os.close(fd)


def malloc_trim() -> None:
    """Returns freed heap memory to the system (glibc), so that RSS shows what is still in use."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def process_rss() -> int:
    """Resident set size of this process in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))
