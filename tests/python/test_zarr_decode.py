"""Compressed chunks decoded straight into the output (a chunk used whole as one contiguous run of the result) and
through scratch (cut, partial edge, converted): arrays written by zarr-python (v2 and v3; zstd, blosc, gzip; sharded),
read by lsio.zarr and compared with numpy; corrupt chunks fail the read naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.codecs

import lsio
import lsio.zarr

SHAPE = (9, 6, 10)  # chunks of (2, 6, 10): whole planes; the last chunk is cut by the array's edge
CHUNKS = (2, 6, 10)
FILL = 7

V3 = {
    "zstd": zarr.codecs.ZstdCodec(level=1),
    "blosc": zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=2),
    "gzip": zarr.codecs.GzipCodec(level=1),
}
V2 = {
    "zstd": numcodecs.Zstd(level=1),
    "blosc": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
    "gzip": numcodecs.GZip(level=1),
}


def write(path: Path, fmt: int, codec: str, dtype: str = "<u2", shards: Any = None) -> np.ndarray:
    data = (np.arange(np.prod(SHAPE)).reshape(SHAPE) * 7 % 4001 + 1000).astype(dtype)
    if fmt == 3:
        a = zarr.create_array(store=str(path), shape=SHAPE, chunks=CHUNKS, shards=shards, dtype=dtype,
                              compressors=[V3[codec]], fill_value=FILL, zarr_format=3)
    else:
        a = zarr.create_array(store=str(path), shape=SHAPE, chunks=CHUNKS, dtype=dtype, compressors=V2[codec],
                              fill_value=FILL, zarr_format=2)
    a[...] = data
    a[4:6] = FILL  # a chunk equal to the fill value is not stored: it reads as fill
    data[4:6] = FILL
    return data


SELECTIONS = [
    (slice(None),) * 3,  # every chunk in place but the cut edge chunk
    (slice(2, 8),),  # whole chunks in place
    (slice(1, 9),),  # every chunk cut: scratch
    (slice(None), slice(None), slice(0, 9)),  # narrower rows: scratch
    (slice(None), slice(1, 6)),  # fewer rows: scratch
    (slice(8, 9),),  # the edge chunk alone
    ([3, 2], slice(None)),  # a whole chunk, planes swapped: scratch
]


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("codec", ["zstd", "blosc", "gzip"])
def test_reads_match_numpy(tmp_path: Path, fmt: int, codec: str) -> None:
    data = write(tmp_path / "a.zarr", fmt, codec)
    a = lsio.zarr.open_array(tmp_path / "a.zarr")
    for key in SELECTIONS:
        np.testing.assert_array_equal(a[key], data[key], err_msg=str(key))


def test_big_endian_v2_and_sharded_v3(tmp_path: Path) -> None:
    big = write(tmp_path / "big.zarr", 2, "zstd", dtype=">u2")
    np.testing.assert_array_equal(lsio.zarr.open_array(tmp_path / "big.zarr")[...], big)
    # Inner chunks of (2, 6, 10) in shards of (4, 6, 10): inner chunks contiguous in a whole read.
    sharded = write(tmp_path / "s.zarr", 3, "zstd", shards=(4, 6, 10))
    s = lsio.zarr.open_array(tmp_path / "s.zarr")
    for key in SELECTIONS:
        np.testing.assert_array_equal(s[key], sharded[key], err_msg=str(key))


def test_crops_in_place_and_converted(tmp_path: Path) -> None:
    data = write(tmp_path / "a.zarr", 3, "zstd")
    a = lsio.zarr.open_array(tmp_path / "a.zarr")
    starts = np.array([[2, 0, 0], [2, 0, 0], [3, 0, 0], [-1, 0, 0], [8, 0, 0]])
    padded = np.pad(data, [(4, 4), (0, 0), (0, 0)], constant_values=FILL)
    want = np.stack([padded[s + 4 : s + 6] for s in starts[:, 0]])
    np.testing.assert_array_equal(a.read_crops(starts, CHUNKS), want)
    got = a.read_crops(starts, CHUNKS, dtype="float32", scale=0.5, offset=-3.0)
    np.testing.assert_array_equal(got, want.astype(np.float32) * np.float32(0.5) - np.float32(3.0))


@pytest.mark.parametrize("codec", ["zstd", "blosc", "gzip"])
def test_corrupt_chunk_fails_the_read(tmp_path: Path, codec: str) -> None:
    write(tmp_path / "a.zarr", 3, codec)
    (tmp_path / "a.zarr" / "c" / "1" / "0" / "0").write_bytes(bytes(range(256)) * 2)
    a = lsio.zarr.open_array(tmp_path / "a.zarr")
    with pytest.raises(lsio.DataLossError, match="c/1/0/0"):
        a[...]
