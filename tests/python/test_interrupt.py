"""Ctrl-C and timeout= on blocking Store calls: the batch is cancelled and drained, the call raises
KeyboardInterrupt (or TimeoutError naming what was pending) at once, nothing is left behind (file descriptors,
memory), and the store keeps working.

A child process runs a multi-second batch on a store with 2 workers (so its length does not depend on the core
count) and reports, on CLOCK_MONOTONIC (system-wide), when the batch started; the test sends SIGINT 0.3 s later
and compares the child's catch time with its own kill time. "Started" is detected without touching the call: a
helper thread of the child waits for the GIL, which the calling thread holds while it converts the arguments and
first releases when it hands the batch to the engine, so argument conversion (about 0.02 s per million requests)
is not counted in the latency, but the engine's preparation of the batch (Store::submit: grouping and ordering the
requests, about 0.07 s per million) is: Ctrl-C must work then too. read_ranges is also interrupted halfway through
its reads: the child first times the same batch without making its results Python objects (read_batch), and the
SIGINT comes after half that time. (A fixed 1.5 s fell after the reads on a faster machine, while the 6 million
results became a list with the GIL held; that loop now answers Ctrl-C too, but the list it built is freed before the
KeyboardInterrupt is caught, about 0.1 s.)

The batches (chosen to be long on page-cached data with bounded memory):
  - read_ranges: 6 million 1-byte ranges 1 byte apart in a 12 MiB file: no two merge, each is its own read
    (about 3.5 s with 2 workers here; the engine holds about 120 bytes per request, ~700 MiB);
  - read_into: 1 million 64 KiB reads of a 64 MiB file into 16 reused views of a 1 MiB buffer (about 4.5 s);
  - for_each: 10000 4 KiB ranges whose callback sleeps 1 ms (about 5 s);
  - Zarr: a 1.5 GiB uint8 array of 384 gzip chunks of 4 MiB (hard links of one chunk file), read whole
    (Array.__getitem__) or as 384 crops of one chunk each (Array.read_crops), about 2-3 s.
A watchdog in the child ends it if its RSS grows by 3 GiB (a batch that is not stopped).

RSS after the interrupt is compared after gc.collect() and malloc_trim(0) (glibc keeps freed heap memory
otherwise, which is not a leak) with a tolerance of 64 MiB: the engine may keep per-worker slabs and pooled read
buffers (idle buffers >= 64 KiB, capped at 256 MiB, which these small reads do not use), and the interpreter's
and the allocator's own bookkeeping moves by a few MiB; a batch's requests alone (~120 bytes each, 700 MiB for
6 million) or its buffers would exceed it by far.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from typing import Any

import pytest

import lsio
import lsio.zarr
from subproc import Child, merged, require_engine, run_python
from util import pattern, write_file

LATENCY = 0.1  # seconds from SIGINT to KeyboardInterrupt caught, as the issue demands
RSS_TOLERANCE = 64 << 20
ZARR_SLICES = 384  # of 2048 x 2048 uint8: 1.5 GiB decoded

CHILD = r"""
import ctypes, gc, json, os, signal, sys, threading, time
import numpy as np
import lsio.zarr

signal.signal(signal.SIGINT, signal.default_int_handler)
cfg = json.loads(sys.argv[1])
api, engine, d = cfg["api"], cfg["engine"], cfg["dir"]
from util import malloc_trim as trim, open_fds as fds, process_rss as rss


store = lsio.open("", engine=engine, workers=2)
small = os.path.join(d, "small.bin")
content = open(small, "rb").read()

if api == "read_ranges":
    path = os.path.join(d, "tiny.bin")
    starts = np.arange(6_000_000, dtype=np.int64) * 2
    ends = starts + 1
    run = lambda timeout=None: store.read_ranges(path, starts, ends, timeout=timeout)
    warm = lambda: store.read_ranges(path, starts[:1000], ends[:1000])
    measure = lambda: store.read_batch(path, starts, ends)
elif api == "read_batch":
    path = os.path.join(d, "tiny.bin")
    starts = np.arange(6_000_000, dtype=np.int64) * 2
    ends = starts + 1
    run = lambda timeout=None: store.read_batch(([path], np.zeros(len(starts), np.int64)), starts, ends, timeout=timeout)
    warm = lambda: store.read_batch(path, starts[:1000], ends[:1000])
elif api == "read_into":
    path = os.path.join(d, "data.bin")
    starts = (np.arange(1_000_000, dtype=np.int64) % 1024) * 65536
    view = memoryview(np.zeros(16 * 65536, np.uint8))
    outs = [view[k * 65536 : (k + 1) * 65536] for k in range(16)] * (len(starts) // 16)
    ends = starts + 65536
    run = lambda timeout=None: store.read_into(path, starts, outs, timeout=timeout)
    warm = lambda: store.read_into(path, starts[:100], outs[:100])
elif api == "for_each":
    path = os.path.join(d, "data.bin")
    starts = (np.arange(10_000, dtype=np.int64) % 16384) * 4096
    ends = starts + 4096
    run = lambda timeout=None: store.for_each(path, starts, ends, lambda i, b: time.sleep(0.001), timeout=timeout)
    warm = lambda: store.for_each(path, starts[:10], ends[:10], lambda i, b: None)
elif api == "zarr":
    array = lsio.zarr.open_array(store, os.path.join(d, "big.zarr"), mode="r")
    run = lambda timeout=None: array[...]
    warm = lambda: array[0:2, 0:10]
elif api == "zarr_crops":
    array = lsio.zarr.open_array(store, os.path.join(d, "big.zarr"), mode="r")
    crops = np.zeros((array.shape[0], 3), np.int64)
    crops[:, 0] = np.arange(array.shape[0])[::-1]
    run = lambda timeout=None: array.read_crops(crops, (1, 2048, 2048))
    warm = lambda: array.read_crops(crops[:2], (1, 10, 10))
else:
    raise SystemExit(f"unknown api {api}")


def check_usable():
    # a fresh read of every kind is exact
    got = store.read_ranges(small, [0, 1000, -10], [100, 70000, None])
    assert [bytes(b) for b in got] == [content[:100], content[1000:70000], content[-10:]]
    out = bytearray(5000)
    store.read_into(small, [123], [out])
    assert bytes(out) == content[123:5123]
    seen = {}
    store.for_each(small, [0, 7], [10, 20], lambda i, b: seen.__setitem__(i, bytes(b)))
    assert seen == {0: content[:10], 1: content[7:20]}
    assert bytes(lsio.read_ranges(small, [0], [None])[0]) == content


if cfg["mode"] == "timeout":
    warm()
    for timeout in (0.05, 0.0):
        t0 = time.monotonic()
        try:
            run(timeout=timeout)
            emit(outcome="completed")
            raise SystemExit(1)
        except TimeoutError as e:
            elapsed = time.monotonic() - t0
            message = str(e)
        check_usable()
        emit(**{f"elapsed{timeout}": elapsed, f"message{timeout}": message})
    emit(path=path)
    raise SystemExit(0)

engine_seconds = None
if cfg.get("measure"):
    t0 = time.monotonic()
    measure()
    engine_seconds = time.monotonic() - t0
    time.sleep(1.5)  # the engine frees its idle buffers after resting 1 s: the baseline is then comparable
warm()  # workers, rings and their descriptors exist before the baseline
gc.collect()
trim()
base_rss, base_fds = rss(), fds()
finished = threading.Event()


def watchdog():
    while not finished.wait(0.05):
        if rss() > base_rss + (3 << 30):
            emit(runaway=rss() - base_rss)
            os._exit(3)


armed = threading.Event()


def probe():
    armed.wait()
    # Getting here needs the GIL: the calling thread holds it from the call until the batch is submitted.
    emit(running=time.monotonic())


threading.Thread(target=watchdog, daemon=True).start()
threading.Thread(target=probe, daemon=True).start()
emit(base_rss=base_rss, base_fds=base_fds, cached_fds=cfg["cached_fds"], engine_seconds=engine_seconds)
called = time.monotonic()
armed.set()
caught = None
try:
    run()
    outcome = "completed"
except KeyboardInterrupt:
    caught = time.monotonic()
    outcome = "interrupted"
if outcome == "completed":
    emit(outcome=outcome, duration=time.monotonic() - called)
    try:
        time.sleep(10)  # the SIGINT comes later: absorb it
    except KeyboardInterrupt:
        pass
    raise SystemExit(0)
finished.set()
emit(outcome=outcome, caught=caught, called=called)
gc.collect()
trim()
fds_now, rss_now = fds(), rss()
# The engine closes its files and frees a cancelled batch on its workers, which may finish just after the call
# returned: give them up to 2 s. Each worker keeps the files it read open for later batches (a bounded cache, closed
# with the store): up to cfg["cached_fds"] more descriptors than the baseline are those, not leaks.
deadline = time.monotonic() + 2
while (fds() > base_fds + cfg["cached_fds"] or rss() > base_rss + cfg["rss_tolerance"]) and time.monotonic() < deadline:
    time.sleep(0.05)
    gc.collect()
    trim()
emit(rss_at_catch=rss_now, rss_after=rss(), fds_at_catch=fds_now, fds_after=fds())
check_usable()
emit(usable=True)
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("interrupt")
    write_file(d / "small.bin", pattern(100_000, seed=1))
    write_file(d / "tiny.bin", pattern(12 << 20, seed=2))
    write_file(d / "data.bin", pattern(64 << 20, seed=3))
    # A Zarr array of ZARR_SLICES gzip chunks of 4 MiB, all the same file (hard links): 1.5 GiB to decode, 20 KB
    # on disk.
    store = lsio.open(str(d))
    a = lsio.zarr.create(store, shape=(ZARR_SLICES, 2048, 2048), dtype="uint8", chunks=(1, 2048, 2048),
                         path="big.zarr", codecs=[{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}])
    a[0:1] = 7
    first = d / "big.zarr" / "c" / "0" / "0" / "0"
    assert first.exists()
    for i in range(1, ZARR_SLICES):
        (d / "big.zarr" / "c" / str(i) / "0").mkdir(parents=True)
        os.link(first, d / "big.zarr" / "c" / str(i) / "0" / "0")
    return str(d)


def interrupt(files: str, engine: str, api: str, after: float | None = 0.3) -> dict[str, Any]:
    """SIGINT `after` seconds after the batch started (None: halfway through its reads, timed first)."""
    require_engine(engine)
    # Files the interrupted call may leave in its 2 workers' descriptor caches (one file, or every Zarr chunk file)
    cached = 2 * (ZARR_SLICES + 1 if api.startswith("zarr") else 1)
    cfg = dict(api=api, engine=engine, dir=files, mode="interrupt", rss_tolerance=RSS_TOLERANCE, cached_fds=cached,
               measure=after is None)
    child = Child(CHILD, json.dumps(cfg))
    if after is None:
        after = child.wait_for("base_rss", 120)["engine_seconds"] / 2
    else:
        child.wait_for("base_rss", 120)
    running = child.wait_for("running", 60)["running"]
    time.sleep(max(0.0, running + after - time.monotonic()))
    killed = time.monotonic()
    os.kill(child.proc.pid, signal.SIGINT)
    r = child.finish(120)
    assert r["outcome"] == "interrupted", f"the batch ended ({r.get('duration')} s) before the SIGINT: make it bigger"
    r["latency"] = r["caught"] - killed
    r["conversion"] = running - r["called"]
    print(f"\n{api}/{engine}: SIGINT -> KeyboardInterrupt {r['latency'] * 1000:.1f} ms "
          f"(SIGINT {killed - running:.3f} s after the batch started; arguments took {r['conversion']:.3f} s); "
          f"RSS {r['base_rss'] >> 20} -> {r['rss_at_catch'] >> 20} MiB at the catch, {r['rss_after'] >> 20} after; "
          f"fds {r['base_fds']} -> {r['fds_at_catch']} at the catch, {r['fds_after']} after")
    return r


@pytest.mark.parametrize(
    ("api", "after"),
    [
        # 0.3 s: as a user would; with 6 million requests this may still be the engine's preparation of the batch
        pytest.param("read_ranges", 0.3, id="read_ranges"),
        # halfway through the reads, however fast the machine is
        pytest.param("read_ranges", None, id="read_ranges-later"),
        pytest.param("read_batch", 0.3, id="read_batch"),
        pytest.param("read_into", 0.3, id="read_into"),
        pytest.param("for_each", 0.3, id="for_each"),
        pytest.param("zarr", 0.3, id="zarr"),
        pytest.param("zarr_crops", 0.3, id="zarr_crops"),
    ],
)
def test_ctrl_c_cancels_the_batch(files: str, engine: str, api: str, after: float | None) -> None:
    r = interrupt(files, engine, api, after)
    assert r["latency"] < LATENCY, f"KeyboardInterrupt {r['latency']:.3f} s after SIGINT"
    assert r["fds_after"] <= r["base_fds"] + r["cached_fds"], "file descriptors left open beyond the workers' caches"
    assert r["rss_after"] <= r["base_rss"] + RSS_TOLERANCE, (
        f"RSS {r['base_rss'] >> 20} MiB before, {r['rss_after'] >> 20} MiB after the interrupted call")
    assert r["usable"] is True


PENDING = re.compile(
    r"^(?P<what>\w+) timed out after (?P<timeout>[0-9.e-]+) s: (?P<pending>\d+) of (?P<total>\d+) requests not "
    r"delivered; first: request (?P<first>\d+) \((?P<path>.+) \[(?P<begin>\d+), (?P<end>\d+)\)\)$")


# request i of each batch in CHILD
RANGE = {
    "read_ranges": lambda i: (2 * i, 2 * i + 1),
    "read_batch": lambda i: (2 * i, 2 * i + 1),
    "read_into": lambda i: ((i % 1024) * 65536, (i % 1024) * 65536 + 65536),
    "for_each": lambda i: ((i % 16384) * 4096, (i % 16384) * 4096 + 4096),
}


@pytest.mark.parametrize("api", ["read_ranges", "read_batch", "read_into", "for_each"])
def test_timeout_names_what_was_pending(files: str, engine: str, api: str) -> None:
    """timeout=0.05 (and 0) on a multi-second batch raises TimeoutError at once, naming how many requests were not
    delivered and the first one; the store is fully usable afterwards (checked in the child)."""
    require_engine(engine)
    r = merged(run_python(CHILD, json.dumps(dict(api=api, engine=engine, dir=files, mode="timeout")), timeout=120))
    total = {"read_ranges": 6_000_000, "read_batch": 6_000_000, "read_into": 1_000_000, "for_each": 10_000}[api]
    for timeout in ("0.05", "0.0"):
        assert r[f"elapsed{timeout}"] < 2.0, f"timeout={timeout} raised after {r[f'elapsed{timeout}']:.2f} s"
        message = r[f"message{timeout}"]
        m = PENDING.match(message)
        assert m, message
        assert m["what"] == api and float(m["timeout"]) == float(timeout)
        assert int(m["total"]) == total and 0 < int(m["pending"]) <= total
        assert m["path"] == r["path"]
        assert (int(m["begin"]), int(m["end"])) == RANGE[api](int(m["first"]))  # the first one, its range
    print(f"\n{api}/{engine}: timeout=0.05 raised after {r['elapsed0.05']:.3f} s: {r['message0.05']}")


CONVERSION_CHILD = r"""
import json, signal, sys, time
import lsio

cfg = json.loads(sys.argv[1])


class Alarm(Exception):
    pass


def on_alarm(signum, frame):
    raise Alarm()


signal.signal(signal.SIGALRM, on_alarm)
store = lsio.open("", engine=cfg["engine"], workers=2)
n = 6_000_000
starts, ends = [0] * n, [1] * n  # Python lists: converted item by item with the GIL held (0.2-0.4 s here)
latencies = []
for _ in range(3):
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.02)
    try:
        store.read_ranges(cfg["path"], starts, ends, timeout=0)
        outcome = "returned"
    except Alarm:
        outcome = "alarm"
    except TimeoutError:
        outcome = "timeout"
    latencies.append(time.monotonic() - t0 - 0.02)
    signal.setitimer(signal.ITIMER_REAL, 0)
    emit(outcome=outcome)
    if outcome != "alarm":
        break
emit(latencies=latencies)
"""


def test_signals_are_answered_while_arguments_convert(files: str, engine: str) -> None:
    """A signal that comes while millions of Python ints become a batch (the GIL held, no I/O yet) runs its handler
    within a few milliseconds, not after the conversion: the loop polls Python's signal handlers (SIGALRM with a
    raising handler here, as Ctrl-C would be; timeout=0 would end the call right after the conversion)."""
    require_engine(engine)
    path = os.path.join(files, "tiny.bin")
    r = merged(run_python(CONVERSION_CHILD, json.dumps(dict(engine=engine, path=path)), timeout=120))
    assert r["outcome"] == "alarm", f"the conversion ended before the alarm: {r}"
    print(f"\n{engine}: handler raised {', '.join(f'{x * 1000:.1f}' for x in r['latencies'])} ms after SIGALRM")
    assert min(r["latencies"]) < LATENCY, r["latencies"]
