"""lsio.open(inline_reads=...): small page-cache-hot reads on the calling thread give the same bytes and errors as
the workers, and the setting travels with a pickled store."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import lsio
import lsio.zarr


def _data(tmp_path: Path) -> bytes:
    blob = np.random.default_rng(5).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(blob)
    return blob


def test_same_bytes_and_errors_either_way(tmp_path: Path) -> None:
    blob = _data(tmp_path)
    on, off = lsio.open(str(tmp_path)), lsio.open(str(tmp_path), inline_reads=False)
    starts, ends = [0, 10, 299_990, 4096], [100, 20, 300_000, 8192]
    for store in (on, off):
        got = store.read_ranges(["f"] * 4, starts, ends)
        assert [bytes(b) for b in got] == [blob[s:e] for s, e in zip(starts, ends)]
    errors = []
    for store in (on, off):
        with pytest.raises(Exception) as e:
            store.read_ranges(["f"], [299_990], [300_010])
        errors.append(str(e.value))
    assert errors[0] == errors[1] and "f" in errors[0]


def test_zarr_inner_chunks_either_way(tmp_path: Path) -> None:
    data = np.arange(64 * 64 * 64, dtype=np.uint16).reshape(64, 64, 64)
    a = lsio.zarr.create(tmp_path / "a.zarr", shape=data.shape, dtype="uint16", chunks=(16, 16, 16),
                         shards=(64, 64, 64))  # fmt: skip
    a[...] = data
    for inline in (True, False):
        b = lsio.zarr.open(lsio.open(str(tmp_path), inline_reads=inline), path="a.zarr")
        np.testing.assert_array_equal(b[16:32, 0:16, 48:64], data[16:32, 0:16, 48:64])
        np.testing.assert_array_equal(b[...], data)


def test_the_setting_travels_with_a_pickled_store(tmp_path: Path) -> None:
    _data(tmp_path)
    off = lsio.open(str(tmp_path), inline_reads=False)
    assert off.options.get("inline_reads") is False
    again = pickle.loads(pickle.dumps(off))
    assert again.options.get("inline_reads") is False
    assert "inline_reads" not in lsio.open(str(tmp_path)).options
