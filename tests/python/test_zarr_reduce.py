"""Reductions (lsio.zarr.Array.sum/mean/min/max/std/var/count_nan) on arrays written by zarr-python (v2, v3,
sharded; missing chunks, NaN, fill values), compared with numpy on the array zarr-python reads back."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest
import zarr

import lsio.zarr

LAYOUTS = [
    pytest.param(dict(zarr_format=2, chunks=(5, 7, 4)), id="v2"),
    pytest.param(dict(zarr_format=3, chunks=(5, 7, 4)), id="v3"),
    pytest.param(dict(zarr_format=3, chunks=(2, 7, 4), shards=(4, 14, 8)), id="v3-sharded"),
    pytest.param(dict(zarr_format=3, chunks=(5, 7, 4), compressors=None), id="v3-raw"),
]
AXES: list[Any] = [None, 0, 1, 2, -1, (0, 1), (0, 2), (1, 2), (2, 0, 1)]


def make(
    tmp_path: Path, name: str, data: np.ndarray, fill: Any, layout: dict[str, Any], rows: Optional[int] = None
) -> tuple[lsio.zarr.Array, np.ndarray]:
    """Writes data[:rows] with zarr-python (the rest stays missing) and returns the lsio array and the reference."""
    path = str(tmp_path / name)
    z = zarr.create_array(path, shape=data.shape, dtype=data.dtype, fill_value=fill, **layout)
    n = data.shape[0] if rows is None else rows
    z[:n] = data[:n]
    ref = z[...]
    return lsio.zarr.open_array(path), ref


def close(a: Any, b: Any, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=1e-6,
                               equal_nan=True)  # fmt: skip


@pytest.mark.parametrize("layout", LAYOUTS)
def test_float_reductions_match_numpy(tmp_path: Path, layout: dict[str, Any]) -> None:
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((13, 17, 11)) * 50 + 3).astype(np.float32)
    a, ref = make(tmp_path, "f.zarr", data, 1.5, layout, rows=9)
    assert (ref[9:] == 1.5).all()
    for axis in AXES:
        close(a.sum(axis=axis), ref.sum(axis=axis, dtype=np.float64))
        close(a.mean(axis=axis), ref.mean(axis=axis, dtype=np.float64))
        close(a.std(axis=axis), ref.std(axis=axis, dtype=np.float64))
        close(a.var(axis=axis, ddof=1), ref.var(axis=axis, ddof=1, dtype=np.float64))
        np.testing.assert_array_equal(a.min(axis=axis), ref.min(axis=axis))
        np.testing.assert_array_equal(a.max(axis=axis), ref.max(axis=axis))
    assert a.mean().dtype == np.float32 and np.ndim(a.mean()) == 0
    assert a.mean(axis=(0, 2)).shape == (17,)
    assert a.min(axis=1).dtype == np.float32
    assert a.count_nan() == 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_nan_and_skipna(tmp_path: Path, layout: dict[str, Any]) -> None:
    rng = np.random.default_rng(2)
    data = rng.standard_normal((13, 17, 11))
    data[rng.random(data.shape) < 0.1] = np.nan
    data[:, 3, :] = np.nan  # a whole column of NaN: nan* give NaN there
    a, ref = make(tmp_path, "n.zarr", data, np.nan, layout, rows=10)
    assert a.count_nan() == np.isnan(ref).sum()
    np.testing.assert_array_equal(a.count_nan(axis=(0, 2)), np.isnan(ref).sum(axis=(0, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for axis in AXES:
            close(a.sum(axis=axis), ref.sum(axis=axis))
            close(a.mean(axis=axis), ref.mean(axis=axis))
            close(a.min(axis=axis), ref.min(axis=axis))
            close(a.sum(axis=axis, skipna=True), np.nansum(ref, axis=axis))
            close(a.mean(axis=axis, skipna=True), np.nanmean(ref, axis=axis))
            close(a.std(axis=axis, skipna=True), np.nanstd(ref, axis=axis))
            close(a.min(axis=axis, skipna=True), np.nanmin(ref, axis=axis))
            close(a.max(axis=axis, skipna=True), np.nanmax(ref, axis=axis))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "uint32", "int64", "bool"])
def test_integer_reductions(tmp_path: Path, layout: dict[str, Any], dtype: str) -> None:
    rng = np.random.default_rng(3)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        data = rng.random((13, 17, 11)) < 0.3
        fill: Any = True
    else:
        info = np.iinfo(dt)
        lo, hi = max(int(info.min), -(10**6)), min(int(info.max), 10**6)
        data = rng.integers(lo, hi, (13, 17, 11), endpoint=True).astype(dt)
        fill = hi
    a, ref = make(tmp_path, "i.zarr", data, fill, layout, rows=8)
    for axis in AXES:
        got = a.sum(axis=axis)
        np.testing.assert_array_equal(got, ref.sum(axis=axis))
        assert np.asarray(got).dtype == ref.sum(axis=axis).dtype
        np.testing.assert_array_equal(a.min(axis=axis), ref.min(axis=axis))
        np.testing.assert_array_equal(a.max(axis=axis), ref.max(axis=axis))
        close(a.mean(axis=axis), ref.mean(axis=axis), rtol=1e-12)
        close(a.std(axis=axis), ref.std(axis=axis), rtol=1e-9)
    assert a.min().dtype == ref.min().dtype


def test_integer_sum_does_not_overflow(tmp_path: Path) -> None:
    big = np.iinfo(np.int64).max - 7
    data = np.full((64, 3), big, dtype=np.int64)
    a, ref = make(tmp_path, "big.zarr", data, 0, dict(zarr_format=3, chunks=(8, 3)))
    assert a.sum() == 64 * 3 * big  # exact Python int (numpy's int64 sum would wrap)
    assert list(a.sum(axis=0)) == [64 * big] * 3
    u = np.full((40,), np.iinfo(np.uint64).max, dtype=np.uint64)
    b, _ = make(tmp_path, "u.zarr", u, 0, dict(zarr_format=2, chunks=(7,)))
    assert b.sum() == 40 * int(np.iinfo(np.uint64).max)
    small = np.full((300,), 127, dtype=np.int8)
    c, _ = make(tmp_path, "s.zarr", small, 0, dict(zarr_format=3, chunks=(16,)))
    assert c.sum() == 300 * 127 and c.sum().dtype == np.int64
    assert c.sum(dtype=np.float32) == np.float32(300 * 127)


def test_untouched_array_is_all_fill(tmp_path: Path) -> None:
    z = zarr.create_array(str(tmp_path / "e.zarr"), shape=(100, 50), chunks=(10, 10), dtype="float32", fill_value=4.0)
    assert z.nchunks_initialized == 0
    a = lsio.zarr.open_array(str(tmp_path / "e.zarr"))
    assert a.mean() == 4.0 and a.std() == 0.0 and a.sum() == 20000.0
    np.testing.assert_array_equal(a.max(axis=0), np.full(50, 4.0, dtype=np.float32))
    n = zarr.create_array(str(tmp_path / "nan.zarr"), shape=(30,), chunks=(7,), dtype="float64", fill_value=np.nan)
    assert n.nchunks_initialized == 0
    b = lsio.zarr.open_array(str(tmp_path / "nan.zarr"))
    assert b.count_nan() == 30 and np.isnan(b.mean()) and b.sum(skipna=True) == 0.0


def test_empty_arrays(tmp_path: Path) -> None:
    z = zarr.create_array(str(tmp_path / "z.zarr"), shape=(0, 5), chunks=(3, 5), dtype="float32", fill_value=0)
    del z
    a = lsio.zarr.open_array(str(tmp_path / "z.zarr"))
    ref = np.zeros((0, 5), dtype=np.float32)
    assert a.sum() == 0.0
    np.testing.assert_array_equal(a.sum(axis=0), ref.sum(axis=0))
    assert a.sum(axis=1).shape == (0,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(a.mean()) and np.isnan(ref.mean())
        close(a.mean(axis=0), ref.mean(axis=0))
    with pytest.raises(ValueError, match="zero-size"):
        a.min()
    np.testing.assert_array_equal(a.max(axis=1), ref.max(axis=1))


def test_bad_axes(tmp_path: Path) -> None:
    a, _ = make(tmp_path, "b.zarr", np.zeros((4, 4), np.float32), 0, dict(zarr_format=3, chunks=(2, 2)))
    with pytest.raises(np.exceptions.AxisError):
        a.sum(axis=2)
    with pytest.raises(ValueError, match="duplicate"):
        a.sum(axis=(0, -2))


def test_many_waves_and_zero_dimensional(tmp_path: Path) -> None:
    """More chunks than one wave plans (4096): the waves together give the numpy answer."""
    rng = np.random.default_rng(4)
    data = rng.standard_normal((130, 70)).astype(np.float64)
    a, ref = make(tmp_path, "w.zarr", data, 0, dict(zarr_format=3, chunks=(1, 2)), rows=120)
    close(a.mean(), ref.mean(), rtol=1e-12)
    close(a.std(axis=0), ref.std(axis=0), rtol=1e-12)
    close(a.sum(axis=1), ref.sum(axis=1), rtol=1e-12)
    z = zarr.create_array(str(tmp_path / "s.zarr"), shape=(), dtype="int32", fill_value=0)
    z[()] = 7
    s = lsio.zarr.open_array(str(tmp_path / "s.zarr"))
    assert s.sum() == 7 and s.min() == 7 and s.mean() == 7.0


def test_summation_is_compensated(tmp_path: Path) -> None:
    """float32 data with a large offset: float64 compensated accumulation keeps the mean exact where a float32
    running sum would drift."""
    data = np.full((1000, 1000), 1e4, dtype=np.float32) + np.float32(0.1)
    a, ref = make(tmp_path, "k.zarr", data, 0, dict(zarr_format=3, chunks=(100, 1000)))
    assert abs(float(a.mean()) - float(ref.astype(np.float64).mean())) < 1e-9
    assert abs(float(a.std())) < 1e-6


def test_corrupt_chunk_names_the_key(tmp_path: Path) -> None:
    a, _ = make(tmp_path, "c.zarr", np.ones((8,), np.float32), 0, dict(zarr_format=3, chunks=(4,)))
    (tmp_path / "c.zarr" / "c" / "1").write_bytes(b"garbage")
    with pytest.raises(lsio.DataLossError, match="c.zarr/c/1"):
        a.mean()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_progress_slabs_merge_to_the_same_statistics(tmp_path: Path, layout: dict[str, Any], dtype: str) -> None:
    """reduce_stats(progress=...) reduces slabs along dimension 0 and merges them: same answers as one pass."""
    rng = np.random.default_rng(5)
    data = (rng.standard_normal((13, 17, 11)) * 1000).astype(dtype)
    if dtype == "float32":
        data[2, 3, 4] = np.nan
    a, ref = make(tmp_path, "p.zarr", data, 3, layout, rows=10)
    for axis in AXES:
        seen: list[tuple[int, int]] = []
        st = a.reduce_stats(axis, progress=lambda d, t: seen.append((d, t)))
        one = a.reduce_stats(axis)
        assert seen[0] == (0, a.nbytes) and seen[-1] == (a.nbytes, a.nbytes) and len(seen) > 2
        np.testing.assert_array_equal(st.count, one.count)
        np.testing.assert_array_equal(st.nan_count, one.nan_count)
        np.testing.assert_array_equal(st.min, one.min)
        np.testing.assert_array_equal(st.max, one.max)
        close(st.mean, one.mean, rtol=1e-12)
        close(st.m2, one.m2, rtol=1e-9)
        close(st.sum_(skipna=True, dtype=np.float64), np.nansum(ref, axis=axis, dtype=np.float64), rtol=1e-9)
        close(st.std_(skipna=True, dtype=np.float64), np.nanstd(ref.astype(np.float64), axis=axis), rtol=1e-9)
        if dtype == "int64":
            np.testing.assert_array_equal(st.sum_(), ref.sum(axis=axis))


def test_infinities_match_numpy(tmp_path: Path) -> None:
    data = np.arange(40, dtype=np.float64).reshape(4, 10)
    data[1, 3] = np.inf
    data[2, 5] = -np.inf
    data[3, 7] = np.inf
    a, ref = make(tmp_path, "inf.zarr", data, 0, dict(zarr_format=3, chunks=(2, 10)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for axis in (None, 0, 1):
            close(a.sum(axis=axis), ref.sum(axis=axis))
            close(a.mean(axis=axis), ref.mean(axis=axis))
            close(a.std(axis=axis), ref.std(axis=axis))
            np.testing.assert_array_equal(a.min(axis=axis), ref.min(axis=axis))
            np.testing.assert_array_equal(a.max(axis=axis), ref.max(axis=axis))
            slabs = a.reduce_stats(axis, progress=lambda d, t: None)
            close(slabs.mean_(), ref.mean(axis=axis))
            close(slabs.std_(), ref.std(axis=axis))


def test_reductions_through_dask_equal_the_fused_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    data = rng.standard_normal((20, 30, 16)).astype(np.float32)
    a, ref = make(tmp_path, "d.zarr", data, 0.25, dict(zarr_format=3, chunks=(2, 15, 16), shards=(4, 30, 16)), rows=17)
    d = a.to_dask()
    close(d.mean(dtype=np.float64).compute(), a.mean(dtype=np.float64), rtol=1e-12)
    close(d.std(dtype=np.float64).compute(), a.std(dtype=np.float64), rtol=1e-12)
    close(d.sum(axis=0, dtype=np.float64).compute(), a.sum(axis=0, dtype=np.float64), rtol=1e-12)
    np.testing.assert_array_equal(d.max(axis=(1, 2)).compute(), a.max(axis=(1, 2)))
