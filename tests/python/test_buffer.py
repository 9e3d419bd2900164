"""lsio.Buffer: read-only, zero-copy, keeps its memory alive."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

import lsio
from util import pattern, write_file


@pytest.fixture
def data_file(tmp_path: Path) -> str:
    return write_file(tmp_path / "data", pattern(10000))


def test_bytes_len_memoryview(data_file: str) -> None:
    (buf,) = lsio.read_ranges(data_file, [100], [300])
    assert isinstance(buf, lsio.Buffer)
    assert len(buf) == 200
    assert bytes(buf) == pattern(10000)[100:300]
    view = memoryview(buf)
    assert view.readonly and view.format == "B" and view.nbytes == 200 and view.ndim == 1
    assert view.obj is buf
    assert view.tobytes() == bytes(buf)
    assert "200 bytes" in repr(buf)


def test_numpy_frombuffer_is_zero_copy(data_file: str) -> None:
    (buf,) = lsio.read_ranges(data_file, [0], [4096])
    array = np.frombuffer(buf, np.uint8)
    assert not array.flags.writeable
    assert array.ctypes.data == np.frombuffer(buf, np.uint8).ctypes.data  # same memory each time
    base: object = array
    while isinstance(base, np.ndarray):  # the base chain ends at the Buffer
        base = base.base
    assert base is buf
    assert array.tobytes() == pattern(10000)[:4096]


def test_view_outlives_result_list(data_file: str) -> None:
    results = lsio.read_ranges(data_file, [0, 5000], [5000, 10000])
    arrays = [np.frombuffer(b, np.uint16) for b in results]
    del results
    gc.collect()
    assert b"".join(a.tobytes() for a in arrays) == pattern(10000)


def test_buffer_is_read_only(data_file: str) -> None:
    (buf,) = lsio.read_ranges(data_file, [0], [10])
    with pytest.raises(ValueError):
        np.frombuffer(buf, np.uint8).setflags(write=True)
    with pytest.raises(TypeError):
        memoryview(buf)[0] = 1
    with pytest.raises(TypeError), open(data_file, "rb") as f:
        f.readinto(buf)


def test_empty_buffer(data_file: str) -> None:
    (buf,) = lsio.read_ranges(data_file, [10], [10])
    assert len(buf) == 0 and bytes(buf) == b""
    assert np.frombuffer(buf, np.uint8).size == 0
    assert memoryview(buf).nbytes == 0


def test_buffer_cannot_be_constructed() -> None:
    with pytest.raises(TypeError):
        lsio.Buffer()
