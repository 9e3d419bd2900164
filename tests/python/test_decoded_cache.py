"""Decoded inner chunks in the RAM cache (lsio.open(url, cache=...)): a cached chunk is neither read nor decoded again,
its bytes equal an uncached read (dtypes, codecs, edge chunks), the budget holds with evictions, a rewritten shard is
read anew on local files, nginx and S3 (moto), and revalidate_after trades version checks for staleness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import lsio
import lsio.ml
import lsio.zarr
from tests.python.remote_servers import S3Bucket
from tests.servers.launch import FaultServer, Nginx

CODECS: dict[str, Any] = {
    "zstd": [zarr.codecs.ZstdCodec(level=1)],
    "blosc": [zarr.codecs.BloscCodec(cname="lz4", shuffle="shuffle")],
    "gzip": [zarr.codecs.GzipCodec(level=1)],
    "none": None,
}


def write(root: Path | str, data: np.ndarray, codec: str = "zstd") -> None:
    z = zarr.create_array(str(root), shape=data.shape, dtype=data.dtype, chunks=(8, 8), shards=(32, 32),
                          compressors=CODECS[codec], overwrite=True)  # fmt: skip
    z[...] = data


def crops(a: Any, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    hi = np.array(a.shape) - 12
    starts = np.random.default_rng(seed).integers(0, hi + 1, (30, 2))
    return starts, a.read_crops(starts, (12, 12))


@pytest.mark.parametrize("dtype,codec", [("uint16", "zstd"), ("float32", "blosc"), ("int8", "gzip"),
                                         ("float64", "zstd"), ("int32", "none")])  # fmt: skip
def test_decoded_hits_equal_uncached_reads(tmp_path: Path, dtype: str, codec: str) -> None:
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((70, 45)) * 50).astype(dtype)  # edge shards and edge inner chunks are partial
    write(tmp_path / "a.zarr", data, codec)
    plain = lsio.zarr.open_array(lsio.open(str(tmp_path)), "a.zarr", mode="r")
    store = lsio.open(str(tmp_path), cache="16MiB")
    a = lsio.zarr.open_array(store, "a.zarr", mode="r")
    starts, ref = crops(plain)
    for _ in range(2):
        _, got = crops(a)
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(a[...], data)
        np.testing.assert_array_equal(a[3:61, 5:44], data[3:61, 5:44])
        stats = a.reduce_stats(axis=0)  # decoded hits handed to a reduction's sink
        np.testing.assert_array_equal(stats.max, data.max(axis=0))
        np.testing.assert_allclose(stats.sum, data.astype(np.float64).sum(axis=0))
    for k, (y, x) in enumerate(starts):
        np.testing.assert_array_equal(ref[k], data[y:y + 12, x:x + 12])
    st = store.cache_stats()
    assert st is not None and st["bytes"] <= st["capacity_bytes"]
    if codec == "none":  # nothing to decode: the raw bytes are cached instead
        assert st["decoded_entries"] == 0 and st["raw_hits"] > 0, st
    else:
        assert st["decoded_hits"] > 0 and st["decoded_entries"] == st["decoded_misses"], st
        assert st["raw_entries"] <= 6, f"decoded chunks are not also held raw (only the 6 shard indexes): {st}"


def test_budget_holds_with_decoded_entries(tmp_path: Path) -> None:
    data = np.random.default_rng(3).integers(0, 60000, (256, 256)).astype(np.uint16)
    write(tmp_path / "a.zarr", data)
    store = lsio.open(str(tmp_path), cache="64KiB")  # 16 shards of 4 KiB: a few 128-byte chunks each
    a = lsio.zarr.open_array(store, "a.zarr", mode="r")
    for _ in range(2):
        np.testing.assert_array_equal(a[...], data)
    st = store.cache_stats()
    assert st is not None and st["bytes"] <= st["capacity_bytes"], st
    assert st["decoded_evictions"] > 0 and st["decoded_inserts"] == 2 * 1024 - st["decoded_hits"], st


def check_rewrite_is_seen(store: lsio.Store, rewrite: Any) -> None:
    a = lsio.zarr.open_array(store, "a.zarr", mode="r")  # kept open: the index cache and the RAM cache hold old data
    old = a[...]
    np.testing.assert_array_equal(a[...], old)
    hits = store.cache_stats()["decoded_hits"]  # type: ignore[index]
    assert hits > 0
    new = rewrite()
    np.testing.assert_array_equal(a[...], new)


def new_data(seed: int) -> np.ndarray:
    # Sizes of the encoded shards differ from one seed to the next (nginx ETags are mtime seconds + size).
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1000 * (seed + 1), (64, 64)).astype(np.uint16)


def test_rewrite_is_seen_local(tmp_path: Path) -> None:
    write(tmp_path / "a.zarr", new_data(0))

    def rewrite() -> np.ndarray:
        write(tmp_path / "a.zarr", new_data(1))
        return new_data(1)

    check_rewrite_is_seen(lsio.open(str(tmp_path), cache="8MiB"), rewrite)


def test_rewrite_is_seen_over_http(nginx_server: Nginx) -> None:
    root = nginx_server.root / "decoded_rewrite"
    write(root / "a.zarr", new_data(0))

    def rewrite() -> np.ndarray:
        write(root / "a.zarr", new_data(2))
        return new_data(2)

    check_rewrite_is_seen(lsio.open(nginx_server.url + "decoded_rewrite/", cache="8MiB"), rewrite)


def upload(bucket: S3Bucket, local: Path) -> None:
    for f in sorted(local.rglob("*")):
        if f.is_file():
            bucket.client.put_object(Bucket=bucket.name, Key=str(f.relative_to(local.parent)), Body=f.read_bytes())


def test_rewrite_is_seen_over_s3(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    m = s3_bucket.server
    write(tmp_path / "a.zarr", new_data(0))
    upload(s3_bucket, tmp_path / "a.zarr")

    def rewrite() -> np.ndarray:
        write(tmp_path / "a.zarr", new_data(3))
        upload(s3_bucket, tmp_path / "a.zarr")
        return new_data(3)

    store = lsio.open(f"s3://{s3_bucket.name}", cache="8MiB", endpoint=m.endpoint, region=m.region,
                      access_key_id=m.access_key_id, secret_access_key=m.secret_access_key)  # fmt: skip
    check_rewrite_is_seen(store, rewrite)


def test_second_epoch_of_random_crops_is_decoded_hits(nginx_server: Nginx) -> None:
    root = nginx_server.root / "decoded_epochs"
    data = np.random.default_rng(4).integers(0, 60000, (96, 96)).astype(np.uint16)
    write(root / "a.zarr", data)
    store = lsio.open(nginx_server.url + "decoded_epochs/", cache="16MiB")
    a = lsio.zarr.open_array(store, "a.zarr", mode="r")
    loader = lsio.ml.RandomCrops(sources={"x": a}, crop={"x": {"dim_0": 16, "dim_1": 16}}, batch_size=8,
                                 batches_per_epoch=4, seed=5, prefetch=0)  # fmt: skip
    counts = []
    for _ in range(2):
        loader.set_epoch(0)
        for b in loader:
            for k, (y, x) in enumerate(b["x/start"]):
                np.testing.assert_array_equal(b["x"][k], data[y:y + 16, x:x + 16])
        counts.append(dict(store.cache_stats() or {}))
    first, second = counts
    assert second["decoded_misses"] == first["decoded_misses"], "epoch 2 found every chunk decoded"
    assert second["decoded_hits"] > first["decoded_hits"], counts


def versions_checked(fault: FaultServer, store: lsio.Store, a: Any) -> int:
    fault.reset()
    a.read_crops(np.array([[0, 0], [20, 30]]), (16, 16))
    return sum(1 for r in fault.stats()["requests"] if r["method"] in ("HEAD", "GET"))


def test_revalidate_after_answers_version_checks_from_ram(fault_server: FaultServer) -> None:
    root = fault_server.root / "decoded_ttl"
    write(root / "a.zarr", new_data(0))
    every = lsio.open(fault_server.url + "ok/decoded_ttl/", cache="8MiB")
    lasting = lsio.open(fault_server.url + "ok/decoded_ttl/", cache="8MiB", revalidate_after="1h")
    a, b = (lsio.zarr.open_array(s, "a.zarr", mode="r") for s in (every, lasting))
    for arr, s in ((a, every), (b, lasting)):
        versions_checked(fault_server, s, arr)  # fills the cache
    assert versions_checked(fault_server, every, a) > 0, "by default each call confirms every shard's version"
    assert versions_checked(fault_server, lasting, b) == 0, "within revalidate_after nothing reaches the server"
    assert lasting.cache_stats()["version_hits"] > 0  # type: ignore[index]
    old = b[...]
    write(root / "a.zarr", new_data(5))  # replaced: the lasting store may serve it stale (documented)
    np.testing.assert_array_equal(b[...], old)
    np.testing.assert_array_equal(a[...], new_data(5))
    assert lasting.options["revalidate_after"] == 3600.0


def test_revalidate_after_needs_a_cache_and_a_duration() -> None:
    with pytest.raises(ValueError, match="needs a cache"):
        lsio.open("memory://", revalidate_after=1)
    for bad in ("soon", "-1s", "5 parsecs"):
        with pytest.raises(ValueError, match="duration"):
            lsio.open("memory://", cache="1MiB", revalidate_after=bad)
    assert lsio.parse_duration("500ms") == 0.5 and lsio.parse_duration("5min") == 300.0
    assert lsio.parse_duration(2) == 2.0 and lsio.parse_duration("1h") == 3600.0
