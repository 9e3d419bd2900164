"""Python contestants, run as a child process: `python -m lsiobench.readers ...`.

Reads the ranges of a workload's ranges file (see workloads.py) with one of:

  pread    ThreadPoolExecutor(threads); each call's ranges are cut into one
           contiguous slice per thread; os.pread per range (O_DIRECT: os.preadv
           into an aligned per-thread buffer). Files are opened once up front,
           except whole-file reads (open, fstat, pread, close per file).
  obstore  obstore.store.LocalStore + obstore.get_ranges per file (coalesce=0),
           or obstore.get(...).bytes() for whole files, on a thread pool.
  lsio     lsio.read_ranges(paths, starts, ends) per call (LSIO's Python API).

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

def lsio_calls(paths: list[str], calls: list[np.ndarray], direct: bool, options: dict[str, Any]) -> list[list[Task]]:
    try:
        import lsio  # the package under test (python/lsio)
    except ImportError as e:
        raise NotApplicable(f"lsio Python package not importable ({e})") from e

    if not hasattr(lsio, "read_ranges"):
        raise RuntimeError(f"lsio {getattr(lsio, '__file__', '?')} has no read_ranges")
    kwargs = dict(options)
    if direct:
        kwargs["direct"] = True

    def call(c: np.ndarray) -> Task:
        call_paths = [paths[f] for f in c[:, 0].tolist()]
        starts = np.ascontiguousarray(c[:, 1])
        ends = np.ascontiguousarray(c[:, 2])

        def run() -> int:
            return sum(len(memoryview(b)) for b in lsio.read_ranges(call_paths, starts, ends, **kwargs))
        return run

    return [[call(c)] for c in calls]


# ---------------------------------------------------------------- driver ---

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
    return lsio_calls(paths, calls, args.direct, json.loads(args.lsio_options))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", choices=("pread", "obstore", "lsio"), required=True)
    p.add_argument("--paths-file", type=Path, required=True)
    p.add_argument("--ranges-file", type=Path, required=True)
    p.add_argument("--batch", type=int, default=0, help="ranges per call (0: all)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--direct", action="store_true")
    p.add_argument("--lsio-options", default="{}", help="JSON keyword arguments for lsio.read_ranges")
    args = p.parse_args(argv)

    paths = args.paths_file.read_text().split()
    ranges = load_ranges(args.ranges_file)
    try:
        calls = build_calls(args, paths, split_calls(ranges, args.batch))
    except NotApplicable as e:
        print(str(e), file=sys.stderr)
        return NOT_APPLICABLE
    with ThreadPoolExecutor(args.threads) as pool:
        runs = [timed_run(calls, pool) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    out = {"engine": args.impl, "mode": "python", "chunks": len(ranges), "errors": 0,
           "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           "runs": runs, **best}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
