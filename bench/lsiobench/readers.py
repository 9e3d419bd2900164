"""Python contestants, run as a child process: `python -m lsiobench.readers ...`.

Reads the ranges of a workload's ranges file (see workloads.py) with one of:

  pread    ThreadPoolExecutor(threads); each call's ranges are cut into one
           contiguous slice per thread; os.pread per range (O_DIRECT: os.preadv
           into an aligned per-thread buffer). Files are opened once up front,
           except whole-file reads (open, fstat, pread, close per file).
  obstore  obstore.store.LocalStore + obstore.get_ranges per file (coalesce=0),
           or obstore.get(...).bytes() for whole files, on a thread pool.
  lsio       lsio.open("").read_ranges(paths, starts, ends) per call (LSIO's
             Python API): one Buffer per range.
  lsio_into  lsio.open("").read_into(paths, starts, outs) per call, into
             slices of one numpy array reused by every call.

Prints one JSON object like lsio_bench's. Exit status 3 = not applicable here
(e.g. O_DIRECT with obstore), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

NOT_APPLICABLE = 3
Task = Callable[[], int]  # reads something, returns the number of bytes


class NotApplicable(Exception):
    pass


def load_ranges(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<i8").reshape(-1, 3)


def split_calls(ranges: np.ndarray, batch: int) -> list[np.ndarray]:
    batch = batch or len(ranges)
    return [ranges[i:i + batch] for i in range(0, len(ranges), batch)]


# ----------------------------------------------------------------- pread ---

def _pread_rows(fds: list[int], rows: list[list[int]]) -> int:
    pread = os.pread
    total = 0
    for f, start, end in rows:
        total += len(pread(fds[f], end - start, start))
    return total


def _pread_rows_direct(fds: list[int], rows: list[list[int]], buf: mmap.mmap) -> int:
    view = memoryview(buf)
    total = 0
    for f, start, end in rows:
        total += os.preadv(fds[f], [view[: end - start]], start)
    return total


def _read_whole_files(paths: list[str], rows: list[list[int]]) -> int:
    total = 0
    for f, _start, _end in rows:
        fd = os.open(paths[f], os.O_RDONLY)
        try:
            total += len(os.pread(fd, os.fstat(fd).st_size, 0))
        finally:
            os.close(fd)
    return total


def pread_calls(paths: list[str], calls: list[np.ndarray], threads: int, direct: bool) -> list[list[Task]]:
    whole = bool(len(calls) and calls[0][0, 2] < 0)
    if whole and direct:
        raise NotApplicable("whole-file O_DIRECT reads are not implemented for pread")
    flags = os.O_RDONLY | (os.O_DIRECT if direct else 0)
    fds = [] if whole else [os.open(p, flags) for p in paths]
    longest = max(int((c[:, 2] - c[:, 1]).max()) for c in calls) if calls and not whole else 0
    bufs = [mmap.mmap(-1, max(longest, mmap.PAGESIZE)) for _ in range(threads)] if direct else []

    def task(rows: list[list[int]], t: int) -> Task:
        if whole:
            return lambda: _read_whole_files(paths, rows)
        if direct:
            return lambda: _pread_rows_direct(fds, rows, bufs[t])
        return lambda: _pread_rows(fds, rows)

    return [[task(part.tolist(), t) for t, part in enumerate(np.array_split(c, threads))] for c in calls]


# --------------------------------------------------------------- obstore ---

def non_adjacent_groups(starts: list[int], ends: list[int]) -> list[tuple[list[int], list[int]]]:
    """Splits one file's ranges so no group has two touching or overlapping ranges.

    obstore.get_ranges merges touching ranges even with coalesce=0; split this
    way, it reads each range on its own, as fio and the other contestants do.
    """
    groups: list[tuple[list[int], list[int]]] = []
    for s, e in sorted(zip(starts, ends)):
        for gs, ge in groups:
            if s > ge[-1]:
                gs.append(s)
                ge.append(e)
                break
        else:
            groups.append(([s], [e]))
    return groups


def obstore_calls(paths: list[str], calls: list[np.ndarray], direct: bool) -> list[list[Task]]:
    if direct:
        raise NotApplicable("obstore has no O_DIRECT reads")
    import obstore
    from obstore.store import LocalStore

    root = os.path.commonpath([os.path.dirname(p) for p in paths])
    store = LocalStore(prefix=root)
    keys = [os.path.relpath(p, root) for p in paths]

    def get_whole(key: str) -> Task:
        return lambda: len(obstore.get(store, key).bytes())

    def get_ranges(key: str, starts: list[int], ends: list[int]) -> Task:
        def run() -> int:
            return sum(len(b) for b in obstore.get_ranges(store, key, starts=starts, ends=ends, coalesce=0))
        return run

    out: list[list[Task]] = []
    for c in calls:
        if c[0, 2] < 0:
            out.append([get_whole(keys[f]) for f in c[:, 0].tolist()])
            continue
        tasks: list[Task] = []
        for f in np.unique(c[:, 0]).tolist():
            rows = c[c[:, 0] == f]
            for starts, ends in non_adjacent_groups(rows[:, 1].tolist(), rows[:, 2].tolist()):
                tasks.append(get_ranges(keys[f], starts, ends))
        out.append(tasks)
    return out


# ------------------------------------------------------------------ lsio ---

def _lsio_store(threads: int) -> Any:
    try:
        import lsio  # the package under test (python/lsio)
    except ImportError as e:
        raise NotApplicable(f"lsio Python package not importable ({e})") from e
    return lsio.open("", workers=threads)


def lsio_calls(paths: list[str], calls: list[np.ndarray], threads: int, direct: bool,
               options: dict[str, Any]) -> list[list[Task]]:
    """store.read_ranges(paths, starts, ends) per call; one Buffer per range."""
    store = _lsio_store(threads)

    def call(c: np.ndarray) -> Task:
        call_paths = [paths[f] for f in c[:, 0].tolist()]
        starts = np.ascontiguousarray(c[:, 1])
        ends = np.ascontiguousarray(c[:, 2])

        def run() -> int:
            bufs = store.read_ranges(call_paths, starts, ends, direct=direct, **options)
            return sum(memoryview(b).nbytes for b in bufs)
        return run

    return [[call(c)] for c in calls]


def lsio_into_calls(paths: list[str], calls: list[np.ndarray], threads: int, direct: bool,
                    block: int) -> list[list[Task]]:
    """store.read_into(paths, starts, outs) per call, into slices of one reused numpy array."""
    store = _lsio_store(threads)
    arena = np.zeros(max(len(c) for c in calls) * block + 4096, dtype=np.uint8)
    base = (-arena.ctypes.data) % 4096  # page-aligned slices (O_DIRECT needs aligned memory)
    outs = [arena[base + i * block: base + (i + 1) * block] for i in range(max(len(c) for c in calls))]

    def call(c: np.ndarray) -> Task:
        call_paths = [paths[f] for f in c[:, 0].tolist()]
        starts = np.ascontiguousarray(c[:, 1])
        call_outs = outs[: len(c)]

        def run() -> int:
            store.read_into(call_paths, starts, call_outs, direct=direct)
            return len(c) * block
        return run

    return [[call(c)] for c in calls]


# ---------------------------------------------------------------- driver ---

def peak_rss_kib() -> int:
    """VmHWM: the peak RSS of this program image (ru_maxrss would include the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed_run(calls: list[list[Task]], pool: ThreadPoolExecutor) -> dict[str, float]:
    """Runs every call's tasks on the pool, one call after another."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    nbytes = 0
    for tasks in calls:
        if len(tasks) == 1:
            nbytes += tasks[0]()
        else:
            nbytes += sum(pool.map(lambda t: t(), tasks))
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": seconds, "bytes": nbytes,
            "cpu_user": r1.ru_utime - r0.ru_utime, "cpu_sys": r1.ru_stime - r0.ru_stime}


def build_calls(args: argparse.Namespace, paths: list[str], calls: list[np.ndarray]) -> list[list[Task]]:
    if args.impl == "pread":
        return pread_calls(paths, calls, args.threads, args.direct)
    if args.impl == "obstore":
        return obstore_calls(paths, calls, args.direct)
    if args.impl == "lsio_into":
        if not args.block:
            raise NotApplicable("lsio_into needs --block (the size of every range)")
        return lsio_into_calls(paths, calls, args.threads, args.direct, args.block)
    return lsio_calls(paths, calls, args.threads, args.direct, json.loads(args.lsio_options))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", choices=("pread", "obstore", "lsio", "lsio_into"), required=True)
    p.add_argument("--paths-file", type=Path, required=True)
    p.add_argument("--ranges-file", type=Path, required=True)
    p.add_argument("--batch", type=int, default=0, help="ranges per call (0: all)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--direct", action="store_true")
    p.add_argument("--limit", type=int, default=0, help="read only the first N ranges, in whole calls")
    p.add_argument("--block", type=int, default=0, help="bytes per range (lsio_into: whole files too)")
    p.add_argument("--lsio-options", default="{}", help="JSON keyword arguments for lsio.read_ranges")
    args = p.parse_args(argv)

    paths = args.paths_file.read_text().split()
    ranges = load_ranges(args.ranges_file)
    calls_ranges = split_calls(ranges, args.batch)
    if args.limit:
        whole_calls = max(1, args.limit // (args.batch or len(ranges)))
        calls_ranges = calls_ranges[:whole_calls]
    try:
        calls = build_calls(args, paths, calls_ranges)
    except NotApplicable as e:
        print(str(e), file=sys.stderr)
        return NOT_APPLICABLE
    with ThreadPoolExecutor(args.threads) as pool:
        runs = [timed_run(calls, pool) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    out = {"engine": args.impl, "mode": "python", "chunks": sum(len(c) for c in calls_ranges), "errors": 0,
           "peak_rss_kib": peak_rss_kib(),
           "runs": runs, **best}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
