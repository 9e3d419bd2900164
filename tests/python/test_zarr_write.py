"""Interop, writing: arrays created and written by lsio.zarr (v3 sharded, v3 unsharded, v2), read back by
zarr-python and by tensorstore, equal to a numpy reference, with attributes and fill values preserved."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest
import tensorstore as ts
import zarr

import lsio
import lsio.zarr
from zarr_fixtures import random_data


class Case:
    def __init__(self, id: str, zarr_format: int, dtype: str, shape: tuple[int, ...], chunks: tuple[int, ...],
                 shards: Optional[tuple[int, ...]] = None, fill: Any = 0, **extra: Any) -> None:  # fmt: skip
        self.id, self.zarr_format, self.dtype, self.shape = id, zarr_format, dtype, shape
        self.chunks, self.shards, self.fill, self.extra = chunks, shards, fill, extra


CASES = [
    Case("v3-sharded-uint16", 3, "uint16", (37, 50, 23), (4, 5, 6), (8, 10, 12), fill=7),
    Case("v3-sharded-float32-nan-start", 3, "float32", (30, 41), (5, 8), (10, 16), fill=math.nan, index_location="start"),
    Case("v3-sharded-complex64", 3, "complex64", (25, 19), (5, 4), (10, 8), fill=complex(1, -2)),
    Case("v3-sharded-bool-gzip", 3, "bool", (33, 20), (4, 4), (8, 20), fill=True,
         codecs=[{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}]),
    Case("v3-sharded-int8-1d", 3, "int8", (100,), (7,), (21,), fill=-1),
    Case("v3-unsharded-int64", 3, "int64", (37, 50, 23), (8, 16, 5), fill=-5),
    Case("v3-unsharded-float16-inf", 3, "float16", (29, 31), (8, 8), fill=math.inf),
    Case("v3-unsharded-float64-blosc-transpose", 3, "float64", (17, 13, 5), (5, 4, 5), fill=-0.5,
         codecs=[{"name": "transpose", "configuration": {"order": [2, 0, 1]}},
                 {"name": "bytes", "configuration": {"endian": "big"}},
                 {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 3, "shuffle": "bitshuffle",
                                                     "typesize": 8, "blocksize": 0}},
                 {"name": "crc32c"}]),
    Case("v3-unsharded-uint32-dimnames", 3, "uint32", (12, 14), (5, 5), fill=3, dimension_names=["y", None]),
    Case("v2-uint16-dot-C", 2, "uint16", (37, 50, 23), (8, 16, 5), fill=7),
    Case("v2-big-int32-slash-F", 2, ">i4", (29, 31), (8, 7), fill=-9, order="F", dimension_separator="/"),
    Case("v2-float64-nan-gzip", 2, "float64", (40, 10), (16, 3), fill=math.nan, codecs={"id": "gzip", "level": 3}),
    Case("v2-complex128-blosc-F", 2, "complex128", (11, 12), (4, 5), fill=complex(0, 1), order="F",
         codecs={"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}),
    Case("v2-bool-uncompressed", 2, "bool", (21,), (4,), fill=False, codecs=[]),
]  # fmt: skip


def _box(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[slice, ...]:
    out = []
    for n in shape:
        a, b = sorted(int(x) for x in rng.integers(0, n + 1, 2))
        out.append(slice(a, max(b, a + 1)))
    return tuple(out)


def _fill_scalar(case: Case) -> Any:
    return np.asarray(case.fill).astype(np.dtype(case.dtype).newbyteorder("="), casting="unsafe")[()]


def _same_fill(a: Any, b: Any) -> bool:
    a, b = complex(a), complex(b)
    eq = lambda x, y: (math.isnan(x) and math.isnan(y)) or x == y  # noqa: E731
    return eq(a.real, b.real) and eq(a.imag, b.imag)


def _write_everything(a: lsio.zarr.Array, case: Case, ref: np.ndarray, seed: int) -> None:
    """A sequence of writes of every kind, mirrored in `ref`."""
    rng = np.random.default_rng(seed)
    data = random_data(case.shape, case.dtype, seed)
    fill = _fill_scalar(case)
    # 1. A box of data (chunks and shards written partially: read-modify-write later).
    box = _box(rng, case.shape)
    a[box] = data[box]
    ref[box] = data[box]
    # 2. A scalar broadcast over a slab, with a negative index and a step.
    key: tuple[Any, ...] = (slice(1, None, 2),) + (Ellipsis,)
    a[key] = data.flat[5]
    ref[key] = data.flat[5]
    # 3. A broadcastable row.
    last = case.shape[-1]
    key = (-1, Ellipsis) if len(case.shape) > 1 else (slice(None),)
    row = data.reshape(-1)[:last]
    a[key] = row
    ref[key] = row
    # 4. Orthogonal writes with unsorted index lists and a mask.
    okey = tuple(
        np.array([n - 1, 0, n // 2]) if d == 0 else (np.arange(n) % 3 == 0) for d, n in enumerate(case.shape)
    )
    sel_shape = tuple(len(k) if k.dtype != bool else int(k.sum()) for k in okey)
    vals = random_data(sel_shape, case.dtype, seed + 1)
    a.oindex[okey] = vals
    ref[np.ix_(*[k if k.dtype != bool else np.flatnonzero(k) for k in okey])] = vals
    # 5. Back to the fill value over a box covering whole chunks (they must disappear again).
    a[tuple(slice(0, c) for c in case.chunks)] = fill
    ref[tuple(slice(0, c) for c in case.chunks)] = fill


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lsio_writes_zarr_python_and_tensorstore_read(case: Case, tmp_path: Path) -> None:
    path = str(tmp_path / "out.zarr")
    attributes = {"title": case.id, "nested": {"list": [1, 2.5, "x"], "none": None}}
    extra = dict(case.extra)
    a = lsio.zarr.create(
        path, shape=case.shape, dtype=case.dtype, chunks=case.chunks, shards=case.shards, fill_value=case.fill,
        zarr_format=case.zarr_format, attributes=attributes, **extra,
    )  # fmt: skip
    native = np.dtype(case.dtype).newbyteorder("=")
    assert a.dtype == native and a.shape == case.shape and a.chunks == case.chunks and a.shards == case.shards
    assert a.attrs == attributes
    ref = np.full(case.shape, _fill_scalar(case), dtype=native)
    np.testing.assert_array_equal(a[...], ref)  # nothing stored yet: all fill value
    _write_everything(a, case, ref, seed=len(case.id))

    # lsio reads its own writes, also through a freshly opened array.
    np.testing.assert_array_equal(a[...], ref)
    np.testing.assert_array_equal(lsio.zarr.open_array(path)[...], ref)

    # zarr-python.
    z = zarr.open_array(path, mode="r")
    assert z.shape == case.shape and z.dtype == np.dtype(case.dtype)
    assert dict(z.attrs) == attributes
    assert _same_fill(z.fill_value, case.fill)
    assert tuple(z.chunks) == case.chunks
    assert (z.shards if case.zarr_format == 3 else None) == case.shards
    np.testing.assert_array_equal(z[...], ref)
    if "dimension_names" in extra:
        assert list(z.metadata.dimension_names) == extra["dimension_names"]

    # tensorstore.
    driver = "zarr3" if case.zarr_format == 3 else "zarr"
    t = ts.open({"driver": driver, "kvstore": {"driver": "file", "path": path}, "open": True}).result()
    np.testing.assert_array_equal(t.read().result(), ref)
    assert _same_fill(t.fill_value, case.fill)
    assert tuple(t.shape) == case.shape

    # Chunks that hold only the fill value are not stored (zarr-python's write_empty_chunks=False).
    first = tuple(0 for _ in case.shape)
    if case.shards is None:
        if case.zarr_format == 3:
            key = "c/" + "/".join(map(str, first))
        else:
            key = extra.get("dimension_separator", ".").join(map(str, first))
        assert not os.path.exists(os.path.join(path, key)), key


def test_create_defaults_match_zarr_python(tmp_path: Path) -> None:
    """lsio.zarr.create's default codecs are zarr-python's create_array defaults, key for key."""
    for name, kwargs in [
        ("sharded", {"chunks": (2, 4, 4), "shards": (4, 8, 8)}),
        ("unsharded", {"chunks": (2, 4, 4)}),
    ]:
        for dtype in ("uint16", "int8", "float64", "bool"):
            mine = lsio.zarr.create(str(tmp_path / f"l-{name}-{dtype}"), shape=(5, 9, 9), dtype=dtype, **kwargs)
            theirs = zarr.create_array(str(tmp_path / f"z-{name}-{dtype}"), shape=(5, 9, 9), dtype=dtype, **kwargs)
            m = json.loads((tmp_path / f"l-{name}-{dtype}" / "zarr.json").read_text())
            t = json.loads((tmp_path / f"z-{name}-{dtype}" / "zarr.json").read_text())
            for key in ("codecs", "chunk_grid", "chunk_key_encoding", "data_type", "fill_value", "shape"):
                assert m[key] == t[key], (name, dtype, key)
            assert mine.metadata["codecs"] == t["codecs"]
    mine = lsio.zarr.create(str(tmp_path / "l-v2"), shape=(5, 9), dtype="<f4", chunks=(2, 4), zarr_format=2)
    zarr.create_array(str(tmp_path / "z-v2"), shape=(5, 9), dtype="<f4", chunks=(2, 4), zarr_format=2)
    m = json.loads((tmp_path / "l-v2" / ".zarray").read_text())
    t = json.loads((tmp_path / "z-v2" / ".zarray").read_text())
    for key in ("compressor", "filters", "order", "dimension_separator", "dtype", "chunks", "shape", "fill_value"):
        assert m.get(key) == t.get(key), key


@pytest.mark.parametrize("engine", ["posix", "uring"])
def test_write_through_a_store_object_and_memory_store(engine: str, tmp_path: Path) -> None:
    """create/open take an lsio.Store and a path inside it; a memory store holds an array too."""
    try:
        store = lsio.open(str(tmp_path), engine=engine)  # type: ignore[arg-type]
    except lsio.LsioError as e:
        pytest.skip(f"io_uring is not available: {e}")
    a = lsio.zarr.create(store, shape=(20, 30), dtype="int32", path="deep/x.zarr", chunks=(3, 4), shards=(6, 8))
    ref = np.arange(600, dtype=np.int32).reshape(20, 30)
    a[...] = ref
    assert a.path == "deep/x.zarr" and a.store is store
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "deep/x.zarr"))[...], ref)
    b = lsio.zarr.open(store, path="deep/x.zarr")
    assert isinstance(b, lsio.zarr.Array)
    np.testing.assert_array_equal(b[3:17:2, [1, 29, 4]], ref[3:17:2, [1, 29, 4]])

    mem = lsio.open("memory://")
    m = lsio.zarr.create(mem, shape=(10, 10), dtype="float32", path="m", chunks=(3, 3), fill_value=math.nan)
    m[2:5, 2:9] = 1.5
    expected = np.full((10, 10), np.nan, np.float32)
    expected[2:5, 2:9] = 1.5
    np.testing.assert_array_equal(lsio.zarr.open_array(mem, "m")[...], expected)


def test_overwrite(tmp_path: Path) -> None:
    path = str(tmp_path / "o.zarr")
    a = lsio.zarr.create(path, shape=(10,), dtype="uint8", chunks=(3,))
    a[:] = 5
    with pytest.raises(ValueError, match="already exists"):
        lsio.zarr.create(path, shape=(10,), dtype="uint8", chunks=(3,))
    b = lsio.zarr.create(path, shape=(10,), dtype="uint8", chunks=(3,), fill_value=9, overwrite=True)
    np.testing.assert_array_equal(b[...], np.full(10, 9, np.uint8))  # old chunks are gone
    np.testing.assert_array_equal(zarr.open_array(path)[...], np.full(10, 9, np.uint8))


def test_overwrite_replaces_all_metadata_in_any_store() -> None:
    """create(overwrite=True) on a store that is not a local directory (so nothing is deleted up front): the new
    array's metadata is all that opens afterwards, .zattrs and a zarr.json of another format included."""
    mem = lsio.open("memory://")
    lsio.zarr.create(mem, shape=(4,), dtype="uint8", path="x", chunks=(2,), zarr_format=2, attributes={"old": 1})
    lsio.zarr.create(mem, shape=(4,), dtype="uint8", path="x", chunks=(2,), zarr_format=2, overwrite=True)
    assert lsio.zarr.open_array(mem, "x").attrs == {}

    lsio.zarr.create(mem, shape=(4,), dtype="uint8", path="y", chunks=(2,), zarr_format=3)
    lsio.zarr.create(mem, shape=(6,), dtype="uint16", path="y", chunks=(2,), zarr_format=2, overwrite=True)
    y = lsio.zarr.open_array(mem, "y")
    assert (y.zarr_format, y.shape, y.dtype) == (2, (6,), np.dtype("uint16"))


def test_create_refuses_an_existing_node_of_either_format(tmp_path: Path) -> None:
    """Without overwrite, create() refuses a path that holds any Zarr node: zarr.json, .zarray or .zgroup."""
    lsio.zarr.create(str(tmp_path / "v3"), shape=(4,), dtype="uint8", chunks=(2,), zarr_format=3)
    with pytest.raises(ValueError, match="already exists"):
        lsio.zarr.create(str(tmp_path / "v3"), shape=(4,), dtype="uint8", chunks=(2,), zarr_format=2)
    lsio.zarr.create(str(tmp_path / "v2"), shape=(4,), dtype="uint8", chunks=(2,), zarr_format=2)
    with pytest.raises(ValueError, match="already exists"):
        lsio.zarr.create(str(tmp_path / "v2"), shape=(4,), dtype="uint8", chunks=(2,), zarr_format=3)
    zarr.open_group(str(tmp_path / "g2"), mode="w", zarr_format=2)
    with pytest.raises(ValueError, match="already exists"):
        lsio.zarr.create(str(tmp_path / "g2"), shape=(4,), dtype="uint8", chunks=(2,), zarr_format=2)


@pytest.mark.parametrize("shards", [None, (8, 8)], ids=["unsharded", "sharded"])
def test_edge_chunk_outside_the_array_holds_the_fill_value(shards: Optional[tuple[int, ...]], tmp_path: Path) -> None:
    """A chunk cut by the array's end and written whole (every element inside the array) is stored with the fill
    value beyond the end (bytes 00 00 c0 3f: not one repeated byte), and, when the write is all fill value, not
    stored at all; chunks inside the array written whole need neither fill nor their old content."""
    path = str(tmp_path / "e.zarr")
    a = lsio.zarr.create(path, shape=(10, 7), dtype="float32", chunks=(4, 4), shards=shards, fill_value=1.5,
                         codecs=[{"name": "bytes", "configuration": {"endian": "little"}}])  # fmt: skip
    key = "c/2/1" if shards is None else "c/1/0"
    a[8:10, 4:7] = 1.5
    assert not os.path.exists(os.path.join(path, key))
    data = np.arange(70, dtype=np.float32).reshape(10, 7)
    a[...] = data
    a[0:4, 0:4] = data[0:4, 0:4] + 100  # a whole inner chunk rewritten (its old content not needed)
    ref = data.copy()
    ref[0:4, 0:4] += 100
    np.testing.assert_array_equal(a[...], ref)
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], ref)
    if shards is None:
        raw = np.fromfile(os.path.join(path, key), dtype="<f4").reshape(4, 4)
        expected = np.full((4, 4), 1.5, np.float32)
        expected[:2, :3] = data[8:10, 4:7]
        np.testing.assert_array_equal(raw, expected)
