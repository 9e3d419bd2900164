"""The engine's contract as Python sees it: read caps (MemoryError), many threads on one store, fair sharing of
the workers between batches, asyncio, PendingRead, pickling, and calls from inside a store's own callbacks.

Tests that cancel batches (asyncio task cancel, a for_each callback that raises, a store dropped or the interpreter
leaving with a batch running) or that could block a store forever (a done callback calling its store) run in a
child process under a hard timeout (subproc.run_python), so that a crash or a hang fails one test.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import random
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pytest

import lsio
import lsio.zarr
from subproc import merged, require_engine, run_python
from util import open_store, pattern, write_file

PHYSICAL = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")

# ---- (a) read caps -------------------------------------------------------------------------------------------------


def test_default_cap_is_half_the_memory(tmp_path: Path, engine: str) -> None:
    """A request larger than half the physical memory is refused before anything is allocated: MemoryError naming
    the cap; the process lives and the next reads work, including read_into far into the same file."""
    require_engine(engine)
    store = open_store("", engine)
    huge = str(tmp_path / "huge.bin")
    with open(huge, "wb") as f:
        f.truncate(200 << 30)  # sparse: no disk used
    small = write_file(tmp_path / "small.bin", pattern(10_000, seed=1))
    cap = f"larger than the {PHYSICAL // 2} bytes one request may allocate"
    with pytest.raises(MemoryError, match=cap):
        lsio.read_ranges([huge], [0], [None])  # the default store
    with pytest.raises(MemoryError, match=cap):
        store.read_ranges(huge, [0], [None])
    with pytest.raises(MemoryError, match=cap):
        store.read_ranges(huge, [-(150 << 30)], [None])  # a suffix range resolves to 150 GiB
    got = store.read_ranges([huge, small], [0, 0], [None, None], on_error="return")
    assert isinstance(got[0], MemoryError) and huge in str(got[0])
    assert bytes(got[1]) == pattern(10_000, seed=1)  # its neighbour is unaffected
    assert bytes(store.read_ranges(huge, [100 << 30], [(100 << 30) + 4096])[0]) == bytes(4096)
    assert bytes(lsio.read_ranges(small, [5], [50])[0]) == pattern(10_000, seed=1)[5:50]
    # read_into reads into the caller's buffer: no cap, whatever the file's size
    out = np.full(1 << 20, 0xAB, np.uint8)
    store.read_into(huge, [150 << 30], [out])
    assert not out.any()
    lsio.read_into([huge, small], [(199 << 30), 100], [out[:4096], out[4096:4196]])
    assert not out[:4096].any() and out[4096:4196].tobytes() == pattern(10_000, seed=1)[100:200]
    os.remove(huge)


def test_max_request_bytes(tmp_path: Path, engine: str) -> None:
    require_engine(engine)
    store = open_store("", engine)
    content = pattern(1 << 20, seed=2)
    path = write_file(tmp_path / "data.bin", content)
    with pytest.raises(MemoryError, match="larger than the 4096 bytes one request may allocate"):
        store.read_ranges(path, [0], [None], max_request_bytes=4096)
    assert bytes(store.read_ranges(path, [0], [4096], max_request_bytes=4096)[0]) == content[:4096]
    got = store.read_ranges(path, [0, 10_000, -4097], [4097, 10_010, None], max_request_bytes=4096,
                            on_error="return")
    assert isinstance(got[0], MemoryError) and isinstance(got[2], MemoryError)
    assert bytes(got[1]) == content[10_000:10_010]
    # coalescing never builds a read larger than the cap: 100 ranges 1000 bytes apart all succeed
    starts = np.arange(100, dtype=np.int64) * 2000
    got = store.read_ranges(path, starts, starts + 1000, coalesce_gap=1 << 20, max_request_bytes=4096)
    assert [bytes(b) for b in got] == [content[s : s + 1000] for s in starts]
    pending = store.submit_read(path, [0, 500_000], [8192, 500_100], max_request_bytes=4096)
    pending.wait(60)
    got = pending.result(on_error="return")
    assert isinstance(got[0], MemoryError) and bytes(got[1]) == content[500_000:500_100]
    # read_into is not capped
    out = bytearray(1 << 20)
    store.read_into(path, [0], [out])
    assert bytes(out) == content


def test_small_request_overlapping_a_refused_one(tmp_path: Path, engine: str) -> None:
    """The cap is per request: a small request that overlaps a refused one (overlapping requests are read together)
    is still read, since one failing range never fails its neighbours."""
    require_engine(engine)
    store = open_store("", engine)
    content = pattern(1 << 20, seed=2)
    path = write_file(tmp_path / "data.bin", content)
    got = store.read_ranges(path, [0, 10, -4096, -4097], [None, 20, None, None], max_request_bytes=4096,
                            on_error="return")
    assert isinstance(got[0], MemoryError) and isinstance(got[3], MemoryError)
    assert isinstance(got[1], lsio.Buffer) and bytes(got[1]) == content[10:20], got[1]
    assert isinstance(got[2], lsio.Buffer) and bytes(got[2]) == content[-4096:], got[2]


# ---- (b) many threads, one store -------------------------------------------------------------------------------------


def oracle(data: Optional[bytes], start: int, end: Optional[int]) -> Optional[bytes]:
    """What read_ranges returns for [start, end) of data (None: past EOF, an error)."""
    assert data is not None
    size = len(data)
    if start < 0:
        return data[max(0, size + start) :]
    stop = size if end is None else end
    if stop > size or start > size:
        return None
    return data[start:stop]


def random_requests(rng: random.Random, paths: list[str], contents: dict[str, Optional[bytes]], n: int
                    ) -> list[tuple[str, int, Optional[int]]]:
    out: list[tuple[str, int, Optional[int]]] = []
    for _ in range(n):
        path = rng.choice(paths)
        data = contents[path]
        size = len(data) if data is not None else 100
        kind = rng.random()
        if kind < 0.5:
            a = rng.randint(0, size)
            out.append((path, a, min(size, a + rng.choice([1, 100, 4096, 70_000]))))
        elif kind < 0.65:
            out.append((path, rng.randint(0, size), None))
        elif kind < 0.8:
            out.append((path, -rng.randint(1, size + 100), None))
        elif kind < 0.9:  # past EOF
            a = rng.randint(0, size + 50)
            out.append((path, a, max(a, size) + rng.randint(1, 5000)))
        else:
            out.append((path, 0, None))
    return out


def check_result(path: str, start: int, end: Optional[int], got: Union[lsio.Buffer, Exception],
                 contents: dict[str, Optional[bytes]]) -> None:
    data = contents[path]
    if data is None:
        assert isinstance(got, FileNotFoundError), (path, got)
        return
    want = oracle(data, start, end)
    if want is None:
        assert isinstance(got, lsio.OutOfRangeError), (path, len(data), start, end, got)
    else:
        assert isinstance(got, lsio.Buffer), (path, len(data), start, end, got)
        assert bytes(got) == want, (path, len(data), start, end)


def test_threads_share_one_store(tmp_path: Path, engine: str) -> None:
    """8 threads x 30 random batches (every API, random files and ranges, suffixes, past EOF, missing files) on one
    store, every byte checked."""
    require_engine(engine)
    store = open_store("", engine)
    rng = random.Random(7)
    contents: dict[str, Optional[bytes]] = {}
    for i in range(20):
        size = rng.choice([0, 1, 100, 4095, 4096, 65537, 300_000, 2_000_000])
        contents[write_file(tmp_path / f"f{i}", rng.randbytes(size))] = None
    for path in list(contents):
        contents[path] = Path(path).read_bytes()
    contents[str(tmp_path / "missing")] = None
    paths = list(contents)
    failures: list[str] = []
    counts = [0] * 8
    start = threading.Barrier(8)

    def worker(t: int) -> None:
        r = random.Random(100 + t)
        try:
            start.wait(30)
            for b in range(30):
                reqs = random_requests(r, paths, contents, r.randint(1, 300))
                ps, ss, es = [q[0] for q in reqs], [q[1] for q in reqs], [q[2] for q in reqs]
                api = b % 4
                if api == 0:
                    got = store.read_ranges(ps, ss, es, on_error="return", coalesce_gap=r.choice([0, 100, 1 << 16]))
                elif api == 1:
                    pending = store.submit_read(ps, ss, es, coalesce_gap=r.choice([0, 4096]))
                    pending.wait(120)
                    got = pending.result(on_error="return")
                elif api == 2:
                    seen: dict[int, Union[lsio.Buffer, Exception]] = {}
                    store.for_each(ps, ss, es, seen.__setitem__)
                    got = [seen[i] for i in range(len(reqs))]
                else:
                    # read_into: exact lengths, some past EOF
                    lengths = [(e if e is not None else len(contents[p] or b"")) - s if s >= 0 else -s
                               for p, s, e in reqs]
                    lengths = [max(0, n) for n in lengths]
                    outs = [bytearray(b"\xab" * n) for n in lengths]
                    errors = store.read_into(ps, ss, outs, on_error="return")
                    assert errors is not None
                    for (p, s, e), out, err, n in zip(reqs, outs, errors, lengths):
                        data = contents[p]
                        if data is None:
                            assert isinstance(err, FileNotFoundError), (p, err)
                        elif (s >= 0 and s + n > len(data)) or (s < 0 and -s > len(data)):
                            assert isinstance(err, lsio.OutOfRangeError), (p, len(data), s, n, err)
                        else:
                            want = data[s : s + n] if s >= 0 else data[len(data) + s :]
                            assert err is None and bytes(out) == want, (p, len(data), s, n, err)
                    counts[t] += len(reqs)
                    continue
                assert len(got) == len(reqs)
                for (p, s, e), g in zip(reqs, got):
                    check_result(p, s, e, g, contents)
                counts[t] += len(reqs)
        except BaseException:  # noqa: BLE001 - reported below
            failures.append(f"thread {t}: {traceback.format_exc()}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert failures == []
    assert all(c > 0 for c in counts)


# ---- (c) fairness ----------------------------------------------------------------------------------------------------


def test_small_batch_is_not_stuck_behind_a_huge_one(tmp_path: Path, engine: str) -> None:
    """A small batch submitted from another thread while a huge one (3 million requests, seconds of work on 2
    workers) runs completes first: the workers take the FileJobs of running batches in turn."""
    require_engine(engine)
    store = lsio.open("", engine=engine, workers=2)  # type: ignore[arg-type]
    content = pattern(6_000_000, seed=3)
    path = write_file(tmp_path / "tiny.bin", content)
    other = pattern(100_000, seed=4)
    small_path = write_file(tmp_path / "small.bin", other)
    store.read_ranges(path, [0], [None])  # page cache warm, workers started
    n = 3_000_000
    starts = np.arange(n, dtype=np.int64) * 2  # 1-byte ranges 1 byte apart: none merge
    huge = store.submit_read(path, starts, starts + 1)
    result: dict[str, object] = {}

    def small() -> None:
        got = store.read_ranges([small_path] * 3, [0, 500, -10], [100, 70_000, None])
        result["got"] = [bytes(b) for b in got]
        result["huge_done_at_return"] = huge.done()
        result["huge_progress"] = huge.requests_done

    t = threading.Thread(target=small)
    t.start()
    t.join(120)
    assert not t.is_alive()
    assert result["got"] == [other[:100], other[500:70_000], other[-10:]]
    assert result["huge_done_at_return"] is False, "the small batch waited for the huge one"
    huge.wait(300)
    assert huge.requests_done == huge.requests_total == n
    got = huge.result()
    assert len(got) == n
    for i in range(0, n, 9973):
        assert bytes(got[i]) == content[2 * i : 2 * i + 1]
    print(f"\nsmall batch done when the huge one had delivered {result['huge_progress']} of {n} requests")


# ---- (d) asyncio -----------------------------------------------------------------------------------------------------

ASYNC_CHILD = r"""
import asyncio, json, sys, time
import numpy as np
import lsio
from util import pattern

cfg = json.loads(sys.argv[1])
store = lsio.open("", engine=cfg["engine"], workers=2)
paths = [f"{cfg['dir']}/a{i}.bin" for i in range(4)]
contents = [pattern(200_000 + i, seed=10 + i) for i in range(4)]
for p, c in zip(paths, contents):
    open(p, "wb").write(c)
big = f"{cfg['dir']}/tiny.bin"
open(big, "wb").write(pattern(6_000_000, seed=9))
starts = np.arange(3_000_000, dtype=np.int64) * 2


async def main():
    # several batches at once, exact
    calls = [store.read_ranges_async(p, [0, 1000, -7], [10, 150_000, None]) for p in paths]
    calls.append(store.read_ranges_async([paths[0], cfg["dir"] + "/missing"], [0, 0], [5, 5], on_error="return"))
    results = await asyncio.gather(*calls)
    for c, got in zip(contents, results):
        assert [bytes(b) for b in got] == [c[:10], c[1000:150_000], c[-7:]]
    assert bytes(results[4][0]) == contents[0][:5] and isinstance(results[4][1], FileNotFoundError)

    # the event loop runs while a long batch is awaited
    ticks = 0
    stop = False

    async def ticker():
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0.001)

    tick_task = asyncio.create_task(ticker())
    got = await store.read_ranges_async(big, starts[:1_000_000], starts[:1_000_000] + 1)
    stop = True
    await tick_task
    assert len(got) == 1_000_000 and ticks > 0
    del got

    # cancelling the awaiting task cancels the batch; the store keeps working
    task = asyncio.create_task(store.read_ranges_async(big, starts, starts + 1))
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    try:
        await task
        raise AssertionError("the cancelled task completed")
    except asyncio.CancelledError:
        pass
    got = await store.read_ranges_async(paths[1], [0], [None])
    assert bytes(got[0]) == contents[1]
    emit(ticks=ticks)


asyncio.run(main())
assert bytes(store.read_ranges(paths[2], [3], [None])[0]) == contents[2][3:]
# Let the cancelled batch finish and run its done callback before exiting (exiting while a done callback is
# pending is test_store_gone_with_a_batch_running[cancel-exit-done-callback]).
time.sleep(1)
emit(ok=True)
"""


def test_asyncio(tmp_path: Path, engine: str) -> None:
    require_engine(engine)
    r = merged(run_python(ASYNC_CHILD, json.dumps({"engine": engine, "dir": str(tmp_path)}), timeout=120))
    assert r["ok"] is True


# ---- (e) PendingRead -------------------------------------------------------------------------------------------------


def test_pending_read_progress_and_done_callback(tmp_path: Path, engine: str) -> None:
    require_engine(engine)
    store = lsio.open("", engine=engine, workers=2)  # type: ignore[arg-type]
    content = pattern(2_000_000, seed=5)
    path = write_file(tmp_path / "data.bin", content)
    n = 500_000
    starts = np.arange(n, dtype=np.int64) * 4  # 2-byte ranges 2 bytes apart: none merge
    pending = store.submit_read(path, starts, starts + 2)
    assert pending.requests_total == n
    with pytest.raises(RuntimeError, match="still running"):
        pending.result()  # 500000 reads take longer than this
    calls: list[int] = []
    pending.add_done_callback(lambda: calls.append(threading.get_ident()))
    seen = [pending.requests_done]
    while not pending.done():
        seen.append(pending.requests_done)
        time.sleep(0.001)
    pending.wait(60)
    assert all(a <= b <= n for a, b in zip(seen, seen[1:])), "progress went backwards or past the total"
    assert pending.requests_done == pending.requests_total == n
    assert pending.bytes_read == 2 * n
    deadline = time.monotonic() + 10  # the callback runs on the finishing thread, just after done
    while not calls and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.1)
    assert len(calls) == 1
    late: list[int] = []
    pending.add_done_callback(lambda: late.append(threading.get_ident()))  # already done: at once, on this thread
    assert late == [threading.get_ident()]
    got = pending.result()
    assert [bytes(got[i]) for i in range(0, n, 4999)] == [content[4 * i : 4 * i + 2] for i in range(0, n, 4999)]
    with pytest.raises(RuntimeError, match="already taken"):
        pending.result()
    assert len(calls) == 1 and len(late) == 1


DONE_CALLBACK_CHILD = r"""
import json, os, sys, threading
import lsio

cfg = json.loads(sys.argv[1])
path = cfg["path"]
data = open(path, "rb").read()
store = lsio.open("", engine=cfg["engine"], workers=1)
outcome = {}
finished = threading.Event()


def callback():
    try:
        outcome["got"] = bytes(store.read_ranges(path, [0], [10])[0])
    except RuntimeError as e:
        outcome["refused"] = str(e)
    finally:
        finished.set()


pending = store.submit_read(path, [0, 100], [10, 200])
pending.add_done_callback(callback)
pending.wait(30)
if not finished.wait(20):
    emit(hang="a done callback that calls its store blocked the store's only worker")
    os._exit(2)
assert outcome.get("got", data[:10]) == data[:10]
assert bytes(store.read_ranges(path, [5], [50])[0]) == data[5:50]
emit(**{k: (v.hex() if isinstance(v, bytes) else v) for k, v in outcome.items()})
"""


def test_done_callback_calling_its_store_does_not_hang(tmp_path: Path, engine: str) -> None:
    """add_done_callback runs fn on lsio's done-callback thread (never a store worker). A fn that calls the same
    store must not deadlock it, even with one worker: the call is served (or, were it run on a worker, refused
    with RuntimeError as from a for_each callback)."""
    require_engine(engine)
    path = write_file(tmp_path / "data.bin", pattern(1000, seed=6))
    r = merged(run_python(DONE_CALLBACK_CHILD, json.dumps({"engine": engine, "path": path}), timeout=60))
    assert "hang" not in r
    assert "got" in r or "own callbacks" in r["refused"]


DROP_CHILD = r"""
import json, os, sys, threading, time
import numpy as np
import lsio
from util import pattern

cfg = json.loads(sys.argv[1])
path = cfg["dir"] + "/tiny.bin"
open(path, "wb").write(pattern(6_000_000, seed=9))
starts = np.arange(3_000_000, dtype=np.int64) * 2
store = lsio.open("", engine=cfg["engine"], workers=2)
store.read_ranges(path, [0], [1])
pending = store.submit_read(path, starts, starts + 1)  # seconds of work
calls = []
if cfg["callback"]:
    pending.add_done_callback(lambda: calls.append(1))
time.sleep(0.1)
if cfg["how"] == "exit":
    # interpreter shutdown with the batch running (and its done callback pending): the store is destroyed then
    sys.exit(0)
if cfg["how"] == "cancel-exit":
    pending.cancel()
    sys.exit(0)
# drop the last reference to the store: it cancels the batch and waits for the drain
done = threading.Event()


def drop():
    global store
    store = None
    done.set()


threading.Thread(target=drop, daemon=True).start()
# (a drop that deadlocks while holding the GIL stops this thread too: the test's timeout reports it)
if not done.wait(20):
    emit(hang="dropping the store with a batch running did not return")
    os._exit(2)
pending.wait(20)
deadline = time.monotonic() + 10
while cfg["callback"] and not calls and time.monotonic() < deadline:
    time.sleep(0.01)
emit(done=pending.done(), calls=len(calls))
"""


@pytest.mark.parametrize("callback", [False, True], ids=["no-callback", "done-callback"])
@pytest.mark.parametrize("how", ["drop", "exit", "cancel-exit"])
def test_store_gone_with_a_batch_running(tmp_path: Path, engine: str, how: str, callback: bool) -> None:
    """Dropping a store, or exiting the interpreter, while a batch of it runs (optionally with a Python done
    callback pending, as read_ranges_async leaves behind a cancelled task) cancels the batch, drains it, runs the
    callback once, and neither hangs nor crashes."""
    require_engine(engine)
    cfg = json.dumps({"engine": engine, "dir": str(tmp_path), "how": how, "callback": callback})
    r = merged(run_python(DROP_CHILD, cfg, timeout=60))
    if how == "drop":
        assert r == {"done": True, "calls": int(callback)}


# ---- (f) pickling ----------------------------------------------------------------------------------------------------


def read_in_child(store: lsio.Store, path: str, starts: list[int], ends: list[int]) -> tuple[int, str, list[bytes]]:
    """Runs in a spawned process: reads with the unpickled store."""
    return os.getpid(), store.engine, [bytes(b) for b in store.read_ranges(path, starts, ends)]


def test_pickle_reopens_the_store(tmp_path: Path, engine: str) -> None:
    require_engine(engine)
    content = pattern(300_000, seed=7)
    write_file(tmp_path / "data.bin", content)
    store = lsio.open(tmp_path, engine=engine, workers=3, queue_depth=32, max_open_files=64)  # type: ignore[arg-type]
    options = {"engine": engine, "workers": 3, "queue_depth": 32, "max_open_files": 64}
    assert store.options == options
    copy = pickle.loads(pickle.dumps(store))
    assert copy is not store and isinstance(copy, lsio.Store)
    assert copy.url == store.url == str(tmp_path) and copy.options == options
    assert copy.engine.startswith(engine)
    starts, ends = [0, 1000, -50], [10, 200_000, None]
    assert [bytes(b) for b in copy.read_ranges("data.bin", starts, ends)] == \
        [bytes(b) for b in store.read_ranges("data.bin", starts, ends)] == [content[:10], content[1000:200_000],
                                                                           content[-50:]]
    default = pickle.loads(pickle.dumps(lsio.default_store()))
    assert default.url == "" and bytes(default.read_ranges(str(tmp_path / "data.bin"), [0], [5])[0]) == content[:5]

    with pytest.raises(TypeError, match="memory://"):
        pickle.dumps(lsio.open("memory://"))

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        futures = [pool.submit(read_in_child, store, "data.bin", [i * 1000, -10], [i * 1000 + 5000, None])
                   for i in range(6)]
        results = [f.result(timeout=120) for f in futures]
    for i, (pid, eng, got) in enumerate(results):
        assert pid != os.getpid() and eng.startswith(engine)
        assert got == [content[i * 1000 : i * 1000 + 5000], content[-10:]]


# ---- (g) re-entry ----------------------------------------------------------------------------------------------------

REENTRY_CHILD = r"""
import json, sys
import numpy as np
import lsio, lsio.zarr

cfg = json.loads(sys.argv[1])
path, zpath = cfg["path"], cfg["zarr"]
data = open(path, "rb").read()
# 2 workers: a call that is not refused can then complete on the other worker instead of deadlocking this one
store = lsio.open("", engine=cfg["engine"], workers=2)
other = lsio.open("", engine=cfg["engine"])
array = lsio.zarr.open_array(store, zpath, mode="r")
writable = lsio.zarr.open_array(store, zpath, mode="r+")
values = np.arange(40, dtype=np.int32).reshape(4, 10)
outcomes = {}
from_other = []


def calls(s):
    return {
        "read_ranges": lambda: s.read_ranges(path, [0], [1]),
        "read_into": lambda: s.read_into(path, [0], [bytearray(1)]),
        "for_each": lambda: s.for_each(path, [0], [1], lambda i, b: None),
        "submit_read": lambda: s.submit_read(path, [0], [1]),
        "sizes": lambda: s.sizes([path]),
        "write": lambda: s.write([path + ".new"], [0], [b"x"]),
        "put": lambda: s.put(path + ".new", b"x"),
        "zarr_open": lambda: lsio.zarr.open_array(s, zpath, mode="r"),
        "zarr_read": lambda: array[0:2],
        "zarr_crops": lambda: array.read_crops([[0, 0]], (2, 2)),
        "zarr_write": lambda: writable.__setitem__((slice(0, 2),), values[0:2]),
    }


def callback(index, chunk):
    for name, call in calls(store).items():
        try:
            call()
            outcomes[name] = "allowed"
        except RuntimeError as e:
            outcomes[name] = str(e)
    from_other.append(bytes(other.read_ranges(path, [index], [index + 10])[0]))  # another store: fine


store.for_each(path, [0, 1], [5, 6], callback)
refusal = "cannot be called from inside one of its own callbacks"
not_refused = {name: o for name, o in outcomes.items() if refusal not in o}
assert not_refused == {}, f"not refused from a for_each callback: {not_refused}"
assert from_other == [data[0:10], data[1:11]] or from_other == [data[1:11], data[0:10]]

# the module-level functions, from a callback of the default store
refused = []


def default_callback(index, chunk):
    try:
        lsio.read_ranges(path, [0], [1])
    except RuntimeError as e:
        refused.append(str(e))


lsio.default_store().for_each(path, [0], [5], default_callback)
assert len(refused) == 1 and "own callbacks" in refused[0], refused

# a RuntimeError the callback lets escape cancels the batch and comes out of for_each
try:
    starts = list(range(0, 5000, 7))
    store.for_each(path, starts, [s + 1 for s in starts], lambda i, b: store.read_ranges(path, [0], [1]))
    raise AssertionError("for_each returned")
except RuntimeError as e:
    assert "own callbacks" in str(e)

# the store works afterwards, every API
assert bytes(store.read_ranges(path, [10], [2000])[0]) == data[10:2000]
out = bytearray(100)
store.read_into(path, [7], [out])
assert bytes(out) == data[7:107]
seen = {}
store.for_each(path, [0, 3], [2, 9], seen.__setitem__)
assert {i: bytes(b) for i, b in seen.items()} == {0: data[0:2], 1: data[3:9]}
np.testing.assert_array_equal(array[0:2], np.arange(20, dtype=np.int32).reshape(2, 10))
emit(checked=sorted(outcomes))
"""


def test_reentry_from_for_each_callback(tmp_path: Path, engine: str) -> None:
    """Every entry point of a store, the Zarr ones included, refuses a call from inside one of the store's own
    for_each callbacks with RuntimeError (with one worker, a call that is not refused deadlocks: the callback holds
    the only worker); another store may be called; an escaping RuntimeError cancels the batch and comes out of
    for_each; the store works afterwards."""
    require_engine(engine)
    path = write_file(tmp_path / "data.bin", pattern(10_000, seed=8))
    zpath = str(tmp_path / "a.zarr")
    a = lsio.zarr.create(zpath, shape=(4, 10), dtype="int32", chunks=(2, 5))
    a[...] = np.arange(40, dtype=np.int32).reshape(4, 10)
    cfg = json.dumps({"engine": engine, "path": path, "zarr": zpath})
    r = merged(run_python(REENTRY_CHILD, cfg, timeout=120))
    assert r["checked"] == sorted(["read_ranges", "read_into", "for_each", "submit_read", "sizes", "write", "put",
                                   "zarr_open", "zarr_read", "zarr_crops", "zarr_write"])
