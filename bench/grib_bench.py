#!/usr/bin/env python3
"""GRIB2 benchmark: index and decode-all with lsio.grib vs cfgrib vs a plain eccodes-python loop.

Files (generated once under bench/data/grib[-quick]/ from ecCodes' GRIB2 sample, see tests/python/grib_fixtures.py):
one file per packing (simple, complex_spatial_differencing, CCSDS), each 2 variables x 3 levels x 2 steps on a
global regular lat/lon grid (0.25 degree, 1440x721; --quick: 1 degree, 360x181). Page cache hot, one process,
interleaved rounds (every contestant once per round; the best round counts).

  index:   lsio.grib.index(all files) | cfgrib open_dataset with a fresh index (indexpath="") per file |
           eccodes-python loop reading the same keys (no values)
  decode:  lsio Index.read() (float32, decoded on the store's workers) | eccodes-python loop, 1 thread, values |
           cfgrib open_dataset(...).load() per file (index included)
  crops:   lsio.ml.RandomCrops of variable t in the simple-packing file straight from GRIB (every message a batch
           touches decoded whole, once) | from its lsio.grib.to_zarr copy (zstd, 128x128 chunks: only the chunks
           a crop touches are read and decoded). 64 crops of 1 step x 3 levels x 64x64, batches of 16, no
           prefetch (read time only).

    PYTHONPATH=... .venv/bin/python bench/grib_bench.py [--quick] [--rounds N]   # -> bench/results/grib[-quick].md/.png
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "python"))

import grib_fixtures as gf  # noqa: E402

PACKINGS = ["grid_simple", "grid_complex_spatial_differencing", "grid_ccsds"]
KEYS = ["shortName", "typeOfLevel", "level", "dataDate", "dataTime", "step", "Ni", "Nj", "packingType",
        "numberOfDataPoints"]  # fmt: skip


def make_files(base: Path, nj: int, ni: int) -> list[str]:
    base.mkdir(parents=True, exist_ok=True)
    out = []
    for p in PACKINGS:
        path = base / f"{p}-{nj}x{ni}.grib2"
        if not path.exists():
            gf.write(str(path) + ".tmp", gf.cube(("t", "u"), (500, 850, 1000), (0, 6), p, nj, ni))
            os.replace(str(path) + ".tmp", path)
        out.append(str(path))
    return out


def eccodes_index(files: list[str]) -> int:
    import eccodes

    n = 0
    for f in files:
        with open(f, "rb") as fh:
            while (h := eccodes.codes_grib_new_from_file(fh)) is not None:
                for k in KEYS:
                    eccodes.codes_get(h, k)
                eccodes.codes_release(h)
                n += 1
    return n


def eccodes_decode(files: list[str]) -> int:
    import eccodes

    n = 0
    for f in files:
        with open(f, "rb") as fh:
            while (h := eccodes.codes_grib_new_from_file(fh)) is not None:
                n += eccodes.codes_get_values(h).astype(np.float32).size
                eccodes.codes_release(h)
    return n


def cfgrib_open(files: list[str], load: bool) -> int:
    import xarray as xr

    n = 0
    for f in files:
        ds = xr.open_dataset(f, engine="cfgrib", indexpath="")
        if load:
            ds = ds.load()
        n += len(ds.data_vars)
        ds.close()
    return n


def lsio_index(files: list[str]) -> int:
    import lsio.grib

    return len(lsio.grib.index(files))


def lsio_decode(files: list[str]) -> int:
    import lsio.grib

    return int(lsio.grib.index(files).read(dtype=np.float32).size)


CROP = {"step": 1, "latitude": 64, "longitude": 64}
CROP_BATCH, CROP_SAMPLES = 16, 64


def crop_sources(grib_file: str, base: Path) -> tuple[Any, Any]:
    """(GRIB dataset, Zarr group path) for the crop row; the Zarr copy is made once by lsio.grib.to_zarr."""
    import lsio.grib

    idx = lsio.grib.index(grib_file)
    zpath = base / (Path(grib_file).stem + ".zarr")
    if not (zpath / "zarr.json").exists():
        lsio.grib.to_zarr(idx, zpath, chunks={"latitude": 128, "longitude": 128},
                          compressors=[{"name": "zstd", "configuration": {"level": 3}}], overwrite=True)  # fmt: skip
    return lsio.grib.open_dataset(idx), zpath


def crops_epoch(source: Any) -> int:
    import lsio.ml

    loader = lsio.ml.RandomCrops({"nwp": source}, {"nwp": CROP}, batch_size=CROP_BATCH,
                                 samples_per_epoch=CROP_SAMPLES, seed=0, prefetch=0)  # fmt: skip
    return sum(int(b["index"].size) for b in loader)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1-degree fields (360x181), 2 rounds (-> grib-quick.md)")
    ap.add_argument("--rounds", type=int, default=None)
    a = ap.parse_args()
    nj, ni = (181, 360) if a.quick else (721, 1440)
    rounds = a.rounds or (2 if a.quick else 5)
    name = "grib-quick" if a.quick else "grib"
    files = make_files(HERE / "data" / name, nj, ni)
    total = sum(os.path.getsize(f) for f in files)
    contestants: dict[str, Callable[[list[str]], Any]] = {
        "index: lsio.grib.index": lsio_index,
        "index: eccodes-python loop (keys)": eccodes_index,
        "index: cfgrib open_dataset (fresh index)": lambda fs: cfgrib_open(fs, False),
        "decode all: lsio Index.read": lsio_decode,
        "decode all: eccodes-python loop (1 thread)": eccodes_decode,
        "decode all: cfgrib open_dataset().load()": lambda fs: cfgrib_open(fs, True),
    }
    for fn in contestants.values():  # warm: page cache, imports, ecCodes definitions
        fn(files)
    best: dict[str, float] = {k: float("inf") for k in contestants}
    for _ in range(rounds):
        for k, fn in contestants.items():
            t0 = time.perf_counter()
            fn(files)
            best[k] = min(best[k], time.perf_counter() - t0)
    per_packing: dict[str, float] = {}
    import lsio.grib

    for p, f in zip(PACKINGS, files):
        idx = lsio.grib.index(f)
        t = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            idx.read()
            t = min(t, time.perf_counter() - t0)
        per_packing[p] = os.path.getsize(f) / t / 1e6
    import lsio.ml
    import lsio.zarr

    ds, zpath = crop_sources(files[0], HERE / "data" / name)
    zgroup = lsio.zarr.open_group(str(zpath), mode="r")
    crop_contestants: dict[str, Callable[[], int]] = {
        "crops: RandomCrops straight from GRIB": lambda: crops_epoch(lsio.ml.GribSource(ds, variables=["t"])),
        "crops: RandomCrops from the to_zarr copy": lambda: crops_epoch(lsio.ml.Source(zgroup, variable="t")),
    }
    for fn0 in crop_contestants.values():  # warm
        fn0()
    crop_best = {k: float("inf") for k in crop_contestants}
    for _ in range(rounds):
        for k, fn0 in crop_contestants.items():
            t0 = time.perf_counter()
            fn0()
            crop_best[k] = min(crop_best[k], time.perf_counter() - t0)
    lines = [
        f"# GRIB2: lsio.grib vs cfgrib vs eccodes-python ({'quick' if a.quick else 'full'})",
        "",
        f"{len(files)} files, {len(files) * 12} messages of {nj}x{ni} points, {total / 1e6:.1f} MB "
        f"({', '.join(PACKINGS)}); page cache hot; best of {rounds} interleaved rounds; "
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| contestant | seconds | MB/s (compressed) | vs cfgrib |",
        "|---|---|---|---|",
    ]
    for k, t in best.items():
        ref = best["index: cfgrib open_dataset (fresh index)" if k.startswith("index") else
                   "decode all: cfgrib open_dataset().load()"]  # fmt: skip
        lines.append(f"| {k} | {t:.4f} | {total / t / 1e6:.0f} | {ref / t:.1f}x |")
    lines += ["", "lsio Index.read per packing (decode-bound, all workers), MB/s of compressed input:", "",
              "| packing | MB/s |", "|---|---|"]  # fmt: skip
    lines += [f"| {p} | {v:.0f} |" for p, v in per_packing.items()]
    zarr_t = crop_best["crops: RandomCrops from the to_zarr copy"]
    lines += ["", f"Random training crops ({CROP_SAMPLES} crops of {CROP} x 3 levels of t, batches of "
              f"{CROP_BATCH}, {Path(files[0]).name}):", "", "| contestant | seconds | crops/s | vs Zarr copy |",
              "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {t:.4f} | {CROP_SAMPLES / t:.0f} | {zarr_t / t:.2f}x |" for k, t in crop_best.items()]
    lines += ["", f"Command: `PYTHONPATH=<lsio build> .venv/bin/python bench/grib_bench.py{' --quick' if a.quick else ''}`"]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4))
        ks = list(best)
        ax.barh(ks, [total / best[k] / 1e6 for k in ks], color=["C0" if "lsio" in k else "C7" for k in ks])
        ax.set_xlabel("MB/s of GRIB input (higher is better)")
        ax.set_title(f"GRIB2 index and decode, {nj}x{ni}, {total / 1e6:.0f} MB")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=100)
    except ImportError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
