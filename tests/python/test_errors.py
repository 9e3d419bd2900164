"""Bad input: each failing request carries its own error; neighbours are unaffected."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import lsio
from util import pattern, write_file


@pytest.fixture
def good(tmp_path: Path) -> str:
    return write_file(tmp_path / "good", pattern(5000))


def test_missing_file_raises(store: lsio.Store, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as info:
        store.read_ranges(missing, [0], [10])
    assert missing in str(info.value)
    assert info.value.errno == errno.ENOENT


def test_missing_file_with_neighbours(store: lsio.Store, tmp_path: Path, good: str) -> None:
    missing = str(tmp_path / "missing")
    results = store.read_ranges([good, missing, good, missing], [0, 0, 10, -5], [5, 5, None, None], on_error="return")
    assert bytes(results[0]) == pattern(5000)[:5]  # type: ignore[arg-type]
    assert bytes(results[2]) == pattern(5000)[10:]  # type: ignore[arg-type]
    for r in (results[1], results[3]):
        assert isinstance(r, FileNotFoundError) and missing in str(r) and r.errno == errno.ENOENT


def test_first_error_is_raised(store: lsio.Store, tmp_path: Path, good: str) -> None:
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    with pytest.raises(FileNotFoundError, match="first"):
        store.read_ranges([good, first, second], [0, 0, 0])


def test_past_eof(store: lsio.Store, good: str) -> None:
    results = store.read_ranges(good, [0, 4990, 6000, 100, 5001], [10, 5010, 6001, 200, None], on_error="return")
    assert bytes(results[0]) == pattern(5000)[:10]  # type: ignore[arg-type]
    assert bytes(results[3]) == pattern(5000)[100:200]  # type: ignore[arg-type]
    for i, offset in ((1, 4990), (2, 6000), (4, 5001)):
        err = results[i]
        assert isinstance(err, lsio.OutOfRangeError), err
        assert good in str(err) and str(offset) in str(err)
    with pytest.raises(lsio.OutOfRangeError, match="4990"):
        store.read_ranges(good, [4990], [5010])


def test_directory_is_an_error(store: lsio.Store, tmp_path: Path, good: str) -> None:
    results = store.read_ranges([str(tmp_path), good], [0, 0], [10, 10], on_error="return")
    err = results[0]
    assert isinstance(err, (OSError, ValueError)) and str(tmp_path) in str(err)
    assert bytes(results[1]) == pattern(5000)[:10]  # type: ignore[arg-type]
    with pytest.raises((OSError, ValueError)):
        store.read_ranges(str(tmp_path), [0])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files of mode 000")
def test_permission_denied(store: lsio.Store, tmp_path: Path, good: str) -> None:
    locked = write_file(tmp_path / "locked", b"secret")
    os.chmod(locked, 0)
    results = store.read_ranges([locked, good], [0, 0], [1, 1], on_error="return")
    assert isinstance(results[0], PermissionError) and locked in str(results[0])
    assert results[0].errno == errno.EACCES
    assert bytes(results[1]) == pattern(5000)[:1]  # type: ignore[arg-type]


def test_not_a_directory_component(store: lsio.Store, good: str) -> None:
    results = store.read_ranges([good + "/child", good], [0, 0], on_error="return")
    assert isinstance(results[0], OSError) and good in str(results[0])
    assert len(results[1]) == 5000  # type: ignore[arg-type]


def test_empty_file(store: lsio.Store, tmp_path: Path) -> None:
    empty = write_file(tmp_path / "empty", b"")
    results = store.read_ranges(empty, [0, 0, -10, 0, 1], [None, 0, None, 1, None], on_error="return")
    assert [bytes(r) for r in results[:3]] == [b"", b"", b""]  # type: ignore[arg-type]
    assert isinstance(results[3], lsio.OutOfRangeError)
    assert isinstance(results[4], lsio.OutOfRangeError)


def test_invalid_ranges_raise_at_once(store: lsio.Store, good: str) -> None:
    with pytest.raises(ValueError, match="range 1"):
        store.read_ranges(good, [0, 10], [5, 5], on_error="return")  # end < start
    with pytest.raises(ValueError, match="negative start"):
        store.read_ranges(good, [-10], [5])
    with pytest.raises(ValueError):
        store.read_ranges(good, [0], [-2])


def test_mismatched_lengths(store: lsio.Store, good: str) -> None:
    with pytest.raises(ValueError, match="ends"):
        store.read_ranges(good, [0, 1], [5])
    with pytest.raises(ValueError, match="paths"):
        store.read_ranges([good], [0, 1])


def test_bad_argument_types(store: lsio.Store, good: str) -> None:
    with pytest.raises(TypeError, match=r"paths\[1\]"):
        store.read_ranges([good, 3], [0, 0])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.read_ranges(3, [0])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="starts"):
        store.read_ranges(good, 0)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"starts\[0\]"):
        store.read_ranges(good, [None])  # type: ignore[list-item]
    with pytest.raises(OverflowError):
        store.read_ranges(good, [1 << 70])


def test_on_error_is_validated(store: lsio.Store, good: str) -> None:
    with pytest.raises(ValueError, match="on_error"):
        store.read_ranges(good, [0], on_error="ignore")  # type: ignore[call-overload]


def test_options_are_keyword_only(store: lsio.Store, good: str) -> None:
    with pytest.raises(TypeError):
        store.read_ranges(good, [0], None, "return")  # type: ignore[call-overload]


def test_error_objects_are_independent(store: lsio.Store, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    results = store.read_ranges(missing, np.arange(3, dtype=np.int64), on_error="return")
    assert all(isinstance(r, FileNotFoundError) for r in results)
    assert results[0] is not results[1]
