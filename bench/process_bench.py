#!/usr/bin/env python3
"""Processing whole arrays: mean + std, and a rechunk, LSIO against dask, tensorstore and xarray (issue 11).

    python bench/process_bench.py --quick     # 256 MiB float32, 2 rounds: what was run on the shared machine
    python bench/process_bench.py             # 4 GiB float32 (1024, 1024, 1024), 3 rounds
    python bench/process_bench.py --cold      # the same with the page cache dropped before every measurement (root)
    python bench/process_bench.py --tiny      # 32 MiB, 1 round: proves the script runs (figures meaningless)

Data (made once under bench/data/process/ with zarr-python, reused while the parameters match): a float32
(time, y, x) array in three layouts, zstd level 1 chunks (16, 512, 512), shards (64, 512, 512) of zstd inner
chunks (4, 128, 128), and uncompressed chunks (16, 512, 512) (the cold mean-vs-fio target). Page cache hot (the
data was just written or read), or with --cold dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every
measurement, fio's included. Each measurement runs in a child process
of its own (the time is taken inside it, imports excluded; peak RSS is the child's), rounds interleaved, best round
reported:
  - mean and std of the whole array: LSIO (one fused pass, Array.reduce_stats), dask.array.from_zarr (zarr-python,
    threads) mean + std in one compute, tensorstore slab loop (reads of 64 time steps, numpy float64 sums), xarray
    open_zarr(...).mean() and .std() (dask); fio reading every chunk/shard file once, sequentially (1 MiB blocks,
    2 jobs, best of psync and io_uring qd8): the ceiling;
  - mean on a dask.distributed LocalCluster (n_workers=2, threads_per_worker=1, processes=True; cluster start-up
    excluded): lsio Array.to_dask().mean() against dask.array.from_zarr (zarr-python) .mean(), the ratio reported;
  - rechunk of the chunked layout to (T, 64, 64) chunks, zstd level 1: lsio.zarr.copy (max_memory 1 GiB: at full
    size two passes through an intermediate array, every source chunk decoded once; 3 GiB: one aligned pass),
    tensorstore slab copy (slabs of (T, 256, Y) aligned to the destination chunks), dask rechunk() stored with
    da.store into a zarr-python array (what to_zarr does).
Writes bench/results/process[-quick|-tiny][-cold].md and .png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lsiobench import proc  # noqa: E402

DATA = BENCH_DIR / "data" / "process"
RESULTS = BENCH_DIR / "results"
REDUCE = ["lsio", "dask", "tensorstore", "xarray"]
CLUSTER = ["lsio", "zarr-python"]
LAYOUTS = ("chunked", "sharded", "uncompressed")
RECHUNK = ["lsio", "lsio-3GiB", "tensorstore", "dask"]  # lsio: max_memory 1 GiB; lsio-3GiB: 3 GiB
# lsio-2pass: 1 GiB, two passes forced (two_stage=True). Only below full size, where lsio's automatic plan is one
# pass (the whole array fits): it keeps the two-pass path running in --tiny/--quick. At full size "lsio" is two-pass.
RECHUNK_SMALL = ["lsio-2pass"]


SIZES = {"tiny": (32, 512, 512), "quick": (256, 512, 512), "full": (1024, 1024, 1024)}


def shape_of(size: str) -> tuple[int, int, int]:
    return SIZES[size]


def dataset(size: str) -> dict[str, str]:
    """Writes the three layouts once (zarr-python); returns their paths."""
    import zarr
    from zarr.codecs import ZstdCodec

    shape = shape_of(size)
    root = DATA / size
    paths = {name: str(root / f"{name}.zarr" / "t2m") for name in LAYOUTS}
    stamp = root / "done.json"
    want = {"shape": shape, "format": 2}
    if stamp.exists() and json.loads(stamp.read_text()) == json.loads(json.dumps(want)):
        return paths
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    dims = ("time", "y", "x")
    zc = zarr.open_group(str(root / "chunked.zarr"), mode="w").create_array(
        "t2m", shape=shape, chunks=(16, 512, 512), dtype="float32", compressors=[ZstdCodec(level=1)], fill_value=0,
        dimension_names=dims)  # fmt: skip
    zs = zarr.open_group(str(root / "sharded.zarr"), mode="w").create_array(
        "t2m", shape=shape, chunks=(4, 128, 128), shards=(64, 512, 512), dtype="float32",
        compressors=[ZstdCodec(level=1)], fill_value=0, dimension_names=dims)  # fmt: skip
    zu = zarr.open_group(str(root / "uncompressed.zarr"), mode="w").create_array(
        "t2m", shape=shape, chunks=(16, 512, 512), dtype="float32", compressors=None, fill_value=0,
        dimension_names=dims)  # fmt: skip
    rng = np.random.default_rng(0)
    yy, xx = np.meshgrid(np.linspace(0, 6, shape[1]), np.linspace(0, 6, shape[2]), indexing="ij")
    base = (280 + 10 * np.sin(yy) * np.cos(xx)).astype(np.float32)
    for t in range(0, shape[0], 64):
        n = min(64, shape[0] - t)
        block = base[None] + rng.standard_normal((n, *shape[1:]), dtype=np.float32)
        zc[t : t + n] = block
        zs[t : t + n] = block
        zu[t : t + n] = block
    stamp.write_text(json.dumps(want))
    return paths


# ---- children: one measurement each ----------------------------------------------------------------------------


def child_reduce(method: str, path: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    if method == "lsio":
        import lsio.zarr

        st = lsio.zarr.open_array(path, mode="r").reduce_stats()
        mean, std = float(st.mean_(dtype=np.float64)), float(st.std_(dtype=np.float64))
    elif method == "dask":
        import dask
        import dask.array as da

        d = da.from_zarr(path)
        mean, std = dask.compute(d.mean(dtype=np.float64), d.std(dtype=np.float64), scheduler="threads")
    elif method == "tensorstore":
        import tensorstore as ts

        a = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}).result()
        n, s, ss = 0, 0.0, 0.0
        for t in range(0, a.shape[0], 64):
            x = a[t : min(t + 64, a.shape[0])].read().result().astype(np.float64)
            n, s, ss = n + x.size, s + float(x.sum()), ss + float((x * x).sum())
        mean = s / n
        std = float(np.sqrt(max(ss / n - mean * mean, 0.0)))
    elif method == "xarray":
        import xarray as xr

        da_ = xr.open_zarr(os.path.dirname(path), consolidated=False)[os.path.basename(path)]
        mean, std = float(da_.mean(dtype=np.float64)), float(da_.std(dtype=np.float64))
    else:
        raise ValueError(method)
    return {"seconds": time.perf_counter() - t0, "mean": float(mean), "std": float(std)}


def child_cluster(method: str, path: str) -> dict[str, Any]:
    """The mean on a 2-process LocalCluster; the clock starts once the workers are up."""
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        client.wait_for_workers(2)
        t0 = time.perf_counter()
        if method == "lsio":
            import lsio.zarr

            d = lsio.zarr.open_array(path, mode="r").to_dask()
        else:
            d = da.from_zarr(path)
        mean = float(d.mean(dtype=np.float64).compute())
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "mean": mean}


def fio_read_all(path: Path, cold: bool) -> dict[str, Any]:
    """fio reading every chunk/shard file of a layout once, sequentially in 1 MiB blocks, 2 jobs (half the files
    each): the ceiling for a whole-array pass. Best of psync and io_uring qd8 (as bench/zarr_bench.py)."""
    files = sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file() and f.name != "zarr.json")
    total = sum((path / f).stat().st_size for f in files)
    best: dict[str, Any] = {"error": "fio not run"}
    for label, engine in {"psync": "ioengine=psync", "io_uring qd8": "ioengine=io_uring\niodepth=8"}.items():
        jobs = min(2, len(files))
        sections = [f"[j{i}]\nfilename={':'.join(files[i::jobs])}" for i in range(jobs)]
        job = (f"[global]\ndirectory={path}\nrw=read\nbs=1M\ninvalidate=0\n{engine}\n"
               "file_service_type=sequential\n" + "\n".join(sections) + "\n")  # fmt: skip
        job_file = Path("/tmp") / f"lsio-process-fio-{path.parent.name}.fio"
        job_file.write_text(job)
        if cold:
            drop_page_cache()
        r = subprocess.run(["fio", "--output-format=json", str(job_file)], capture_output=True, text=True)
        if r.returncode != 0:
            return {"error": (r.stderr.strip().splitlines() or ["fio failed"])[-1][:120]}
        doc = json.loads(r.stdout[r.stdout.index("{") :])
        seconds = max(j["read"]["runtime"] for j in doc["jobs"]) / 1000  # fio's own runtime, slowest job
        nbytes = sum(j["read"]["io_bytes"] for j in doc["jobs"])
        if not 0 <= total - nbytes < len(files) << 20:  # fio leaves each file's last partial block unread
            return {"error": f"fio read {nbytes} of {total} bytes"}
        if seconds > 0 and seconds < best.get("seconds", float("inf")):
            best = {"seconds": seconds, "peak_rss_mib": 0.0, "config": label}
    return best


def drop_page_cache() -> None:
    """sync, then drop the page cache, dentries and inodes (needs root): the next read comes from the device."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def child_rechunk(method: str, src: str, dst: str, target: tuple[int, ...]) -> dict[str, Any]:
    shutil.rmtree(dst, ignore_errors=True)
    t0 = time.perf_counter()
    if method in ("lsio", "lsio-3GiB", "lsio-2pass"):
        import lsio.zarr

        lsio.zarr.copy(src, dst, chunks=target, shards=None, max_memory="3GiB" if method == "lsio-3GiB" else "1GiB",
                       compressors=[{"name": "zstd", "configuration": {"level": 1}}],
                       two_stage=True if method == "lsio-2pass" else None)  # fmt: skip
    elif method == "tensorstore":
        import tensorstore as ts

        a = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": src}}).result()
        spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": dst},
                "metadata": {"shape": list(a.shape), "data_type": "float32",
                             "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(target)}},
                             "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                        {"name": "zstd", "configuration": {"level": 1}}]},
                "create": True, "delete_existing": True}  # fmt: skip
        b = ts.open(spec).result()
        step = target[1] * 4  # 4 destination chunk rows of the full time axis per slab
        for y in range(0, a.shape[1], step):
            b[:, y : y + step].write(a[:, y : y + step].read().result()).result()
    elif method == "dask":
        import dask.array as da
        import zarr
        from zarr.codecs import ZstdCodec

        d = da.from_zarr(src).rechunk(target)
        z = zarr.create_array(dst, shape=d.shape, chunks=target, dtype="float32", compressors=[ZstdCodec(level=1)])
        da.store(d, z, lock=False)
    else:
        raise ValueError(method)
    return {"seconds": time.perf_counter() - t0}


# ---- parent ---------------------------------------------------------------------------------------------------


def warm(array_path: str) -> None:
    """Reads every file of the array once: this VM's DAMON pages out file pages left idle for a minute, so "hot"
    means warmed just before the measurement."""
    for f in Path(array_path).parent.rglob("*"):
        if f.is_file():
            with f.open("rb") as fh:
                while fh.read(16 << 20):
                    pass


def measure(args: list[str], cold: bool = False) -> dict[str, Any]:
    """Runs one contestant in its own process; args[2] is the source array (warmed first unless cold)."""
    if cold:
        drop_page_cache()
    else:
        warm(args[2])
    r = proc.run([sys.executable, __file__, "--child", *args], timeout=3600)
    if r.returncode != 0:
        return {"error": r.tail()}
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["peak_rss_mib"] = r.peak_rss_kib / 1024
    return out


def keep(best: dict[tuple[str, str], dict[str, Any]], key: tuple[str, str], r: dict[str, Any], rnd: int) -> None:
    """Keeps the fastest successful round (a failure only when every round failed)."""
    print(f"round {rnd} {key}: {r}", file=sys.stderr)
    old = best.get(key)
    if old is None or ("seconds" in r and r["seconds"] < old.get("seconds", float("inf"))):
        best[key] = r


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="256 MiB instead of 4 GiB")
    p.add_argument("--tiny", action="store_true", help="32 MiB, 1 round: checks that the script runs")
    p.add_argument("--cold", action="store_true", help="drop the page cache before every measurement (root)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--only", choices=["mean", "cluster", "rechunk"], action="append",
                   help="run only these workloads (repeatable); the report names the file with their suffix")
    p.add_argument("--child", nargs="+")
    a = p.parse_args()
    if a.child:
        kind, method, *rest = a.child
        if kind == "reduce":
            res = child_reduce(method, rest[0])
        elif kind == "cluster":
            res = child_cluster(method, rest[0])
        else:
            res = child_rechunk(method, rest[0], rest[1], tuple(int(v) for v in rest[2].split(",")))
        print(json.dumps(res))
        return 0

    size = "tiny" if a.tiny else "quick" if a.quick else "full"
    rounds = a.rounds or {"tiny": 1, "quick": 2, "full": 3}[size]
    if a.cold and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        p.error("--cold drops the page cache: run as root")
    paths = dataset(size)
    shape = shape_of(size)
    nbytes = int(np.prod(shape)) * 4
    target = (shape[0], 64, 64)
    tmp = DATA / "out"
    tmp.mkdir(parents=True, exist_ok=True)
    best: dict[tuple[str, str], dict[str, Any]] = {}
    only = set(a.only or ["mean", "cluster", "rechunk"])
    for rnd in range(rounds):
        for layout in LAYOUTS if "mean" in only else ():
            for m in REDUCE:
                keep(best, (f"mean+std {layout}", m), measure(["reduce", m, paths[layout]], a.cold), rnd)
            keep(best, (f"mean+std {layout}", "fio"), fio_read_all(Path(paths[layout]), a.cold), rnd)
        for m in CLUSTER if "cluster" in only else ():
            keep(best, ("mean, LocalCluster 2 processes", m), measure(["cluster", m, paths["chunked"]], a.cold), rnd)
        for m in (RECHUNK + (RECHUNK_SMALL if size != "full" else [])) if "rechunk" in only else ():
            args = ["rechunk", m, paths["chunked"], str(tmp / f"{m}.zarr"), ",".join(map(str, target))]
            keep(best, (f"rechunk to {target}", m), measure(args, a.cold), rnd)
    shutil.rmtree(tmp, ignore_errors=True)
    write_report(best, size, a.cold, shape, nbytes, rounds, "" if a.only is None else "-" + "-".join(sorted(only)))
    return 0


def extrapolation(best: dict[tuple[str, str], dict[str, Any]], nbytes: int, cold: bool) -> list[str]:
    """The vision's 1 TB goals on paper, from the best LSIO rates of this run (per core: this machine's CPUs)."""
    cores = os.cpu_count() or 1
    out = ["", "On paper, the vision's 1 TB goals (mean in 3 minutes, rechunk in 10) from this run's best LSIO "
           f"rates ({'page cache dropped' if cold else 'hot page cache'}, {cores} CPUs shared with the OS, so "
           "per-core rates are lower bounds):"]  # fmt: skip
    goals = (("mean+std", 1e12 / 180, "mean"), ("rechunk", 1e12 / 600, "rechunk"))
    for prefix, need, label in goals:
        rates = {f"{w} ({m})": nbytes / r["seconds"] for (w, m), r in best.items()
                 if w.startswith(prefix) and m.startswith("lsio") and "seconds" in r}  # fmt: skip
        if not rates:
            continue
        per = "; ".join(f"{work} {rate / 1e9:.2f} GB/s = {rate / cores / 1e9:.2f} per core, about "
                        f"{math.ceil(need / (rate / cores))} such cores" for work, rate in rates.items())
        out.append(f"- 1 TB {label} needs {need / 1e9:.1f} GB/s, and storage that sustains it"
                   f"{' read and written' if label == 'rechunk' else ''}. Here: {per}.")
    fio = best.get(("mean+std uncompressed", "fio"), {})
    if "seconds" in fio:
        out.append(f"- fio read the uncompressed files at {nbytes / fio['seconds'] / 1e9:.2f} GB/s "
                   f"({'from the disk' if cold else 'from the page cache'}): 1 TB takes "
                   f"{1e12 / (nbytes / fio['seconds']) / 60:.1f} minutes at that rate, the floor for any pass over "
                   "1 TB from this storage.")
    return out if len(out) > 1 else []


def write_report(best: dict[tuple[str, str], dict[str, Any]], size: str, cold: bool, shape: tuple[int, ...],
                 nbytes: int, rounds: int, only: str = "") -> None:  # fmt: skip
    name = "process" + ("" if size == "full" else f"-{size}") + ("-cold" if cold else "") + only
    cmd = ("python bench/process_bench.py" + ("" if size == "full" else f" --{size}") + (" --cold" if cold else "")
           + "".join(f" --only {w}" for w in only.split("-")[1:]) + (f" --rounds {rounds}" if rounds != 3 else ""))
    lines = [
        f"# Processing whole arrays{'' if size == 'full' else f' ({size})'}{' (cold)' if cold else ''}",
        "",
        f"`{cmd}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, {os.cpu_count()} CPUs "
        f"(1-minute load average at the end {os.getloadavg()[0]:.2f}; 2 means both CPUs busy). float32 {shape} = {nbytes / 2**20:.0f} MiB, page cache "
        f"{'dropped before every measurement' if cold else 'hot'}, best of {rounds} interleaved rounds, each in its "
        "own process (imports excluded). GB/s are of the array's bytes for every row, fio's too (it reads the "
        "compressed files, so only its uncompressed-layout row is a ceiling for LSIO's); time / LSIO above 1: "
        "LSIO is faster.",
        "",
        "| workload | method | seconds | GB/s | time / LSIO | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for work in dict.fromkeys(k[0] for k in best):
        lsio_s = best.get((work, "lsio"), {}).get("seconds")
        for (w, m), r in best.items():
            if w != work:
                continue
            if "seconds" not in r:
                lines.append(f"| {w} | {m} | failed: {r.get('error', '')[:80]} | | | |")
                continue
            s = r["seconds"]
            ratio = f"{s / lsio_s:.2f}x" if lsio_s and m != "lsio" else ""
            lines.append(f"| {w} | {m} | {s:.3f} | {nbytes / s / 1e9:.2f} | {ratio} | {r['peak_rss_mib']:.0f} |")
    lines += [""]
    for w, what in (("mean+std uncompressed", "LSIO / fio on the uncompressed layout (target >= 0.9x cold)"),
                    ("mean, LocalCluster 2 processes", "dask on LSIO / dask on zarr-python, LocalCluster (target "
                     ">= 1.5x)")):  # fmt: skip
        ours, other = best.get((w, "lsio"), {}), best.get((w, "fio" if "fio" in what else "zarr-python"), {})
        if "seconds" in ours and "seconds" in other:
            lines.append(f"- {what}: {other['seconds'] / ours['seconds']:.2f}x")
    lines += extrapolation(best, nbytes, cold)
    lines += ["", "Results agree: " + ", ".join(
        f"{m} mean {r['mean']:.6f} std {r['std']:.6f}" for (w, m), r in best.items() if "mean" in r and "chunked" in w
    )]  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        works = list(dict.fromkeys(k[0] for k in best))
        fig, axes = plt.subplots(1, len(works), figsize=(4 * len(works), 3.2))
        for ax, work in zip(np.atleast_1d(axes), works):
            items = [(m, nbytes / r["seconds"] / 1e9) for (w, m), r in best.items() if w == work and "seconds" in r]
            ax.bar([m for m, _ in items], [v for _, v in items], color=["C0" if m == "lsio" else "C7" for m, _ in items])
            ax.set_title(work, fontsize=9)
            ax.set_ylabel("GB/s")
        fig.tight_layout()
        fig.savefig(RESULTS / f"{name}.png", dpi=100)
    except ImportError:
        pass


if __name__ == "__main__":
    sys.exit(main())
