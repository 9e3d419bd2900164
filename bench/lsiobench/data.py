"""Benchmark input files: created once with random bytes, reused when present."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
_WRITE_PIECE = 64 * MIB


def size_label(size: int) -> str:
    """'256KiB', '1MiB', '2GiB': the folder name of a file set of that file size."""
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if size % unit == 0:
            return f"{size // unit}{name}"
    return f"{size}B"


@dataclass(frozen=True)
class FileSet:
    """`count` files of `size` bytes each: <data_dir>/<size_label>/f<index>.

    File sets of one size share a folder, so a smaller run (e.g. --quick) reuses
    the first files of a bigger one.
    """

    data_dir: Path
    size: int
    count: int

    @property
    def folder(self) -> Path:
        return self.data_dir / size_label(self.size)

    def path(self, index: int) -> Path:
        return self.folder / f"f{index}"

    def paths(self) -> list[Path]:
        return [self.path(i) for i in range(self.count)]

    @property
    def total_bytes(self) -> int:
        return self.size * self.count


def _write_random_file(path: Path, size: int, rng: np.random.Generator) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        offset = 0
        while offset < size:
            piece = rng.bytes(min(_WRITE_PIECE, size - offset))
            offset += os.pwrite(fd, piece, offset)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_files(files: FileSet, seed: int = 1234) -> int:
    """Creates the missing (or wrongly sized) files; returns how many it wrote."""
    files.folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + files.size)
    written = 0
    for path in files.paths():
        if path.exists() and path.stat().st_size == files.size:
            continue
        _write_random_file(path, files.size, rng)
        written += 1
    if written:
        os.sync()
    return written


def warm_page_cache(paths: list[Path], piece: int = 8 * MIB) -> int:
    """Reads every file once so later buffered reads hit the page cache."""
    total = 0
    buf = bytearray(piece)
    view = memoryview(buf)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            while (n := os.readv(fd, [view])) > 0:
                total += n
        finally:
            os.close(fd)
    return total
