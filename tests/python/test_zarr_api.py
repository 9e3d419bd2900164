"""The lsio.zarr API: properties, groups (consolidated or listed), stores and URLs, 0-d and empty arrays, threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorstore as ts
import zarr

import lsio
import lsio.zarr


def test_array_properties_match_zarr_python(tmp_path: Path) -> None:
    path = str(tmp_path / "p.zarr")
    z = zarr.create_array(path, shape=(30, 40, 7), dtype="float32", chunks=(5, 8, 7), shards=(10, 16, 7),
                          fill_value=np.nan, attributes={"units": "K", "scale": [1, 2]},
                          dimension_names=["t", "y", None])  # fmt: skip
    z[:4] = 1.0
    a = lsio.zarr.open(path)
    assert isinstance(a, lsio.zarr.Array)
    assert a.shape == z.shape and a.dtype == z.dtype and a.chunks == z.chunks and a.shards == z.shards
    assert a.ndim == z.ndim and a.size == z.size and a.nbytes == z.nbytes and a.zarr_format == 3
    assert np.isnan(a.fill_value) and isinstance(a.fill_value, np.float32)
    assert a.attrs == dict(z.attrs) == {"units": "K", "scale": [1, 2]}
    a.attrs["units"] = "changed"  # a copy
    assert a.attrs["units"] == "K"
    assert a.dimension_names == ("t", "y", None)
    assert a.path == path and a.store is lsio.default_store() and not a.read_only
    assert len(a) == 30
    meta = a.metadata
    on_disk = json.loads((tmp_path / "p.zarr" / "zarr.json").read_text())
    for key in ("shape", "data_type", "chunk_grid", "codecs", "fill_value", "attributes", "dimension_names"):
        assert meta[key] == on_disk[key], key
    assert "shards=(10, 16, 7)" in repr(a) and "float32" in repr(a)
    np.testing.assert_array_equal(np.asarray(a), z[...])
    np.testing.assert_array_equal(np.asarray(a, dtype=np.float64), z[...].astype(np.float64))

    v2 = str(tmp_path / "v2.zarr")
    zarr.create(shape=(5, 6), chunks=(2, 3), dtype=">i2", zarr_format=2, store=v2, fill_value=-4, order="F",
                attributes={"a": 1})  # fmt: skip
    b = lsio.zarr.open_array(v2, mode="r")
    assert b.dtype == np.dtype("int16") and b.shards is None and b.chunks == (2, 3) and b.zarr_format == 2
    assert b.fill_value == -4 and b.attrs == {"a": 1} and b.read_only
    assert b.metadata["order"] == "F" and b.metadata["dtype"] == ">i2" and b.metadata["attributes"] == {"a": 1}
    assert b.dimension_names is None


def test_integer_indexing_returns_0d_arrays_like_zarr_python(tmp_path: Path) -> None:
    path = str(tmp_path / "i.zarr")
    z = zarr.create_array(path, shape=(4, 5), dtype="int64", chunks=(2, 2))
    z[...] = np.arange(20).reshape(4, 5)
    a = lsio.zarr.open_array(path)
    got, theirs = a[1, 2], z[1, 2]
    assert isinstance(got, np.ndarray) and got.shape == () == np.shape(theirs) and got == theirs == 7
    assert a[-1, -1] == 19 and a[1].shape == (5,) and a[:, 1].shape == (4,)
    assert a[None, 1, None, :, None].shape == (1, 1, 5, 1)
    assert a[2:1].shape == (0, 5) and a[:, 5:].shape == (4, 0) and a.oindex[[], :].shape == (0, 5)
    assert a.oindex[np.zeros(4, bool)].shape == (0, 5)


def test_zero_d_array(tmp_path: Path) -> None:
    path = str(tmp_path / "s.zarr")
    a = lsio.zarr.create(path, shape=(), dtype="complex128", fill_value=complex(1, 2), chunks=())
    assert a.shape == () and a.chunks == () and a.size == 1
    assert a[()] == complex(1, 2) and a[...].shape == ()
    a[()] = 3 - 1j
    assert zarr.open_array(path)[()] == 3 - 1j
    assert lsio.zarr.open_array(path)[...] == 3 - 1j
    with pytest.raises(TypeError):
        len(a)
    with pytest.raises(IndexError, match="too many"):
        a[0]


def test_empty_dimension(tmp_path: Path) -> None:
    a = lsio.zarr.create(str(tmp_path / "e.zarr"), shape=(0, 5), dtype="uint8", chunks=(2, 2))
    assert a[...].shape == (0, 5)
    a[...] = 1  # nothing to write
    assert zarr.open_array(str(tmp_path / "e.zarr"))[...].shape == (0, 5)


def _tree(root: Path, zarr_format: int, consolidate: bool) -> None:
    g = zarr.open_group(str(root), mode="w", zarr_format=zarr_format, attributes={"title": "t"})
    a = g.create_array("temp", shape=(6, 4), dtype="float32", chunks=(2, 2))
    a[...] = np.arange(24, dtype=np.float32).reshape(6, 4)
    sub = g.create_group("sub", attributes={"level": 1})
    b = sub.create_array("mask", shape=(5,), dtype="bool", chunks=(2,))
    b[...] = [True, False, True, False, True]
    if consolidate:
        zarr.consolidate_metadata(str(root))


@pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part")
@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("consolidate", [False, True])
def test_groups(tmp_path: Path, zarr_format: int, consolidate: bool) -> None:
    root = tmp_path / "g.zarr"
    _tree(root, zarr_format, consolidate)
    g = lsio.zarr.open_group(str(root))
    assert isinstance(g, lsio.zarr.Group) and g.zarr_format == zarr_format
    assert g.attrs == {"title": "t"}
    assert list(g) == ["sub", "temp"] and len(g) == 2 and "temp" in g and "nope" not in g
    assert (g.consolidated_metadata is not None) == consolidate
    assert g.array_keys() == ["temp"] and g.group_keys() == ["sub"]
    temp = g["temp"]
    assert isinstance(temp, lsio.zarr.Array) and temp.path == str(root / "temp")
    np.testing.assert_array_equal(temp[...], np.arange(24, dtype=np.float32).reshape(6, 4))
    sub = g["sub"]
    assert isinstance(sub, lsio.zarr.Group) and sub.attrs == {"level": 1} and list(sub) == ["mask"]
    np.testing.assert_array_equal(g["sub/mask"][...], [True, False, True, False, True])
    assert isinstance(lsio.zarr.open(str(root)), lsio.zarr.Group)
    with pytest.raises(KeyError):
        g["nope"]

    # The same through a Store rooted above the group.
    store = lsio.open(str(tmp_path))
    g2 = lsio.zarr.open_group(store, "g.zarr")
    assert list(g2) == ["sub", "temp"]
    np.testing.assert_array_equal(g2["temp"][1], [4, 5, 6, 7])


def test_memory_store_group_listing_through_the_store() -> None:
    mem = lsio.open("memory://")
    mem.put("grp/zarr.json", json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}).encode())
    lsio.zarr.create(mem, shape=(3,), dtype="uint8", path="grp/x", chunks=(2,))
    g = lsio.zarr.open_group(mem, "grp")
    assert isinstance(g["x"], lsio.zarr.Array)
    assert list(g) == ["x"]  # members are listed with Store.list_dir: no consolidated metadata needed


def test_urls_and_store_arguments(tmp_path: Path) -> None:
    path = tmp_path / "u.zarr"
    z = zarr.create_array(str(path), shape=(10,), dtype="uint32", chunks=(3,))
    z[...] = np.arange(10)
    for opened in (
        lsio.zarr.open_array(f"file://{path}"),
        lsio.zarr.open_array(str(tmp_path), path="u.zarr"),
        lsio.zarr.open_array(path),  # os.PathLike
        lsio.zarr.open_array(lsio.open(str(tmp_path)), "u.zarr"),
        lsio.zarr.open_array(lsio.open(f"file://{tmp_path}", engine="posix"), "u.zarr/"),
    ):
        np.testing.assert_array_equal(opened[2:9:3], [2, 5, 8])
    with pytest.raises(ValueError, match="lsio.open"):
        lsio.zarr.open_array("memory://x")
    with pytest.raises(TypeError, match="lsio.Store"):
        lsio._lsio.zarr_open(object(), "u.zarr")


def test_concurrent_reads_from_threads(tmp_path: Path) -> None:
    """Reads release the GIL and may run from many threads at once on one array; each gets its own answer."""
    path = str(tmp_path / "c.zarr")
    ref = np.arange(64 * 64 * 8, dtype=np.uint16).reshape(64, 64, 8)
    a = lsio.zarr.create(path, shape=ref.shape, dtype="uint16", chunks=(4, 8, 8), shards=(16, 32, 8))
    a[...] = ref
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(20):
                lo = (k * 7 + i) % 60
                np.testing.assert_array_equal(a[lo : lo + 4, ::3, k % 8], ref[lo : lo + 4, ::3, k % 8])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_tensorstore_reads_lsio_v2_with_slash_separator(tmp_path: Path) -> None:
    path = str(tmp_path / "ts.zarr")
    a = lsio.zarr.create(path, shape=(9, 9), dtype="<f8", chunks=(4, 4), zarr_format=2, dimension_separator="/",
                         fill_value=np.nan)  # fmt: skip
    a[2:7, 3:] = 2.5
    t = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": path}}).result()
    expected = np.full((9, 9), np.nan)
    expected[2:7, 3:] = 2.5
    np.testing.assert_array_equal(t.read().result(), expected)
    assert (tmp_path / "ts.zarr" / "0" / "1").exists()


def test_attributes_with_nan_and_infinity_read_as_zarr_python_does(tmp_path: Path) -> None:
    attrs = {"nan": float("nan"), "inf": [float("inf"), float("-inf")], "text": "NaN"}
    for fmt in (2, 3):
        path = str(tmp_path / f"n{fmt}.zarr")
        zarr.create_array(path, shape=(2,), dtype="uint8", chunks=(2,), attributes=attrs, zarr_format=fmt)
        got = lsio.zarr.open_array(path).attrs
        assert np.isnan(got["nan"]) and got["inf"] == [np.inf, -np.inf] and got["text"] == "NaN"
        gpath = str(tmp_path / f"g{fmt}.zarr")
        zarr.open_group(gpath, mode="w", zarr_format=fmt, attributes=attrs)
        assert lsio.zarr.open_group(gpath).attrs["inf"] == [np.inf, -np.inf]
