"""Array.read_crops: many equal boxes in one batch, outside = fill value, conversion while placing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

import lsio.zarr

RAW = [{"name": "bytes", "configuration": {"endian": "little"}}]
SHAPE = (13, 3, 20, 22)
FILL = 9


def make(tmp_path: Path, shards: Optional[tuple[int, ...]], codecs: Any) -> tuple[lsio.zarr.Array, np.ndarray]:
    a = lsio.zarr.create(tmp_path / "a.zarr", shape=SHAPE, dtype="uint16", chunks=(2, 1, 8, 8), shards=shards,
                         codecs=codecs, fill_value=FILL)
    data = np.random.default_rng(1).integers(0, 60000, SHAPE).astype(np.uint16)
    a[...] = data
    a[0:2] = FILL  # whole chunks / inner chunks equal to the fill value are not stored: they read as fill
    data[0:2] = FILL
    return a, data


def reference(data: np.ndarray, starts: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
    pad = 64
    padded = np.pad(data, [(pad, pad)] * data.ndim, constant_values=FILL)
    return np.stack([padded[tuple(slice(s + pad, s + pad + b) for s, b in zip(row, box))] for row in starts])


LAYOUTS = {
    "raw": (None, RAW),
    "zstd": (None, None),
    "sharded-raw": ((4, 3, 16, 16), RAW),
    "sharded-zstd": ((4, 3, 16, 16), None),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_crops_match_numpy_inside_and_outside(tmp_path: Path, layout: str) -> None:
    a, data = make(tmp_path, *LAYOUTS[layout])
    box = (5, 3, 7, 9)
    rng = np.random.default_rng(2)
    starts = np.stack([rng.integers(-b + 1, n, 60) for n, b in zip(SHAPE, box)], axis=1)
    starts[0] = (0, 0, 0, 0)
    starts[1] = (-50, 0, 0, 0)  # wholly outside
    got = a.read_crops(starts, box)
    assert got.dtype == np.uint16 and got.shape == (60, *box)
    np.testing.assert_array_equal(got, reference(data, starts, box))


@pytest.mark.parametrize("layout", ["raw", "sharded-zstd"])
def test_normalised_float32_per_channel(tmp_path: Path, layout: str) -> None:
    a, data = make(tmp_path, *LAYOUTS[layout])
    box = (4, 3, 6, 6)
    starts = np.array([[1, 0, 3, 4], [9, 0, 14, 16], [12, 0, -2, 0]])
    mean, std = np.array([100.0, 2000.0, 30000.0]), np.array([10.0, 20.0, 300.0])
    got = a.read_crops(starts, box, dtype="float32", channel_dim=1, scale=1 / std, offset=-mean / std)
    want = (reference(data, starts, box).astype(np.float64) - mean[None, None, :, None, None]) / std[
        None, None, :, None, None]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_out_is_filled_in_place_and_checked(tmp_path: Path) -> None:
    a, data = make(tmp_path, *LAYOUTS["zstd"])
    out = np.empty((2, 2, 3, 4, 4), np.float64)
    res = a.read_crops([[0, 0, 0, 0], [3, 0, 5, 5]], (2, 3, 4, 4), out=out, dtype="float64")
    assert res is out
    np.testing.assert_array_equal(out, reference(data, np.array([[0, 0, 0, 0], [3, 0, 5, 5]]), (2, 3, 4, 4)))
    with pytest.raises(ValueError, match="out must be"):
        a.read_crops([[0, 0, 0, 0]], (2, 3, 4, 4), out=np.empty((1, 2, 3, 4, 4), np.float32), dtype="float64")
    with pytest.raises(ValueError, match="starts must have shape"):
        a.read_crops([[0, 0, 0]], (2, 3, 4, 4))
    with pytest.raises(ValueError, match="scale/offset values"):
        a.read_crops([[0, 0, 0, 0]], (2, 3, 4, 4), dtype="float32", channel_dim=1, scale=[1.0, 2.0])
    with pytest.raises(ValueError, match="float32 or float64"):
        a.read_crops([[0, 0, 0, 0]], (2, 3, 4, 4), dtype="int32", scale=2.0)


def test_corrupt_chunk_names_the_key(tmp_path: Path) -> None:
    a, _ = make(tmp_path, *LAYOUTS["zstd"])
    (tmp_path / "a.zarr" / "c" / "2" / "0" / "0" / "0").write_bytes(b"garbage")
    with pytest.raises(lsio.DataLossError, match="c/2/0/0/0"):
        a.read_crops([[4, 0, 0, 0]], (2, 1, 4, 4))
