"""Store.write, Store.put and Store.sizes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import lsio
from util import write_file


def test_write_then_read_back(store: lsio.Store, tmp_path: Path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    store.write([a, a, b], [0, 10, 4], [b"0123456789", np.arange(5, dtype=np.uint8), bytearray(b"xyz")])
    assert Path(a).read_bytes() == b"0123456789" + bytes(range(5))
    assert Path(b).read_bytes() == b"\0\0\0\0xyz"
    assert [bytes(r) for r in store.read_ranges([a, b], [8, 4], [12, None])] == [b"89\0\1", b"xyz"]


def test_write_overwrites_in_place(store: lsio.Store, tmp_path: Path) -> None:
    path = write_file(tmp_path / "f", b"aaaaaaaaaa")
    store.write(path, [2, 6], [b"BB", b"CC"])
    assert Path(path).read_bytes() == b"aaBBaaCCaa"


def test_write_errors(store: lsio.Store, tmp_path: Path) -> None:
    bad = str(tmp_path / "dir")
    os.mkdir(bad)
    good = str(tmp_path / "good")
    errors = store.write([bad, good], [0, 0], [b"x", b"y"], on_error="return")
    assert errors is not None and isinstance(errors[0], Exception) and errors[1] is None
    assert bad in str(errors[0])
    assert Path(good).read_bytes() == b"y"
    with pytest.raises(ValueError, match="negative"):
        store.write(good, [-1], [b"x"])
    with pytest.raises(ValueError, match="datas"):
        store.write(good, [0, 1], [b"x"])


def test_put_replaces_file(store: lsio.Store, tmp_path: Path) -> None:
    path = write_file(tmp_path / "f", b"old contents that are long")
    old_inode = os.stat(path).st_ino
    store.put(path, b"new")
    assert Path(path).read_bytes() == b"new"
    assert os.stat(path).st_ino != old_inode  # replaced (rename), not rewritten in place
    store.put(path, np.arange(4, dtype=np.uint16), fsync=True)
    assert Path(path).read_bytes() == np.arange(4, dtype=np.uint16).tobytes()
    assert sorted(os.listdir(tmp_path)) == ["f"]  # no temp files left behind


def test_put_creates_parent_dirs(rooted: lsio.Store, tmp_path: Path) -> None:
    rooted.put("x/y/z.bin", b"data")
    assert (tmp_path / "x" / "y" / "z.bin").read_bytes() == b"data"
    assert bytes(rooted.read_ranges("x/y/z.bin", [0])[0]) == b"data"


def test_put_error(store: lsio.Store, tmp_path: Path) -> None:
    blocker = write_file(tmp_path / "file", b"")
    with pytest.raises(OSError, match="file"):
        store.put(blocker + "/child", b"x")


def test_sizes(store: lsio.Store, tmp_path: Path) -> None:
    paths = [write_file(tmp_path / f"s{n}", b"x" * n) for n in (0, 1, 4096, 100_000)]
    assert store.sizes(paths) == [0, 1, 4096, 100_000]
    assert store.sizes(paths[2]) == [4096]
    assert store.sizes(Path(paths[3])) == [100_000]
    missing = str(tmp_path / "missing")
    results = store.sizes([paths[1], missing], on_error="return")
    assert results[0] == 1 and isinstance(results[1], FileNotFoundError) and missing in str(results[1])
    with pytest.raises(FileNotFoundError):
        store.sizes([missing])


def test_memory_store_round_trip() -> None:
    mem = lsio.open("memory://")
    mem.put("a/b", b"hello world")
    mem.write(["c", "c"], [0, 5], [b"01234", b"56789"])
    assert mem.sizes(["a/b", "c"]) == [11, 10]
    assert [bytes(r) for r in mem.read_ranges(["a/b", "c", "a/b"], [0, 3, -5], [5, 7, None])] == [
        b"hello",
        b"3456",
        b"world",
    ]
    assert isinstance(mem.read_ranges("nope", [0], on_error="return")[0], FileNotFoundError)

