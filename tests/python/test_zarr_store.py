"""lsio.zarr.ZarrStore: zarr-python's own store test-suite (zarr.testing.store.StoreTests) over a file store and a
memory:// store, then zarr-python reading and writing arrays through it, compared with numpy and with lsio.zarr.

What is checked beyond StoreTests: get_partial_values over many keys and every byte-request kind is one LSIO batch
whose values equal slicing the bytes; ranges ending past the value are cut, ranges starting past it raise; arrays
written by zarr-python through ZarrStore (v2, v3, v3 sharded; file and memory) read back equal through zarr-python
on its own LocalStore and through lsio.zarr; arrays written by zarr-python's LocalStore read equal through ZarrStore;
a ZarrStore-backed zarr array pickles into a spawned process and reads the same there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import Buffer, cpu, default_buffer_prototype
from zarr.storage import LocalStore
from zarr.testing.store import StoreTests

import lsio
import lsio.zarr
from lsio.zarr_store import ZarrStore

TIMEOUT = 120  # seconds for a child process


# ---- zarr-python's suite ------------------------------------------------------------------------------------------
#
# StoreTests needs set/get that bypass the store under test: they go straight to the LSIO store underneath.


class _Bypass:
    # StoreTests' store fixture is async; the conftest runs async tests, not async fixtures.
    @pytest.fixture
    def store(self, open_kwargs: dict[str, Any]) -> ZarrStore:
        return asyncio.run(ZarrStore.open(**open_kwargs))

    @pytest.fixture
    def store_not_open(self, store_kwargs: dict[str, Any]) -> ZarrStore:
        return ZarrStore(**store_kwargs)

    async def set(self, store: ZarrStore, key: str, value: Buffer) -> None:
        store.lsio_store.put(key, value.to_bytes())

    async def get(self, store: ZarrStore, key: str) -> Buffer:
        return self.buffer_cls.from_bytes(bytes(store.lsio_store.read_ranges([key], [0])[0]))  # type: ignore[attr-defined]

    def test_store_supports_writes(self, store: ZarrStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: ZarrStore) -> None:
        assert store.supports_listing


class TestZarrStoreFile(_Bypass, StoreTests[ZarrStore, cpu.Buffer]):
    store_cls = ZarrStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"url_or_store": str(tmp_path / "store")}

    def test_store_repr(self, store: ZarrStore) -> None:
        assert str(store) == store.url
        assert repr(store) == f"ZarrStore({store.url!r}, read_only=False)"

    async def test_empty_with_empty_subdir(self, store: ZarrStore) -> None:
        # A directory left empty (here by a delete) holds no key.
        await store.set("foo/bar/zarr.json", self.buffer_cls.from_bytes(b"x"))
        await store.delete("foo/bar/zarr.json")
        assert await store.is_empty("")
        assert await store.is_empty("foo")

    async def test_given_store_equals_url(self, tmp_path: Path) -> None:
        opened = lsio.open(str(tmp_path / "store"))
        assert ZarrStore(opened) == ZarrStore(str(tmp_path / "store"))
        assert ZarrStore(opened) != ZarrStore(opened, read_only=True)
        assert ZarrStore(opened) != ZarrStore(str(tmp_path / "other"))


class TestZarrStoreMemory(_Bypass, StoreTests[ZarrStore, cpu.Buffer]):
    store_cls = ZarrStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self) -> dict[str, Any]:
        # One LSIO memory store per test: ZarrStore(**store_kwargs) twice share it (StoreTests.test_store_eq).
        return {"url_or_store": lsio.open("memory://")}

    def test_store_repr(self, store: ZarrStore) -> None:
        assert str(store) == f"memory://{id(store.lsio_store):x}"

    async def test_fresh_memory_stores_are_separate(self) -> None:
        a, b = ZarrStore("memory://"), ZarrStore("memory://")
        await a.set("k", self.buffer_cls.from_bytes(b"1"))
        assert await b.get("k", default_buffer_prototype()) is None
        assert a != b
        await b.set("k", self.buffer_cls.from_bytes(b"1"))
        assert a == b  # same contents, as zarr's MemoryStore


# ---- byte ranges ----------------------------------------------------------------------------------------------------


@pytest.fixture(params=["file", "memory"])
def zstore(request: pytest.FixtureRequest, tmp_path: Path) -> ZarrStore:
    return ZarrStore(str(tmp_path / "s") if request.param == "file" else "memory://")


async def test_partial_values_one_batch(zstore: ZarrStore) -> None:
    rng = np.random.default_rng(0)
    values = {f"c/{i}": rng.integers(0, 256, 100 + i, dtype=np.uint8).tobytes() for i in range(20)}
    for k, v in values.items():
        zstore.lsio_store.put(k, v)
    requests: list[tuple[str, Any]] = []
    expected: list[bytes | None] = []
    for i, (k, v) in enumerate(values.items()):
        for r, e in [
            (None, v),
            (RangeByteRequest(i, i + 7), v[i : i + 7]),
            (OffsetByteRequest(50 + i), v[50 + i :]),
            (SuffixByteRequest(3 + i), v[-(3 + i) :]),
            (SuffixByteRequest(0), b""),
            (RangeByteRequest(90, 1000), v[90:]),  # ends past the value: cut at its end
        ]:
            requests.append((k, r))
            expected.append(e)
    requests.append(("c/missing", RangeByteRequest(0, 4)))
    expected.append(None)
    got = await zstore.get_partial_values(default_buffer_prototype(), requests)
    assert [None if g is None else g.to_bytes() for g in got] == expected


async def test_range_starting_past_the_end_raises(zstore: ZarrStore) -> None:
    zstore.lsio_store.put("k", b"0123")
    with pytest.raises(lsio.OutOfRangeError):
        await zstore.get("k", default_buffer_prototype(), RangeByteRequest(10, 20))
    with pytest.raises(lsio.OutOfRangeError):
        await zstore.get("k", default_buffer_prototype(), OffsetByteRequest(10))
    assert (await zstore.get("k", default_buffer_prototype(), RangeByteRequest(2, 20))).to_bytes() == b"23"
    assert zstore.get_sync("k", byte_range=RangeByteRequest(2, 20)).to_bytes() == b"23"  # type: ignore[union-attr]


async def test_keys_leaving_the_root_are_refused(zstore: ZarrStore) -> None:
    for key in ["/etc/passwd", "../x", "a/../../x"]:
        with pytest.raises(ValueError, match="invalid key"):
            await zstore.get(key, default_buffer_prototype())


# ---- zarr-python arrays through ZarrStore -----------------------------------------------------------------------

LAYOUTS: dict[str, dict[str, Any]] = {
    "v2": {"zarr_format": 2, "chunks": (7, 10)},
    "v3": {"zarr_format": 3, "chunks": (7, 10)},
    "v3-sharded": {"zarr_format": 3, "chunks": (4, 5), "shards": (8, 20)},
}


def _reference(dtype: str = "float32") -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.normal(size=(30, 45)).astype(dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["file", "memory"])
def test_zarr_python_writes_and_reads(layout: str, kind: str, tmp_path: Path) -> None:
    ref = _reference()
    root = tmp_path / "w.zarr"
    store = ZarrStore(str(root) if kind == "file" else "memory://")
    z = zarr.create_array(store, name="a/x", shape=ref.shape, dtype=ref.dtype, fill_value=-1.0,
                          attributes={"units": "K"}, **LAYOUTS[layout])
    z[:20, 5:] = ref[:20, 5:]  # the rest stays fill (missing chunks)
    z[20:, :] = ref[20:, :]
    expected = ref.copy()
    expected[:20, :5] = -1.0
    back = zarr.open_array(store=store, path="a/x", mode="r")
    np.testing.assert_array_equal(back[...], expected)
    np.testing.assert_array_equal(back.oindex[[3, 29, 0], 7:40:3], expected[[3, 29, 0], 7:40:3])
    # lsio.zarr reads what zarr-python wrote through the store, over the same LSIO store.
    a = lsio.zarr.open_array(store.lsio_store, "a/x", mode="r")
    np.testing.assert_array_equal(a[...], expected)
    assert a.attrs == {"units": "K"}
    if kind == "file":  # and zarr-python on its own LocalStore agrees
        np.testing.assert_array_equal(zarr.open_array(LocalStore(root), path="a/x", mode="r")[...], expected)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_zarr_python_reads_what_local_store_wrote(layout: str, tmp_path: Path) -> None:
    ref = _reference("int32")
    root = tmp_path / "l.zarr"
    layout_kw = dict(LAYOUTS[layout])
    g = zarr.open_group(LocalStore(root), mode="w", zarr_format=layout_kw.pop("zarr_format"))
    g.create_array("v", shape=ref.shape, dtype=ref.dtype, **layout_kw)[...] = ref
    g.attrs["title"] = "t"
    through = zarr.open_group(ZarrStore(str(root)), mode="r")
    assert dict(through.attrs) == {"title": "t"}
    assert list(through.array_keys()) == ["v"]
    np.testing.assert_array_equal(through["v"][...], ref)  # type: ignore[index]
    np.testing.assert_array_equal(through["v"][3:17, ::4], ref[3:17, ::4])  # type: ignore[index]
    np.testing.assert_array_equal(lsio.zarr.open_array(str(root), "v")[...], ref)


def test_zarr_overwrite_and_delete(tmp_path: Path) -> None:
    store = ZarrStore(str(tmp_path / "o.zarr"))
    zarr.create_array(store, name="x", shape=(10,), chunks=(3,), dtype="i2")[...] = np.arange(10)
    z = zarr.create_array(store, name="x", shape=(4,), chunks=(2,), dtype="i2", fill_value=7, overwrite=True)
    np.testing.assert_array_equal(z[...], [7, 7, 7, 7])
    assert [k for k, _ in store.lsio_store.list("")] == ["x/zarr.json", "zarr.json"]  # the old chunks are gone
    g = zarr.open_group(store, mode="a")
    del g["x"]
    assert [k for k, _ in store.lsio_store.list("")] == ["zarr.json"]
    assert list(g.array_keys()) == []


def _read_in_child(z: Any) -> Any:
    return z[...]


def test_pickled_zarr_array_reads_in_spawned_process(tmp_path: Path) -> None:
    ref = _reference()
    store = ZarrStore(str(tmp_path / "p.zarr"))
    z = zarr.create_array(store, name="x", shape=ref.shape, chunks=(8, 8), dtype=ref.dtype)
    z[...] = ref
    r = zarr.open_array(store=store, path="x", mode="r")
    assert pickle.loads(pickle.dumps(r.store)) == r.store
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        np.testing.assert_array_equal(pool.submit(_read_in_child, r).result(timeout=TIMEOUT), ref)
