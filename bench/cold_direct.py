"""Cold whole-array reductions with and without O_DIRECT: `Array.reduce_stats()` of the process benchmark's 4 GiB
float32 arrays (bench/process_bench.py makes them under bench/data/process/full) with the page cache dropped before
every measurement, for several `direct_threshold` settings, interleaved in rounds. Root (drop_caches).

    .venv/bin/python bench/cold_direct.py [--layout uncompressed --layout chunked] [--rounds 2]

Prints one line per measurement and the best per setting; no results file (it backs the default
direct_threshold in include/lsio/store.h and docs/architecture.md).
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import lsio
import lsio.zarr

MiB = 1 << 20
DATA = Path(__file__).resolve().parent / "data" / "process" / "full"


def drop_page_cache() -> None:
    subprocess.run("sync; echo 3 > /proc/sys/vm/drop_caches", shell=True, check=True)


def cold_seconds(layout: str, threshold: int) -> float:
    drop_page_cache()
    store = lsio.open(DATA / f"{layout}.zarr", direct_threshold=threshold, tune=False)
    array = lsio.zarr.open_array(store, "t2m", mode="r")
    start = time.perf_counter()
    array.reduce_stats()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layout", action="append", choices=["uncompressed", "chunked", "sharded"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--thresholds", default="0,8MiB,1MiB", help="comma-separated direct_threshold values")
    a = ap.parse_args()
    layouts = a.layout or ["uncompressed", "chunked"]
    thresholds = [lsio.parse_size(t) for t in a.thresholds.split(",")]
    for layout in layouts:
        if not (DATA / f"{layout}.zarr").exists():
            raise SystemExit(f"{DATA / layout}.zarr is missing: run bench/process_bench.py once to make it")
    best: dict[tuple[str, int], float] = {}
    for r in range(a.rounds):
        for layout in layouts:
            for t in thresholds:
                s = cold_seconds(layout, t)
                best[layout, t] = min(best.get((layout, t), s), s)
                print(f"round {r} {layout:12} direct_threshold {t / MiB:g} MiB: {s:.2f} s", flush=True)
    for (layout, t), s in best.items():
        print(f"best {layout:12} direct_threshold {t / MiB:g} MiB: {s:.2f} s")


if __name__ == "__main__":
    main()
