#!/usr/bin/env python3
"""RAM cache benchmark: epochs of lsio.ml.RandomCrops over HTTP (nginx on 127.0.0.1), with and without a cache.

Dataset (written once by zarr-python under bench/data/cache/, served by nginx): uint16 (time=64, channel=4,
y=512, x=512), 128 MiB, shards (16, 4, 256, 256) of zstd inner chunks (1, 4, 64, 64). Workload: one epoch is
BATCHES batches of 32 crops of (4, 4, 128, 128), enough to touch nearly every inner chunk, so a second epoch
(other crops, same seed sequence) is served from RAM when a cache holds the first one's chunks.

Every round opens fresh stores and runs, interleaved: an epoch without a cache; epoch 1 then epoch 2 on a store
with cache="1GiB". Reported: best seconds per contestant and epoch 2's speed-up over epoch 1 (target >= 3x).
Two servers: nginx (loopback: a transfer costs little more than a page-cache read) and our fault server answering
every request after 20 ms (`slow-first-byte:delay=0.02`), a stand-in for a cloud object store's first-byte latency;
a local file store (page cache hot) is the floor.

    .venv/bin/python bench/cache_bench.py [--rounds 3] [--quick]    # -> bench/results/cache.md / .png
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "servers"))

from launch import FaultServer, Nginx  # noqa: E402

SHAPE = (64, 4, 512, 512)
CROP = {"time": 4, "y": 128, "x": 128}
BATCH = 32


def make_data(root: Path) -> Path:
    path = root / "cube.zarr"
    if (path / "zarr.json").exists():
        return path
    import zarr

    rng = np.random.default_rng(0)
    z = zarr.create_array(str(path), shape=SHAPE, dtype="uint16", chunks=(1, 4, 64, 64), shards=(16, 4, 256, 256),
                          compressors=[zarr.codecs.ZstdCodec(level=1)], dimension_names=("time", "channel", "y", "x"),
                          overwrite=True)  # fmt: skip
    base = (np.arange(512)[None, :] + np.arange(512)[:, None]).astype(np.uint16)
    for t in range(0, SHAPE[0], 16):
        z[t:t + 16] = base[None, None] + rng.integers(0, 64, (16, 4, 512, 512), dtype=np.uint16)
    return path


def epoch(store: Any, epoch_no: int, batches: int) -> int:
    import lsio.ml
    import lsio.zarr

    a = lsio.zarr.open_array(store, "cube.zarr", mode="r")
    loader = lsio.ml.RandomCrops(sources={"x": a}, crop={"x": CROP}, batch_size=BATCH, seed=7,
                                 batches_per_epoch=batches, prefetch=2)  # fmt: skip
    loader.set_epoch(epoch_no)
    n = 0
    for b in loader:
        n += int(b["x"].shape[0])
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="fewer batches, 2 rounds (-> cache-quick.md)")
    a = ap.parse_args()
    import lsio

    batches = 8 if a.quick else 40
    rounds = 2 if a.quick else a.rounds
    root = HERE / "data" / "cache"
    make_data(root)
    best: dict[str, float] = {}
    stats: dict[str, Any] = {}
    with Nginx(root) as nginx, FaultServer(root) as fault:
        urls = {"nginx": nginx.url, "20 ms server": fault.url + "slow-first-byte:delay=0.02/"}
        for url in urls.values():
            epoch(lsio.open(url), 0, 2)  # warm: connections, page cache, imports
        for r in range(rounds):
            t0 = time.perf_counter()
            epoch(lsio.open(str(root)), 0, batches)
            best["local files (page cache), no cache"] = min(best.get("local files (page cache), no cache", 1e9),
                                                             time.perf_counter() - t0)  # fmt: skip
            for name, url in urls.items():
                t0 = time.perf_counter()
                epoch(lsio.open(url), 0, batches)
                best[f"{name}, no cache"] = min(best.get(f"{name}, no cache", 1e9), time.perf_counter() - t0)
                cached = lsio.open(url, cache="1GiB")
                for e in (0, 1):
                    t0 = time.perf_counter()
                    epoch(cached, e, batches)
                    k = f"{name}, cache, epoch {e + 1}"
                    best[k] = min(best.get(k, 1e9), time.perf_counter() - t0)
                stats[name] = dict(cached.cache_stats() or {})
            print(f"round {r + 1}: " + ", ".join(f"{k} {v:.3f} s" for k, v in best.items()), flush=True)
    write_results(a, best, stats, batches, rounds)
    return 0


def write_results(a: argparse.Namespace, best: dict[str, float], stats: dict[str, Any], batches: int,
                  rounds: int) -> None:  # fmt: skip
    crops = batches * BATCH
    lines = [
        f"# RAM cache: RandomCrops epochs over HTTP (nginx, 127.0.0.1){' (quick)' if a.quick else ''}",
        "",
        f"uint16 {SHAPE} (128 MiB), shards (16, 4, 256, 256) of zstd inner chunks (1, 4, 64, 64), written by "
        f"zarr-python; {crops} crops of (4, 4, 128, 128) per epoch in batches of {BATCH}; best of {rounds} "
        f"interleaved rounds; {os.cpu_count()} cores, {platform.machine()}.",
        "",
        "| contestant | seconds | crops/s | vs the same server, no cache |",
        "|---|---|---|---|",
    ]
    for k, t in best.items():
        ref = best[k.split(",")[0] + ", no cache"]
        lines.append(f"| {k} | {t:.3f} | {crops / t:.0f} | {ref / t:.2f}x |")
    lines.append("")
    for name in stats:
        e1, e2 = best[f"{name}, cache, epoch 1"], best[f"{name}, cache, epoch 2"]
        lines.append(f"- {name}: epoch 2 vs epoch 1 on the cached store **{e1 / e2:.2f}x** (target >= 3x); "
                     f"cache counters after the last round: {stats[name]}")
    lines += ["",
              f"Command: `.venv/bin/python bench/cache_bench.py{' --quick' if a.quick else ''}`"]  # fmt: skip
    out = HERE / "results"
    name = "cache-quick" if a.quick else "cache"
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ks = list(best)
    ax.barh(ks, [crops / best[k] for k in ks], color=["C0" if "epoch 2" in k else "C7" for k in ks])
    ax.set_xlabel("crops/s (higher is better)")
    ax.set_title("RandomCrops over HTTP: RAM cache epochs")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
