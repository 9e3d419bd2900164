#!/usr/bin/env python3
"""Training-loader benchmark: random crops of a sharded Zarr array of tiny zstd chunks, as a data loader sees them.

Dataset (written once under bench/data/ml/, reused): uint16 (time=1000, channel=4, y=512, x=512), shards
(16, 4, 256, 256) of inner chunks (1, 1, 64, 64), zstd. Workload: batches of 32 crops of (12, 4, 128, 128),
float32 normalised per channel. Contestants, each in its own process, page cache hot: lsio.ml.RandomCrops,
lsio.zarr.Array.read_crops, tensorstore (ocf-data-sampler style), zarr-python + zarrs, and a torch DataLoader
(2 workers) over zarr-python. Writes bench/results/ml.md and ml.png.

    .venv/bin/python bench/ml_bench.py            # ~10 min on 2 cores (+ ~4 min writing the data the 1st time)
    .venv/bin/python bench/ml_bench.py --quick    # time=160, fewer batches: a smoke run (-> ml-quick.md)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lsiobench import mldata, mlmeasure  # noqa: E402
from lsiobench.mlloaders import CONTESTANTS, LOADERS, REFERENCE, Norm, shares_starts  # noqa: E402
from lsiobench.mlreport import Context, Row, markdown, plot, row_from  # noqa: E402
from lsiobench.proc import run  # noqa: E402

# ---- child side ---------------------------------------------------------------------------------------------------


def child(spec: dict[str, Any]) -> dict[str, Any]:
    starts = np.load(spec["starts"])
    it = LOADERS[spec["contestant"]](spec["path"], starts, Norm(tuple(spec["mean"]), tuple(spec["std"])))
    mode = spec["mode"]
    if mode == "throughput":
        return mlmeasure.throughput(it, spec["warmup"], spec["batches"], spec["repeats"]).to_json()
    if mode == "wait":
        return mlmeasure.data_wait(it, spec["warmup"], spec["batches"], spec["step"])
    if mode == "split":
        return asdict(mlmeasure.split(it, spec["warmup"], spec["batches"]))
    raise ValueError(f"unknown mode {mode!r}")


# ---- parent side --------------------------------------------------------------------------------------------------


def run_child(spec: dict[str, Any], timeout: float, prefix: list[str] | None = None) -> dict[str, Any]:
    cmd = [*(prefix or []), sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    # No contestant uses BLAS, but numpy's OpenBLAS threads would spin on the 2 cores after any call.
    res = run(cmd, timeout=timeout, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if res.returncode != 0:
        return {"error": "error: " + res.tail(1)[:150].replace("|", "/")}
    try:
        out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
        return out
    except (ValueError, IndexError):
        return {"error": "error: no result: " + res.tail(1)[:120].replace("|", "/")}


def lsio_ml_location() -> tuple[str | None, str]:
    """(None, where lsio.ml was found) when it imports in a fresh interpreter, else (why not, "")."""
    r = subprocess.run([sys.executable, "-c", "import os, lsio.ml; lsio.ml.RandomCrops; "
                        "print(os.path.realpath(lsio.ml.__file__))"], capture_output=True, text=True)
    if r.returncode == 0:
        return None, r.stdout.strip()
    return (r.stderr.strip().splitlines() or ["failed"])[-1][:100], ""


def check_outputs(rows: list[Row]) -> list[str]:
    """Contestants that read the same crops must agree on the first batch's sum."""
    same = [r for r in rows if r.ok and r.checksum is not None and shares_starts(r.contestant)]
    if len(same) < 2:
        return []
    ref = same[0].checksum or 0.0
    bad = [r.contestant for r in same if abs((r.checksum or 0.0) - ref) > 1e-4 * max(1.0, abs(ref))]
    names = ", ".join(r.contestant for r in same)
    if bad:
        return [f"OUTPUT MISMATCH: the first batch's sum differs for {', '.join(bad)} (vs {same[0].contestant})"]
    return [f"the first batch (same crops) has the same sum ({ref:.6g}) for {names}"]


def perf_top(data: str, sort: str, limit: int) -> list[str]:
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", sort, "--percent-limit", "1.0"],
                       capture_output=True, text=True)
    rows = [ln.strip() for ln in r.stdout.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return [" ".join(ln.split()) for ln in rows[:limit]]


def _split_line(c: str, s: dict[str, Any], chunks_per_sample: float, batch_size: int) -> str:
    call = "read_crops (compiled, GIL released)" if c == "lsio read_crops" else "next(loader)"
    inside = s["wall_in_call"] / s["wall"]
    cpu = s["cpu_main"] + s["cpu_other"]
    chunks = s["batches"] * batch_size * chunks_per_sample
    threads = ", ".join(f"{v:.2f}" for v in s["per_thread"])
    workers = "engine workers" + (", prefetch" if c != "lsio read_crops" else "")
    return (f"- **{c}**, {s['batches']} batches in {s['wall']:.2f} s wall: {100 * inside:.1f}% inside {call}, "
            f"{100 * (1 - inside):.1f}% in the Python loop around it. CPU {cpu:.2f} s = {cpu / s['wall']:.2f} cores "
            f"busy: Python main thread {s['cpu_main']:.2f} s ({100 * s['cpu_main'] / cpu:.0f}%), "
            f"{s['other_threads']} other threads ({workers}) {s['cpu_other']:.2f} s "
            f"({100 * s['cpu_other'] / cpu:.0f}%; per thread {threads} s); {cpu / chunks * 1e6:.1f} CPU µs per inner "
            f"chunk ({chunks / cpu:,.0f} inner chunks per CPU second).")


def _perf_lines(c: str, data: str) -> list[str]:
    return ["", f"  `perf record -F 999` of that {c} process (whole process, startup included), top shared objects, "
            "then symbols (libzstd has no symbols; `clear_page_erms` is the kernel zeroing fresh pages, e.g. of each "
            "new output array):", "", "  ```", *[f"  {x}" for x in perf_top(data, "dso", 6)], "  ...",
            *[f"  {x}" for x in perf_top(data, "dso,sym", 8)], "  ```"]


def split_section(base: dict[str, Any], available: list[str], chunks_per_sample: float, batch_size: int,
                  timeout: float) -> list[str]:
    """A real measurement of where LSIO's time goes: wall in the call vs Python, CPU per thread, and perf."""
    lines: list[str] = []
    for c in (x for x in REFERENCE if x in available):
        spec = {**base, "contestant": c, "mode": "split"}
        use_perf = c == "lsio read_crops" and shutil.which("perf") is not None
        with tempfile.NamedTemporaryFile(suffix=".perf") as pd:
            prefix = ["perf", "record", "-q", "-F", "999", "-o", pd.name, "--"] if use_perf else None
            s = run_child(spec, timeout, prefix)
            if "error" in s:
                lines.append(f"- {c}: {s['error']}")
                continue
            lines.append(_split_line(c, s, chunks_per_sample, batch_size))
            if use_perf:
                lines += _perf_lines(c, pd.name)
    return lines or ["- no LSIO contestant ran"]


def floor_lines(floor: float) -> list[str]:
    return ["", "- Floor: zstd alone (the system libzstd through ctypes, one thread, one reused context, 2,048 inner "
            "chunks of this dataset decoded into a reused buffer, best of 3), measured in this run: "
            f"**{floor:.1f} µs per inner chunk**, so at most {2e6 / floor:,.0f} inner chunks/s on 2 fully free cores "
            "for any reader of this data, before reading, placing and converting. The machine is shared: this floor "
            "moves with the load too."]


def measure_all(base: dict[str, Any], contestants: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    out = {}
    for c in contestants:
        out[c] = run_child({**base, "contestant": c, "mode": "throughput"}, timeout)
        print(f"throughput {c:34} {out[c]}", flush=True)
    return out


def waits(base: dict[str, Any], rows: list[Row], step: float, timeout: float) -> None:
    for r in rows:
        if r.ok:
            w = run_child({**base, "contestant": r.contestant, "mode": "wait", "step": step,
                           "batches": max(8, base["batches"])}, timeout)
            r.wait_fraction = w.get("wait_fraction")
            print(f"data wait  {r.contestant:34} {w}", flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="time=160, 4 batches x 2 windows (-> ml-quick.md)")
    p.add_argument("--time", type=int, help="time steps of the dataset (default 1000; --quick 160)")
    p.add_argument("--batches", type=int, help="batches per timed window (default 10; --quick 4)")
    p.add_argument("--repeats", type=int, help="timed windows, the best counts (default 3; --quick 2)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up batches (default 2)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--contestants", help="comma-separated substrings of contestant names")
    p.add_argument("--data-dir", default=str(HERE / "data" / "ml"))
    p.add_argument("--name", help="report base name (default ml, --quick ml-quick)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per contestant process")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    a = parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return
    time_steps = a.time or (160 if a.quick else 1000)
    batches = a.batches or (4 if a.quick else 10)
    repeats = a.repeats or (2 if a.quick else 3)
    name = a.name or ("ml-quick" if a.quick else "ml")
    root = Path(a.data_dir)
    root.mkdir(parents=True, exist_ok=True)
    ds = mldata.ensure_dataset(root, time_steps)
    print(ds.describe(), flush=True)
    mldata.warm(ds.path)
    wait_batches = max(8, batches)
    total = a.warmup + max(batches * repeats, wait_batches)
    starts = mldata.crop_starts(ds.shape, total, a.batch_size, seed=0)
    starts_file = root / f"starts-t{time_steps}-b{a.batch_size}-n{total}.npy"
    np.save(starts_file, starts)
    chunks_per_sample = float(mldata.chunks_touched(starts[a.warmup:]).mean())

    wanted = [c for c in CONTESTANTS if not a.contestants or any(s in c for s in a.contestants.split(","))]
    notes: list[str] = []
    why, where = lsio_ml_location() if "lsio RandomCrops" in wanted else (None, "")
    base = {"path": str(ds.path), "starts": str(starts_file), "mean": list(ds.mean), "std": list(ds.std),
            "warmup": a.warmup, "batches": batches, "repeats": repeats}
    results = measure_all(base, [c for c in wanted if not (c == "lsio RandomCrops" and why)], a.timeout)
    if why and "lsio RandomCrops" in wanted:
        results["lsio RandomCrops"] = {"error": f"n/a: lsio.ml not importable ({why})"}
    rows = [row_from(c, results[c], a.batch_size, batches, chunks_per_sample) for c in wanted]
    ref = next((r for name_ in REFERENCE for r in rows if r.contestant == name_ and r.ok), None)
    step = a.batch_size / (0.8 * ref.samples_per_s) if ref else 0.0
    if ref:
        waits(base, rows, step, a.timeout)
    notes += check_outputs(rows)
    if "lsio RandomCrops" in wanted and not why:
        notes.append("lsio RandomCrops draws its own crops (seed 0, same distribution); inner chunks per crop are "
                     f"taken as the average of the shared starts; lsio.ml imported from {where}")
    notes.append("every contestant process runs with OPENBLAS_NUM_THREADS=1 (none uses BLAS; idle OpenBLAS threads "
                 "otherwise spin on the 2 cores)")
    notes.append("tensorstore: context data_copy_concurrency 2, file_io_concurrency 4; zarr-python+zarrs: one "
                 "synchronous read per crop (zarrs decodes a read's chunks in parallel); torch DataLoader: "
                 "num_workers=2, batch_size 32, each __getitem__ reads one crop with zarr-python's default pipeline")
    split_lines = split_section({**base, "repeats": 1}, [r.contestant for r in rows if r.ok], chunks_per_sample,
                                a.batch_size, a.timeout)
    split_lines += floor_lines(mldata.zstd_floor_us(ds.path))
    ctx = Context(command="python bench/ml_bench.py " + " ".join(sys.argv[1:]), dataset=ds,
                  batch_size=a.batch_size, batches=batches, warmup=a.warmup, repeats=repeats, step=step,
                  reference=ref.contestant if ref else "-", split_lines=split_lines, notes=notes)
    out = HERE / "results"
    (out / f"{name}.md").write_text(markdown(rows, ctx))
    plot(rows, out / f"{name}.png", f"{ds.shape} uint16, crops {mldata.CROP}, batch {a.batch_size}, hot cache")
    print((out / f"{name}.md").read_text())


if __name__ == "__main__":
    main()
