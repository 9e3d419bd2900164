#!/usr/bin/env python3
"""CPU cost of lsio.zarr.copy on a small array of the rechunk benchmark's layout (process_bench.py --only rechunk).

    python bench/copy_cpu.py --prepare                     # once: float32 (256, 1024, 1024), zstd-1 chunks (16, 512, 512)
    python bench/copy_cpu.py --rounds 3                    # copy to (256, 64, 64) zstd-1, max_memory 768MiB: 4 aligned slabs
    python bench/copy_cpu.py --max-memory 256MiB           # two passes through an uncompressed intermediate
    valgrind --tool=callgrind python bench/copy_cpu.py --time 64 --max-memory 192MiB --rounds 1   # instruction counts

The data is made by zarr-python (process_bench.py's generator) under bench/data/copy_cpu/T/ and reused. Each round
copies in this process and prints wall, user and system CPU seconds, CPU seconds per GiB and the utilisation of all
CPUs ((user + sys) / wall / CPUs) and the process's peak RSS (making the data counts: run --prepare first): CPU seconds are what to compare on a shared machine; wall time and utilisation
only mean something on a quiet one. The floor is the zstd decode of the source plus the zstd-1 encode of the
destination (``zstd -b1`` on one chunk of each gives their single-thread speeds).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "copy_cpu"


def prepare(t: int) -> Path:
    import zarr
    from zarr.codecs import ZstdCodec

    root = DATA / str(t)
    src = root / "src.zarr"
    if (root / "done").exists():
        return src
    shutil.rmtree(root, ignore_errors=True)
    shape = (t, 1024, 1024)
    z = zarr.open_group(str(src), mode="w").create_array(
        "t2m", shape=shape, chunks=(16, 512, 512), dtype="float32", compressors=[ZstdCodec(level=1)], fill_value=0)
    rng = np.random.default_rng(0)
    yy, xx = np.meshgrid(np.linspace(0, 6, shape[1]), np.linspace(0, 6, shape[2]), indexing="ij")
    base = (280 + 10 * np.sin(yy) * np.cos(xx)).astype(np.float32)
    for t0 in range(0, t, 64):
        n = min(64, t - t0)
        z[t0 : t0 + n] = base[None] + rng.standard_normal((n, *shape[1:]), dtype=np.float32)
    (root / "done").write_text("")
    return src


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--time", type=int, default=256, help="length of the time axis (a multiple of 16)")
    p.add_argument("--max-memory", default="768MiB")
    p.add_argument("--two-stage", choices=["auto", "yes", "no"], default="auto")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prepare", action="store_true", help="only make the data")
    a = p.parse_args()
    src = prepare(a.time)
    if a.prepare:
        return 0
    import lsio.zarr

    arr = lsio.zarr.open_array(str(src / "t2m"), mode="r")
    dst = DATA / str(a.time) / "out.zarr"
    gib = arr.nbytes / 2**30
    for _ in range(a.rounds):
        shutil.rmtree(dst, ignore_errors=True)
        c0, t0 = os.times(), time.perf_counter()
        lsio.zarr.copy(arr, str(dst), chunks=(a.time, 64, 64), shards=None, max_memory=a.max_memory,
                       compressors=[{"name": "zstd", "configuration": {"level": 1}}],
                       two_stage={"auto": None, "yes": True, "no": False}[a.two_stage])  # fmt: skip
        wall, c1 = time.perf_counter() - t0, os.times()
        user, system = c1.user - c0.user, c1.system - c0.system
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"wall {wall:.2f} s  user {user:.2f} s  sys {system:.2f} s  cpu/GiB {(user + system) / gib:.2f} s  "
              f"utilisation {(user + system) / wall / (os.cpu_count() or 1):.2f}  peak RSS {rss:.0f} MiB", flush=True)  # fmt: skip
    shutil.rmtree(dst, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
