"""Bad input through the Python API: corrupt or invalid metadata, truncated shards, checksum mismatches, shard
indexes pointing outside their shard, chunks of the wrong size, unknown codecs, out-of-bounds selections and bad
`out` buffers. Each must raise the mapped exception type with the key (and field) in the message; never crash."""

from __future__ import annotations

import json
import random
import shutil
import struct
from pathlib import Path
from typing import Any, Callable

import google_crc32c
import numcodecs
import numpy as np
import pytest
import zarr

import lsio
import lsio.zarr
from zarr_fixtures import MATRIX, Spec, write

SHAPE = (20, 20)


@pytest.fixture
def sharded(tmp_path: Path) -> Path:
    """A sharded uint16 array written by zarr-python: 2x2 shards of 2x2 inner chunks, index at the end."""
    path = tmp_path / "s.zarr"
    z = zarr.create_array(str(path), shape=SHAPE, dtype="uint16", chunks=(5, 5), shards=(10, 10))
    z[...] = np.arange(400, dtype=np.uint16).reshape(SHAPE) + 1
    return path


def edit_json(path: Path, fn: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def raises(exc: type[BaseException], *fragments: str) -> Any:
    """pytest.raises that also checks each fragment appears in the message."""

    class Check:
        def __enter__(self) -> Any:
            self.ctx = pytest.raises(exc)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *args: Any) -> bool:
            handled = self.ctx.__exit__(*args)
            if not handled:  # another exception type: let it propagate as it is
                return False
            for f in fragments:
                assert f in str(self.info.value), (f, str(self.info.value))
            return bool(handled)

    return Check()


# ---- metadata -------------------------------------------------------------------------------------------------------


def test_missing_array(tmp_path: Path) -> None:
    with raises(FileNotFoundError, "nothing.zarr/zarr.json", "nothing.zarr/.zarray"):
        lsio.zarr.open_array(str(tmp_path / "nothing.zarr"))
    with raises(FileNotFoundError, "nothing.zarr/.zgroup"):
        lsio.zarr.open(str(tmp_path / "nothing.zarr"))


def test_truncated_zarr_json_is_data_loss(sharded: Path) -> None:
    text = (sharded / "zarr.json").read_text()
    (sharded / "zarr.json").write_text(text[: len(text) // 2])
    with raises(lsio.DataLossError, "s.zarr/zarr.json", "not valid JSON"):
        lsio.zarr.open(str(sharded))
    (sharded / "zarr.json").write_bytes(b"\xff\xfe garbage \x00")
    with raises(lsio.DataLossError, "s.zarr/zarr.json"):
        lsio.zarr.open_array(str(sharded))


@pytest.mark.parametrize(
    "edit, fragments",
    [
        (lambda d: d.__setitem__("shape", [20, -3]), ['"shape"[1]', "-3"]),
        (lambda d: d.__setitem__("data_type", "uint7"), ['"data_type"', "uint7"]),
        (lambda d: d.__setitem__("fill_value", "banana"), ['"fill_value"']),
        (lambda d: d.__setitem__("fill_value", 70000), ['"fill_value"', "70000"]),
        (lambda d: d.pop("chunk_grid"), ['"chunk_grid"']),
        (lambda d: d.__setitem__("node_type", "tree"), ['"node_type"']),
        (lambda d: d.__setitem__("zarr_format", 4), ['"zarr_format"']),
        (lambda d: d.__setitem__("surprise", {"must_understand": True}), ['"surprise"']),
        (lambda d: d["codecs"][0]["configuration"].__setitem__("chunk_shape", [3, 3]), ["does not divide"]),
    ],
    ids=["negative-shape", "bad-dtype", "fill-string", "fill-out-of-range", "no-grid", "node-type", "format",
         "unknown-field", "inner-not-dividing"],  # fmt: skip
)
def test_invalid_zarr_json_is_value_error(sharded: Path, edit: Any, fragments: list[str]) -> None:
    edit_json(sharded / "zarr.json", edit)
    with raises(ValueError, "s.zarr/zarr.json", *fragments):
        lsio.zarr.open_array(str(sharded))


def test_unknown_codec(sharded: Path) -> None:
    """Valid metadata this library does not support: lsio.LsioError (code Unimplemented), naming key and codec."""
    edit_json(sharded / "zarr.json", lambda d: d["codecs"][0]["configuration"]["codecs"].append({"name": "frobnicate"}))
    with raises(lsio.LsioError, "s.zarr/zarr.json", "frobnicate", "Unimplemented"):
        lsio.zarr.open_array(str(sharded))
    edit_json(sharded / "zarr.json", lambda d: d.__setitem__("codecs", [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "rot13"}]))
    with raises(lsio.LsioError, "s.zarr/zarr.json", "rot13"):
        lsio.zarr.open_array(str(sharded))


def test_v2_bad_metadata_and_unknown_compressor(tmp_path: Path) -> None:
    path = tmp_path / "v2.zarr"
    z = zarr.create(shape=(10,), chunks=(4,), dtype="<i4", zarr_format=2, store=str(path))
    z[...] = 3
    edit_json(path / ".zarray", lambda d: d.__setitem__("compressor", {"id": "snappy-ish"}))
    with raises(lsio.LsioError, "v2.zarr/.zarray", "snappy-ish"):
        lsio.zarr.open_array(str(path))
    edit_json(path / ".zarray", lambda d: d.__setitem__("dtype", "<x9"))
    with raises(ValueError, "v2.zarr/.zarray", '"dtype"'):
        lsio.zarr.open_array(str(path))
    (path / ".zarray").write_text('{"zarr_format": 2, "shape": [10], ')
    with raises(lsio.DataLossError, "v2.zarr/.zarray"):
        lsio.zarr.open_array(str(path))


def test_create_refuses_bad_arguments(tmp_path: Path) -> None:
    with raises(ValueError, "inner chunk shape [3,3] does not divide"):
        lsio.zarr.create(str(tmp_path / "a"), shape=(10, 10), dtype="u1", chunks=(3, 3), shards=(10, 10))
    with raises(ValueError, "unsupported dtype"):
        lsio.zarr.create(str(tmp_path / "b"), shape=(10,), dtype="U3", chunks=(3,))
    with raises(ValueError, "cannot be sharded"):
        lsio.zarr.create(str(tmp_path / "c"), shape=(10,), dtype="u1", chunks=(3,), shards=(6,), zarr_format=2)
    with raises(lsio.LsioError, "nope"):
        lsio.zarr.create(str(tmp_path / "d"), shape=(10,), dtype="u1", chunks=(3,), codecs=[{"name": "nope"}])
    with raises(ValueError, "fill_value"):
        lsio.zarr.create(str(tmp_path / "e"), shape=(10,), dtype="u1", chunks=(3,), fill_value=300)


# ---- chunk data -----------------------------------------------------------------------------------------------------


def test_truncated_shard(sharded: Path) -> None:
    shard = sharded / "c" / "0" / "1"
    data = shard.read_bytes()
    shard.write_bytes(data[:-30])  # the index (at the end) is cut
    a = lsio.zarr.open_array(str(sharded))
    with raises(lsio.DataLossError, "s.zarr/c/0/1"):
        a[0:10, 10:20]
    np.testing.assert_array_equal(a[10:, :], np.arange(400, dtype=np.uint16).reshape(SHAPE)[10:] + 1)  # others fine
    shard.write_bytes(data[:40])  # shorter than its index
    with raises(lsio.DataLossError, "s.zarr/c/0/1", "index"):
        lsio.zarr.open_array(str(sharded))[0:10, 10:20]


def test_crc32c_mismatch_in_shard_index(sharded: Path) -> None:
    shard = sharded / "c" / "1" / "0"
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0x40  # inside the index, before its crc32c
    shard.write_bytes(bytes(data))
    with raises(lsio.DataLossError, "s.zarr/c/1/0", "crc32c"):
        lsio.zarr.open_array(str(sharded))[15, 3]


def _rewrite_index(shard: Path, fn: Callable[[list[int]], None]) -> None:
    """Rewrites the (end-located, bytes+crc32c) index of a shard of 2x2 inner chunks, with a valid checksum."""
    data = bytearray(shard.read_bytes())
    n = 4 * 16
    entries = list(struct.unpack("<8Q", data[-n - 4 : -4]))
    fn(entries)
    index = struct.pack("<8Q", *entries)
    data[-n - 4 :] = index + struct.pack("<I", google_crc32c.value(index))
    shard.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda e: e.__setitem__(2, 1 << 20), "entry"),  # inner chunk 1 starts past the end of the shard
        (lambda e: e.__setitem__(3, (1 << 64) - 8), "entry"),  # offset + length overflows
        (lambda e: e.__setitem__(2, e[0]), "overlap"),  # inner chunk 1 overlaps inner chunk 0
    ],
    ids=["past-end", "overflow", "overlap"],
)
def test_shard_index_entries_are_validated(sharded: Path, edit: Any, fragment: str) -> None:
    _rewrite_index(sharded / "c" / "0" / "0", edit)
    with raises(lsio.DataLossError, "s.zarr/c/0/0", fragment):
        lsio.zarr.open_array(str(sharded))[0:10, 0:10]


def test_corrupt_and_wrong_size_chunks(tmp_path: Path) -> None:
    path = tmp_path / "u.zarr"
    z = zarr.create(shape=(8, 8), chunks=(4, 4), dtype="<u2", zarr_format=3, store=str(path),
                    codecs=[{"name": "bytes", "configuration": {"endian": "little"}}])  # fmt: skip
    z[...] = 1
    (path / "c" / "0" / "1").write_bytes(b"\x00" * 10)  # an uncompressed chunk of the wrong size
    a = lsio.zarr.open_array(str(path))
    with raises(lsio.DataLossError, "u.zarr/c/0/1"):
        a[...]
    np.testing.assert_array_equal(a[:, :4], np.ones((8, 4), np.uint16))

    path = tmp_path / "z.zarr"
    z = zarr.create_array(str(path), shape=(8, 8), chunks=(4, 4), dtype="<u2")
    z[...] = 2
    (path / "c" / "1" / "1").write_bytes(b"this is not zstd")
    with raises(lsio.DataLossError, "z.zarr/c/1/1", "zstd"):
        lsio.zarr.open_array(str(path))[4:, 4:]
    # Valid frames that decode to too few or too many bytes (a chunk holds 4 * 4 * 2 = 32).
    for size in (30, 34, 0):
        (path / "c" / "1" / "0").write_bytes(numcodecs.Zstd(level=1).encode(b"\x01" * size))
        with raises(lsio.DataLossError, "z.zarr/c/1/0"):
            lsio.zarr.open_array(str(path))[4:, :4]

    path = tmp_path / "g.zarr"
    zarr.create(shape=(8,), chunks=(4,), dtype="<u4", zarr_format=2, store=str(path),
                compressor=numcodecs.GZip(level=1))  # fmt: skip
    (path / "1").write_bytes(numcodecs.GZip(level=1).encode(b"\x02" * 12))
    with raises(lsio.DataLossError, "g.zarr/1"):
        lsio.zarr.open_array(str(path))[...]


# ---- selections and buffers -----------------------------------------------------------------------------------------


def test_out_of_bounds_selections(sharded: Path) -> None:
    a = lsio.zarr.open_array(str(sharded))
    for key in [20, -21, (0, 20), (slice(None), [1, 20]), ([-21],), (Ellipsis, 99)]:
        with raises(lsio.zarr.BoundsCheckError, "out of bounds") as info:
            a[key]
        assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)
    with raises(lsio.zarr.BoundsCheckError, "dimension 1", "length 20"):
        a.oindex[:, [0, 25]]
    with raises(lsio.zarr.BoundsCheckError, "boolean mask"):
        a.oindex[np.ones(19, bool)]
    with raises(lsio.zarr.BoundsCheckError):
        a[25] = 1
    with raises(IndexError, "too many indices"):
        a[1, 2, 3]
    with raises(IndexError, "step"):
        a[::-1]
    with raises(IndexError, "unsupported index"):
        a["x"]
    with raises(IndexError, "single ellipsis"):
        a[..., ...]
    with raises(IndexError, "only one index array"):
        a[[1, 2], [3, 4]]


def test_core_out_of_bounds_is_value_error(sharded: Path) -> None:
    """The compiled layer (no Python checks in front) reports a selection outside the array as ValueError naming
    the dimension, for slices and index lists alike (src/zarr/indexing.h: check_selection -> InvalidArgument)."""
    core = lsio._lsio.zarr_open(lsio.default_store(), str(sharded))
    out = np.empty((1, 1), np.uint16)
    with raises(ValueError, "dimension 1", "out of bounds"):
        core.read([(0, 1, 1), (25, 26, 1)], out)
    with raises(ValueError, "dimension 1", "25"):
        core.read([(0, 1, 1), np.array([25])], out)
    with raises(ValueError, "negative index"):
        core.read([(0, 1, 1), np.array([-1])], out)
    with raises(ValueError, "selection needs 2"):
        core.read([(0, 1, 1), (0, 1, 1)], np.empty(2, np.uint16))


def test_read_out_must_fit(sharded: Path) -> None:
    a = lsio.zarr.open_array(str(sharded))
    good = np.empty((4, 20), np.uint16)
    a.read((slice(0, 4), ...), out=good)
    cases = [
        (np.empty((4, 21), np.uint16), "shape"),
        (np.empty((80,), np.uint16), "shape"),
        (np.empty((4, 20), np.int16), "dtype"),
        (np.empty((4, 20), ">u2"), "dtype"),
        (np.empty((20, 4), np.uint16).T, "C-contiguous"),
        (np.empty((4, 40), np.uint16)[:, ::2], "C-contiguous"),
        (bytearray(160), "numpy array"),
    ]
    for out, fragment in cases:
        with raises(ValueError, fragment):
            a.read((slice(0, 4), ...), out=out)
    ro = np.empty((4, 20), np.uint16)
    ro.flags.writeable = False
    with raises(ValueError, "writable"):
        a.read((slice(0, 4), ...), out=ro)


def test_writes_refused(sharded: Path) -> None:
    a = lsio.zarr.open_array(str(sharded), mode="r")
    with raises(PermissionError, "read-only"):
        a[0] = 1
    with raises(PermissionError, "read-only"):
        a.oindex[[0]] = 1
    b = lsio.zarr.open_array(str(sharded))
    with raises(ValueError, "broadcast", "(2, 3)"):
        b[0:4, 0:3] = np.zeros((2, 3))
    with raises(ValueError, "mode"):
        lsio.zarr.open_array(str(sharded), mode="w")  # type: ignore[arg-type]


def test_not_a_group_and_not_an_array(sharded: Path, tmp_path: Path) -> None:
    with raises(ValueError, "is an array, not a group"):
        lsio.zarr.open_group(str(sharded))
    g = tmp_path / "g.zarr"
    zarr.create_group(str(g))
    with raises(ValueError, "g.zarr/zarr.json", '"node_type"'):
        lsio.zarr.open_array(str(g))
    with pytest.raises(KeyError):
        lsio.zarr.open_group(str(g))["missing"]


def test_a_corrupt_copy_does_not_poison_the_original(sharded: Path, tmp_path: Path) -> None:
    """Shard indexes are cached per array object: a fresh open sees the bytes on disk now."""
    copy = tmp_path / "copy.zarr"
    shutil.copytree(sharded, copy)
    a = lsio.zarr.open_array(str(copy))
    expected = a[...]
    (copy / "c" / "1" / "1").write_bytes(b"")
    with raises(lsio.DataLossError, "copy.zarr/c/1/1"):
        lsio.zarr.open_array(str(copy))[...]
    np.testing.assert_array_equal(lsio.zarr.open_array(str(sharded))[...], expected)


CORRUPTIBLE = [s for s in MATRIX if not s.skip and s.shape][::17]


@pytest.mark.parametrize("spec", CORRUPTIBLE, ids=[s.id for s in CORRUPTIBLE])
def test_random_corruption_never_crashes(spec: Spec, tmp_path: Path) -> None:
    """Flipped bits, truncation, appended garbage and zeroed files in chunks and shards of every kind of array:
    each read either succeeds (the damage went unnoticed: no checksum) or raises DataLossError naming the file."""
    base = tmp_path / "base"
    write(spec, str(base), seed=1)
    files = sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith((".z", "zarr.json")))
    rng = random.Random(spec.id)
    for trial in range(8):
        copy = tmp_path / f"t{trial}"
        shutil.copytree(base, copy)
        victim = copy / rng.choice(files).relative_to(base)
        data = bytearray(victim.read_bytes())
        kind = ["flip", "truncate", "extend", "zero"][trial % 4]
        if kind == "flip" and data:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            data = data[: rng.randrange(len(data) + 1)]
        elif kind == "extend":
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        else:
            data = bytearray(len(data))
        victim.write_bytes(bytes(data))
        try:
            lsio.zarr.open_array(str(copy))[...]
        except lsio.DataLossError as e:
            assert str(victim) in str(e), (kind, str(e))
