#!/usr/bin/env python3
"""Remote stores side by side: LSIO's HTTP and S3 stores against obstore, tensorstore, fsspec, s3fs and boto3.

Starts its own servers (tests/servers/launch.py: nginx, moto, the fault server), writes its data under
bench/data/remote/, and runs every contestant once per round, in rotated order (interleaved rounds; the median
counts). Run from the repository root:

    .venv/bin/python bench/remote_bench.py [--quick] [--rounds 5] [--only R1-nginx,R2,R3]

- R1: random 4 KiB ranges (4 KiB-aligned, no two touching) over objects of 8 MiB, against nginx, moto and the
  fault server's `latency:20` mode (20 ms before every response).
- R2: one object read whole from nginx (GB/s).
- R3: random 64^3 crops from a sharded uint16 Zarr v3 array served by nginx (LSIO read_crops vs tensorstore zarr3).

Every contestant's bytes are checked against the source once (first round); a mismatch stops the run.
Results: bench/results/<name>.md and <name>.png (default name "remote").
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import shlex
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # tests.servers.launch

from tests.servers.launch import FaultServer, Moto, Nginx  # noqa: E402

import lsio  # noqa: E402
import lsio.zarr  # noqa: E402

RANGE = 4096
Buffers = Sequence[Any]  # bytes-like results, one per range, in the order asked


# ------------------------------------------------------------------------------------------------ data


@dataclass
class Ranges:
    keys: list[str]
    starts: list[int]
    ends: list[int]

    def by_key(self) -> dict[str, list[int]]:
        """Indices of the ranges of each key, in order."""
        groups: dict[str, list[int]] = {}
        for i, k in enumerate(self.keys):
            groups.setdefault(k, []).append(i)
        return groups


def object_keys(count: int) -> list[str]:
    return [f"r1/o{i:03d}.bin" for i in range(count)]


def write_objects(root: Path, count: int, size: int) -> None:
    (root / "r1").mkdir(parents=True, exist_ok=True)
    for i, key in enumerate(object_keys(count)):
        path = root / key
        if not path.exists() or path.stat().st_size != size:
            path.write_bytes(np.random.default_rng(i).integers(0, 256, size, dtype=np.uint8).tobytes())


def write_big(root: Path, size: int) -> str:
    path = root / f"big-{size >> 20}M.bin"
    if not path.exists() or path.stat().st_size != size:
        rng = np.random.default_rng(99)
        with open(path, "wb") as f:
            for _ in range(0, size, 64 << 20):
                f.write(rng.integers(0, 256, min(64 << 20, size - f.tell()), dtype=np.uint8).tobytes())
    return path.name


def random_ranges(keys: list[str], object_size: int, n: int, seed: int) -> Ranges:
    """n 4 KiB ranges on distinct even 4 KiB blocks (so no two touch: obstore merges touching ranges even with
    coalesce=0), objects chosen uniformly, in random order."""
    rng = np.random.default_rng(seed)
    slots = object_size // RANGE // 2
    per_obj = np.bincount(rng.integers(0, len(keys), n), minlength=len(keys))
    if per_obj.max() > slots:
        raise SystemExit(f"{n} ranges do not fit in {len(keys)} objects of {object_size} B without touching")
    out = [(keys[o], int(b) * 2 * RANGE) for o, c in enumerate(per_obj) for b in rng.choice(slots, c, replace=False)]
    order = rng.permutation(len(out))
    return Ranges([out[i][0] for i in order], [out[i][1] for i in order], [out[i][1] + RANGE for i in order])


def cube_values(i: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The R3 array's value at (i, j, k): computable for any crop, so checks need no copy of the array."""
    return ((i * 7919 + j * 131 + k * 3) % 65521).astype(np.uint16)


def crop_expected(start: Sequence[int], edge: int) -> np.ndarray:
    a = np.arange(start[0], start[0] + edge)[:, None, None]
    b = np.arange(start[1], start[1] + edge)[None, :, None]
    c = np.arange(start[2], start[2] + edge)[None, None, :]
    return cube_values(a, b, c)


def write_cube(root: Path, size: int) -> str:
    """uint16 size^3, shards 128^3 of uncompressed 32^3 inner chunks, written by zarr-python."""
    import zarr

    name = f"arr{size}"
    path = root / name
    if (path / "zarr.json").exists():
        return name
    shard = min(128, size)
    a = zarr.create_array(str(path), shape=(size,) * 3, dtype="uint16", chunks=(32,) * 3, shards=(shard,) * 3,
                          compressors=None, overwrite=True)
    j = np.arange(size)[None, :, None]
    k = np.arange(size)[None, None, :]
    for i0 in range(0, size, shard):
        a[i0:i0 + shard] = cube_values(np.arange(i0, i0 + shard)[:, None, None], j, k)
    return name


# ----------------------------------------------------------------------------------------- measurement


@dataclass
class Row:
    name: str
    run: Callable[[], Any]  # one timed run
    check: Callable[[Any], None]  # raises on wrong results
    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU seconds per unit
    error: str = ""
    prepare: Optional[Callable[[], None]] = None  # untimed, before each run

    @property
    def is_lsio(self) -> bool:
        return self.name.startswith("LSIO")


@dataclass
class Setting:
    key: str  # R1-nginx, ...
    title: str
    unit: str  # "requests/s", "GB/s", "crops/s"
    units: float  # units of work per run (ranges, GB, crops)
    note: str
    target: float
    rows: list[Row]


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_once(setting: Setting, row: Row, check: bool) -> Optional[tuple[float, float]]:
    """One run of `row`: (seconds, CPU seconds), or None when it failed (the error is kept on the row)."""
    if row.prepare is not None:
        row.prepare()
    c0, t0 = cpu_seconds(), time.perf_counter()
    try:
        result = row.run()
    except Exception as e:  # a peer that fails stays in the table with its error
        row.error = f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}"
        print(f"  {setting.key} {row.name}: {row.error}", flush=True)
        return None
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    if check:
        row.check(result)  # a wrong result is fatal, not a table entry
    return seconds, cpu


def run_rounds(setting: Setting, rounds: int, warmup: int) -> None:
    """Each round runs every row once, the order rotated by one per round. The first round checks every row's
    results; `warmup` rounds come first and are not counted (connections, server caches)."""
    rows = setting.rows
    for r in range(warmup + rounds):
        order = rows[r % len(rows):] + rows[:r % len(rows)]
        for row in order:
            got = None if row.error else run_once(setting, row, check=r == 0)
            if got is not None and r >= warmup:
                row.rates.append(setting.units / got[0])
                row.cpu.append(got[1] / setting.units)
        label = "warm-up" if r < warmup else f"round {r - warmup + 1}/{rounds}"
        done = ", ".join(f"{x.name} {x.rates[-1]:.3g}" for x in rows if x.rates and not x.error)
        print(f"{setting.key} {label}: {done or 'checked'} ({setting.unit})", flush=True)


def check_ranges(name: str, ranges: Ranges, root: Path) -> Callable[[Any], None]:
    def check(bufs: Buffers) -> None:
        if len(bufs) != len(ranges.keys):
            raise SystemExit(f"{name}: {len(bufs)} results for {len(ranges.keys)} ranges")
        fds: dict[str, int] = {}
        try:
            for i, (k, s, e) in enumerate(zip(ranges.keys, ranges.starts, ranges.ends, strict=True)):
                if k not in fds:
                    fds[k] = os.open(root / k, os.O_RDONLY)
                if isinstance(bufs[i], BaseException) or bytes(memoryview(bufs[i])) != os.pread(fds[k], e - s, s):
                    raise SystemExit(f"{name}: wrong bytes for {k} [{s}, {e}): {str(bufs[i])[:100]}")
        finally:
            for fd in fds.values():
                os.close(fd)
    return check


def check_digest(name: str, expected: str) -> Callable[[Any], None]:
    def check(buf: Any) -> None:
        got = hashlib.sha1(memoryview(buf)).hexdigest()
        if got != expected:
            raise SystemExit(f"{name}: whole-object bytes differ from the source (sha1 {got} != {expected})")
    return check


def check_crops(name: str, starts: Callable[[], np.ndarray], edge: int) -> Callable[[Any], None]:
    def check(crops: np.ndarray) -> None:
        for n, st in enumerate(starts()):
            if not np.array_equal(np.asarray(crops[n]), crop_expected(st, edge)):
                raise SystemExit(f"{name}: crop {n} at {tuple(st)} differs from the source")
    return check


# ------------------------------------------------------------------------------------------- contestants


def lsio_ranges(store: lsio.Store, rg: Ranges, gap: Optional[int]) -> Callable[[], Buffers]:
    kw = {} if gap is None else {"coalesce_gap": gap}
    return lambda: store.read_ranges(rg.keys, rg.starts, rg.ends, **kw)


def obstore_ranges(store: Any, rg: Ranges, coalesce: Optional[int]) -> Callable[[], Buffers]:
    import obstore

    groups = rg.by_key()
    kw = {} if coalesce is None else {"coalesce": coalesce}

    async def gather() -> list[list[Any]]:
        return await asyncio.gather(*[obstore.get_ranges_async(
            store, k, starts=[rg.starts[i] for i in idx], ends=[rg.ends[i] for i in idx], **kw)
            for k, idx in groups.items()])

    def run() -> Buffers:
        out: list[Any] = [None] * len(rg.keys)
        for idx, bufs in zip(groups.values(), asyncio.run(gather()), strict=True):
            for i, b in zip(idx, bufs, strict=True):
                out[i] = b
        return out
    return run


def tensorstore_ranges(kv: Any, rg: Ranges) -> Callable[[], Buffers]:
    import tensorstore as ts

    def run() -> Buffers:
        with ts.Batch() as batch:
            futs = [kv.read(k, byte_range=slice(s, e), batch=batch)
                    for k, s, e in zip(rg.keys, rg.starts, rg.ends, strict=True)]
        return [f.result().value for f in futs]
    return run


def fsspec_ranges(fs: Any, prefix: str, rg: Ranges) -> Callable[[], Buffers]:
    paths = [prefix + k for k in rg.keys]

    def run() -> Buffers:
        out = fs.cat_ranges(paths, rg.starts, rg.ends)
        bad = next((x for x in out if isinstance(x, BaseException)), None)
        if bad is not None:
            raise bad
        return out
    return run


def boto3_ranges(client: Any, bucket: str, rg: Ranges, pool: ThreadPoolExecutor) -> Callable[[], Buffers]:
    def one(i: int) -> bytes:
        r = client.get_object(Bucket=bucket, Key=rg.keys[i], Range=f"bytes={rg.starts[i]}-{rg.ends[i] - 1}")
        return bytes(r["Body"].read())
    return lambda: list(pool.map(one, range(len(rg.keys))))


def obstore_http(url: str) -> Any:
    from obstore.store import HTTPStore

    # No trailing slash: obstore joins base and key with its own "/" (the fault server does not merge "//").
    return HTTPStore.from_url(url.rstrip("/"), client_options={"allow_http": True})


def tensorstore_kv(spec: dict[str, Any]) -> Any:
    import tensorstore as ts

    return ts.KvStore.open(spec).result()


def http_r1_rows(url: str, rg: Ranges, root: Path) -> list[Row]:
    """R1 contestants on an HTTP server whose base URL `url` serves the keys."""
    import fsspec

    store = lsio.open(url)
    ob = obstore_http(url)
    kv = tensorstore_kv({"driver": "http", "base_url": url})
    fs = fsspec.filesystem("http", skip_instance_cache=True)
    rows = [
        ("LSIO (default coalescing)", lsio_ranges(store, rg, None)),
        ("LSIO coalesce_gap=0", lsio_ranges(store, rg, 0)),
        ("LSIO coalesce_gap=64 KiB", lsio_ranges(store, rg, 64 << 10)),
        ("obstore (default coalesce)", obstore_ranges(ob, rg, None)),
        ("obstore coalesce=0", obstore_ranges(ob, rg, 0)),
        ("tensorstore kvstore http (ts.Batch)", tensorstore_ranges(kv, rg)),
        ("fsspec HTTP cat_ranges", fsspec_ranges(fs, url, rg)),
    ]
    return [Row(n, f, check_ranges(n, rg, root)) for n, f in rows]


def moto_r1_rows(moto: Moto, rg: Ranges, root: Path, pool: ThreadPoolExecutor) -> list[Row]:
    import boto3
    import s3fs
    from botocore.config import Config
    from obstore.store import S3Store

    creds = {"access_key_id": moto.access_key_id, "secret_access_key": moto.secret_access_key}
    store = lsio.open(f"s3://{moto.bucket}", endpoint=moto.endpoint, region=moto.region, **creds)
    ob = S3Store(moto.bucket, endpoint=moto.endpoint, region=moto.region, client_options={"allow_http": True}, **creds)
    os.environ.update(AWS_ACCESS_KEY_ID=moto.access_key_id, AWS_SECRET_ACCESS_KEY=moto.secret_access_key,
                      AWS_REGION=moto.region, AWS_DEFAULT_REGION=moto.region)
    kv = tensorstore_kv({"driver": "s3", "bucket": moto.bucket, "endpoint": moto.endpoint, "aws_region": moto.region,
                         "aws_credentials": {"type": "environment"}})
    fs = s3fs.S3FileSystem(key=moto.access_key_id, secret=moto.secret_access_key, endpoint_url=moto.endpoint,
                           client_kwargs={"region_name": moto.region}, skip_instance_cache=True)
    client = boto3.session.Session().client(
        "s3", endpoint_url=moto.endpoint, region_name=moto.region, aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key, config=Config(max_pool_connections=32))
    rows = [
        ("LSIO (default coalescing)", lsio_ranges(store, rg, None)),
        ("LSIO coalesce_gap=0", lsio_ranges(store, rg, 0)),
        ("LSIO coalesce_gap=64 KiB", lsio_ranges(store, rg, 64 << 10)),
        ("obstore (default coalesce)", obstore_ranges(ob, rg, None)),
        ("obstore coalesce=0", obstore_ranges(ob, rg, 0)),
        ("tensorstore kvstore s3 (ts.Batch)", tensorstore_ranges(kv, rg)),
        ("s3fs cat_ranges", fsspec_ranges(fs, moto.bucket + "/", rg)),
        ("boto3 x32 threads", boto3_ranges(client, moto.bucket, rg, pool)),
    ]
    return [Row(n, f, check_ranges(n, rg, root)) for n, f in rows]


def upload_to_moto(moto: Moto, root: Path, keys: list[str]) -> None:
    client = moto.client()
    for k in keys:
        client.upload_file(str(root / k), moto.bucket, k)


def r2_rows(url: str, key: str, digest: str) -> list[Row]:
    import fsspec
    import obstore

    store = lsio.open(url)
    ob = obstore_http(url)
    kv = tensorstore_kv({"driver": "http", "base_url": url})
    fs = fsspec.filesystem("http", skip_instance_cache=True)
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("LSIO read_ranges([key], [0], [None])", lambda: store.read_ranges([key], [0], [None])[0]),
        ("obstore get().bytes()", lambda: obstore.get(ob, key).bytes()),
        ("tensorstore kvstore http read", lambda: kv.read(key).result().value),
        ("fsspec HTTP cat_file", lambda: fs.cat_file(url + key)),
    ]
    return [Row(n, f, check_digest(n, digest)) for n, f in rows]


def r3_rows(url: str, name: str, size: int, crops: int, edge: int) -> list[Row]:
    """LSIO read_crops vs tensorstore zarr3 on its http kvstore; every run reads new random crops (the same ones for
    every contestant of a round: the starts advance once per round, when the first row of the round runs)."""
    import tensorstore as ts

    arr = lsio.zarr.open(lsio.open(url), name)
    # The store's planning default set as a tuner would for a fast server nearby (latency x bandwidth ~ 64 KiB).
    near = lsio.zarr.open(lsio.open(url, coalesce_gap=64 << 10), name)
    t = ts.open({"driver": "zarr3", "kvstore": {"driver": "http", "base_url": url + name + "/"}}, open=True).result()
    if tuple(t.shape) != (size,) * 3 or tuple(arr.shape) != (size,) * 3:
        raise SystemExit(f"R3: shapes {t.shape} / {arr.shape}, expected {(size,) * 3}")
    rng = np.random.default_rng(3)
    state = {"starts": rng.integers(0, size - edge + 1, (crops, 3)), "runs": 0}

    def starts() -> np.ndarray:
        return state["starts"]

    def next_starts() -> np.ndarray:  # called by every run: new crops after each full round
        if state["runs"] and state["runs"] % 3 == 0:  # 3 contestants per round
            state["starts"] = rng.integers(0, size - edge + 1, (crops, 3))
        state["runs"] += 1
        return state["starts"]

    def read_lsio() -> np.ndarray:
        return arr.read_crops(next_starts(), (edge,) * 3)

    def read_lsio_near() -> np.ndarray:
        return near.read_crops(next_starts(), (edge,) * 3)

    def read_ts() -> list[np.ndarray]:
        st = next_starts()
        futs = [t[s0:s0 + edge, s1:s1 + edge, s2:s2 + edge].read() for s0, s1, s2 in st.tolist()]
        return [f.result() for f in futs]

    return [Row("LSIO zarr read_crops", read_lsio, check_crops("LSIO", starts, edge)),
            Row("LSIO zarr read_crops, store coalesce_gap=64 KiB", read_lsio_near, check_crops("LSIO", starts, edge)),
            Row("tensorstore zarr3 (http kvstore)", read_ts, check_crops("tensorstore", starts, edge))]


# ------------------------------------------------------------------------------------------------ report


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def best_other(s: Setting) -> float:
    others = [median(r.rates) for r in s.rows if not r.is_lsio and r.rates and not r.error]
    return max(others) if others else float("nan")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) >> 20
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, {cpu}, {mem} GiB, kernel {os.uname().release}; load average {load}"


def peak_rss_mib() -> float:
    hwm = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM"))
    return int(hwm.split()[1]) / 1024


def fmt(x: float) -> str:
    return "n/a" if x != x else (f"{x:,.0f}" if x >= 100 else f"{x:.3g}")


def report(settings: list[Setting], args: argparse.Namespace, command: str) -> list[str]:
    lines = [
        "# Remote stores: LSIO vs obstore, tensorstore, fsspec/s3fs, boto3", "",
        *(["**Smoke run (--quick, 2-core machine shared with builds and tests): checks that the benchmark runs end "
           "to end. Not final numbers.**", ""] if args.quick else []),
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {machine()}",
        f"- {args.warmup} untimed warm-up round(s), then {args.rounds} interleaved rounds (each runs every contestant "
        "once, order rotated per round); medians; every contestant's bytes checked against the source in the first "
        "round",
        "- servers on 127.0.0.1 started by tests/servers/launch.py: nginx, moto (S3, SigV4 checked), the fault "
        "server's `latency:20` mode (20 ms before every response; one Python asyncio process)",
        "- CPU = this process's user+system time (getrusage) around each run, per unit; server CPU not counted",
        f"- peak RSS: the benchmark process's peak over the whole run (all contestants in one process): "
        f"{peak_rss_mib():,.0f} MiB; not per contestant",
        "- requests/s (R1) = ranges read per second, whether or not the client merged them into fewer GETs",
        "- x best other = this row's median / the fastest non-LSIO row's median", "",
    ]
    for s in settings:
        best = best_other(s)
        lsio_best = max((median(r.rates) for r in s.rows if r.is_lsio and r.rates), default=float("nan"))
        cpu_unit = {"requests/s": "CPU µs/request", "GB/s": "CPU s/GB", "crops/s": "CPU ms/crop"}[s.unit]
        scale = {"requests/s": 1e6, "GB/s": 1.0, "crops/s": 1e3}[s.unit]
        lines += [f"## {s.key}: {s.title}", "", s.note, "",
                  f"LSIO / best other: **{lsio_best / best:.2f}x** (target {s.target:g}x)", "",
                  f"| contestant | {s.unit} (median) | min | max | {cpu_unit} | x best other |",
                  "|---|--:|--:|--:|--:|--:|"]
        for r in s.rows:
            if r.error:
                lines.append(f"| {r.name} | error: {r.error} | | | | |")
                continue
            m = median(r.rates)
            lines.append(f"| {r.name} | {fmt(m)} | {fmt(min(r.rates))} | {fmt(max(r.rates))} | "
                         f"{median(r.cpu) * scale:.3g} | {m / best:.2f} |")
        lines.append("")
    return lines


def plot(settings: list[Setting], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(settings), figsize=(3.2 * len(settings), 4.2), squeeze=False)
    for ax, s in zip(axes[0], settings, strict=True):
        rows = [r for r in s.rows if r.rates and not r.error]
        best = best_other(s)
        ax.bar(range(len(rows)), [median(r.rates) / best for r in rows],
               color=["C0" if r.is_lsio else "grey" for r in rows])
        ax.set_xticks(range(len(rows)), [r.name.replace(" (", "\n(") for r in rows], rotation=70, fontsize=6,
                      ha="right")
        ax.axhline(1.0, color="black", lw=0.6)
        ax.axhline(s.target, color="C3", lw=0.8, ls="--")
        ax.set_title(s.key, fontsize=9)
    axes[0][0].set_ylabel("median / fastest other\n(dashed: target)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# -------------------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 objects / 2,000 ranges, 256 MiB R2, 256^3 R3, 2 rounds")
    ap.add_argument("--rounds", type=int, default=None, help="default 5 (quick: 2)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first (the first round checks bytes)")
    ap.add_argument("--objects", type=int, default=None, help="R1 objects (default 100, quick 20)")
    ap.add_argument("--object-mib", type=int, default=8)
    ap.add_argument("--ranges", type=int, default=None, help="R1 ranges per run, nginx and latency (10,000; quick 2,000)")
    ap.add_argument("--moto-ranges", type=int, default=None, help="R1 ranges per run on moto (500; quick 200)")
    ap.add_argument("--big-mib", type=int, default=None, help="R2 object size (1024; quick 256)")
    ap.add_argument("--zarr-size", type=int, default=None, help="R3 array edge (512; quick 256)")
    ap.add_argument("--crops", type=int, default=64, help="R3 crops per run")
    ap.add_argument("--crop", type=int, default=64, help="R3 crop edge")
    ap.add_argument("--only", default="", help="comma-separated settings: R1-nginx,R1-moto,R1-latency20,R2,R3")
    ap.add_argument("--data-dir", type=Path, default=HERE / "data" / "remote")
    ap.add_argument("--name", default="remote", help="report base name under bench/results/")
    args = ap.parse_args()
    q = args.quick
    defaults = {"rounds": (5, 2), "objects": (100, 20), "ranges": (10_000, 2_000), "moto_ranges": (500, 200),
                "big_mib": (1024, 256), "zarr_size": (512, 256)}
    for k, (full, quick) in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, quick if q else full)
    return args


def wanted(args: argparse.Namespace, key: str) -> bool:
    return not args.only or key in args.only.split(",")


def main() -> None:
    args = parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    for var in ("NO_PROXY", "no_proxy"):  # every client talks to 127.0.0.1 directly
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"]))
    root: Path = args.data_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    osize = args.object_mib << 20
    keys = object_keys(args.objects)
    print(f"data under {root} ...", flush=True)
    write_objects(root, args.objects, osize)
    settings: list[Setting] = []
    units = f"{args.objects} objects of {args.object_mib} MiB"
    with ExitStack() as stack, ThreadPoolExecutor(32) as pool:
        nginx = stack.enter_context(Nginx(root))
        if wanted(args, "R1-nginx"):
            rg = random_ranges(keys, osize, args.ranges, seed=1)
            s = Setting("R1-nginx", "random 4 KiB ranges, nginx", "requests/s", len(rg.keys),
                        f"{len(rg.keys):,} random 4 KiB ranges over {units} per run.", 2.0,
                        http_r1_rows(nginx.url, rg, root))
            run_rounds(s, args.rounds, args.warmup)
            settings.append(s)
        if wanted(args, "R1-latency20"):
            fault = stack.enter_context(FaultServer(root))
            rg = random_ranges(keys, osize, args.ranges, seed=2)
            s = Setting("R1-latency20", "random 4 KiB ranges, 20 ms per request (fault server)", "requests/s",
                        len(rg.keys), f"{len(rg.keys):,} random 4 KiB ranges over {units} per run, through "
                        "`latency:20/` of the fault server (a Python asyncio server: its own CPU may cap the "
                        "request rate of contestants that do not merge).", 2.0,
                        http_r1_rows(fault.url + "latency:20/", rg, root))
            for row in s.rows:  # the fault server logs every request: clear its log before each run
                row.prepare = fault.reset
            run_rounds(s, args.rounds, args.warmup)
            settings.append(s)
        if wanted(args, "R1-moto"):
            moto = stack.enter_context(Moto())
            print("uploading to moto ...", flush=True)
            upload_to_moto(moto, root, keys)
            rg = random_ranges(keys, osize, args.moto_ranges, seed=3)
            s = Setting("R1-moto", "random 4 KiB ranges, moto (S3)", "requests/s", len(rg.keys),
                        f"{len(rg.keys):,} random 4 KiB ranges over {units} per run (fewer than against nginx: "
                        "moto serves ~300 GET/s).", 2.0,
                        moto_r1_rows(moto, rg, root, pool))
            run_rounds(s, args.rounds, args.warmup)
            settings.append(s)
        if wanted(args, "R2"):
            big = write_big(root, args.big_mib << 20)
            with open(root / big, "rb") as f:
                digest = hashlib.file_digest(f, "sha1").hexdigest()
            s = Setting("R2", f"one {args.big_mib} MiB object read whole, nginx", "GB/s", (args.big_mib << 20) / 1e9,
                        f"`{big}` ({args.big_mib} MiB) read whole per run; GB/s = 10^9 bytes per second.", 1.0,
                        r2_rows(nginx.url, big, digest))
            run_rounds(s, args.rounds, args.warmup)
            settings.append(s)
        if wanted(args, "R3"):
            name = write_cube(root, args.zarr_size)
            s = Setting("R3", "random training crops, sharded Zarr v3 over HTTP (nginx)", "crops/s", args.crops,
                        f"uint16 {args.zarr_size}^3 array (`{name}`, written by zarr-python: shards 128^3 of "
                        f"uncompressed 32^3 inner chunks); {args.crops} random {args.crop}^3 crops per run (new "
                        "crops each round, the same for both contestants). LSIO: `lsio.zarr.open(lsio.open(url), "
                        "name).read_crops(starts, shape)` (one batch); tensorstore: zarr3 driver on its http kvstore, "
                        "every crop's read issued before any is awaited.", 1.5,
                        r3_rows(nginx.url, name, args.zarr_size, args.crops, args.crop))
            run_rounds(s, args.rounds, args.warmup)
            settings.append(s)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    lines = report(settings, args, command)
    (results / f"{args.name}.md").write_text("\n".join(lines))
    plot(settings, results / f"{args.name}.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
