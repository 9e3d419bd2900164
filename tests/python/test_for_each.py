"""Store.for_each: a callback per completed range, on worker threads, under the GIL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Union

import numpy as np
import pytest

import lsio
from util import open_store, pattern, write_file

SIZE = 200_000


@pytest.fixture
def data(tmp_path: Path) -> tuple[str, bytes]:
    content = pattern(SIZE, seed=5)
    return write_file(tmp_path / "data", content), content


def test_every_index_exactly_once(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    starts = np.arange(0, SIZE, 100, dtype=np.int64)
    seen: dict[int, bytes] = {}
    duplicates: list[int] = []
    threads: set[int] = set()

    def fn(index: int, chunk: Union[lsio.Buffer, Exception]) -> None:
        assert isinstance(chunk, lsio.Buffer)
        threads.add(threading.get_ident())
        if index in seen:
            duplicates.append(index)
        seen[index] = bytes(chunk)

    store.for_each(path, starts, starts + 100, fn)
    assert duplicates == []
    assert sorted(seen) == list(range(len(starts)))
    assert all(seen[i] == content[s : s + 100] for i, s in enumerate(starts))


def test_errors_go_to_the_callback(store: lsio.Store, data: tuple[str, bytes], tmp_path: Path) -> None:
    path, _ = data
    missing = str(tmp_path / "missing")
    got: dict[int, Union[lsio.Buffer, Exception]] = {}
    store.for_each([path, missing, path], [0, 0, SIZE - 1], [10, 10, SIZE + 1], got.__setitem__)
    assert sorted(got) == [0, 1, 2]
    assert isinstance(got[0], lsio.Buffer) and len(got[0]) == 10
    assert isinstance(got[1], FileNotFoundError)
    assert isinstance(got[2], lsio.OutOfRangeError)


def test_buffers_may_be_kept(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    kept: list[tuple[int, lsio.Buffer]] = []
    store.for_each(path, [0, 1000, -10], None, lambda i, b: kept.append((i, b)))  # type: ignore[arg-type]
    by_index = {i: bytes(b) for i, b in kept}
    assert by_index == {0: content, 1: content[1000:], 2: content[-10:]}


class Boom(Exception):
    pass


def test_callback_exception_propagates(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    starts = np.arange(0, SIZE, 10, dtype=np.int64)
    calls: list[int] = []

    def fn(index: int, chunk: Union[lsio.Buffer, Exception]) -> None:
        calls.append(index)
        if len(calls) == 5:
            raise Boom(f"stop at {index}")

    with pytest.raises(Boom, match="stop at"):
        store.for_each(path, starts, starts + 10, fn)
    assert 5 <= len(calls) < len(starts)  # the rest of the batch was cancelled
    # The store is still usable afterwards.
    assert bytes(store.read_ranges(path, [0], [10])[0]) == content[:10]


def test_callback_must_be_callable(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, _ = data
    with pytest.raises(TypeError):
        store.for_each(path, [0], None, 5)  # type: ignore[arg-type]


def test_numpy_scatter_in_callback(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    n = SIZE // 1000
    out = np.zeros((n, 1000), np.uint8)

    def fn(index: int, chunk: Union[lsio.Buffer, Exception]) -> None:
        assert isinstance(chunk, lsio.Buffer)
        out[index] = np.frombuffer(chunk, np.uint8)

    starts = np.arange(n, dtype=np.int64) * 1000
    store.for_each(path, starts, starts + 1000, fn, coalesce_gap=1 << 20)
    assert out.tobytes() == content[: n * 1000]


def test_nested_reads_use_another_store(store: lsio.Store, data: tuple[str, bytes], engine: str) -> None:
    path, content = data
    other = open_store("", engine)
    got: dict[int, bytes] = {}

    def fn(index: int, chunk: Union[lsio.Buffer, Exception]) -> None:
        got[index] = bytes(other.read_ranges(path, [index], [index + 1])[0])

    store.for_each(path, list(range(20)), None, fn)
    assert got == {i: content[i : i + 1] for i in range(20)}


def test_reentrant_call_raises_instead_of_deadlocking(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, _ = data

    def fn(index: int, chunk: Union[lsio.Buffer, Exception]) -> None:
        store.read_ranges(path, [0], [1])

    with pytest.raises(RuntimeError, match="its own callbacks"):
        store.for_each(path, [0, 1, 2], None, fn)
