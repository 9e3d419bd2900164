"""What one contestant's process measures: throughput, data wait under a fixed step time, and LSIO's time split."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from .mlloaders import F32


def _children() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def cpu_seconds() -> float:
    """User + system seconds of this process (all threads) and its live children (DataLoader workers)."""
    total = 0.0
    for p in [psutil.Process(), *_children()]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _hwm_kib(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mib() -> tuple[float, int]:
    """Peak RSS (VmHWM) of this process plus its live children's, and how many processes that sums."""
    kids = _children()
    return (_hwm_kib("self") + sum(_hwm_kib(p.pid) for p in kids)) / 1024, 1 + len(kids)


@dataclass
class Throughput:
    windows: list[float] = field(default_factory=list)  # seconds of each window of `batches` batches
    cpu_seconds: float = 0.0  # over all windows
    peak_rss_mib: float = 0.0
    processes: int = 1
    checksum: float = 0.0  # sum of the first batch, to check that contestants read the same thing
    shape: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def throughput(it: Iterator[F32], warmup: int, batches: int, repeats: int) -> Throughput:
    """Skips `warmup` batches, then times `repeats` consecutive windows of `batches` batches."""
    r = Throughput()
    for i in range(warmup):
        b = next(it)
        if i == 0:
            r.checksum, r.shape = float(b.sum(dtype=np.float64)), list(b.shape)
    cpu0 = cpu_seconds()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        r.windows.append(time.perf_counter() - t0)
    r.cpu_seconds = cpu_seconds() - cpu0
    r.peak_rss_mib, r.processes = peak_rss_mib()
    return r


def data_wait(it: Iterator[F32], warmup: int, batches: int, step: float) -> dict[str, float]:
    """A consumer that trains for `step` seconds (a sleep) per batch: the fraction of its time spent in next().

    The warm-up batches are consumed the same way (sleep included) and not counted: the start-up transient (an
    empty prefetch queue, which fills at the 25% surplus of a loader running at 1/0.8 of the consumer's pace) is
    left out, and the steady state is measured."""
    for _ in range(warmup):
        next(it)
        time.sleep(step)
    waited = 0.0
    start = time.perf_counter()
    for _ in range(batches):
        t0 = time.perf_counter()
        next(it)
        waited += time.perf_counter() - t0
        time.sleep(step)
    total = time.perf_counter() - start
    return {"wait_fraction": waited / total, "step": step, "total": total}


# ---- what limits LSIO ---------------------------------------------------------------------------------------------


def _thread_cpu() -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


def _main_thread_id() -> int:
    return threading.get_native_id() if threading.current_thread() is threading.main_thread() else -1


@dataclass
class Split:
    batches: int
    wall: float  # seconds for the batches
    wall_in_call: float  # of which inside the timed call (read_crops / next())
    cpu_main: float  # CPU seconds of the Python (main) thread
    cpu_other: float  # CPU seconds of every other thread (engine workers, prefetch threads)
    other_threads: int
    per_thread: list[float]  # CPU seconds of each other thread that ran, largest first


def split(it: Iterator[F32], warmup: int, batches: int) -> Split:
    """Wall time inside next(it) vs outside, and CPU of the main thread vs the rest, over `batches` batches."""
    for _ in range(warmup):
        next(it)
    main = _main_thread_id()
    before = _thread_cpu()
    inside = 0.0
    start = time.perf_counter()
    for _ in range(batches):
        t0 = time.perf_counter()
        next(it)
        inside += time.perf_counter() - t0
    wall = time.perf_counter() - start
    after = _thread_cpu()
    delta = {k: v - before.get(k, 0.0) for k, v in after.items()}
    cpu_main = delta.pop(main, 0.0)
    ran = sorted((v for v in delta.values() if v > 0), reverse=True)
    return Split(batches, wall, inside, cpu_main, sum(ran), len(ran), ran)
