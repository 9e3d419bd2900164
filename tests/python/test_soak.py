"""Soak: for LSIO_SOAK_SECONDS (default 45; `make soak` runs 600) 6 threads issue random batches against one store
over 50 files of random sizes: read_ranges, read_into, for_each, submit_read cancelled at random moments, and
calls with short timeouts. Every byte of every delivered request is checked; a cancelled or timed-out request
must be exact if delivered, and a caller buffer must not change after read_into returned. Halfway, the main thread
forks a child that reads with the same store and the default store and leaves with os._exit.

The first quarter of the time (at most 30 s) is a warm-up. At the end: every thread finished (none hung), the open
descriptors are back to the baseline (+2), RSS grew by at most 128 MiB since the end of the warm-up (a leak of a
few bytes per request shows over a long run), and by at most 384 MiB in all: the engine keeps up to 256 MiB of
idle read buffers >= 64 KiB for reuse (BufferPool, by design), plus 128 MiB for the workers' slabs, the
allocator's per-thread arenas and the interpreter. (Measured: 6 threads of random read_ranges level off at about
+170 MiB after a minute and stay there.) RSS is measured after gc.collect() and malloc_trim(0) (glibc keeps freed
heap memory otherwise, which is not a leak), and given up to 2 s, since a cancelled batch is freed by the worker
that finishes it, possibly just after the call returned. The figures are printed (run with -s) so that they can
be quoted.

The run happens in a child process under a hard timeout (seconds + 5 minutes), so a hang fails the test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from subproc import merged, require_engine, run_python

SECONDS = float(os.environ.get("LSIO_SOAK_SECONDS", "45"))
THREADS = 6
RSS_GROWTH = 384 << 20
LEAK_TOLERANCE = 128 << 20
FD_TOLERANCE = 2

CHILD = r"""
import ctypes, gc, json, os, random, signal, sys, threading, time, traceback
import lsio

cfg = json.loads(sys.argv[1])
seconds, d, nthreads = cfg["seconds"], cfg["dir"], cfg["threads"]
from util import malloc_trim as trim, open_fds as fds, process_rss as rss


rng = random.Random(cfg["seed"])
contents = {}
for i in range(50):
    size = rng.choice([0, 1, 511, 4096, 4097, 65536, 100_000, 1_000_000, 3_000_000, rng.randint(0, 2_000_000)])
    path = f"{d}/f{i:02d}.bin"
    data = rng.randbytes(size)
    with open(path, "wb") as f:
        f.write(data)
    contents[path] = data
contents[f"{d}/missing.bin"] = None
paths = list(contents)
store = lsio.open("", engine=cfg["engine"])


def requests(r, n, small):
    # small: every request at most 4 KiB (for big batches: read_into allocates every request's buffer)
    out = []
    for _ in range(n):
        path = r.choice(paths) if r.random() < 0.98 else paths[-1]
        data = contents[path]
        size = len(data) if data is not None else 100
        k = r.random()
        if k < 0.55 or (small and k < 0.7):
            a = r.randint(0, size)
            lengths = [0, 1, 100, 4096] if small else [0, 1, 100, 4096, 65536, 300_000]
            out.append((path, a, min(size, a + r.choice(lengths))))
        elif k < 0.7:
            out.append((path, r.randint(0, size), None))
        elif k < 0.85:
            out.append((path, -r.randint(1, 4096 if small else size + 100), None))
        else:  # past EOF
            a = r.randint(max(0, size - 4096) if small else 0, size + 50)
            out.append((path, a, max(a, size) + r.randint(1, 5000)))
    return out


def expected(path, start, end):
    # bytes, or an exception type
    data = contents[path]
    if data is None:
        return FileNotFoundError
    size = len(data)
    if start < 0:
        return data[max(0, size + start) :]
    stop = size if end is None else end
    if stop > size or start > size:
        return lsio.OutOfRangeError
    return data[start:stop]


def into_length(path, start, end):
    data = contents[path]
    size = len(data) if data is not None else 0
    if start < 0:
        return -start
    return max(0, (end if end is not None else size) - start)


def expected_into(path, start, n):
    data = contents[path]
    if data is None:
        return FileNotFoundError
    if (start >= 0 and start + n > len(data)) or (start < 0 and -start > len(data)):
        return lsio.OutOfRangeError
    return data[start : start + n] if start >= 0 else data[len(data) + start :]


class Failed(Exception):
    pass


def check(req, got, cancelled=False):
    # A delivered request is exact; an undelivered one (cancelled=True allows it) carries the cancellation.
    want = expected(*req)
    if isinstance(got, Exception):
        if isinstance(want, type) and isinstance(got, want):
            return 0
        if cancelled and isinstance(got, lsio.CancelledError):
            return -1
        raise Failed(f"{req}: expected {want if isinstance(want, type) else len(want)}, got {got!r}")
    if isinstance(want, type):
        raise Failed(f"{req}: expected {want.__name__}, got {len(got)} bytes")
    if bytes(got) != want:
        raise Failed(f"{req}: wrong bytes ({len(got)} vs {len(want)})")
    return len(want)


class Stats:
    def __init__(self):
        self.batches = self.requests = self.bytes = self.cancels = self.cancelled_requests = 0
        self.timeouts = self.timeouts_completed = 0
        self.ops = {}

    def add(self, op, n):
        self.batches += 1
        self.requests += n
        self.ops[op] = self.ops.get(op, 0) + 1


stats = [Stats() for _ in range(nthreads)]
failures = []


def worker(t, phase, deadline):
    r = random.Random(cfg["seed"] * 1000 + 10 * t + phase)
    s = stats[t]
    while time.monotonic() < deadline and len(failures) < 20:
        big = r.random() < 0.1
        reqs = requests(r, r.randint(2_000, 60_000), small=True) if big else requests(r, r.randint(1, 200), False)
        ps, ss, es = [q[0] for q in reqs], [q[1] for q in reqs], [q[2] for q in reqs]
        op = r.choice(["read_ranges", "read_into", "for_each", "cancel", "timeout_ranges", "timeout_into",
                       "timeout_for_each"])
        try:
            if op == "read_ranges":
                got = store.read_ranges(ps, ss, es, on_error="return", coalesce_gap=r.choice([0, 0, 64, 1 << 16]))
                s.bytes += sum(check(q, g) for q, g in zip(reqs, got))
            elif op == "for_each":
                seen = {}

                def fn(i, b):
                    if i in seen:
                        raise Failed(f"request {i} delivered twice")
                    seen[i] = b

                store.for_each(ps, ss, es, fn)
                if len(seen) != len(reqs):
                    raise Failed(f"for_each delivered {len(seen)} of {len(reqs)}")
                s.bytes += sum(check(reqs[i], g) for i, g in seen.items())
            elif op in ("read_into", "timeout_into"):
                lengths = [into_length(*q) for q in reqs]
                outs = [bytearray(b"\xa5" * n) for n in lengths]
                try:
                    errors = store.read_into(ps, ss, outs, on_error="return",
                                             timeout=r.uniform(0.001, 0.03) if op == "timeout_into" else None)
                except TimeoutError as e:
                    if "not delivered" not in str(e):
                        raise Failed(f"timeout message: {e}")
                    s.timeouts += 1
                    # no read is left in the kernel: the buffers do not change any more; each one of a valid
                    # request holds its bytes or is untouched
                    snapshot = [bytes(o) for o in outs]
                    time.sleep(0.005)
                    for q, n, o, before in zip(reqs, lengths, outs, snapshot):
                        if bytes(o) != before:
                            raise Failed(f"{q}: buffer written after read_into returned")
                        want = expected_into(q[0], q[1], n)
                        if not isinstance(want, type) and before != b"\xa5" * n and before != want:
                            raise Failed(f"{q}: buffer holds neither its bytes nor the initial ones")
                    s.add(op, len(reqs))
                    continue
                if op == "timeout_into":
                    s.timeouts_completed += 1
                for q, n, o, err in zip(reqs, lengths, outs, errors):
                    want = expected_into(q[0], q[1], n)
                    if isinstance(want, type):
                        if not isinstance(err, want):
                            raise Failed(f"read_into {q}: expected {want.__name__}, got {err!r}")
                    elif err is not None or bytes(o) != want:
                        raise Failed(f"read_into {q}: {err!r}")
                    else:
                        s.bytes += n
            elif op == "cancel":
                pending = store.submit_read(ps, ss, es, coalesce_gap=r.choice([0, 4096]))
                time.sleep(r.choice([0, 0.0005, 0.002, 0.01, 0.05]))
                pending.cancel()
                pending.wait(60)
                if pending.requests_done > pending.requests_total:
                    raise Failed("progress past the total")
                got = pending.result(on_error="return")
                s.cancels += 1
                for q, g in zip(reqs, got):
                    n = check(q, g, cancelled=True)
                    if n < 0:
                        s.cancelled_requests += 1
                    else:
                        s.bytes += n
            elif op == "timeout_ranges":
                try:
                    got = store.read_ranges(ps, ss, es, on_error="return", timeout=r.uniform(0.001, 0.03))
                except TimeoutError as e:
                    if "not delivered" not in str(e):
                        raise Failed(f"timeout message: {e}")
                    s.timeouts += 1
                else:
                    s.timeouts_completed += 1
                    s.bytes += sum(check(q, g) for q, g in zip(reqs, got))
            elif op == "timeout_for_each":
                seen = {}
                try:
                    store.for_each(ps, ss, es, seen.__setitem__, timeout=r.uniform(0.001, 0.03))
                except TimeoutError:
                    s.timeouts += 1
                else:
                    s.timeouts_completed += 1
                    if len(seen) != len(reqs):
                        raise Failed(f"for_each delivered {len(seen)} of {len(reqs)}")
                s.bytes += sum(check(reqs[i], g) for i, g in list(seen.items()))  # what was delivered is exact
            s.add(op, len(reqs))
        except BaseException:
            failures.append(f"thread {t}, {op} of {len(reqs)} requests: {traceback.format_exc()}")


def fork_child():
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            some = [p for p in paths if contents[p]][:10]
            got = store.read_ranges(some, [0] * len(some), [None] * len(some))
            ok = [bytes(g) for g in got] == [contents[p] for p in some]
            got = lsio.read_ranges(some, [-10] * len(some), [None] * len(some))
            ok = ok and [bytes(g) for g in got] == [contents[p][-10:] for p in some]
            out = bytearray(len(contents[some[0]]))
            store.read_into(some[0], [0], [out])
            code = 0 if ok and bytes(out) == contents[some[0]] else 1
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    limit = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > limit:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.01)


def settle():
    gc.collect()
    trim()


def run_threads(phase, seconds, fork_at=None):
    # nthreads workers until the deadline; the main thread samples RSS and forks a child at fork_at
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=worker, args=(t, phase, deadline), daemon=True) for t in range(nthreads)]
    for th in threads:
        th.start()
    rss_max, forked, started = rss(), None, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        rss_max = max(rss_max, rss())
        if fork_at is not None and forked is None and time.monotonic() > started + fork_at:
            forked = fork_child()
            emit(fork=forked, fork_at=time.monotonic() - started)
    for th in threads:
        th.join(max(5.0, deadline + 120 - time.monotonic()))
    hung = [i for i, th in enumerate(threads) if th.is_alive()]
    if hung:
        emit(hung=hung, failures=failures[:5], failure_count=len(failures))
        sys.stdout.flush()
        os._exit(1)
    return rss_max


def quiesce(base_fds, base_rss):
    # A cancelled batch is freed and its files closed by the worker that finishes it, possibly just after the call
    # returned: give them up to 2 s.
    settle()
    limit = time.monotonic() + 2
    while rss() > base_rss and time.monotonic() < limit:
        time.sleep(0.05)
        settle()
    return rss(), fds()


started = time.monotonic()
warm = requests(random.Random(0), 20_000, small=True)
store.read_ranges([q[0] for q in warm], [q[1] for q in warm], [q[2] for q in warm], on_error="return")
lsio.read_ranges(paths[0], [0], [None])
settle()
rss_before, fds_before = rss(), fds()
# Phase 1 (warm-up, a quarter of the time, at most 30 s): the engine's pools, slabs and the allocator's arenas fill.
warmup = min(30.0, seconds / 4)
max1 = run_threads(1, warmup)
rss_warm, fds_warm = quiesce(fds_before, rss_before)
emit(rss_before=rss_before, fds_before=fds_before, rss_warm=rss_warm, fds_warm=fds_warm,
     cached_fds=len(paths) * (os.cpu_count() or 1), files=sum(len(c or b"") for c in contents.values()))
# Phase 2: the rest, with a fork halfway.
max2 = run_threads(2, seconds - warmup, fork_at=(seconds - warmup) / 2)
rss_after, fds_after = quiesce(fds_before, rss_warm)
total = {k: sum(getattr(s, k) for s in stats)
         for k in ("batches", "requests", "bytes", "cancels", "cancelled_requests", "timeouts", "timeouts_completed")}
ops = {}
for s in stats:
    for k, v in s.ops.items():
        ops[k] = ops.get(k, 0) + v
emit(**total, ops=ops, rss_after=rss_after, rss_max=max(max1, max2), fds_after=fds_after, failures=failures[:5],
     failure_count=len(failures), elapsed=time.monotonic() - started, engine=store.engine)
"""

def test_soak(tmp_path: Path, engine: str) -> None:
    require_engine(engine)
    cfg = json.dumps({"engine": engine, "dir": str(tmp_path), "seconds": SECONDS, "threads": THREADS, "seed": 5})
    r = merged(run_python(CHILD, cfg, timeout=SECONDS + 300))
    mib = 1 << 20
    print(f"\nsoak {engine} ({r['engine']}), {r['elapsed']:.0f} s, {THREADS} threads, 50 files "
          f"({r['files'] / mib:.0f} MiB): {r['batches']} batches, {r['requests']} requests, "
          f"{r['bytes'] / mib:.0f} MiB checked; {r['cancels']} cancels ({r['cancelled_requests']} requests "
          f"cancelled), {r['timeouts']} timeouts ({r['timeouts_completed']} calls with a timeout completed); "
          f"ops {r['ops']}; fork child: exit {r['fork']}; RSS {r['rss_before'] / mib:.0f} MiB before, "
          f"{r['rss_warm'] / mib:.0f} after the warm-up, {r['rss_max'] / mib:.0f} max, {r['rss_after'] / mib:.0f} "
          f"after; fds {r['fds_before']} before, {r['fds_warm']} after the warm-up, {r['fds_after']} after")
    assert r["failure_count"] == 0, "\n".join(r["failures"])
    assert r["fork"] == 0
    # Each worker keeps the files it read open for later batches (a bounded cache closed with the store): at most
    # every file once per worker, more is a leak.
    assert r["fds_after"] <= r["fds_before"] + r["cached_fds"] + FD_TOLERANCE
    assert r["rss_after"] <= r["rss_before"] + RSS_GROWTH
    assert r["rss_after"] <= r["rss_warm"] + LEAK_TOLERANCE, "RSS kept growing after the warm-up"
    assert r["cancels"] > 0 and r["timeouts"] > 0 and r["batches"] > 100
