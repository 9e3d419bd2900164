#!/usr/bin/env python3
"""`make demo`: LSIO reading a sharded Zarr v3 cube, against fio and tensorstore.

    python bench/demo.py            # 256 x 4 x 1024 x 1024 uint16 (2 GiB), ~3-5 min on 2 cores the first time
    python bench/demo.py --quick    # 64 x 4 x 512 x 512 (128 MiB), well under a minute

Creates (once, reused while its parameters match) a synthetic satellite-like
cube under bench/data/demo/: dimensions (time, channel, y, x), uint16, smooth
terrain plus moving clouds plus sensor noise, one offset and gain per channel.
It is stored as Zarr v3 shards of (16, 4, 256, 256) holding inner chunks of
(1, 4, 128, 128) (one time step, every band, a 128 x 128 training patch),
compressed with zstd level 1; the shard index (bytes + crc32c, at the end) is
lsio.zarr.create's default.

Then, page cache hot, in this one process:
  - fio reads the shard files sequentially (1 MiB blocks, one job per CPU, psync
    and io_uring): the machine's limit on the same bytes;
  - LSIO and tensorstore read the whole array, and then 500 (quick: 200)
    random crops of (12, 4, 128, 128), 32 per call (a training batch); best of 3, interleaved.
  - the mean of the whole array (LSIO: fused decode-and-reduce; tensorstore: a shard
    row at a time into numpy), and an LSIO copy of it into (T, 1, 128, 128) chunks.
Prints a markdown table and writes it to bench/results/demo.md (demo-quick.md
with --quick) with the command, date and machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lsiobench import fio, proc, report  # noqa: E402
from lsiobench.results import Measurement, failed  # noqa: E402

import lsio  # noqa: E402
import lsio.zarr  # noqa: E402

FORMAT = 1  # bump when the generator changes, so old datasets are rebuilt
DIMS = ("time", "channel", "y", "x")
Shape = tuple[int, ...]
Selection = tuple[slice, ...]


# -- parameters ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """What the dataset is; stored next to it to decide whether it can be reused."""

    shape: Shape
    chunks: Shape = (1, 4, 128, 128)
    shards: Shape = (16, 4, 256, 256)
    zstd_level: int = 1
    seed: int = 0
    format: int = FORMAT

    @property
    def name(self) -> str:
        return "sat-" + "x".join(map(str, self.shape))

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * 2

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Job:
    """What each contestant reads."""

    crops: int
    crop: Shape = (12, 4, 128, 128)
    repeats: int = 3
    fio_runtime_s: int = 3
    seed: int = 1


def settings(quick: bool) -> tuple[Params, Job]:
    if quick:
        return Params(shape=(64, 4, 512, 512)), Job(crops=200, fio_runtime_s=1)
    return Params(shape=(256, 4, 1024, 1024)), Job(crops=500)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- dataset --------------------------------------------------------------------------------------------------


def smooth_field(rng: np.random.Generator, n: int, beta: float) -> npt.NDArray[np.float32]:
    """An n x n random field with a 1/k^beta spectrum (terrain-like for beta ~1.5), zero mean, unit variance."""
    spectrum = rng.standard_normal((n, n // 2 + 1)) + 1j * rng.standard_normal((n, n // 2 + 1))
    k = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :])
    k[0, 0] = 1.0
    spectrum *= k**-beta
    spectrum[0, 0] = 0.0
    x = np.fft.irfft2(spectrum, s=(n, n)).astype(np.float32)
    return (x - x.mean()) / x.std()


@dataclass
class Scene:
    """Static terrain, clouds drifting by (2, 1) pixels per time step, a seasonal gain, per-band response."""

    terrain: npt.NDArray[np.float32]
    clouds: npt.NDArray[np.float32]
    rng: np.random.Generator
    offset: npt.NDArray[np.float32] = field(default_factory=lambda: np.array([900, 1100, 1300, 2200], np.float32))
    gain: npt.NDArray[np.float32] = field(default_factory=lambda: np.array([250, 300, 350, 700], np.float32))
    cloud_gain: npt.NDArray[np.float32] = field(default_factory=lambda: np.array([900, 900, 900, 600], np.float32))
    noise: int = 24  # sensor noise amplitude (uniform, in counts): what makes zstd work for its ratio

    @classmethod
    def make(cls, p: Params) -> Scene:
        t, _, y, x = p.shape
        n = 1 << max(y + 2 * t, x + t).bit_length()  # room for the clouds to drift
        rng = np.random.default_rng(p.seed)
        return cls(smooth_field(rng, n, 1.6), smooth_field(rng, n, 2.0), rng)

    def slab(self, t0: int, t1: int, shape: Shape) -> npt.NDArray[np.uint16]:
        """Time steps [t0, t1) of every band, shape (t1 - t0, C, Y, X)."""
        _, c, y, x = shape
        out = np.empty((t1 - t0, c, y, x), np.uint16)
        terrain = self.terrain[:y, :x]
        for i, t in enumerate(range(t0, t1)):
            season = np.float32(1 + 0.2 * math.sin(2 * math.pi * t / 64))
            clouds = np.maximum(self.clouds[2 * t : 2 * t + y, t : t + x] - 0.8, 0)
            noise = self.rng.integers(0, self.noise, size=(c, y, x), dtype=np.uint16)
            for b in range(c):
                v = self.offset[b % 4] + (self.gain[b % 4] * season) * terrain + self.cloud_gain[b % 4] * clouds
                np.clip(v, 0, 65535 - self.noise, out=v)
                np.add(v.astype(np.uint16), noise[b], out=out[i, b])
        return out


def dataset(root: Path, p: Params) -> Path:
    """The array's directory, created unless a complete one with the same parameters exists."""
    path = root / f"{p.name}.zarr"
    sidecar = root / f"{p.name}.json"  # written last: its presence means the array is complete
    if sidecar.exists() and path.is_dir() and json.loads(sidecar.read_text()) == p.to_json():
        log(f"reusing {path}")
        return path
    sidecar.unlink(missing_ok=True)
    log(f"creating {path} ({p.nbytes / 2**30:.2f} GiB decoded)")
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    codecs = [{"name": "bytes", "configuration": {"endian": "little"}},
              {"name": "zstd", "configuration": {"level": p.zstd_level, "checksum": False}}]
    a = lsio.zarr.create(path, shape=p.shape, dtype="uint16", chunks=p.chunks, shards=p.shards, codecs=codecs,
                         dimension_names=DIMS, attributes={"lsio_demo": p.to_json()}, overwrite=True)
    scene = Scene.make(p)
    step = p.shards[0]
    for t in range(0, p.shape[0], step):
        a[t : t + step] = scene.slab(t, min(t + step, p.shape[0]), p.shape)  # whole shards: memory stays bounded
    sidecar.write_text(json.dumps(p.to_json()))
    log(f"  written in {time.perf_counter() - t0:.1f} s")
    return path


def shard_files(path: Path) -> list[Path]:
    return sorted(f for f in (path / "c").rglob("*") if f.is_file())


def warm(files: Sequence[Path]) -> None:
    """Reads every file once so that everything below runs from the page cache."""
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while fh.read(1 << 24):
                pass


def inner_chunk_sizes(path: Path, p: Params) -> npt.NDArray[np.int64]:
    """Stored bytes of every inner chunk, on the inner chunk grid, from the shard indexes (index at the end)."""
    per_shard = tuple(s // c for s, c in zip(p.shards, p.chunks))
    grid = tuple(n // s for n, s in zip(p.shape, p.shards))
    sizes = np.zeros(tuple(g * k for g, k in zip(grid, per_shard)), np.int64)
    entries = math.prod(per_shard)
    for idx in np.ndindex(*grid):
        f = path / "c" / "/".join(map(str, idx))
        with open(f, "rb") as fh:
            fh.seek(-(entries * 16 + 4), os.SEEK_END)
            index = np.frombuffer(fh.read(entries * 16), "<u8").reshape(entries, 2)
        n = np.where(index[:, 0] == np.iinfo(np.uint64).max, 0, index[:, 1]).astype(np.int64)
        sizes[tuple(slice(i * k, (i + 1) * k) for i, k in zip(idx, per_shard))] = n.reshape(per_shard)
    return sizes


def crops(p: Params, j: Job) -> list[Selection]:
    rng = np.random.default_rng(j.seed)
    starts = rng.integers(0, [n - c + 1 for n, c in zip(p.shape, j.crop)], size=(j.crops, len(p.shape)))
    return [tuple(slice(int(s), int(s) + c) for s, c in zip(row, j.crop)) for row in starts]


def crop_stored_bytes(sizes: npt.NDArray[np.int64], p: Params, sels: Sequence[Selection]) -> int:
    """Stored bytes of the inner chunks the crops touch (shard indexes not counted)."""
    total = 0
    for sel in sels:
        total += int(sizes[tuple(slice(s.start // c, (s.stop - 1) // c + 1) for s, c in zip(sel, p.chunks))].sum())
    return total


# -- measurements ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    job: str
    contestant: str
    seconds: float = 0.0
    decoded: int = 0  # bytes delivered to the caller
    stored: int = 0  # bytes of the files behind them
    items: int = 0  # crops, for the crops job
    error: str = ""

    def gbps(self, nbytes: int) -> float:
        return nbytes / self.seconds / 1e9 if self.seconds > 0 else 0.0


def best_seconds(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """The best time of each function; the repeats are interleaved (ABAB...) so drifting load hits all alike."""
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


FIO_CONFIGS = {"psync": {"ioengine": "psync"}, "io_uring qd8": {"ioengine": "io_uring", "iodepth": "8"}}


FIO_MAX_OPTION = 4095  # fio rejects longer option values


def fio_job_text(root: Path, files: Sequence[Path], options: dict[str, str], runtime_s: int, jobs: int) -> str:
    """One section per job, each reading its share of the files (named relative to `root`), file after file."""
    lines = ["[global]", f"directory={root}", "rw=read", "bs=1M", "invalidate=0", "direct=0", "time_based=1",
             f"runtime={runtime_s}", "file_service_type=sequential", "allow_file_create=0"]
    lines += [f"{k}={v}" for k, v in options.items()]
    for i in range(jobs):
        names = ":".join(str(f.relative_to(root)) for f in files[i::jobs])
        if len(names) > FIO_MAX_OPTION:
            raise ValueError(f"{len(files)} files make a fio filename list longer than {FIO_MAX_OPTION} characters")
        lines += [f"[seq-j{i}]", f"filename={names}"]
    return "\n".join(lines) + "\n"


def run_fio(job: Path, jobs: int, timeout_s: float) -> Measurement:
    """Runs one job file; a failure (or a job fio dropped) is a failed Measurement."""
    r = proc.run(["fio", "--output-format=json", str(job)], timeout=timeout_s)
    label = job.stem
    if r.returncode != 0 or "{" not in r.stdout:
        return failed("seq", "fio", f"fio exit {r.returncode}: {r.tail()}", label)
    try:
        doc = json.loads(r.stdout[r.stdout.index("{"):])
    except ValueError as e:
        return failed("seq", "fio", f"unparsable fio output ({e}): {r.tail()}", label)
    if len(doc.get("jobs", [])) != jobs:
        return failed("seq", "fio", f"{len(doc.get('jobs', []))} of {jobs} jobs ran: {r.tail()}", label)
    return fio.parse(doc, "seq", label)


def fio_sequential(root: Path, files: Sequence[Path], job_dir: Path, j: Job) -> tuple[Row, str]:
    """Best GB/s over FIO_CONFIGS; returns the row and the config's label."""
    job_name = "sequential read of the shard files"
    if why := fio.available():
        return Row(job_name, "fio", error=why), ""
    jobs = min(os.cpu_count() or 1, len(files))
    best: tuple[Row, str] | None = None
    errors = []
    job_dir.mkdir(parents=True, exist_ok=True)
    for label, options in FIO_CONFIGS.items():
        job = job_dir / f"seq-{label.replace(' ', '-')}.fio"
        try:
            job.write_text(fio_job_text(root, files, options, j.fio_runtime_s, jobs))
        except ValueError as e:
            return Row(job_name, "fio", error=str(e)), ""
        m = run_fio(job, jobs, j.fio_runtime_s + 120)
        if not m.ok:
            errors.append(f"{label}: {m.error}")
            log(f"  fio {label:<14} FAILED {m.error}")
            continue
        log(f"  fio {label:<14} {m.gb_per_s:6.2f} GB/s")
        row = Row(job_name, f"fio ({label}, {jobs} jobs)", m.seconds, stored=m.nbytes)
        if best is None or row.gbps(row.stored) > best[0].gbps(best[0].stored):
            best = (row, label)
    return best or (Row(job_name, "fio", error="; ".join(errors)), "")


class Reader:
    """One contestant: reads the whole array into `out`, and one crop at a time."""

    name = ""

    def read_all(self, out: npt.NDArray[np.uint16]) -> None:
        raise NotImplementedError

    def read_batch(self, sels: Sequence[Selection], out: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
        """Reads equal-shaped crops into out[i] (a training batch), the library's fastest way."""
        raise NotImplementedError


class LsioReader(Reader):
    name = "LSIO"

    def __init__(self, path: Path) -> None:
        self.a = lsio.zarr.open_array(path, mode="r")

    def read_all(self, out: npt.NDArray[np.uint16]) -> None:
        self.a.read(..., out=out)

    def read_batch(self, sels: Sequence[Selection], out: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
        starts = np.array([[s.start for s in sel] for sel in sels], dtype=np.int64)
        return self.a.read_crops(starts, out.shape[1:], out=out)  # one engine batch for all crops


class TensorstoreReader(Reader):
    """tensorstore reads the whole array into the caller's through ts.array(out).write(t) (no extra copy)."""

    name = "tensorstore"

    def __init__(self, path: Path) -> None:
        import tensorstore as ts

        self.ts = ts
        self.t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}, read=True).result()

    def read_all(self, out: npt.NDArray[np.uint16]) -> None:
        self.ts.array(out, copy=False, write=True).write(self.t).result()

    def read_batch(self, sels: Sequence[Selection], out: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
        futures = [self.t[sel].read() for sel in sels]  # all issued before waiting: tensorstore merges them
        for i, f in enumerate(futures):
            out[i] = f.result()
        return out


def readers(path: Path) -> list[Reader]:
    out: list[Reader] = [LsioReader(path)]
    try:
        out.append(TensorstoreReader(path))
    except ImportError as e:
        log(f"tensorstore not importable ({e}): LSIO only")
    return out


def same(a: npt.NDArray[np.uint16], b: npt.NDArray[np.uint16]) -> bool:
    """Equal, compared one time step at a time (no full-size temporary)."""
    return a.shape == b.shape and all(np.array_equal(x, y) for x, y in zip(a, b))


def run_whole(rs: Sequence[Reader], shape: Shape, stored: int, repeats: int) -> list[Row]:
    """Each reader reads the whole array into its own preallocated buffer; the buffers must agree."""
    outs = [np.ones(shape, np.uint16) for _ in rs]  # pages faulted in before timing
    times = best_seconds([lambda r=r, out=out: r.read_all(out) for r, out in zip(rs, outs)], repeats)
    rows = []
    for r, out, t in zip(rs, outs, times):
        if not same(out, outs[0]):
            rows.append(Row("whole array", r.name, error=f"data differs from {rs[0].name}'s"))
            continue
        rows.append(Row("whole array", r.name, t, out.nbytes, stored))
        log(f"  whole array  {r.name:<12} {t:7.3f} s  {out.nbytes / t / 1e9:6.2f} GB/s decoded")
    return rows


def run_crops(rs: Sequence[Reader], sels: Sequence[Selection], crop: Shape, stored: int, repeats: int,
              batch: int = 32) -> list[Row]:
    """Each reader reads the crops a training batch per call (`batch` crops); the first batch must agree."""
    job = f"{len(sels)} random crops {'x'.join(map(str, crop))}, {batch} per call"
    batches = [sels[i:i + batch] for i in range(0, len(sels), batch)]
    checks = [r.read_batch(batches[0], np.empty((len(batches[0]), *crop), np.uint16)).copy() for r in rs]
    bufs = [np.empty((len(b), *crop), np.uint16) for b in batches]
    times = best_seconds([lambda r=r: [r.read_batch(b, o) for b, o in zip(batches, bufs)] for r in rs], repeats)
    rows = []
    nbytes = sum(o.nbytes for o in bufs)
    for r, check, t in zip(rs, checks, times):
        if not np.array_equal(check, checks[0]):
            rows.append(Row(job, r.name, error=f"data differs from {rs[0].name}'s"))
            continue
        rows.append(Row(job, r.name, t, nbytes, stored, items=len(sels)))
        log(f"  crops        {r.name:<12} {t:7.3f} s  {len(sels) / t:8.0f} crops/s")
    return rows


def run_process(rs: Sequence[Reader], path: Path, p: Params, stored: int, repeats: int, work: Path) -> list[Row]:
    """The whole array's mean (LSIO: Array.mean, decode and reduce fused per chunk; tensorstore: one shard row at a
    time into numpy), then an LSIO copy into (T, 1, 128, 128) chunks, zstd level 1 (lsio.zarr.copy, 1 GiB)."""
    job = "mean of the whole array"
    means: dict[str, float] = {}
    total = math.prod(p.shape)

    def mean_of(r: Reader) -> None:
        if isinstance(r, LsioReader):
            means[r.name] = float(r.a.mean())
        elif isinstance(r, TensorstoreReader):
            s = 0
            for t in range(0, p.shape[0], p.shards[0]):
                s += int(r.t[t : t + p.shards[0]].read().result().sum(dtype=np.uint64))
            means[r.name] = s / total

    times = best_seconds([lambda r=r: mean_of(r) for r in rs], repeats)
    rows = []
    for r, t in zip(rs, times):
        if abs(means[r.name] - means[rs[0].name]) > 1e-9 * abs(means[rs[0].name]):
            rows.append(Row(job, r.name, error=f"mean {means[r.name]} differs from {rs[0].name}'s"))
            continue
        rows.append(Row(job, r.name, t, p.nbytes, stored))
        log(f"  mean         {r.name:<12} {t:7.3f} s  {p.nbytes / t / 1e9:6.2f} GB/s decoded  ({means[r.name]:.4f})")
    dst = work / "copy.zarr"
    chunks = (p.shape[0], 1, 128, 128)
    zstd = [{"name": "zstd", "configuration": {"level": 1}}]
    copy = lambda: lsio.zarr.copy(path, str(dst), chunks=chunks, shards=None, compressors=zstd,  # noqa: E731
                                  max_memory="1GiB", overwrite=True)  # fmt: skip
    t = best_seconds([copy], repeats)[0]
    ok = abs(float(lsio.zarr.open_array(dst, mode="r").mean()) - means[rs[0].name]) <= 1e-12 * means[rs[0].name]
    shutil.rmtree(dst, ignore_errors=True)
    job = f"copy to chunks {'x'.join(map(str, chunks))}, zstd 1"
    rows.append(Row(job, "LSIO", t, p.nbytes, stored) if ok else Row(job, "LSIO", error="copy's mean differs"))
    log(f"  copy         LSIO         {t:7.3f} s  {p.nbytes / t / 1e9:6.2f} GB/s decoded")
    return rows


# -- report ---------------------------------------------------------------------------------------------------


def fmt(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}f}" if v > 0 else "–"


def table(rows: Sequence[Row], fio_row: Row) -> str:
    fio_gbps = fio_row.gbps(fio_row.stored) if not fio_row.error else 0.0
    peers = {r.job: r for r in rows if r.contestant == "tensorstore" and not r.error}
    lines = ["| job | contestant | seconds | GB/s decoded | GB/s stored | × fio sequential | × tensorstore | crops/s |",
             "|---|---|--:|--:|--:|--:|--:|--:|"]
    for r in [fio_row, *rows]:
        if r.error:
            why = r.error.replace("|", "/").replace("\n", " ")
            lines.append(f"| {r.job} | {r.contestant} | error: {why[:300]} | | | | | |")
            continue
        peer = peers.get(r.job)
        stored = r.gbps(r.stored)
        lines.append(
            f"| {r.job} | {r.contestant} | {r.seconds:.3f} | {fmt(r.gbps(r.decoded))} | {fmt(stored)} "
            f"| {fmt(stored / fio_gbps if fio_gbps else 0)} "
            f"| {fmt(peer.seconds / r.seconds if peer and not r.contestant.startswith('fio') else 0)} "
            f"| {fmt(r.items / r.seconds, 0) if r.items else '–'} |")
    return "\n".join(lines)


def write_report(out: Path, text_table: str, p: Params, j: Job, stored: int, nfiles: int, fio_label: str) -> None:
    m = report.machine_info(BENCH_DIR / "data")
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# LSIO demo: a sharded Zarr cube, hot page cache", "",
        f"- command: `{shlex.join(['python', 'bench/demo.py', *sys.argv[1:]])}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 1-minute load average at the end {report.load_average():.2f}",
        f"- machine: {m.line()}",
        f"- data: uint16 {DIMS} = {p.shape} ({p.nbytes / 2**30:.2f} GiB decoded), Zarr v3, shards {p.shards} of "
        f"inner chunks {p.chunks}, zstd level {p.zstd_level}, crc32c shard index at the end; {nfiles} shard files, "
        f"{stored / 2**30:.2f} GiB stored (ratio {p.nbytes / stored:.2f}); synthetic terrain + drifting clouds + noise",
        f"- LSIO {getattr(lsio, '__version__', '?')}, engine {lsio.default_store().engine}; "
        f"tensorstore {_version('tensorstore')}; all in one process, best of {j.repeats} (runs interleaved); "
        f"whole array: into a preallocated array (LSIO `read(out=)`, tensorstore `ts.array(out).write(t)`); "
        f"crops: 32 per call, as a training batch (LSIO `read_crops`: one engine batch; tensorstore: 32 `t[crop].read()` "
        "issued, then awaited)",
        f"- fio: the shard files read sequentially in 1 MiB blocks, one job per CPU each on its share of the files, "
        f"time-based {j.fio_runtime_s} s, best of {', '.join(FIO_CONFIGS)} ({fio_label or 'none'}); job files in "
        f"bench/data/demo/fio/",
        "- GB/s stored: file bytes behind the data / s (crops: the inner chunks they touch, shard indexes not "
        "counted); × fio sequential: GB/s stored / fio's GB/s; × tensorstore: tensorstore's seconds / this row's",
        f"- peak RSS of the process: {rss_mib:.0f} MiB (both contestants, and both whole-array buffers of "
        f"{p.nbytes / 2**30:.2f} GiB)",
        "", text_table, "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "?"


# -- main -----------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a 128 MiB cube and 200 crops instead of 2 GiB and 500")
    p.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data" / "demo")
    p.add_argument("--out", type=Path, help="report path (default bench/results/demo.md or demo-quick.md)")
    return p.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    params, job = settings(args.quick)
    out = args.out or BENCH_DIR / "results" / ("demo-quick.md" if args.quick else "demo.md")
    start = time.perf_counter()
    path = dataset(args.data_dir, params)
    files = shard_files(path)
    stored = sum(f.stat().st_size for f in files)
    warm(files)
    log("fio, sequential")
    fio_row, fio_label = fio_sequential(path / "c", files, args.data_dir / "fio", job)
    rs = readers(path)
    rows = run_whole(rs, params.shape, stored, job.repeats)
    sels = crops(params, job)
    rows += run_crops(rs, sels, job.crop, crop_stored_bytes(inner_chunk_sizes(path, params), params, sels),
                      job.repeats)
    log("processing: mean and copy")
    rows += run_process(rs, path, params, stored, job.repeats, args.data_dir)
    text = table(rows, fio_row)
    write_report(out, text, params, job, stored, len(files), fio_label)
    print(text)
    log(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out} "
        f"({time.perf_counter() - start:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
