"""One Python caller reading many small random ranges: read_ranges (a list of Buffers), read_batch (one
BatchResult, compact paths) and read_ranges(out=) (one flat buffer) against fio psync x2 and the C++ lsio_bench
(for_each and read) on the same files and ranges.

    .venv/bin/python bench/pyread_bench.py [--rounds 5] [--quick]

1,500 files of 512 KiB (bench/data/pyread, created once; --quick: 100 files in bench/data/pyread-quick),
200,000 random 4 KiB ranges (4 KiB-aligned, as fio's), page cache hot. Contestants run interleaved, round by
round, in one run (the machine is shared and noisy): ratios to fio come from the same run. Each Python
contestant is one call over all ranges, timed from the call to the result dropped. Results:
bench/results/pyread.md and pyread.png (--quick: pyread-quick.*). Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

import lsio

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
RANGE = 4096


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1500)
    ap.add_argument("--file-kib", type=int, default=512)
    ap.add_argument("--ranges", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="lsio workers and fio jobs")
    ap.add_argument("--quick", action="store_true", help="a check that it runs: 100 files, 5,000 ranges, 2 rounds")
    ap.add_argument("--lsio-bench", type=Path, default=ROOT.parent / "build" / "release" / "bench" / "lsio_bench",
                    help="the C++ lsio_bench binary (ninja -C build/release lsio_bench)")
    args = ap.parse_args()
    if args.quick:
        args.files, args.ranges, args.rounds = 100, 5000, 2
    args.data = ROOT / "data" / ("pyread-quick" if args.quick else "pyread")
    return args


def make_data(args: argparse.Namespace) -> list[str]:
    """The files (written once) and a hot page cache."""
    args.data.mkdir(parents=True, exist_ok=True)
    size = args.file_kib << 10
    rng = np.random.default_rng(0)
    paths = []
    for i in range(args.files):
        p = args.data / f"f{i:05d}.bin"
        if not p.exists() or p.stat().st_size != size:
            p.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        paths.append(str(p))
    lsio.read_ranges(paths, [0] * len(paths), None)  # warm: every contestant reads cached data
    return paths


def make_ranges(args: argparse.Namespace, nfiles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    index = rng.integers(0, nfiles, args.ranges).astype(np.int64)
    starts = rng.integers(0, (args.file_kib << 10) // RANGE, args.ranges).astype(np.int64) * RANGE
    return index, starts, starts + RANGE


def fio_rate(args: argparse.Namespace) -> float:
    """fio psync, args.workers jobs, random 4 KiB reads over the directory: ranges/s (the same count of reads)."""
    total = args.files * (args.file_kib << 10)
    per_job = args.ranges * RANGE // args.workers
    cmd = ["fio", "--name=pyread", "--ioengine=psync", f"--numjobs={args.workers}", "--rw=randread", "--bs=4k",
           f"--opendir={args.data}", "--file_service_type=random", "--invalidate=0", "--group_reporting",
           "--time_based=0", f"--size={total}", f"--io_size={per_job}", "--output-format=json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    jobs = json.loads(out[out.index("{"):])["jobs"]
    ios = sum(j["read"]["total_ios"] for j in jobs)
    if ios < args.ranges * 0.99:
        raise RuntimeError(f"fio read {ios} blocks, expected {args.ranges}: {' '.join(cmd)}")
    return float(sum(j["read"]["iops"] for j in jobs))


def lsio_bench_rate(args: argparse.Namespace, mode: str, paths_file: Path, ranges_file: Path) -> float:
    cmd = [str(args.lsio_bench), "--mode", mode, "--engine", "auto", "--paths-file", str(paths_file),
           "--ranges-file", str(ranges_file), "--repeat", "1", "--warmup", "1", "--workers", str(args.workers)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    doc = json.loads(out.strip().splitlines()[-1])
    if int(doc["chunks"]) != args.ranges or int(doc.get("errors", 0)):
        raise RuntimeError(f"lsio_bench {mode}: {doc}")
    return args.ranges / float(doc["seconds"])


def timed(call: Callable[[], object], n: int) -> float:
    """Ranges/s of one call, the result dropped inside the timing (its memory is the caller's cost too)."""
    t = time.perf_counter()
    result = call()
    del result
    return n / (time.perf_counter() - t)


def contestants(args: argparse.Namespace, paths: list[str], tmp: Path) -> dict[str, Callable[[], float]]:
    index, starts, ends = make_ranges(args, len(paths))
    per_range = [paths[k] for k in index]  # read_ranges as most callers use it: one str per range
    out = np.ones(args.ranges * RANGE, np.uint8)  # touched once: no page faults inside the timing
    store = lsio.open("", workers=args.workers)
    expected = store.read_batch((paths, index), starts, ends).to_numpy()
    store.read_ranges((paths, index), starts, ends, out=out)
    assert np.array_equal(out, expected), "out= and read_batch disagree"
    paths_file, ranges_file = tmp / "paths.txt", tmp / "ranges.bin"
    paths_file.write_text("\n".join(paths) + "\n")
    np.stack([index, starts, ends], axis=1).astype("<i8").tofile(ranges_file)
    n = args.ranges
    found = args.lsio_bench.exists()
    if not found:
        raise SystemExit(f"{args.lsio_bench} not found: build it (ninja -C build/release lsio_bench) or pass --lsio-bench")
    return {
        f"fio psync x{args.workers}": lambda: fio_rate(args),
        "read_ranges (list)": lambda: timed(lambda: store.read_ranges(per_range, starts, ends), n),
        "read_batch (str paths)": lambda: timed(lambda: store.read_batch(per_range, starts, ends), n),
        "read_batch (compact)": lambda: timed(lambda: store.read_batch((paths, index), starts, ends), n),
        "read_ranges(out=)": lambda: timed(lambda: store.read_ranges((paths, index), starts, ends, out=out), n),
        "C++ for_each": lambda: lsio_bench_rate(args, "for_each", paths_file, ranges_file),
        "C++ read": lambda: lsio_bench_rate(args, "read", paths_file, ranges_file),
    }


def main() -> None:
    args = parse_args()
    paths = make_data(args)
    with tempfile.TemporaryDirectory() as tmp:
        runs = contestants(args, paths, Path(tmp))
        rates: dict[str, list[float]] = {k: [] for k in runs}
        for r in range(args.rounds):
            names = list(runs)
            names = names[r % len(names):] + names[: r % len(names)]  # rotate: no contestant always goes first
            for name in names:
                rates[name].append(runs[name]())
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1] / 1e6:.2f} M/s" for k, v in rates.items()), flush=True)
    write_results(rates, args)


def write_results(rates: dict[str, list[float]], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    med = {k: statistics.median(v) for k, v in rates.items()}
    fio = med[next(iter(med))]
    name = "pyread-quick" if args.quick else "pyread"
    command = "bench/pyread_bench.py" + (" --quick" if args.quick else f" --rounds {args.rounds}")
    lines = [
        "# One Python caller, many small random ranges",
        "",
        f"Command: `.venv/bin/python {command}` ({os.cpu_count()} CPUs, {lsio.engine()}, {args.workers} lsio "
        f"workers / fio jobs; {args.files} files x {args.file_kib} KiB, page-cache hot, {args.ranges:,} random "
        f"{RANGE} B ranges (4 KiB-aligned) per call; medians of {args.rounds} interleaved rounds).",
        "",
        "| contestant | M ranges/s (median) | min | max | x fio |",
        "|---|---|---|---|---|",
    ]
    for k, v in rates.items():
        lines.append(f"| {k} | {med[k] / 1e6:.2f} | {min(v) / 1e6:.2f} | {max(v) / 1e6:.2f} | {med[k] / fio:.2f} |")
    lines += [
        "",
        "read_ranges builds one lsio.Buffer per range (and converts one path str per range); read_batch returns one",
        "BatchResult (views made on access), from one str per range or from (files, file_index); read_ranges(out=)",
        "reads every range straight into one numpy buffer (read_into: no merging, no buffer of lsio's own).",
        "LSIO merges touching and overlapping ranges; fio reads every block. C++: build/release/bench/lsio_bench",
        "--mode for_each|read on the same paths and ranges (its own timing of the batch), after one untimed call in",
        "the same process as the Python contestants have had (a fresh process's first read pays a page fault per",
        "4 KiB of result memory; later calls reuse what the store's buffer pool kept, up to its idle budget, an eighth of RAM).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(list(med), [v / fio for v in med.values()], color=["grey"] + ["C0"] * 4 + ["C1"] * 2)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.axhline(1.25, color="C2", lw=0.8, ls="--")
    ax.set_ylabel("ranges/s relative to fio")
    ax.set_title(f"{args.ranges:,} random 4 KiB ranges, one call")
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=120)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
