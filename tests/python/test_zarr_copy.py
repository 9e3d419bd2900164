"""lsio.zarr.copy: copies read back by zarr-python and tensorstore equal the source, across chunks, shards, codecs
and formats; refusal of an existing destination; resume after a stopped copy; bounded memory."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorstore as ts
import zarr

import lsio
import lsio.zarr


def source(tmp_path: Path, fmt: int = 3, shards: Any = None, fill: Any = 0.5) -> tuple[str, np.ndarray]:
    """A float32 array written by zarr-python with missing chunks (rows 40.. are the fill value)."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((50, 30, 20)).astype(np.float32)
    path = str(tmp_path / f"src{fmt}{'s' if shards else ''}.zarr")
    kw: dict[str, Any] = dict(shards=shards) if shards else {}
    z = zarr.create_array(path, shape=data.shape, chunks=(7, 10, 20), dtype="float32", fill_value=fill,
                          zarr_format=fmt, **kw)  # fmt: skip
    z[:40] = data[:40]
    return path, z[...]


def read_tensorstore(path: str, fmt: int) -> np.ndarray:
    driver = "zarr3" if fmt == 3 else "zarr"
    return ts.open({"driver": driver, "kvstore": {"driver": "file", "path": path}}).result().read().result()


CASES = [
    pytest.param(3, None, dict(chunks=(5, 30, 20), shards=(20, 30, 20)), 3, id="v3-to-sharded"),
    pytest.param(3, None, dict(chunks=(50, 6, 4), shards=None), 3, id="rechunk-transpose-like"),
    pytest.param(2, None, dict(chunks=(10, 10, 10), zarr_format=3, shards=(20, 20, 20)), 3, id="v2-to-v3-sharded"),
    pytest.param(3, (14, 10, 20), dict(chunks=(8, 8, 8), zarr_format=2, shards=None), 2, id="sharded-to-v2"),
    pytest.param(3, None, dict(compressors=None), 3, id="uncompressed"),
    pytest.param(3, None, dict(compressors=[{"name": "gzip", "configuration": {"level": 1}}], shards=None), 3,
                 id="gzip"),  # fmt: skip
]


@pytest.mark.parametrize("fmt,src_shards,kw,out_fmt", CASES)
def test_copy_reads_back_equal(tmp_path: Path, fmt: int, src_shards: Any, kw: dict[str, Any], out_fmt: int) -> None:
    src, ref = source(tmp_path, fmt, src_shards)
    dst = str(tmp_path / "out.zarr")
    seen: list[tuple[int, int]] = []
    out = lsio.zarr.copy(src, dst, max_memory="160KiB", progress=lambda d, t: seen.append((d, t)), **kw)
    assert out.shape == ref.shape and out.dtype == ref.dtype and out.zarr_format == out_fmt
    if "chunks" in kw:
        assert out.chunks == kw["chunks"]
    if kw.get("shards"):
        assert out.shards == kw["shards"]
    np.testing.assert_array_equal(out[...], ref)
    z = zarr.open_array(dst, mode="r")
    np.testing.assert_array_equal(z[...], ref)
    assert z.fill_value == 0.5
    np.testing.assert_array_equal(read_tensorstore(dst, out_fmt), ref)
    assert seen[-1] == (ref.nbytes, ref.nbytes) and len(seen) > 2  # several slabs within 160 KiB


def test_copy_keeps_attributes_and_layout_by_default(tmp_path: Path) -> None:
    src, ref = source(tmp_path, 3, (14, 10, 20))
    z = zarr.open_array(src, mode="r+")
    z.attrs["units"] = "K"
    out = lsio.zarr.copy(lsio.zarr.open_array(src), str(tmp_path / "o.zarr"))
    assert out.chunks == (7, 10, 20) and out.shards == (14, 10, 20)
    assert out.attrs == {"units": "K"}
    np.testing.assert_array_equal(out[...], ref)


def test_existing_destination_refused_unless_overwrite(tmp_path: Path) -> None:
    src, ref = source(tmp_path)
    dst = str(tmp_path / "o.zarr")
    zarr.create_array(dst, shape=(3,), chunks=(1,), dtype="int8", fill_value=0)[:] = [1, 2, 3]
    with pytest.raises(FileExistsError, match="overwrite"):
        lsio.zarr.copy(src, dst)
    np.testing.assert_array_equal(zarr.open_array(dst)[...], [1, 2, 3])  # untouched
    out = lsio.zarr.copy(src, dst, overwrite=True)
    np.testing.assert_array_equal(out[...], ref)
    assert not (tmp_path / "o.zarr" / "c" / "2").is_file()  # no stale chunk of the old array
    np.testing.assert_array_equal(zarr.open_array(dst)[...], ref)


def test_resume_skips_stored_shards(tmp_path: Path) -> None:
    src, ref = source(tmp_path)
    dst = str(tmp_path / "o.zarr")
    calls = 0

    def stop_after_two(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the initial call, then two slabs
            raise KeyboardInterrupt

    kw: dict[str, Any] = dict(chunks=(5, 30, 20), shards=(10, 30, 20), max_memory="200KiB")
    with pytest.raises(KeyboardInterrupt):
        lsio.zarr.copy(src, dst, progress=stop_after_two, **kw)
    shard_dir = tmp_path / "o.zarr" / "c"
    stored = {p: p.stat().st_mtime_ns for p in shard_dir.rglob("*") if p.is_file()}
    assert 1 <= len(stored) < 5
    with pytest.raises(FileExistsError):
        lsio.zarr.copy(src, dst, **kw)
    with pytest.raises(ValueError, match="cannot resume"):
        lsio.zarr.copy(src, dst, resume=True, chunks=(5, 30, 20), shards=(25, 30, 20))
    first: list[int] = []
    out = lsio.zarr.copy(src, dst, resume=True, progress=lambda d, t: first.append(d), **kw)
    assert first[0] > 0  # the stored shards were counted as done, not copied again
    for p, mtime in stored.items():
        assert p.stat().st_mtime_ns == mtime, p
    np.testing.assert_array_equal(out[...], ref)
    np.testing.assert_array_equal(zarr.open_array(dst)[...], ref)


def test_memory_is_bounded(tmp_path: Path) -> None:
    """64 MiB copied with max_memory=12MiB: numpy's peak stays near three 4 MiB slabs."""
    data = np.arange(16 * 1024 * 1024, dtype=np.float32).reshape(64, 512, 512)
    src = str(tmp_path / "big.zarr")
    z = zarr.create_array(src, shape=data.shape, chunks=(4, 512, 512), dtype="float32", fill_value=0)
    z[...] = data
    del z
    tracemalloc.start()
    try:
        lsio.zarr.copy(src, str(tmp_path / "b2.zarr"), chunks=(2, 256, 256), shards=(4, 512, 512), max_memory="12MiB")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak
    out = lsio.zarr.open_array(str(tmp_path / "b2.zarr"))
    assert out.mean() == data.mean(dtype=np.float64)
    with pytest.raises(ValueError, match="max_memory is too small"):
        lsio.zarr.copy(src, str(tmp_path / "b3.zarr"), chunks=(4, 512, 512), max_memory="3MiB")


def test_bad_arguments(tmp_path: Path) -> None:
    src, _ = source(tmp_path)
    with pytest.raises(ValueError, match="byte size"):
        lsio.zarr.copy(src, str(tmp_path / "x.zarr"), max_memory="lots")
    with pytest.raises(ValueError, match="multiples"):
        lsio.zarr.copy(src, str(tmp_path / "x.zarr"), chunks=(3, 3, 3), shards=(4, 4, 4))
    with pytest.raises(ValueError, match="sharded"):
        lsio.zarr.copy(src, str(tmp_path / "x.zarr"), zarr_format=2, shards=(10, 10, 10))
    with pytest.raises(FileNotFoundError):
        lsio.zarr.copy(str(tmp_path / "missing.zarr"), str(tmp_path / "x.zarr"))
    assert not os.path.exists(tmp_path / "x.zarr" / "zarr.json")


def test_copy_to_memory_store(tmp_path: Path) -> None:
    src, ref = source(tmp_path)
    store = lsio.open("memory://")
    out = lsio.zarr.copy(src, store, path="a/b", chunks=(25, 15, 10), shards=None)
    np.testing.assert_array_equal(out[...], ref)


def test_slabs_cover_whole_source_chunks_when_the_budget_allows() -> None:
    from lsio._copy import plan_slabs

    gib = 1 << 30
    # (16, 512, 512) source chunks into (1024, 64, 64) chunks: 8 x 8 destination chunks per slab decode each
    # source chunk once; with a third of 1 GiB they cannot, and the slab takes whole rows instead.
    assert plan_slabs((1024, 1024, 1024), (1024, 64, 64), 4, 4 * gib // 3, (16, 512, 512)) == [1, 8, 8]
    assert plan_slabs((1024, 1024, 1024), (1024, 64, 64), 4, gib // 3, (16, 512, 512)) == [1, 1, 16]
    assert plan_slabs((64, 512, 512), (4, 512, 512), 4, 4 << 20, (4, 512, 512)) == [1, 1, 1]
    assert plan_slabs((64, 512, 512), (4, 512, 512), 4, 64 << 20, (4, 512, 512)) == [16, 1, 1]
