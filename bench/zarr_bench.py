#!/usr/bin/env python3
"""Zarr read benchmark, after the public zarr_benchmarks suite, scaled to this machine.

A uint16 cube stored three ways (uncompressed chunks; zstd chunks; shards of
zstd inner chunks), read by LSIO, tensorstore, zarr-python and zarr-python with
the zarrs codec pipeline, each contestant in its own process (so peak RSS is
its own), page cache hot, in interleaved rounds. Writes bench/results/zarr.md and zarr.png.

    .venv/bin/python bench/zarr_bench.py [--size 512] [--crops 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CONTESTANTS = ["lsio", "tensorstore", "zarr-python", "zarr-python+zarrs", "fio", "output write"]
# References of raw read-all, not libraries: fio (the files read into a small buffer: the machine's read limit)
# and "output write" (np.full of the result's shape: allocating and writing the output once, which every
# library's read-all pays and fio does not).
REFERENCES = ("fio", "output write")
WORKLOADS = ["read all", "chunk by chunk", "inner chunk by inner chunk", "random 64^3 crops"]


def layouts(size: int) -> dict[str, dict]:
    chunk = min(256, size)
    return {
        "raw": {"chunks": (chunk,) * 3, "shards": None, "compressors": None},
        "zstd": {"chunks": (chunk,) * 3, "shards": None, "compressors": "zstd"},
        "sharded": {"chunks": (64,) * 3, "shards": (chunk,) * 3, "compressors": "zstd"},
    }


def slab(size: int, i0: int, i1: int, rng: np.random.Generator) -> np.ndarray:
    """Planes [i0, i1) of a smooth-ish cube (like imagery, so zstd has something to do) plus a little noise."""
    i = np.arange(i0, i1, dtype=np.int32)[:, None, None]
    j = np.arange(size, dtype=np.int32)[None, :, None]
    k = np.arange(size, dtype=np.int32)[None, None, :]
    base = ((i * 7 + j * 3 + k) % 4096).astype(np.uint16)
    return base + rng.integers(0, 64, size=base.shape, dtype=np.uint16)


def create_data(root: Path, size: int) -> None:
    import zarr
    from zarr.codecs import ZstdCodec

    for name, spec in layouts(size).items():
        path = root / f"{name}.zarr"
        meta = path / "zarr.json"
        if meta.exists() and json.loads(meta.read_text()).get("shape") == [size] * 3:
            continue  # made earlier at this size (another size is rewritten: its selections would not match)
        comp = ZstdCodec(level=1) if spec["compressors"] else None
        a = zarr.create_array(str(path), shape=(size,) * 3, dtype="uint16", chunks=spec["chunks"],
                              shards=spec["shards"], compressors=comp, overwrite=True)
        rng = np.random.default_rng(0)
        step = (spec["shards"] or spec["chunks"])[0]
        for i0 in range(0, size, step):  # one chunk/shard-deep slab at a time: bounded memory
            a[i0:i0 + step] = slab(size, i0, min(size, i0 + step), rng)


def selections(workload: str, size: int, layout: dict, crops: int) -> list[tuple[slice, ...]]:
    if workload == "read all":
        return [(slice(0, size),) * 3]
    step = layout["shards"][0] if workload == "chunk by chunk" and layout["shards"] else layout["chunks"][0]
    if workload in ("chunk by chunk", "inner chunk by inner chunk"):
        if workload == "inner chunk by inner chunk" and not layout["shards"]:
            return []
        r = range(0, size, step)
        return [(slice(i, i + step), slice(j, j + step), slice(k, k + step)) for i in r for j in r for k in r]
    rng = np.random.default_rng(1)
    starts = rng.integers(0, size - 64, size=(crops, 3))
    return [tuple(slice(int(s), int(s) + 64) for s in st) for st in starts]


def open_reader(contestant: str, path: str):
    """A function reading a list of selections, each library's fastest way: LSIO reads equal-shaped boxes in one
    batch (read_crops), tensorstore issues every read before waiting, zarr-python reads one selection at a time."""
    if contestant == "output write":
        return lambda sels: [np.full(tuple(s.stop - s.start for s in sel), 1, np.uint16) for sel in sels]
    if contestant == "lsio":
        import lsio.zarr
        a = lsio.zarr.open(path)

        def read_lsio(sels):
            shapes = {tuple(s.stop - s.start for s in sel) for sel in sels}
            if len(sels) > 1 and len(shapes) == 1:
                starts = np.array([[s.start for s in sel] for sel in sels], dtype=np.int64)
                return [a.read_crops(starts, shapes.pop())]
            return [a[sel] for sel in sels]
        return read_lsio
    if contestant == "tensorstore":
        import tensorstore as ts
        t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}).result()
        return lambda sels: [f.result() for f in [t[sel].read() for sel in sels]]
    import zarr
    if contestant == "zarr-python+zarrs":
        zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"})
    a = zarr.open_array(path, mode="r")
    return lambda sels: [a[sel] for sel in sels]


FIO_ENGINES = {"psync": "ioengine=psync", "io_uring qd8": "ioengine=io_uring\niodepth=8"}


def fio_read_all(path: Path, cold: bool, runs: int = 1) -> dict:
    """fio reading every chunk/shard file of a layout once, sequentially in 1 MiB blocks, 2 jobs (half the files
    each): the machine's limit for "read all". Best of `runs` over psync and io_uring qd8; same cache state as LSIO.
    main() calls it once per round, interleaved with the libraries like any contestant."""
    files = sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file() and f.name != "zarr.json")
    total = sum((path / f).stat().st_size for f in files)
    best: dict = {"error": "fio not run"}
    for label, engine in FIO_ENGINES.items():
        sections = [f"[j{i}]\nfilename={':'.join(files[i::2])}" for i in range(2)]
        job = (f"[global]\ndirectory={path}\nrw=read\nbs=1M\ninvalidate=0\n{engine}\n"
               "file_service_type=sequential\n" + "\n".join(sections) + "\n")
        job_file = Path("/tmp") / f"lsio-zarr-fio-{path.name}.fio"
        job_file.write_text(job)
        for _ in range(runs):
            if cold:
                drop_page_cache()
            t0 = time.perf_counter()
            r = subprocess.run(["fio", "--output-format=json", str(job_file)], capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if r.returncode != 0:
                return {"error": (r.stderr.strip().splitlines() or ["fio failed"])[-1][:120]}
            doc = json.loads(r.stdout[r.stdout.index("{"):])
            # fio's own runtime (ms, slowest job), not process start-up.
            seconds = max(j["read"]["runtime"] for j in doc["jobs"]) / 1000 or seconds
            nbytes = sum(j["read"]["io_bytes"] for j in doc["jobs"])
            if nbytes != total:
                return {"error": f"fio read {nbytes} of {total} bytes"}
            if seconds < best.get("seconds", float("inf")):
                best = {"seconds": seconds, "bytes": nbytes, "peak_rss_mib": 0.0, "config": label}
    return best


def drop_page_cache() -> None:
    """Empties the page cache (needs root): the next read comes from the device."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("1\n")


def child(contestant: str, path: str, workload: str, size: int, crops: int, layout_name: str, cold: bool) -> None:
    layout = layouts(size)[layout_name]
    sels = selections(workload, size, layout, crops)
    # Chunk-by-chunk workloads read one chunk per call (a loop over chunks); crops go as one request list.
    groups = [sels] if workload.startswith("random") else [[s] for s in sels]
    read = open_reader(contestant, path)
    best = float("inf")
    nbytes = 0
    for _ in range(3):
        if cold:
            drop_page_cache()
        t0 = time.perf_counter()
        nbytes = sum(r.nbytes for g in groups for r in read(g))
        best = min(best, time.perf_counter() - t0)
    # VmHWM belongs to this process image (ru_maxrss can carry the parent's peak across exec).
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    rss = int(hwm.split()[1]) / 1024
    print(json.dumps({"seconds": best, "bytes": nbytes, "peak_rss_mib": rss}))


def run_child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def warm(root: Path) -> None:
    for f in root.rglob("*"):
        if f.is_file():
            f.read_bytes()


def report(results: dict, size: int, cold: bool, rounds: int, out: Path, command: str) -> None:
    lines = [
        "# Zarr read benchmark", "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: nproc {os.cpu_count()}, "
        f"kernel {os.uname().release}; page cache {'dropped before every timed read' if cold else 'hot'}; "
        f"{rounds} interleaved rounds (order rotated), each a fresh process per contestant reading 3 times; the "
        f"best of the {3 * rounds} reads counts; 1-minute load average at the end {os.getloadavg()[0]:.2f}",
        "- chunk workloads: one read call per chunk; crops: one call for all crops where the library has one "
        "(LSIO `read_crops`: one batch; tensorstore: all reads issued, then awaited), else one call per crop",
        f"- data: uint16 {size}^3 ({size**3 * 2 / 2**20:.0f} MiB) as raw {min(256, size)}^3 chunks, zstd(1) "
        f"{min(256, size)}^3 chunks, and {min(256, size)}^3 shards of 64^3 zstd(1) inner chunks (written by zarr-python)",
        "- ratio = LSIO speed / that contestant's speed; fio (raw read all only): every chunk file read once, "
        "sequentially, 1 MiB blocks, 2 jobs, best of psync and io_uring qd8 (the machine's limit for that job; "
        "its GB/s are file bytes, equal to decoded bytes for raw chunks), both engines once per round, in the "
        "rotation with the libraries; output write (raw read all only): `np.full` of a uint16 array of the "
        "result's shape in a fresh process, the cost of allocating and writing the output once, which every "
        "library's read-all pays (a fresh 2 GiB array's pages are faulted and zeroed by the kernel) and fio does "
        "not", "",
        "| layout | workload | contestant | seconds | GB/s decoded | peak RSS MiB | LSIO × |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for (layout, workload), per in results.items():
        lsio_s = per.get("lsio", {}).get("seconds")
        for c in CONTESTANTS:
            if c not in per:
                continue
            r = per[c]
            if "error" in r:
                lines.append(f"| {layout} | {workload} | {c} | error: {r['error']} | | | |")
                continue
            ratio = f"{r['seconds'] / lsio_s:.2f}" if lsio_s else "–"
            lines.append(f"| {layout} | {workload} | {c} | {r['seconds']:.3f} | {r['bytes'] / r['seconds'] / 1e9:.2f} "
                         f"| {r['peak_rss_mib']:.0f} | {ratio} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    plot(results, out.with_suffix(".png"))


def plot(results: dict, png: Path) -> None:
    """Each contestant's speed relative to LSIO's (log scale; LSIO = 1, below 1 = slower than LSIO)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in results if "seconds" in results[k].get("lsio", {})]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(CONTESTANTS)
    for i, c in enumerate(CONTESTANTS):
        vals = [results[k]["lsio"]["seconds"] / results[k][c]["seconds"] if "seconds" in results[k].get(c, {})
                else 0 for k in keys]
        ax.bar([x + i * width for x in range(len(keys))], vals, width, label=c)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(keys))])
    ax.set_xticklabels([f"{a}\n{w}" for a, w in keys], fontsize=7)
    ax.set_ylabel("speed relative to LSIO (log; LSIO = 1, higher is faster)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def results_from_table(md: Path) -> dict:
    """The results dict back from a report's table (to redraw its plot)."""
    results: dict = {}
    for line in md.read_text().splitlines():
        c = [x.strip() for x in line.split("|")[1:-1]]
        if len(c) == 7 and c[3][:1].isdigit():
            results.setdefault((c[0], c[1]), {})[c[2]] = {"seconds": float(c[3])}
    return results


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--crops", type=int, default=1000)
    p.add_argument("--data-dir", help="where the arrays live (default bench/data/zarr-SIZE)")
    p.add_argument("--cold", action="store_true", help="drop the page cache before every timed read (root)")
    p.add_argument("--only", default="", help="comma-separated contestants/layouts/workloads to run (default all)")
    p.add_argument("--out", default="zarr", help="results file stem under bench/results/")
    p.add_argument("--replot", action="store_true", help="redraw bench/results/<out>.png from its .md table")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every contestant (best counts)")
    p.add_argument("--child", nargs=7)
    a = p.parse_args()
    if a.replot:
        md = HERE / "results" / f"{a.out}.md"
        return plot(results_from_table(md), md.with_suffix(".png"))
    if a.child:
        c, path, workload, size, crops, layout, cold = a.child
        return child(c, path, workload, int(size), int(crops), layout, cold == "cold")
    root = Path(a.data_dir) if a.data_dir else HERE / "data" / f"zarr-{a.size}"
    root.mkdir(parents=True, exist_ok=True)
    create_data(root, a.size)
    if not a.cold:
        warm(root)
    only = set(filter(None, a.only.split(",")))
    results: dict = {}
    for layout_name, layout in layouts(a.size).items():
        for w in WORKLOADS:
            if not selections(w, a.size, layout, a.crops):
                continue
            chosen = [c for c in CONTESTANTS if not only or only & {c, layout_name, w}]
            per = results.setdefault((layout_name, w), {})
            with_refs = w == "read all" and layout_name == "raw"  # the references of raw read-all only
            libs = [c for c in chosen if c not in REFERENCES or with_refs]
            if libs and not a.cold:
                # Again before each workload: this VM's DAMON pages out file pages idle for a minute.
                warm(root / f"{layout_name}.zarr")
            # Rounds, the order rotated each round, so that a noisy moment of the shared machine falls on a
            # different contestant each time; each contestant's best over all its rounds counts.
            for rnd in range(a.rounds):
                for c in libs[rnd % len(libs):] + libs[:rnd % len(libs)] if libs else []:
                    if c == "fio":
                        r = fio_read_all(root / "raw.zarr", a.cold)
                    else:
                        r = run_child([c, str(root / f"{layout_name}.zarr"), w, str(a.size), str(a.crops),
                                       layout_name, "cold" if a.cold else "hot"])
                    print(f"{layout_name:8} {w:28} {c:18} round {rnd} {r}", flush=True)
                    if "seconds" in r and r["seconds"] < per.get(c, {}).get("seconds", float("inf")):
                        per[c] = r
                    elif c not in per:
                        per[c] = r
    out = HERE / "results"
    report(results, a.size, a.cold, a.rounds, out / a.out, "python bench/zarr_bench.py " + " ".join(sys.argv[1:]))
    print(f"wrote {out / a.out}.md")


if __name__ == "__main__":
    main()
