"""Store.read_ranges and lsio.read_ranges: range forms, argument forms, results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lsio
from util import pattern, write_file

SIZE = 100_000


@pytest.fixture
def data(tmp_path: Path) -> tuple[str, bytes]:
    content = pattern(SIZE)
    return write_file(tmp_path / "data", content), content


def as_bytes(results: list[Any]) -> list[bytes]:
    return [bytes(r) for r in results]


def test_range_forms(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    starts = [0, 10, 4096, -100, -(SIZE + 5), 0, SIZE, 123]
    ends = [100, None, 8192, None, None, None, None, 123]
    expected = [
        content[:100],
        content[10:],
        content[4096:8192],
        content[-100:],
        content,  # a suffix longer than the file is the whole file
        content,
        b"",  # [size, EOF)
        b"",  # zero-length
    ]
    assert as_bytes(store.read_ranges(path, starts, ends)) == expected


def test_minus_one_end_means_eof(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    assert as_bytes(store.read_ranges(path, [5, -7], [-1, -1])) == [content[5:], content[-7:]]


def test_ends_omitted_reads_to_eof(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    assert as_bytes(store.read_ranges(path, [0, SIZE - 3, -3])) == [content, content[-3:], content[-3:]]


def test_overlapping_and_duplicate_ranges(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    starts = [0, 50, 50, 0, 99_000, 98_000, 50]
    ends = [100, 150, 150, 100, SIZE, 99_500, 150]
    for gap in (0, 1000, 1 << 20):
        results = store.read_ranges(path, starts, ends, coalesce_gap=gap)
        assert as_bytes(results) == [content[s:e] for s, e in zip(starts, ends)]


def test_numpy_offsets(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    starts = np.arange(0, SIZE, 1000, dtype=np.int64)
    ends: np.ndarray = starts + 10
    ends[-1] = -1
    results = store.read_ranges(path, starts, ends)
    expected = [content[s : s + 10] for s in starts[:-1]] + [content[int(starts[-1]) :]]
    assert as_bytes(results) == expected


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.uint64, np.int16])
def test_numpy_offsets_other_dtypes(store: lsio.Store, data: tuple[str, bytes], dtype: type) -> None:
    path, content = data
    starts: np.ndarray = np.array([0, 100, 200], dtype=dtype)
    results = store.read_ranges(path, starts, starts + 50)
    assert as_bytes(results) == [content[0:50], content[100:150], content[200:250]]


def test_strided_numpy_offsets(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    pairs = np.array([[0, 10], [20, 30], [40, 50]], dtype=np.int64)
    results = store.read_ranges(path, pairs[:, 0], pairs[:, 1])
    assert as_bytes(results) == [content[0:10], content[20:30], content[40:50]]


def test_float_offsets_are_rejected(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, _ = data
    with pytest.raises(TypeError, match="starts"):
        store.read_ranges(path, np.array([0.5]), None)
    with pytest.raises(TypeError, match="starts"):
        store.read_ranges(path, [0.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="1-dimensional"):
        store.read_ranges(path, np.zeros((2, 2), dtype=np.int64))


def test_numpy_integer_scalars_in_lists(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    results = store.read_ranges(path, [np.int64(3), np.uint8(4)], [np.int32(5), None])
    assert as_bytes(results) == [content[3:5], content[4:]]


def test_many_paths(tmp_path: Path, store: lsio.Store) -> None:
    contents = [pattern(1000 + 17 * i, seed=i) for i in range(20)]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    order = [i % 20 for i in range(0, 200, 7)]
    results = store.read_ranges([paths[i] for i in order], [i for i in order], [None] * len(order))
    assert as_bytes(results) == [contents[i][i:] for i in order]


def test_path_forms(tmp_path: Path, store: lsio.Store) -> None:
    content = pattern(100)
    path = write_file(tmp_path / "p", content)
    for paths in (Path(path), path.encode(), [Path(path)] * 2, (path, path), np.array([path, path])):
        results = store.read_ranges(paths, [0, 50], [10, 60])  # type: ignore[arg-type]
        assert as_bytes(results) == [content[:10], content[50:60]]


def test_non_utf8_file_name(tmp_path: Path, store: lsio.Store) -> None:
    name = bytes(tmp_path / "caf") + b"\xe9"
    with open(name, "wb") as f:
        f.write(b"hello")
    assert as_bytes(store.read_ranges(name, [0])) == [b"hello"]
    as_str = name.decode("utf-8", "surrogateescape")  # how os.listdir names it
    assert as_bytes(store.read_ranges(as_str, [1])) == [b"ello"]


def test_rooted_store_keys(tmp_path: Path, rooted: lsio.Store) -> None:
    (tmp_path / "sub").mkdir()
    write_file(tmp_path / "sub" / "a", b"abcdef")
    write_file(tmp_path / "b", b"012345")
    results = rooted.read_ranges(["sub/a", "b", "sub/a"], [1, -2, 0], [3, None, 1])
    assert as_bytes(results) == [b"bc", b"45", b"a"]


def test_rooted_store_rejects_escaping_keys(tmp_path: Path, rooted: lsio.Store) -> None:
    write_file(tmp_path.parent / "outside", b"secret")
    results = rooted.read_ranges(["../outside", str(tmp_path.parent / "outside")], [0, 0], on_error="return")
    assert all(isinstance(r, Exception) for r in results)


def test_empty_batch(store: lsio.Store) -> None:
    assert store.read_ranges([], []) == []
    assert store.read_ranges("whatever", np.empty(0, np.int64)) == []


def test_module_level_functions(data: tuple[str, bytes]) -> None:
    path, content = data
    assert as_bytes(lsio.read_ranges(path, [1, -1], [2, None])) == [content[1:2], content[-1:]]


def test_direct_io(store: lsio.Store, data: tuple[str, bytes]) -> None:
    path, content = data
    starts = [0, 1, 4095, 4096, 12345, -777]
    ends = [4096, 2, 4097, 8192, 54321, None]
    results = store.read_ranges(path, starts, ends, direct=True)
    expected = [content[s:e] for s, e in zip(starts[:-1], ends[:-1])] + [content[-777:]]
    assert as_bytes(results) == expected


def test_concurrent_calls_from_threads(store: lsio.Store, data: tuple[str, bytes]) -> None:
    import threading

    path, content = data
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            for _ in range(20):
                starts = np.arange(seed, SIZE - 100, 997, dtype=np.int64)
                results = store.read_ranges(path, starts, starts + 100)
                assert as_bytes(results) == [content[s : s + 100] for s in starts]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_in_flight_budget_and_parts(tmp_path: Path) -> None:
    """max_inflight_bytes and part_size shape how a large read is issued (parts of 4 KiB, at most 8 KiB in flight
    per worker, or one part in flight): the bytes are the same, and the options travel with a pickled store."""
    import pickle

    content = pattern(3 * 2**20 + 123)
    write_file(tmp_path / "big", content)
    for budget in (8192, 1):
        store = lsio.open(str(tmp_path), part_size=4096, max_inflight_bytes=budget, tune=False)
        got = store.read_ranges(["big", "big", "big"], [0, 5000, -70_000], [None, 2_000_000, None])
        assert [bytes(g) for g in got] == [content, content[5000:2_000_000], content[-70_000:]]
        again = pickle.loads(pickle.dumps(store))
        assert again.options["max_inflight_bytes"] == budget and again.options["part_size"] == 4096
        assert bytes(again.read_ranges(["big"], [0])[0]) == content
