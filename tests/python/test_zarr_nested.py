"""Nested sharding (a sharding_indexed codec whose inner codecs are sharding_indexed again): arrays written by
zarr-python read by lsio.zarr, and arrays written by lsio.zarr read by zarr-python and tensorstore.

The geometry: shards 8x12 of inner shards 4x6 of chunks 2x3, on arrays whose shape the shards do not divide. Some
shards, inner shards and innermost chunks are never written or hold only the fill value, so they are missing at
every level and must read as the (non-zero) fill value.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorstore as ts
import zarr
from zarr.codecs import BytesCodec, ShardingCodec, ZstdCodec

import lsio.zarr
from zarr_fixtures import random_basic, random_data, random_orthogonal

SHAPE = (23, 19)
SHARDS = (8, 12)
INNER = (4, 6)  # the inner shards: zarr-python's and lsio's `chunks`
CHUNKS = (2, 3)  # the innermost chunks
SELECTIONS = 30
MISSING = 2**64 - 1


@dataclass(frozen=True)
class Case:
    id: str
    dtype: str
    fill: Any
    outer_location: str
    inner_location: str

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


CASES = [
    Case("int32-end-end", "int32", -5, "end", "end"),
    Case("float32-nan-start-end", "float32", math.nan, "start", "end"),
    Case("uint16-end-start", "uint16", 7, "end", "start"),
]


def reference(case: Case, seed: int) -> np.ndarray:
    """Rows 0:14 and a 2x2 corner written; inside them, innermost chunk [0, 0] and inner shard [1, 0] of shard
    [0, 0] are the fill value. Shard [2, 0] (rows 16:23, columns 0:12) is never written."""
    dt = np.dtype(case.dtype)
    ref = np.full(SHAPE, case.fill, dtype=dt)
    data = random_data(SHAPE, case.dtype, seed)
    ref[0:14] = data[0:14]
    ref[21:23, 17:19] = data[21:23, 17:19]
    ref[0:2, 0:3] = case.fill
    ref[4:8, 0:6] = case.fill
    return ref


def write_regions(case: Case, ref: np.ndarray, arr: Any) -> None:
    arr[0:14] = ref[0:14]
    arr[21:23, 17:19] = ref[21:23, 17:19]


def index_entries(shard: bytes, n: int, location: str) -> list[tuple[int, int]]:
    """The (offset, nbytes) entries of a shard whose index is n entries + crc32c."""
    size = 16 * n + 4
    raw = shard[:size] if location == "start" else shard[len(shard) - size :]
    return [(int(o), int(b)) for o, b in np.frombuffer(raw[: 16 * n], "<u8").reshape(n, 2)]


def assert_missing_at_every_level(case: Case, path: Path) -> None:
    """Shard [0, 0] lacks inner shard [1, 0], its inner shard [0, 0] lacks chunk [0, 0]; shard [2, 0] is absent."""
    assert not (path / "c" / "2" / "0").exists()
    shard = (path / "c" / "0" / "0").read_bytes()
    outer = index_entries(shard, 4, case.outer_location)
    assert outer[2] == (MISSING, MISSING)
    offset, nbytes = outer[0]
    inner = index_entries(shard[offset : offset + nbytes], 4, case.inner_location)
    assert inner[0] == (MISSING, MISSING)
    assert all(e != (MISSING, MISSING) for e in inner[1:])


def nested_codecs_json(case: Case, itemsize: int) -> list[Any]:
    """The codec list of the inner shards (the `codecs` lsio.zarr.create takes with shards=)."""
    little = {"name": "bytes"} if itemsize == 1 else {"name": "bytes", "configuration": {"endian": "little"}}
    return [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": list(CHUNKS),
                "codecs": [little, {"name": "zstd", "configuration": {"level": 1, "checksum": False}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
                "index_location": case.inner_location,
            },
        }
    ]


def compare_selections(a: Any, expected: Any, ref: np.ndarray, seed: int) -> None:
    """Random basic and orthogonal selections of lsio array `a` against `expected` (zarr-python) and numpy."""
    rng = np.random.default_rng(seed)
    for i in range(SELECTIONS):
        if i % 2 == 0:
            key = random_basic(rng, SHAPE)
            got, want = a[key], expected[key]
            np.testing.assert_array_equal(got, ref[key], err_msg=f"selection {i}: {key!r}")
        else:
            key = random_orthogonal(rng, SHAPE)
            got, want = a.oindex[key], expected.oindex[key]
        assert got.shape == np.shape(want), f"selection {i}: {key!r}"
        np.testing.assert_array_equal(got, want, err_msg=f"selection {i}: {key!r}")


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_read_nested_sharding_written_by_zarr_python(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "a.zarr"
    seed = zlib.crc32(case.id.encode())
    ref = reference(case, seed)
    inner = ShardingCodec(
        chunk_shape=CHUNKS, codecs=[BytesCodec(), ZstdCodec(level=1)], index_location=case.inner_location
    )
    z = zarr.create_array(
        str(path),
        shape=SHAPE,
        dtype=case.dtype,
        chunks=SHARDS,
        serializer=ShardingCodec(chunk_shape=INNER, codecs=[inner], index_location=case.outer_location),
        compressors=None,
        fill_value=case.fill,
    )
    write_regions(case, ref, z)
    assert_missing_at_every_level(case, path)

    a = lsio.zarr.open_array(str(path), mode="r")
    assert a.shape == SHAPE and a.shards == SHARDS and a.chunks == INNER
    np.testing.assert_array_equal(a.fill_value, case.fill)
    whole = a[...]
    np.testing.assert_array_equal(whole, z[...])
    np.testing.assert_array_equal(whole, ref)
    compare_selections(a, z, ref, seed + 1)


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_nested_sharding_written_by_lsio_read_by_zarr_python_and_tensorstore(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "b.zarr"
    seed = zlib.crc32(case.id.encode()) + 2
    ref = reference(case, seed)
    a = lsio.zarr.create(
        str(path),
        SHAPE,
        case.dtype,
        chunks=INNER,
        shards=SHARDS,
        codecs=nested_codecs_json(case, np.dtype(case.dtype).itemsize),
        fill_value=case.fill,
        index_location=case.outer_location,
    )
    write_regions(case, ref, a)
    # Partial writes across shard and inner shard edges: read-modify-write at both levels.
    box = (slice(3, 11), slice(5, 15))
    ref[box] = random_data(SHAPE, case.dtype, seed + 1)[box]
    a[box] = ref[box]
    ref[4:8, 0:6] = case.fill  # inner shard [1, 0] of shard [0, 0] back to all fill
    a[4:8, 0:6] = ref[4:8, 0:6]
    # lsio leaves out whole shards and inner shards equal to the fill value (not innermost chunks).
    assert not (path / "c" / "2" / "0").exists()
    shard = (path / "c" / "0" / "0").read_bytes()
    assert index_entries(shard, 4, case.outer_location)[2] == (MISSING, MISSING)

    np.testing.assert_array_equal(lsio.zarr.open_array(str(path), mode="r")[...], ref)
    z = zarr.open_array(str(path), mode="r")
    assert z.shards == SHARDS and z.chunks == INNER
    np.testing.assert_array_equal(z[...], ref)
    compare_selections(lsio.zarr.open_array(str(path), mode="r"), z, ref, seed + 3)
    t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}, "open": True}).result()
    np.testing.assert_array_equal(t.read().result(), ref)
