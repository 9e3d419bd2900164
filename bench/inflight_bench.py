#!/usr/bin/env python3
"""Large sequential reads, hot and cold: LSIO's read bytes in flight and part size against fio.

    python bench/inflight_bench.py                  # -> bench/results/inflight.md and .png
    python bench/inflight_bench.py --quick          # small files, one round (proves the script works)

A worker of a file store keeps at most ``max_inflight_bytes`` of buffered reads in flight (O_DIRECT: 32 times
that) and splits a read into parts of ``part_size``. Small budgets keep hot page-cache copies inside the CPU
caches; a cold device wants several large reads queued. This benchmark measures both ends with `lsio_bench
--mode for_each` under several (budget, part size) settings and O_DIRECT, interleaved in rounds with fio:

- hot: one file read sequentially in 16 MiB and in 1 MiB ranges, page cache warm; fio: psync, 2 jobs, each on
  half of the file, the same block size, time-based;
- cold: many 16 MiB files read whole, the page cache dropped before every run (root); fio: every file read
  once, 1 MiB blocks, 2 jobs on half the files each, best of psync and io_uring qd8.

The ratio is LSIO's GB/s over fio's best GB/s of the same round set (best run of each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
MiB = 1 << 20

# (label, extra lsio_bench arguments)
SETTINGS = [
    ("default (2 MiB in flight, 64 MiB parts)", []),
    ("8 MiB in flight, 1 MiB parts", ["--max-inflight-bytes", str(8 * MiB), "--part-size", str(MiB)]),
    ("16 MiB in flight, 4 MiB parts", ["--max-inflight-bytes", str(16 * MiB), "--part-size", str(4 * MiB)]),
    ("64 MiB in flight, 4 MiB parts", ["--max-inflight-bytes", str(64 * MiB), "--part-size", str(4 * MiB)]),
    ("64 MiB in flight, 16 MiB parts", ["--max-inflight-bytes", str(64 * MiB), "--part-size", str(16 * MiB)]),
    ("O_DIRECT (64 MiB in flight)", ["--direct"]),
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="256 MiB of data, one round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data" / "inflight")
    p.add_argument("--lsio-bench", type=Path, default=REPO / "build" / "release" / "bench" / "lsio_bench")
    p.add_argument("--out-dir", type=Path, default=BENCH_DIR / "results")
    p.add_argument("--name", help="report base name (default inflight, or inflight-quick)")
    p.add_argument("--no-cold", action="store_true", help="skip the cold workload (it needs root)")
    return p.parse_args(argv)


def write_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    rng = np.random.default_rng(len(str(path)))
    with open(path, "wb") as f:
        for _ in range(size // (16 * MiB)):
            f.write(rng.integers(0, 255, 16 * MiB, dtype=np.uint8).tobytes())


def inputs(root: Path, name: str, paths: list[Path], ranges: np.ndarray) -> tuple[Path, Path]:
    pf, rf = root / f"{name}.paths", root / f"{name}.ranges"
    pf.write_text("".join(f"{p}\n" for p in paths))
    ranges.astype("<i8").tofile(rf)
    return pf, rf


def drop_page_cache() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def warm(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(64 * MiB):
                pass


def lsio(args: argparse.Namespace, pf: Path, rf: Path, batch: int, extra: list[str], cold: bool) -> dict:
    if cold:
        drop_page_cache()
    cmd = [str(args.lsio_bench), "--paths-file", str(pf), "--ranges-file", str(rf), "--mode", "for_each",
           "--batch", str(batch), "--repeat", "1" if cold else "3", *extra]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-300:]}
    out = json.loads(r.stdout)
    if out.get("errors"):
        return {"error": out.get("first_error", "errors")}
    return {"gbps": out["bytes"] / out["seconds"] / 1e9, "cpu": out["cpu_user"] + out["cpu_sys"]}


def fio(job: str, cold: bool) -> dict:
    job_file = Path("/tmp/lsio-inflight.fio")
    job_file.write_text(job)
    if cold:
        drop_page_cache()
    r = subprocess.run(["fio", "--output-format=json", str(job_file)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-300:]}
    jobs = json.loads(r.stdout)["jobs"]
    total = sum(j["read"]["io_bytes"] for j in jobs)
    seconds = max(j["read"]["runtime"] for j in jobs) / 1000
    return {"gbps": total / seconds / 1e9}


def fio_hot(path: Path, size: int, bs: int) -> str:
    half = size // 2
    return (f"[global]\nfilename={path}\nrw=read\nbs={bs}\nioengine=psync\ninvalidate=0\ntime_based=1\nruntime=3\n"
            f"size={half}\n[a]\noffset=0\n[b]\noffset={half}\n")  # fmt: skip


def fio_cold(files: list[Path], engine: str) -> str:
    sections = "".join(f"[j{i}]\nfilename={':'.join(str(f) for f in files[i::2])}\n" for i in range(2))
    return f"[global]\nrw=read\nbs=1M\ninvalidate=0\nfile_service_type=sequential\n{engine}\n" + sections


def best(runs: list[dict]) -> dict:
    ok = [r for r in runs if "gbps" in r]
    return max(ok, key=lambda r: r["gbps"]) if ok else (runs[-1] if runs else {"error": "not run"})


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    name = args.name or ("inflight-quick" if args.quick else "inflight")
    if not args.lsio_bench.exists():
        print(f"lsio_bench not found at {args.lsio_bench} (build it: ninja -C build/release lsio_bench)")
        return 2
    rounds = 1 if args.quick else args.rounds
    hot_size = (256 if args.quick else 2048) * MiB
    cold_files = 16 if args.quick else 128
    root = args.data_dir
    root.mkdir(parents=True, exist_ok=True)
    big = root / "hot.bin"
    write_file(big, hot_size)
    cold = [root / f"cold{i:03d}.bin" for i in range(cold_files)]
    for f in cold:
        write_file(f, 16 * MiB)

    workloads = []  # (key, title, paths file, ranges file, batch, fio job(s), cold)
    for bs in (16 * MiB, MiB):
        n = hot_size // bs
        rng = np.column_stack([np.zeros(n, np.int64), np.arange(n) * bs, np.arange(1, n + 1) * bs])
        pf, rf = inputs(root, f"hot{bs // MiB}", [big], rng)
        workloads.append((f"hot {bs // MiB} MiB", f"one {hot_size // MiB} MiB file in {bs // MiB} MiB ranges, hot",
                          pf, rf, 256 * MiB // bs, {"psync": fio_hot(big, hot_size, bs)}, False))  # fmt: skip
    if not args.no_cold:
        rng = np.column_stack([np.arange(cold_files), np.zeros(cold_files, np.int64),
                               np.full(cold_files, 16 * MiB, np.int64)])  # fmt: skip
        pf, rf = inputs(root, "cold", cold, rng)
        jobs = {"psync": fio_cold(cold, "ioengine=psync"), "io_uring qd8": fio_cold(cold, "ioengine=io_uring\niodepth=8")}
        workloads.append(("cold 16 MiB files", f"{cold_files} files of 16 MiB read whole, page cache dropped",
                          pf, rf, cold_files, jobs, True))  # fmt: skip

    runs: dict[tuple[str, str], list[dict]] = {}
    for rnd in range(rounds):
        for key, _, pf, rf, batch, jobs, is_cold in workloads:
            if not is_cold:
                warm([big])
            for label, job in jobs.items():
                runs.setdefault((key, f"fio {label}"), []).append(fio(job, is_cold))
            for label, extra in SETTINGS:
                r = lsio(args, pf, rf, batch, extra, is_cold)
                runs.setdefault((key, f"LSIO {label}"), []).append(r)
                print(f"round {rnd} {key:>18} {label:<42} {r.get('gbps', r.get('error'))}", flush=True)

    lines = [f"# Large sequential reads: bytes in flight and part size, hot and cold", "",
             f"- command: `python bench/inflight_bench.py{' --quick' if args.quick else ''}`",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs, "
             f"kernel {platform.release()}; best of {rounds} interleaved round(s); LSIO: `lsio_bench --mode for_each`, "
             "2 workers", ""]  # fmt: skip
    plot_rows = []
    for key, title, *_ , jobs, _ in workloads:
        fio_best = max((best(runs[(key, f'fio {j}')]).get("gbps", 0) for j in jobs), default=0)
        lines += [f"## {title}", "", "| contestant | GB/s | CPU s per run | × fio |", "|---|--:|--:|--:|"]
        for (k, label), rs in runs.items():
            if k != key:
                continue
            b = best(rs)
            if "gbps" not in b:
                lines.append(f"| {label} | {b.get('error', '')[:80]} | | |")
                continue
            ratio = b["gbps"] / fio_best if fio_best else float("nan")
            cpu = f"{b['cpu']:.2f}" if "cpu" in b else ""
            lines.append(f"| {label} | {b['gbps']:.2f} | {cpu} | {ratio:.2f} |")
            plot_rows.append((key, label, ratio))
        lines.append("")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    md = args.out_dir / f"{name}.md"
    md.write_text("\n".join(lines) + "\n")
    plot(plot_rows, args.out_dir / f"{name}.png")
    print(f"wrote {md}")
    return 0


def plot(rows: list[tuple[str, str, float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(k for k, _, _ in rows))
    labels = list(dict.fromkeys(lbl for _, lbl, _ in rows))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(labels))
    for i, lbl in enumerate(labels):
        ys = [next((r for k, l2, r in rows if k == key and l2 == lbl), 0) for key in keys]
        ax.bar([x + i * width for x in range(len(keys))], ys, width, label=lbl)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(keys))], keys)
    ax.set_ylabel("GB/s / fio's best")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
