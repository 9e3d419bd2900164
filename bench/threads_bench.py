"""Many callers on one store: read_ranges throughput from 1, 2 and 8 Python threads sharing ONE lsio store,
and the latency of a small batch alone vs. beside a huge batch (the engine contract: batches run at once and
share the workers fairly). fio's psync random 4 KiB read over the same files, two jobs, is the anchor.

    .venv/bin/python bench/threads_bench.py [--seconds 3] [--rounds 3]

Contestants are interleaved round by round (the machine is shared and noisy). Results:
bench/results/threads.md and threads.png. Run it on a quiet machine (no build, test or benchmark beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import lsio

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "threads"
RESULTS = ROOT / "results"
FILES, FILE_BYTES, RANGE = 64, 8 << 20, 4096
BATCH = 2000


def make_data() -> list[str]:
    DATA.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for i in range(FILES):
        p = DATA / f"f{i:03d}.bin"
        if not p.exists() or p.stat().st_size != FILE_BYTES:
            p.write_bytes(rng.integers(0, 256, FILE_BYTES, dtype=np.uint8).tobytes())
        paths.append(str(p))
    for p in paths:  # warm the page cache: every contestant reads hot data
        lsio.read_ranges(p, [0], [None])
    return paths


def random_batch(paths: list[str], rng: np.random.Generator, n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    files = rng.integers(0, len(paths), n)
    starts = rng.integers(0, FILE_BYTES // RANGE, n).astype(np.int64) * RANGE
    return [paths[f] for f in files], starts, starts + RANGE


def threads_throughput(store: lsio.Store, paths: list[str], nthreads: int, seconds: float) -> float:
    """Ranges per second read by `nthreads` threads calling read_ranges on one store for `seconds`."""
    done = [0] * nthreads
    deadline = time.perf_counter() + seconds

    def run(k: int) -> None:
        rng = np.random.default_rng(k)
        batches = [random_batch(paths, rng, BATCH) for _ in range(8)]
        i = 0
        while time.perf_counter() < deadline:
            store.read_ranges(*batches[i % len(batches)])
            done[k] += BATCH
            i += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def small_batch_latency(store: lsio.Store, paths: list[str], beside_huge: bool) -> float:
    """Median seconds of a 16-range read_ranges, alone or while a 2-million-range batch runs."""
    rng = np.random.default_rng(7)
    small = random_batch(paths, rng, 16)
    pending = store.submit_read(*random_batch(paths, rng, 2_000_000)) if beside_huge else None
    times = []
    for _ in range(20):
        t = time.perf_counter()
        store.read_ranges(*small)
        times.append(time.perf_counter() - t)
    if pending is not None:
        still_running = not pending.done()
        pending.cancel()
        pending.wait()
        if not still_running:
            print("warning: the huge batch ended before the small ones did: latency beside it is not measured")
    return statistics.median(times)


def fio_randread(paths: list[str], seconds: float) -> float:
    """fio psync, 2 jobs, random 4 KiB reads over the same files (IOPS)."""
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "threads.fio"
        names = ":".join(Path(p).name for p in paths)
        job.write_text(
            "[global]\nioengine=psync\nrw=randread\nbs=4k\ninvalidate=0\nfile_service_type=random\n"
            f"directory={DATA}\nfilename={names}\nsize={FILES * FILE_BYTES}\ntime_based=1\nruntime={seconds}\n"
            "group_reporting=1\n[j0]\n[j1]\n"
        )
        out = subprocess.run(["fio", "--output-format=json", str(job)], capture_output=True, text=True, check=True)
        return float(json.loads(out.stdout)["jobs"][0]["read"]["iops"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    paths = make_data()
    store = lsio.open("")
    names = ["fio psync x2", "1 thread", "2 threads", "8 threads"]
    rates: dict[str, list[float]] = {n: [] for n in names}
    latency: dict[str, list[float]] = {"alone": [], "beside a 2M-range batch": []}
    for r in range(args.rounds):
        rates["fio psync x2"].append(fio_randread(paths, args.seconds))
        for n in (1, 2, 8):
            rates[f"{n} thread" + ("s" if n > 1 else "")].append(threads_throughput(store, paths, n, args.seconds))
        latency["alone"].append(small_batch_latency(store, paths, False))
        latency["beside a 2M-range batch"].append(small_batch_latency(store, paths, True))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1] / 1e6:.2f} M/s" for k, v in rates.items()))
    write_results(rates, latency, args)


def write_results(rates: dict[str, list[float]], latency: dict[str, list[float]], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    med = {k: statistics.median(v) for k, v in rates.items()}
    fio = med["fio psync x2"]
    lines = [
        "# Many callers on one store",
        "",
        f"Command: `.venv/bin/python bench/threads_bench.py --seconds {args.seconds} --rounds {args.rounds}` "
        f"({os.cpu_count()} CPUs, {lsio.engine()}; {FILES} files x {FILE_BYTES >> 20} MiB, page-cache hot, "
        f"random {RANGE} B ranges, batches of {BATCH} per read_ranges call; medians of {args.rounds} interleaved rounds).",
        "",
        "| contestant | ranges/s (median) | min | max | x fio |",
        "|---|---|---|---|---|",
    ]
    for k, v in rates.items():
        lines.append(f"| {k} | {med[k] / 1e6:.2f} M | {min(v) / 1e6:.2f} M | {max(v) / 1e6:.2f} M | {med[k] / fio:.2f} |")
    lines += ["", "| 16-range read_ranges | median latency |", "|---|---|"]
    for k, v in latency.items():
        lines.append(f"| {k} | {statistics.median(v) * 1e3:.2f} ms |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "threads.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(list(med), [v / fio for v in med.values()], color=["grey", "C0", "C0", "C0"])
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_ylabel("ranges/s relative to fio")
    ax.set_title("read_ranges from N threads on one store")
    fig.tight_layout()
    fig.savefig(RESULTS / "threads.png", dpi=120)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
