"""lsio.zarr.copy and lsio.zarr.create(overwrite=True) on stores other than a local directory: copies to and from
S3 (moto) read back by zarr-python through s3fs and through lsio.zarr.ZarrStore, resume on S3, overwrite on S3
deleting through the store; a copy onto a full disk (a 2 MiB tmpfs) reporting ENOSPC and leaving only whole
shards; copies whose destination shard does not fit max_memory going through an intermediate array."""

from __future__ import annotations

import errno
import os
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from zarr.storage import FsspecStore

import lsio
import lsio.zarr
from remote_servers import S3Bucket


def s3_store(bucket: S3Bucket) -> lsio.Store:
    m = bucket.server
    return lsio.open(f"s3://{bucket.name}/", endpoint=m.endpoint, region=m.region, access_key_id=m.access_key_id,
                     secret_access_key=m.secret_access_key, backoff_initial=0.01, backoff_max=0.05)


def s3_env(monkeypatch: pytest.MonkeyPatch, bucket: S3Bucket) -> None:
    """The AWS_* variables an s3:// URL given to lsio.zarr.copy is opened with."""
    m = bucket.server
    for k, v in {"AWS_ENDPOINT_URL": m.endpoint, "AWS_REGION": m.region, "AWS_ACCESS_KEY_ID": m.access_key_id,
                 "AWS_SECRET_ACCESS_KEY": m.secret_access_key}.items():  # fmt: skip
        monkeypatch.setenv(k, v)


def zarr_python_s3(bucket: S3Bucket, path: str) -> zarr.Array:
    """The array at ``path`` of the bucket, read by zarr-python through s3fs."""
    m = bucket.server
    fs_store = FsspecStore.from_url(
        f"s3://{bucket.name}/{path}", read_only=True,
        storage_options={"key": m.access_key_id, "secret": m.secret_access_key, "anon": False,
                         "client_kwargs": {"endpoint_url": m.endpoint, "region_name": m.region}},
    )  # fmt: skip
    return zarr.open_array(store=fs_store, mode="r")


def source(tmp_path: Path, shape: tuple[int, ...] = (40, 24, 16), chunks: tuple[int, ...] = (5, 12, 16)) -> tuple[str, np.ndarray]:
    data = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    path = str(tmp_path / "src.zarr")
    z = zarr.create_array(path, shape=shape, chunks=chunks, dtype="float32", fill_value=0)
    z[...] = data
    return path, data


# ---- overwrite through the store --------------------------------------------------------------------------------


def test_create_overwrite_deletes_through_the_store_on_file_and_s3(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    for store in (lsio.open(str(tmp_path)), s3_store(s3_bucket)):
        a = lsio.zarr.create(store, (4, 4), "int16", path="g/a", chunks=(2, 2), fill_value=0)
        a[...] = np.arange(16, dtype=np.int16).reshape(4, 4)
        store.put("g/other/keep.txt", b"unrelated")
        assert sum(k.startswith("g/a/c/") for k, _ in store.list("g/a/")) == 4
        b = lsio.zarr.create(store, (2, 2), "int16", path="g/a", chunks=(2, 2), fill_value=7, overwrite=True)
        assert [k for k, _ in store.list("g/a/")] == ["g/a/zarr.json"], store.url  # no stale chunk left
        np.testing.assert_array_equal(b[...], np.full((2, 2), 7, np.int16))
        assert bytes(store.read_ranges(["g/other/keep.txt"], [0])[0]) == b"unrelated"
        # No node there: overwrite deletes nothing (a directory of unrelated files is not emptied).
        lsio.zarr.create(store, (2,), "int8", path="g/other", chunks=(2,), overwrite=True)
        assert bytes(store.read_ranges(["g/other/keep.txt"], [0])[0]) == b"unrelated"


def test_copy_overwrite_on_s3_url(tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    s3_env(monkeypatch, s3_bucket)
    src, data = source(tmp_path)
    url = f"s3://{s3_bucket.name}/o.zarr"
    lsio.zarr.copy(src, url, chunks=(5, 6, 4), shards=None)
    with pytest.raises(FileExistsError):
        lsio.zarr.copy(src, url)
    out = lsio.zarr.copy(src, url, chunks=(20, 24, 16), shards=None, overwrite=True)
    keys = [k for k, _ in s3_store(s3_bucket).list("o.zarr/")]
    assert len(keys) == 1 + 2, keys  # zarr.json and the two new chunks; the 48 old ones deleted
    np.testing.assert_array_equal(out[...], data)


# ---- copies to and from S3 --------------------------------------------------------------------------------------


def test_copy_local_to_s3_and_back(tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    s3_env(monkeypatch, s3_bucket)
    src, data = source(tmp_path)
    out = lsio.zarr.copy(lsio.zarr.open_array(src), f"s3://{s3_bucket.name}/out.zarr", chunks=(4, 6, 8),
                         shards=(8, 12, 16), compressors=[{"name": "zstd", "configuration": {"level": 1}}],
                         max_memory="64KiB")  # fmt: skip
    assert out.shards == (8, 12, 16)
    np.testing.assert_array_equal(zarr_python_s3(s3_bucket, "out.zarr")[...], data)
    via_ours = zarr.open_array(store=lsio.zarr.ZarrStore(s3_store(s3_bucket)), path="out.zarr", mode="r")
    np.testing.assert_array_equal(via_ours[...], data)
    # s3 -> local, with another layout and format.
    back = str(tmp_path / "back.zarr")
    lsio.zarr.copy(f"s3://{s3_bucket.name}/out.zarr", back, chunks=(10, 24, 4), zarr_format=2, max_memory="64KiB")
    z = zarr.open_array(back, mode="r")
    assert z.metadata.zarr_format == 2 and z.chunks == (10, 24, 4)
    np.testing.assert_array_equal(z[...], data)


def test_resume_on_s3(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    src, data = source(tmp_path)
    store = s3_store(s3_bucket)
    kw: dict[str, Any] = dict(path="r.zarr", chunks=(5, 12, 16), shards=(10, 24, 16), max_memory="60KiB")
    calls = 0

    def stop_after_three(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:  # the initial call, then three slabs (of one shard each)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lsio.zarr.copy(src, store, progress=stop_after_three, **kw)
    stored = {o["Key"]: o["ETag"] for o in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, Prefix="r.zarr/c/")["Contents"]}
    assert len(stored) == 3
    # Stored shards that are not valid are copied again: one truncated, one of the right size with a bad index.
    first, second = sorted(stored)[:2]
    store.put(first, b"short")
    good = bytes(store.read_ranges([second], [0])[0])
    store.put(second, good[:-8] + bytes(b ^ 0xFF for b in good[-8:]))
    redone = {first, second}
    progress: list[int] = []
    out = lsio.zarr.copy(src, store, resume=True, progress=lambda d, t: progress.append(d), **kw)
    assert progress[0] > 0  # the verified shards counted as done
    after = {o["Key"]: o["ETag"] for o in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, Prefix="r.zarr/c/")["Contents"]}
    assert len(after) == 4
    for k, etag in stored.items():
        if k not in redone:
            assert after[k] == etag, k  # not written again
    assert after[second] == stored[second]  # rewritten with the same bytes
    np.testing.assert_array_equal(out[...], data)
    np.testing.assert_array_equal(zarr_python_s3(s3_bucket, "r.zarr")[...], data)


# ---- a full disk -------------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for the test (root needed: a failed mount fails the test, with mount's message)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"cannot mount a 2 MiB tmpfs at {mnt} (the test runs as root in CI): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_copy_onto_a_full_disk_reports_enospc_and_leaves_only_whole_shards(tmp_path: Path, small_disk: Path) -> None:
    data = np.random.default_rng(2).random((64, 128, 128)).astype(np.float32)  # 4 MiB, 3.5 MiB with zstd
    src = str(tmp_path / "big.zarr")
    zarr.create_array(src, shape=data.shape, chunks=(4, 128, 128), dtype="float32", fill_value=0)[...] = data
    dst = str(small_disk / "out.zarr")
    with pytest.raises(OSError) as info:
        lsio.zarr.copy(src, dst, chunks=(4, 64, 64), shards=(4, 128, 128), max_memory="1MiB")
    assert info.value.errno == errno.ENOSPC, info.value
    assert "No space left on device" in str(info.value) and "out.zarr/c/" in str(info.value), info.value
    files = [p for p in (small_disk / "out.zarr").rglob("*") if p.is_file()]
    assert not [p for p in files if ".lsio-tmp." in p.name], files  # no temporary file left behind
    shards = [p for p in files if not p.name.startswith("zarr.json")]
    assert 1 <= len(shards) < 16, files
    # Not a Zarr array until the copy completes (its metadata waits hidden): no reader takes it for a whole copy.
    assert not (small_disk / "out.zarr" / "zarr.json").exists()
    with pytest.raises(zarr.errors.ArrayNotFoundError):
        zarr.open_array(dst, mode="r")
    # Every shard present is whole: with the metadata shown, zarr-python reads each one equal to the source.
    (small_disk / "out.zarr" / "zarr.json.lsio-pending").rename(small_disk / "out.zarr" / "zarr.json")
    z = zarr.open_array(dst, mode="r")
    for p in shards:
        i = int(p.relative_to(small_disk / "out.zarr" / "c").parts[0])
        np.testing.assert_array_equal(z[4 * i:4 * i + 4], data[4 * i:4 * i + 4])


def test_store_put_onto_a_full_disk_reports_enospc(small_disk: Path) -> None:
    store = lsio.open(str(small_disk))
    store.put("a", b"x" * (1 << 20))
    with pytest.raises(OSError) as info:
        store.put("dir/b", b"y" * (3 << 20))
    assert info.value.errno == errno.ENOSPC and "No space left on device" in str(info.value)
    assert "dir/b" in str(info.value)
    assert sorted(os.listdir(small_disk / "dir")) == []  # the temporary file was removed
    with pytest.raises(OSError) as info:
        store.write(["w"], [0], [b"z" * (3 << 20)])  # in-place writes (not atomic) report it too
    assert info.value.errno == errno.ENOSPC


# ---- destination shards larger than max_memory: staged through an intermediate array ----------------------------


def staged_source(tmp_path: Path) -> tuple[str, np.ndarray]:
    data = np.random.default_rng(3).standard_normal((24, 64, 64)).astype(np.float32)  # 384 KiB
    path = str(tmp_path / "s.zarr")
    zarr.create_array(path, shape=data.shape, chunks=(8, 64, 64), dtype="float32", fill_value=0)[...] = data
    return path, data


@pytest.mark.parametrize("where", ["inside", "temp_store", "s3"])
def test_shard_larger_than_max_memory_is_staged(tmp_path: Path, where: str, s3_bucket: S3Bucket) -> None:
    src, data = staged_source(tmp_path)
    # Shards of (16, 64, 64) = 256 KiB; a third of 96 KiB holds two (4, 32, 32) inner chunks of 16 KiB.
    kw: dict[str, Any] = dict(chunks=(4, 32, 32), shards=(16, 64, 64), max_memory="96KiB")
    temp = lsio.open(str(tmp_path / "scratch")) if where == "temp_store" else None
    store = s3_store(s3_bucket) if where == "s3" else lsio.open(str(tmp_path))
    seen: list[int] = []
    tracemalloc.start()
    try:
        out = lsio.zarr.copy(src, store, path="o.zarr", temp_store=temp, progress=lambda d, t: seen.append(d), **kw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 96 * 1024 + 64 * 1024, peak  # pieces of 32 KiB, never a 256 KiB shard in numpy
    assert len(seen) > 8  # progress per piece
    np.testing.assert_array_equal(out[...], data)
    if where == "s3":
        np.testing.assert_array_equal(zarr_python_s3(s3_bucket, "o.zarr")[...], data)
    else:
        z = zarr.open_array(str(tmp_path / "o.zarr"), mode="r")
        assert z.shards == (16, 64, 64) and z.chunks == (4, 32, 32)
        np.testing.assert_array_equal(z[...], data)
    assert [k for k, _ in store.list("o.zarr/") if "tmp" in k] == []  # the intermediate is gone
    assert len([k for k, _ in store.list("o.zarr/c/")]) == 2
    if temp is not None:
        assert temp.list("") == []


def test_staged_copy_removes_the_intermediate_after_a_failure_and_resumes(tmp_path: Path) -> None:
    src, data = staged_source(tmp_path)
    kw: dict[str, Any] = dict(chunks=(4, 32, 32), shards=(16, 64, 64), max_memory="96KiB")
    store = lsio.open(str(tmp_path))
    calls = 0

    def stop_in_the_second_shard(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 12:  # the initial call, the 8 pieces of the first shard, then 3 of the second
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lsio.zarr.copy(src, store, path="o.zarr", progress=stop_in_the_second_shard, **kw)
    keys = [k for k, _ in store.list("o.zarr/")]
    # One whole shard; no partial one, no intermediate; the metadata hidden until the copy completes.
    assert keys == ["o.zarr/c/0/0/0", "o.zarr/zarr.json.lsio-pending"], keys
    with pytest.raises(FileExistsError):
        lsio.zarr.copy(src, store, path="o.zarr", **kw)
    out = lsio.zarr.copy(src, store, path="o.zarr", resume=True, **kw)
    np.testing.assert_array_equal(out[...], data)
    assert sorted(k for k, _ in store.list("o.zarr/")) == ["o.zarr/c/0/0/0", "o.zarr/c/1/0/0", "o.zarr/zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "o.zarr"), mode="r")[...], data)


def test_stopped_v2_copy_is_no_array_until_resumed(tmp_path: Path) -> None:
    src, data = source(tmp_path)
    zarr.open_array(src, mode="r+").attrs["units"] = "K"
    dst = tmp_path / "v2.zarr"

    def stop(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    kw: dict[str, Any] = dict(chunks=(10, 24, 16), zarr_format=2, max_memory="64KiB")
    with pytest.raises(KeyboardInterrupt) as info:
        lsio.zarr.copy(src, str(dst), progress=stop, **kw)
    assert "resume=True" in "".join(getattr(info.value, "__notes__", ["resume=True"]))
    assert sorted(p.name for p in dst.iterdir() if p.name.startswith(".")) == [".zarray.lsio-pending", ".zattrs.lsio-pending"]
    with pytest.raises(zarr.errors.ArrayNotFoundError):
        zarr.open_array(str(dst), mode="r")
    lsio.zarr.copy(src, str(dst), resume=True, **kw)
    z = zarr.open_array(str(dst), mode="r")
    assert z.attrs["units"] == "K"
    np.testing.assert_array_equal(z[...], data)
