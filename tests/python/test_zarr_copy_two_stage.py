"""lsio.zarr.copy in two passes through an intermediate array (rechunker's plan): the planner's choice (the
benchmark geometry goes through an intermediate at max_memory 1 GiB, not at 3 GiB), results equal to numpy and
read back by zarr-python for non-divisible shapes, sharded and v2 destinations; the intermediate removed after
success, after an error and after a cancel; resume after a stopped two-pass copy; the shared read-ahead."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import lsio
import lsio.zarr
from lsio._copy import _contiguous, parse_bytes, plan_copy, read_amplification
from lsio._pipeline import ReadAhead

GIB = 1 << 30


def test_planner_benchmark_geometry() -> None:
    shape, src, dst = (1024, 1024, 1024), (16, 512, 512), (1024, 64, 64)
    one = plan_copy(shape, src, dst, 4, GIB // 3)
    # One pass in slabs of (1024, 64, 1024) cuts every (16, 512, 512) source chunk 8 times.
    assert one.single_amplification == 8.0
    assert one.intermediate is not None and one.per1 is not None and one.amplification == 1.0
    inter = one.intermediate
    slab1 = [min(p * c, n) for p, c, n in zip(one.per1, inter, shape)]
    slab2 = [min(p * c, n) for p, c, n in zip(one.per, dst, shape)]
    for slab, chunks in ((slab1, src), (slab1, inter), (slab2, inter), (slab2, dst)):
        assert read_amplification(shape, slab, chunks) == 1.0, (slab, chunks)  # whole chunks on both sides
    assert 4 * np.prod(slab1) <= GIB // 3 and 4 * np.prod(slab2) <= GIB // 3
    assert 4 * np.prod(inter) <= 16 << 20
    assert _contiguous(inter, slab2)  # the second pass reads each intermediate chunk straight into its slab
    # With 3 GiB a slab of whole source chunks fits: one pass, each source chunk decoded once.
    three = plan_copy(shape, src, dst, 4, 3 * GIB // 3)
    assert three.intermediate is None and three.per == [1, 8, 8] and three.amplification == 1.0
    assert plan_copy(shape, src, dst, 4, GIB // 3, two_stage=False).intermediate is None
    # Slightly misaligned slabs (amplification < 3) stay one pass.
    small = plan_copy((50, 30, 20), (7, 10, 20), (50, 6, 4), 4, (160 << 10) // 3)
    assert small.intermediate is None and 1.0 < small.single_amplification < 3.0
    two = plan_copy((128, 512, 512), (16, 512, 512), (128, 64, 64), 4, (192 << 20) // 3)
    assert two.intermediate is None and two.single_amplification == 2.0


def test_read_amplification_counts_partial_chunks_decoded_whole() -> None:
    assert read_amplification((100,), (100,), (10,)) == 1.0
    assert read_amplification((100,), (5,), (10,)) == 2.0
    assert read_amplification((10, 10), (10, 5), (10, 10)) == 2.0
    assert read_amplification((95,), (30,), (20,)) == (40 + 40 + 35 + 15) / 95  # [0,30) [30,60) [60,90) [90,95)


def source(tmp_path: Path, shape: tuple[int, ...], chunks: tuple[int, ...], fmt: int = 3) -> tuple[str, np.ndarray]:
    """A float32 array written by zarr-python, its last rows left at the fill value (missing chunks)."""
    data = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    path = str(tmp_path / "src.zarr")
    z = zarr.create_array(path, shape=shape, chunks=chunks, dtype="float32", fill_value=0.25, zarr_format=fmt)
    z[: shape[0] * 3 // 4] = data[: shape[0] * 3 // 4]
    return path, z[...]


CASES = [
    pytest.param((50, 30, 20), (7, 10, 20), dict(chunks=(50, 3, 4), shards=None), "40KiB", id="v3-edges"),
    pytest.param((45, 33, 21), (4, 11, 21), dict(chunks=(9, 3, 3), shards=(45, 6, 3)), "48KiB", id="sharded"),
    pytest.param((40, 26, 18), (5, 13, 18), dict(chunks=(40, 2, 3), zarr_format=2), "32KiB", id="v2"),
]


@pytest.mark.parametrize("shape,src_chunks,kw,mem", CASES)
def test_two_stage_copy_equals_the_source(tmp_path: Path, shape: Any, src_chunks: Any, kw: dict[str, Any],
                                          mem: str) -> None:  # fmt: skip
    fmt = kw.get("zarr_format", 3)
    src, ref = source(tmp_path, shape, src_chunks, fmt)
    unit = kw.get("shards") or kw["chunks"]
    plan = plan_copy(shape, src_chunks, unit, 4, parse_bytes(mem) // 3)
    assert plan.intermediate is not None and plan.single_amplification >= 3.0  # auto chooses two passes
    seen: list[tuple[int, int]] = []
    store = lsio.open(str(tmp_path))
    out = lsio.zarr.copy(src, store, path="o.zarr", max_memory=mem, progress=lambda d, t: seen.append((d, t)), **kw)
    np.testing.assert_array_equal(out[...], ref)
    z = zarr.open_array(str(tmp_path / "o.zarr"), mode="r")
    assert z.metadata.zarr_format == fmt and z.chunks == kw["chunks"] and z.fill_value == 0.25
    np.testing.assert_array_equal(z[...], ref)
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[0] == (0, 2 * ref.nbytes) and seen[-1] == (2 * ref.nbytes,) * 2
    assert [k for k, _ in store.list("o.zarr/") if "lsio-copy-tmp" in k] == []  # the intermediate is gone
    assert [p for p in (tmp_path / "o.zarr").rglob("*lsio-copy-tmp*")] == []  # with its directories


def test_two_stage_forced_with_a_temp_store(tmp_path: Path) -> None:
    src, ref = source(tmp_path, (30, 20, 10), (3, 20, 10))
    temp = lsio.open("memory://")
    out = lsio.zarr.copy(src, str(tmp_path / "o.zarr"), chunks=(30, 4, 5), shards=None, temp_store=temp,
                         two_stage=True, max_memory="1MiB")  # fmt: skip
    np.testing.assert_array_equal(out[...], ref)
    assert temp.list("") == []
    whole = str(tmp_path / "whole.zarr")  # one source chunk of 24000 bytes: no first-pass slab fits 10 KiB
    zarr.create_array(whole, shape=ref.shape, chunks=ref.shape, dtype="float32")[...] = ref
    with pytest.raises(ValueError, match="two_stage=True"):
        lsio.zarr.copy(whole, str(tmp_path / "p.zarr"), chunks=(30, 4, 5), shards=None, two_stage=True,
                       max_memory="30KiB")  # fmt: skip


KW: dict[str, Any] = dict(chunks=(50, 3, 4), shards=None, max_memory="40KiB")


def intermediate_keys(tmp_path: Path) -> list[str]:
    return [k for k, _ in lsio.open(str(tmp_path)).list("o.zarr/.lsio-copy-tmp")]


@pytest.mark.parametrize("when", [3, 18])  # in the first pass (12 slabs); in the second (10)
def test_intermediate_removed_after_an_error(tmp_path: Path, when: int) -> None:
    src, _ = source(tmp_path, (50, 30, 20), (7, 10, 20))
    calls = 0

    def fail(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == when:
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError, match="injected"):
        lsio.zarr.copy(src, str(tmp_path / "o.zarr"), progress=fail, **KW)
    assert intermediate_keys(tmp_path) == []
    assert not (tmp_path / "o.zarr" / "zarr.json").exists()  # no array until a copy completes


def test_intermediate_removed_after_a_cancel(tmp_path: Path) -> None:
    src, _ = source(tmp_path, (50, 30, 20), (7, 10, 20))
    token = lsio.CancelToken()

    def cancel_midway(done: int, total: int) -> None:
        if done > total // 3:
            token.cancel("stop here")

    with pytest.raises(lsio.CancelledError):
        lsio.zarr.copy(src, str(tmp_path / "o.zarr"), progress=cancel_midway, cancel=token, **KW)
    assert intermediate_keys(tmp_path) == []


def test_resume_after_a_stopped_two_stage_copy(tmp_path: Path) -> None:
    src, ref = source(tmp_path, (50, 30, 20), (7, 10, 20))
    dst = str(tmp_path / "o.zarr")
    total = 2 * ref.nbytes

    def stop_in_the_second_pass(done: int, t: int) -> None:
        if done > total * 3 // 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lsio.zarr.copy(src, dst, progress=stop_in_the_second_pass, **KW)
    stored = {p: p.stat().st_mtime_ns for p in (tmp_path / "o.zarr" / "c").rglob("*") if p.is_file()}
    assert 1 <= len(stored) < 50
    # A killed copy (no clean-up) leaves its intermediate inside the destination: resume deletes it.
    lsio.open(str(tmp_path)).put("o.zarr/.lsio-copy-tmp-dead/c/0/0/0", b"x" * 100)
    seen: list[int] = []
    out = lsio.zarr.copy(src, dst, resume=True, progress=lambda d, t: seen.append(d), **KW)
    assert seen[0] > 0 and seen[-1] == total  # stored shards (both passes' share) counted as done
    for p, mtime in stored.items():
        assert p.stat().st_mtime_ns == mtime, p  # not written again
    np.testing.assert_array_equal(out[...], ref)
    np.testing.assert_array_equal(zarr.open_array(dst, mode="r")[...], ref)
    assert intermediate_keys(tmp_path) == []


def test_read_ahead_cancels_and_drains_the_pending_read_on_an_error() -> None:
    token = lsio.CancelToken()
    finished: list[int] = []
    started = threading.Event()

    def read(i: int) -> int:
        if i == 1:
            started.set()
            while not token.cancelled:  # a read that only ends when cancelled
                time.sleep(0.001)
        finished.append(i)
        return i

    with pytest.raises(RuntimeError, match="write failed"):
        with ReadAhead([0, 1, 2], read, token) as stream:
            for item, data in stream:
                assert item == data == 0
                started.wait(5)
                raise RuntimeError("write failed")
    assert token.cancelled and finished == [0, 1]  # cancelled, waited for, and no read submitted after it
    got = []
    with ReadAhead([3, 4, 5], lambda i: i * 2) as stream:
        got = list(stream)
    assert got == [(3, 6), (4, 8), (5, 10)]


def test_two_stage_memory_is_bounded(tmp_path: Path) -> None:
    """16 MiB through an intermediate with max_memory=6MiB: numpy's peak stays near three 2 MiB slabs."""
    import tracemalloc

    data = np.random.default_rng(6).standard_normal((64, 256, 256)).astype(np.float32)
    src = str(tmp_path / "m.zarr")
    zarr.create_array(src, shape=data.shape, chunks=(8, 256, 256), dtype="float32", fill_value=0)[...] = data
    assert plan_copy(data.shape, (8, 256, 256), (64, 32, 32), 4, (6 << 20) // 3).intermediate is not None
    tracemalloc.start()
    try:
        out = lsio.zarr.copy(src, str(tmp_path / "o.zarr"), chunks=(64, 32, 32), shards=None, max_memory="6MiB")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 7 << 20, peak
    np.testing.assert_array_equal(out[...], data)
