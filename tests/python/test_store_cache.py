"""The RAM cache (lsio.open(url, cache=...)): a second pass of random crops over a sharded Zarr array on a remote
store is served from RAM (no inner-chunk GET reaches the server), values stay exact, the budget holds, and a
replaced shard is read anew."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import lsio
import lsio.zarr
from tests.servers.launch import FaultServer


def sharded(root: str, data: np.ndarray) -> None:
    z = zarr.create_array(root, shape=data.shape, dtype=data.dtype, chunks=(8, 8), shards=(32, 32),
                          compressors=None, overwrite=True)
    z[...] = data


def ranged_gets(fault: FaultServer) -> int:
    return sum(1 for r in fault.stats()["requests"] if r["method"] == "GET" and r["range"])


def test_second_epoch_of_crops_comes_from_ram(fault_server: FaultServer) -> None:
    data = np.random.default_rng(1).integers(0, 60000, (96, 96)).astype(np.uint16)
    sharded(str(fault_server.root / "cache" / "a.zarr"), data)
    store = lsio.open(fault_server.url + "ok/cache/", cache="64MiB")
    a = lsio.zarr.open_array(store, "a.zarr", mode="r")
    starts = np.random.default_rng(2).integers(0, 80, (40, 2))
    first = a.read_crops(starts, (16, 16))
    fault_server.reset()
    second = a.read_crops(starts, (16, 16))
    np.testing.assert_array_equal(first, second)
    for k, (y, x) in enumerate(starts):
        np.testing.assert_array_equal(second[k], data[y:y + 16, x:x + 16])
    stats = store.cache_stats()
    assert stats is not None and stats["hits"] > 0 and stats["inserts"] > 0, stats
    assert stats["bytes"] <= stats["capacity_bytes"]
    assert ranged_gets(fault_server) == 0, fault_server.stats()["requests"][:5]


def test_a_replaced_shard_is_read_anew(fault_server: FaultServer) -> None:
    root = fault_server.root / "cache2" / "a.zarr"
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    sharded(str(root), data)
    store = lsio.open(fault_server.url + "ok/cache2/", cache="8MiB")
    a = lsio.zarr.open_array(store, "a.zarr", mode="r")
    np.testing.assert_array_equal(a[...], data)
    sharded(str(root), data + 1)  # rewritten: new ETags
    np.testing.assert_array_equal(lsio.zarr.open_array(store, "a.zarr", mode="r")[...], data + 1)


def test_no_cache_by_default_and_sizes_parse(tmp_path: object) -> None:
    assert lsio.open("memory://").cache_stats() is None
    assert lsio.parse_size("2GiB") == 2 << 30 and lsio.parse_size("1.5GB") == 1_500_000_000
    assert lsio.parse_size(4096) == 4096 and lsio.parse_size("512 MiB") == 512 << 20
    for bad in ("lots", "-1GiB", "12XB"):
        with pytest.raises(ValueError):
            lsio.parse_size(bad)
    s = lsio.open("memory://", cache=1 << 20)
    assert s.cache_stats()["capacity_bytes"] <= 1 << 20
