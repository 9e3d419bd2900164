"""Store.read_into: reads straight into caller buffers (numpy arrays, slices, bytearrays)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lsio
from util import pattern, write_file

SIZE = 64 * 4096


@pytest.fixture
def data(tmp_path: Path) -> tuple[str, bytes]:
    content = pattern(SIZE, seed=3)
    return write_file(tmp_path / "data", content), content


def test_into_arrays(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    outs: list[np.ndarray] = [np.zeros(100, np.uint8), np.zeros(50, np.uint16), np.zeros(3, np.float64)]
    assert store.read_into(path, [0, 1000, 5000], outs) is None
    assert outs[0].tobytes() == content[:100]
    assert outs[1].tobytes() == content[1000:1100]
    assert outs[2].tobytes() == content[5000:5024]


def test_into_slices_of_one_array(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    n = SIZE // 4096
    big = np.empty(SIZE, np.uint8)
    order = np.random.default_rng(0).permutation(n)
    outs = [big[i * 4096 : (i + 1) * 4096] for i in order]
    store.read_into(path, order * 4096, outs)
    assert big.tobytes() == content  # slice i got the bytes at i * 4096, in a shuffled batch


def test_into_rows_of_2d_array(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    rows = np.empty((8, 512), np.uint16)
    store.read_into(path, np.arange(8) * 1024, list(rows))
    for i in range(8):
        assert rows[i].tobytes() == content[i * 1024 : i * 1024 + 1024]


def test_into_bytearray_and_memoryview(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    a = bytearray(10)
    b = memoryview(bytearray(20))[5:15]
    store.read_into([path, path], [7, 70], [a, b])
    assert bytes(a) == content[7:17] and bytes(b) == content[70:80]


def test_suffix_into(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    out = np.empty(300, np.uint8)
    store.read_into(path, [-300], [out])
    assert out.tobytes() == content[-300:]
    with pytest.raises(ValueError, match="last 200 bytes"):
        store.read_into(path, [-200], [out])


def test_suffix_into_longer_than_file(store: lsio.Store, tmp_path: Path) -> None:
    for content in (b"", b"abc"):
        path = write_file(tmp_path / "short", content)
        out = np.full(5, 0xAB, np.uint8)
        (err,) = store.read_into(path, [-5], [out], on_error="return")  # type: ignore[misc]
        assert isinstance(err, lsio.OutOfRangeError), (content, err, out)
        assert path in str(err)


def test_zero_length_into(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, _ = data
    assert store.read_into(path, [0, SIZE], [bytearray(), np.empty(0, np.uint8)]) is None


def test_past_eof_into(store: lsio.Store, data: tuple[str, bytes], tmp_path: Path) -> None:
    path, content = data
    outs = [np.zeros(100, np.uint8), np.zeros(100, np.uint8), np.zeros(10, np.uint8)]
    missing = str(tmp_path / "missing")
    errors = store.read_into([path, path, missing], [SIZE - 50, 0, 0], outs, on_error="return")
    assert errors is not None
    assert isinstance(errors[0], lsio.OutOfRangeError) and path in str(errors[0])
    assert str(SIZE - 50) in str(errors[0])
    assert errors[1] is None and outs[1].tobytes() == content[:100]
    assert isinstance(errors[2], FileNotFoundError)
    with pytest.raises(lsio.OutOfRangeError):
        store.read_into(path, [SIZE - 50], [np.zeros(100, np.uint8)])
    with pytest.raises(lsio.OutOfRangeError):
        store.read_into(path, [-SIZE - 1], [np.zeros(SIZE + 1, np.uint8)])


def test_bad_outs(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, _ = data
    with pytest.raises(TypeError, match=r"outs\[0\]"):
        store.read_into(path, [0], [b"read-only"])
    with pytest.raises(TypeError, match=r"outs\[0\]"):
        store.read_into(path, [0], [np.zeros(100, np.uint8)[::2]])  # not contiguous
    with pytest.raises(TypeError, match=r"outs\[1\]"):
        store.read_into(path, [0, 0], [bytearray(1), 5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="outs"):
        store.read_into(path, [0, 1], [bytearray(1)])


def test_outs_are_released(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, _ = data
    out = bytearray(10)
    store.read_into(path, [0], [out])
    out.extend(b"x")  # a bytearray with live buffer exports cannot resize
    with pytest.raises(TypeError):
        store.read_into(path, [0, 0], [out, b"ro"])
    out.extend(b"y")  # released on the error path too


def test_module_level_read_into(data: tuple[str, bytes]) -> None:
    path, content = data
    out = np.empty(16, np.uint8)
    lsio.read_into(path, [32], [out])
    assert out.tobytes() == content[32:48]


def test_direct_read_into(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    big = np.zeros(3 * 4096 + 10, np.uint8)
    outs = [big[:4096], big[4096 : 2 * 4096 + 7], big[2 * 4096 + 7 :]]
    store.read_into(path, [0, 4099, 100_001], outs, direct=True)
    assert outs[0].tobytes() == content[:4096]
    assert outs[1].tobytes() == content[4099 : 4099 + 4103]
    assert outs[2].tobytes() == content[100_001 : 100_001 + len(outs[2])]
