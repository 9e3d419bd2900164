#!/usr/bin/env python3
"""GRIB2 benchmark: index, decode-all and GRIB -> Zarr with lsio.grib vs cfgrib, kerchunk and eccodes-python.

Files (generated once under bench/data/grib[-quick]/ from ecCodes' GRIB2 sample, see tests/python/grib_fixtures.py),
on a global regular lat/lon grid (0.25 degree, 1440x721; --quick: 1 degree, 360x181):
  --quick: one file per packing (simple, complex_spatial_differencing, CCSDS), 2 variables x 3 levels x 2 steps;
  full:    one file per packing and step, 4 variables (t, u, v, gh) x 13 pressure levels per file, steps added
           until the files total --gib GiB (2 by default).
Page cache hot, one process, interleaved rounds (every contestant once per round; the best round counts).

  index:   lsio.grib.index(all files) | cfgrib open_dataset with a fresh index (indexpath="") per file |
           kerchunk scan_grib per file | eccodes-python loop reading the same keys (no values)
  decode:  lsio Index.read() (float32, decoded on the store's workers) | eccodes-python loop, 1 thread, values |
           cfgrib open_dataset(...).load() per file (index included)
  to Zarr: lsio.grib.to_zarr | xarray.open_dataset(engine="cfgrib").to_zarr(), per file, same chunks (one field)
           and codec (zstd level 1); full mode converts the first step's files (one per packing)
  per packing: lsio Index.read (all workers) vs the eccodes-python loop (1 thread), MB/s of GRIB input
  crops:   lsio.ml.RandomCrops of variable t in the (first) simple-packing file straight from GRIB (every message a
           batch touches decoded whole, once) | from its lsio.grib.to_zarr copy (zstd, 128x128 chunks: only the
           chunks a crop touches are read and decoded). 64 crops of 3 levels x 64x64 (x 1 step when the file has
           several), batches of 16, no prefetch (read time only).

    PYTHONPATH=... .venv/bin/python bench/grib_bench.py [--quick] [--gib 2] [--rounds N]
        # -> bench/results/grib[-quick].md/.png
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


LEVELS = (1000, 925, 850, 700, 600, 500, 400, 300, 250, 200, 150, 100, 50)


def _make(path: Path, messages: Callable[[], list[bytes]]) -> str:
    if not path.exists():
        gf.write(str(path) + ".tmp", messages())
        os.replace(str(path) + ".tmp", path)
    return str(path)


def make_quick_files(base: Path, nj: int, ni: int) -> list[str]:
    base.mkdir(parents=True, exist_ok=True)
    return [_make(base / f"{p}-{nj}x{ni}.grib2", lambda p=p: gf.cube(("t", "u"), (500, 850, 1000), (0, 6), p, nj, ni))
            for p in PACKINGS]  # fmt: skip


def make_full_files(base: Path, nj: int, ni: int, gib: float) -> list[str]:
    """One file per packing and step (4 variables x 13 levels), steps added until the files total `gib` GiB."""
    base.mkdir(parents=True, exist_ok=True)
    out: list[str] = []
    step = 0
    while sum(os.path.getsize(f) for f in out) < gib * 2**30:
        for p in PACKINGS:
            cube = lambda p=p, step=step: gf.cube(("t", "u", "v", "gh"), LEVELS, (step,), p, nj, ni)  # noqa: E731
            out.append(_make(base / f"{p}-{nj}x{ni}-step{step:03d}.grib2", cube))
        step += 6
        print(f"  {len(out)} files, {sum(os.path.getsize(f) for f in out) / 2**30:.2f} GiB", flush=True)
    return out


def packing_of(path: str) -> str:
    return next(p for p in PACKINGS if Path(path).name.startswith(p + "-"))


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


def kerchunk_index(files: list[str]) -> int:
    from kerchunk.grib2 import scan_grib

    return sum(len(scan_grib(f)) for f in files)


ZSTD = {"name": "zstd", "configuration": {"level": 1}}


def lsio_to_zarr(files: list[str], out: Path) -> int:
    import lsio.grib

    for i, f in enumerate(files):
        lsio.grib.to_zarr(f, str(out / f"lsio-{i}.zarr"), compressors=[ZSTD], overwrite=True)
    return len(files)


def cfgrib_to_zarr(files: list[str], out: Path) -> int:
    import xarray as xr
    from zarr.codecs import ZstdCodec

    for i, f in enumerate(files):
        ds = xr.open_dataset(f, engine="cfgrib", indexpath="")
        enc = {v: {"compressors": [ZstdCodec(level=1)], "chunks": (1,) * (ds[v].ndim - 2) + ds[v].shape[-2:]}
               for v in ds.data_vars}  # fmt: skip
        ds.to_zarr(str(out / f"cfgrib-{i}.zarr"), mode="w", encoding=enc, zarr_format=3, consolidated=False)
        ds.close()
    return len(files)


def lsio_index(files: list[str]) -> int:
    import lsio.grib

    return len(lsio.grib.index(files))


def lsio_decode(files: list[str]) -> int:
    import lsio.grib

    return int(lsio.grib.index(files).read(dtype=np.float32).size)


CROP_BATCH, CROP_SAMPLES = 16, 64


def crop_sources(grib_file: str, base: Path) -> tuple[Any, Any, dict[str, int]]:
    """(GRIB source, Zarr source, crop) of variable t for the crop rows; the Zarr copy is made once by to_zarr."""
    import lsio.grib
    import lsio.ml
    import lsio.zarr

    idx = lsio.grib.index(grib_file)
    zpath = base / (Path(grib_file).stem + "-crops.zarr")
    if not (zpath / "zarr.json").exists():
        lsio.grib.to_zarr(idx, zpath, chunks={"latitude": 128, "longitude": 128}, compressors=[ZSTD], overwrite=True)
    gsrc = lsio.ml.GribSource(lsio.grib.open_dataset(idx), variables=["t"])
    zsrc = lsio.ml.Source(lsio.zarr.open_group(str(zpath), mode="r"), variable="t")
    crop = {"isobaricInhPa": 3, "latitude": 64, "longitude": 64}
    if "step" in gsrc.dims:
        crop["step"] = 1
    return gsrc, zsrc, crop


def crops_epoch(source: Any, crop: dict[str, int]) -> int:
    import lsio.ml

    loader = lsio.ml.RandomCrops({"nwp": source}, {"nwp": crop}, batch_size=CROP_BATCH,
                                 samples_per_epoch=CROP_SAMPLES, seed=0, prefetch=0)  # fmt: skip
    return sum(int(b["index"].size) for b in loader)


def timed_rounds(contestants: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    best: dict[str, float] = {k: float("inf") for k in contestants}
    for r in range(rounds):
        for k, fn in contestants.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
            print(f"  round {r + 1}: {k}: {time.perf_counter() - t0:.3f} s", flush=True)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1-degree fields (360x181), 2 rounds (-> grib-quick.md)")
    ap.add_argument("--gib", type=float, default=2.0, help="full mode: total size of the GRIB files")
    ap.add_argument("--rounds", type=int, default=None)
    a = ap.parse_args()
    nj, ni = (181, 360) if a.quick else (721, 1440)
    rounds = a.rounds or 2
    name = "grib-quick" if a.quick else "grib"
    data = HERE / "data" / name
    files = make_quick_files(data, nj, ni) if a.quick else make_full_files(data, nj, ni, a.gib)
    zfiles = files if a.quick else files[: len(PACKINGS)]
    total = sum(os.path.getsize(f) for f in files)
    ztotal = sum(os.path.getsize(f) for f in zfiles)
    nmsg = lsio_index(files)
    zout = data / "zarr-out"
    zout.mkdir(exist_ok=True)
    contestants: dict[str, Callable[[], Any]] = {
        "index: lsio.grib.index": lambda: lsio_index(files),
        "index: eccodes-python loop (keys)": lambda: eccodes_index(files),
        "index: cfgrib open_dataset (fresh index)": lambda: cfgrib_open(files, False),
        "index: kerchunk scan_grib": lambda: kerchunk_index(files),
        "decode all: lsio Index.read": lambda: lsio_decode(files),
        "decode all: eccodes-python loop (1 thread)": lambda: eccodes_decode(files),
        "decode all: cfgrib open_dataset().load()": lambda: cfgrib_open(files, True),
        "to Zarr: lsio.grib.to_zarr": lambda: lsio_to_zarr(zfiles, zout),
        "to Zarr: cfgrib open_dataset().to_zarr()": lambda: cfgrib_to_zarr(zfiles, zout),
    }
    for f in files:  # warm: page cache (the files were just written or read), imports, ecCodes definitions
        Path(f).read_bytes()
    lsio_index(files[:1]), eccodes_index(files[:1]), cfgrib_open(files[:1], False)
    best = timed_rounds(contestants, rounds)
    import lsio.grib

    per_packing: dict[str, tuple[float, float]] = {}
    for p in PACKINGS:
        pf = [f for f in files if packing_of(f) == p]
        size = sum(os.path.getsize(f) for f in pf)
        t = timed_rounds({"lsio": lambda pf=pf: lsio_decode(pf), "eccodes": lambda pf=pf: eccodes_decode(pf)}, rounds)
        per_packing[p] = (size / t["lsio"] / 1e6, size / t["eccodes"] / 1e6)
    gsrc, zsrc, crop = crop_sources(files[0], data)
    crops = timed_rounds({"crops: RandomCrops straight from GRIB": lambda: crops_epoch(gsrc, crop),
                          "crops: RandomCrops from the to_zarr copy": lambda: crops_epoch(zsrc, crop)}, rounds)  # fmt: skip
    write_results(a, name, files, nmsg, total, ztotal, zfiles, nj, ni, rounds, best, per_packing)
    write_crops(name, Path(files[0]).name, crop, crops)
    return 0


def write_results(a: argparse.Namespace, name: str, files: list[str], nmsg: int, total: int, ztotal: int,
                  zfiles: list[str], nj: int, ni: int, rounds: int, best: dict[str, float],
                  per_packing: dict[str, tuple[float, float]]) -> None:  # fmt: skip
    cores = os.cpu_count() or 1
    lines = [
        f"# GRIB2: lsio.grib vs cfgrib, kerchunk and eccodes-python ({'quick' if a.quick else 'full'})",
        "",
        f"{len(files)} files, {nmsg} messages of {nj}x{ni} points, {total / 1e6:.1f} MB "
        f"({', '.join(PACKINGS)}); to Zarr: {len(zfiles)} files, {ztotal / 1e6:.1f} MB; page cache hot; "
        f"best of {rounds} interleaved rounds; {cores} cores, {platform.machine()}, "
        f"Python {platform.python_version()}.",
        "",
        "| contestant | seconds | MB/s (GRIB input) | vs cfgrib |",
        "|---|---|---|---|",
    ]
    refs = {"index": "index: cfgrib open_dataset (fresh index)", "decode all": "decode all: cfgrib open_dataset().load()",
            "to Zarr": "to Zarr: cfgrib open_dataset().to_zarr()"}  # fmt: skip
    for k, t in best.items():
        group = k.split(":")[0]
        size = ztotal if group == "to Zarr" else total
        lines.append(f"| {k} | {t:.4f} | {size / t / 1e6:.0f} | {best[refs[group]] / t:.1f}x |")
    lines += ["", f"Decode rate per packing, MB/s of GRIB input: lsio Index.read on all {cores} workers vs the "
              f"eccodes-python loop on 1 thread (ecCodes' own decode), and lsio / (ecCodes x {cores} cores):", "",
              "| packing | lsio MB/s | lsio MB/s per core | ecCodes 1 thread MB/s | lsio / (ecCodes x cores) |",
              "|---|---|---|---|---|"]  # fmt: skip
    for p, (lm, em) in per_packing.items():
        lines.append(f"| {p} | {lm:.0f} | {lm / cores:.0f} | {em:.0f} | {lm / (em * cores):.2f} |")
    slowest = min(lm for lm, _ in per_packing.values()) / cores
    lines += ["", f"1 TB on paper: at the slowest packing's {slowest:.0f} MB/s per core, decoding 1 TB of GRIB takes "
              f"{1e6 / slowest / 60:.0f} core-minutes, i.e. under 10 minutes with {int(1e6 / slowest / 600) + 1} cores "
              "(decode-bound; reading 1 TB in 10 minutes also needs 1.7 GB/s of storage)."]  # fmt: skip
    cmd = " --quick" if a.quick else (f" --gib {a.gib:g}" if a.gib != 2.0 else "")
    lines += ["", f"Command: `PYTHONPATH=<lsio build> .venv/bin/python bench/grib_bench.py{cmd}`"]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(out / f"{name}.png", best, total, ztotal, nj, ni)


def write_crops(name: str, file: str, crop: dict[str, int], crops: dict[str, float]) -> None:
    """Appends the crop rows to the results file written by write_results."""
    zarr_t = crops["crops: RandomCrops from the to_zarr copy"]
    lines = ["", f"Random training crops: {CROP_SAMPLES} crops of t, {crop}, batches of {CROP_BATCH}, from {file} "
             "(GRIB: whole messages decoded; Zarr copy: zstd 128x128 chunks):", "",
             "| contestant | seconds | crops/s | vs Zarr copy |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {t:.4f} | {CROP_SAMPLES / t:.0f} | {zarr_t / t:.2f}x |" for k, t in crops.items()]
    path = HERE / "results" / f"{name}.md"
    text = path.read_text().split("\nCommand: ")
    path.write_text(text[0] + "\n".join(lines) + "\n\nCommand: " + text[1] if len(text) == 2 else
                    path.read_text() + "\n".join(lines) + "\n")  # fmt: skip
    print("\n".join(lines))


def plot(path: Path, best: dict[str, float], total: int, ztotal: int, nj: int, ni: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    ks = list(best)
    mbs = [(ztotal if k.startswith("to Zarr") else total) / best[k] / 1e6 for k in ks]
    ax.barh(ks, mbs, color=["C0" if "lsio" in k else "C7" for k in ks])
    ax.set_xscale("log")
    ax.set_xlabel("MB/s of GRIB input (log scale, higher is better)")
    ax.set_title(f"GRIB2 index, decode and to-Zarr, {nj}x{ni}, {total / 1e6:.0f} MB")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
