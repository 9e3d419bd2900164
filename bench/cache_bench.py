#!/usr/bin/env python3
"""RAM cache benchmark: epochs of lsio.ml.RandomCrops over HTTP (nginx on 127.0.0.1), with and without a cache.

Dataset (written once by zarr-python under bench/data/cache/, served by nginx): uint16 (time=256, channel=4,
y=512, x=512), 512 MiB, shards (16, 4, 256, 256) of zstd inner chunks (1, 4, 64, 64) (16,384 inner chunks). One
epoch is 256 random crops of (4, 4, 128, 128) in batches of 32: each crop touches 36 inner chunks, so an epoch
touches each chunk 0.56 times on average and epoch 1 reuses little of itself (about one pass, as an ML epoch is;
the measured within-epoch reuse is printed). --quick: (32, 4, 256, 256), 16 crops in batches of 8.

Every round opens fresh stores and runs, interleaved: an epoch without a cache; then on a store with
cache="2GiB": epoch 1, epoch 2 replaying epoch 1's crops (served from RAM: no read, no decode) and epoch 3 with new
crops (hits only where epoch 1 touched the same chunks); once with the default (every call confirms each shard's
version: one HEAD per shard per batch) and once with revalidate_after="1h" (versions trusted for an hour).
Reported: best seconds per contestant and epoch 2's speed-up over epoch 1 (target >= 3x). Two servers: nginx
(loopback: a transfer costs little more than a page-cache read) and our fault server answering every request after
20 ms (`slow-first-byte:delay=0.02`), a stand-in for a cloud object store's first-byte latency; a local file store
(page cache hot) is the floor.

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

FULL = {"shape": (256, 4, 512, 512), "crops": 256, "batch": 32}
QUICK = {"shape": (32, 4, 256, 256), "crops": 16, "batch": 8}
CHUNKS = (1, 4, 64, 64)
CROP = {"time": 4, "y": 128, "x": 128}
TTL = "1h"


def make_data(root: Path, shape: tuple[int, ...]) -> Path:
    path = root / "cube.zarr"
    import zarr

    if (path / "zarr.json").exists() and tuple(zarr.open_array(str(path), mode="r").shape) == tuple(shape):
        return path  # made before, with this shape (another shape is made again)

    rng = np.random.default_rng(0)
    z = zarr.create_array(str(path), shape=shape, dtype="uint16", chunks=CHUNKS, shards=(16, 4, 256, 256),
                          compressors=[zarr.codecs.ZstdCodec(level=1)], dimension_names=("time", "channel", "y", "x"),
                          overwrite=True)  # fmt: skip
    ny, nx = shape[2], shape[3]
    base = (np.arange(nx)[None, :] + np.arange(ny)[:, None]).astype(np.uint16)
    for t in range(0, shape[0], 16):
        z[t:t + 16] = base[None, None] + rng.integers(0, 64, (16, 4, ny, nx), dtype=np.uint16)
    return path


def epoch(store: Any, epoch_no: int, mode: dict[str, Any]) -> int:
    import lsio.ml
    import lsio.zarr

    a = lsio.zarr.open_array(store, "cube.zarr", mode="r")
    loader = lsio.ml.RandomCrops(sources={"x": a}, crop={"x": CROP}, batch_size=mode["batch"], seed=7,
                                 samples_per_epoch=mode["crops"], prefetch=2)  # fmt: skip
    loader.set_epoch(epoch_no)
    n = 0
    for b in loader:
        n += int(b["x"].shape[0])
    return n


def timed(best: dict[str, float], key: str, fn: Any) -> None:
    t0 = time.perf_counter()
    fn()
    best[key] = min(best.get(key, 1e9), time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a 16 MiB array, 16 crops, 2 rounds (-> cache-quick.md)")
    a = ap.parse_args()
    import lsio

    mode = QUICK if a.quick else FULL
    rounds = 2 if a.quick else a.rounds
    root = HERE / "data" / ("cache-quick" if a.quick else "cache")
    make_data(root, mode["shape"])
    best: dict[str, float] = {}
    stats: dict[str, Any] = {}
    reuse: dict[str, float] = {}
    with Nginx(root) as nginx, FaultServer(root) as fault:
        urls = {"nginx": nginx.url, "20 ms server": fault.url + "slow-first-byte:delay=0.02/"}
        for url in urls.values():
            epoch(lsio.open(url), 5, mode)  # warm: connections, page cache, imports
        for r in range(rounds):
            timed(best, "local files (page cache), no cache", lambda: epoch(lsio.open(str(root)), 0, mode))
            for name, url in urls.items():
                timed(best, f"{name}, no cache", lambda: epoch(lsio.open(url), 0, mode))
                for variant, extra in (("cache", {}), (f"cache, revalidate_after={TTL}", {"revalidate_after": TTL})):
                    cached = lsio.open(url, cache="2GiB", **extra)
                    timed(best, f"{name}, {variant}, epoch 1", lambda: epoch(cached, 0, mode))
                    c = cached.cache_stats() or {}
                    reuse[name] = c["decoded_hits"] / max(1, c["decoded_hits"] + c["decoded_misses"])
                    timed(best, f"{name}, {variant}, epoch 2 (same crops)", lambda: epoch(cached, 0, mode))
                    timed(best, f"{name}, {variant}, epoch 3 (new crops)", lambda: epoch(cached, 1, mode))
                    stats[f"{name}, {variant}"] = dict(cached.cache_stats() or {})
            print(f"round {r + 1}: " + ", ".join(f"{k} {v:.3f} s" for k, v in best.items()), flush=True)
    write_results(a, mode, best, stats, reuse, rounds)
    return 0


def write_results(a: argparse.Namespace, mode: dict[str, Any], best: dict[str, float], stats: dict[str, Any],
                  reuse: dict[str, float], rounds: int) -> None:  # fmt: skip
    crops = mode["crops"]
    shape = mode["shape"]
    mib = int(np.prod(shape)) * 2 >> 20
    lines = [
        f"# RAM cache: RandomCrops epochs over HTTP (nginx, 127.0.0.1){' (quick)' if a.quick else ''}",
        "",
        f"uint16 {shape} ({mib} MiB), shards (16, 4, 256, 256) of zstd inner chunks {CHUNKS}, written by "
        f"zarr-python; {crops} crops of (4, 4, 128, 128) per epoch in batches of {mode['batch']}; best of {rounds} "
        f"interleaved rounds; {os.cpu_count()} cores, {platform.machine()}. Epoch 2 replays epoch 1's crops, "
        "epoch 3 draws new ones.",
        "",
        "| contestant | seconds | crops/s | vs the same server, no cache |",
        "|---|---|---|---|",
    ]
    for k, t in best.items():
        ref = best[k.split(",")[0] + ", no cache"]
        lines.append(f"| {k} | {t:.3f} | {crops / t:.0f} | {ref / t:.2f}x |")
    lines.append("")
    for name, r in reuse.items():
        lines.append(f"- {name}: within-epoch reuse of epoch 1 (decoded hits / inner chunk lookups) {r:.0%}")
    for key in stats:
        e1, e2 = best[f"{key}, epoch 1"], best[f"{key}, epoch 2 (same crops)"]
        counters = {k: v for k, v in stats[key].items() if k.startswith(("decoded_", "raw_", "version_")) and v}
        lines.append(f"- {key}: epoch 2 vs epoch 1 on the cached store **{e1 / e2:.2f}x** (target >= 3x); "
                     f"counters after the last round: {counters}")
    lines += ["",
              f"Command: `.venv/bin/python bench/cache_bench.py{' --quick' if a.quick else ''}`"]  # fmt: skip
    out = HERE / "results"
    name = "cache-quick" if a.quick else "cache"
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    ks = list(best)
    ax.barh(ks, [crops / best[k] for k in ks], color=["C0" if "epoch 2" in k else "C7" for k in ks])
    ax.set_xlabel("crops/s (higher is better)")
    ax.set_title("RandomCrops over HTTP: RAM cache epochs")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
