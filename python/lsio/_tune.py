"""lsio.tune (module lsio._tune): measure a storage through lsio.Store and pick the store settings for it.

    profile = lsio.tune("/data")            # probes, prints nothing, saves the profile
    print(profile.explain())                # what was chosen and the numbers behind each choice
    store = lsio.open("/data")              # applies the saved profile (explicit keywords still win)

Every probe goes through lsio.Store (nothing here reads files or sockets itself): a scratch file or object is
written under the path or prefix and removed afterwards; a read-only HTTP store is probed with an existing
object (the URL's last segment, or ``probe_key=``). Profiles are saved as JSON in ``$LSIO_TUNE_PROFILE`` or
``~/.config/lsio/tune.json``, keyed by the storage: the device of a local path (its ``st_dev``), the endpoint
and bucket of an S3 URL, the scheme, host and port of an HTTP URL.

A corrupt profile file makes ``lsio.open`` warn (RuntimeWarning naming the file) and open without it;
``lsio.tune(..., save=True)`` raises ValueError naming the file instead of overwriting it.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import numpy as np

KiB = 1 << 10
MiB = 1 << 20

FILE_SETTINGS = ("engine", "workers", "queue_depth", "coalesce_gap", "max_merged", "part_size", "direct_threshold",
                 "max_inflight_bytes")
REMOTE_SETTINGS = ("max_inflight", "max_connections", "coalesce_gap", "max_merged", "part_size", "max_inflight_bytes")

PRESETS: dict[str, dict[str, Any]] = {
    # Nominal devices: the same rules as a measurement, applied to typical numbers (see _PRESET_WHY).
    "nvme": {"engine": "uring", "workers": 0, "queue_depth": 128, "coalesce_gap": 4 * KiB, "max_merged": 16 * MiB,
             "part_size": 8 * MiB, "direct_threshold": 8 * MiB, "max_inflight_bytes": 16 * MiB},
    "hdd": {"engine": "uring", "workers": 0, "queue_depth": 32, "coalesce_gap": 1 * MiB, "max_merged": 64 * MiB,
            "part_size": 64 * MiB, "direct_threshold": 8 * MiB, "max_inflight_bytes": 64 * MiB},
    "s3": {"max_inflight": 64, "max_connections": 64, "coalesce_gap": 1 * MiB, "max_merged": 16 * MiB,
           "part_size": 8 * MiB},
    "http": {"max_inflight": 32, "max_connections": 32, "coalesce_gap": 256 * KiB, "max_merged": 16 * MiB,
             "part_size": 8 * MiB},
}  # fmt: skip
_PRESET_WHY = {
    "nvme": "nominal NVMe: ~80 us, ~3 GB/s, ~500k IOPS at depth 128: gap = bandwidth / IOPS ~ 6 KB",
    "hdd": "nominal disk: ~8 ms seek, ~150 MB/s: gap = seek x bandwidth ~ 1.2 MB; depth 32 lets the elevator sort",
    "s3": "nominal cloud object store: 20-50 ms per request, ~50-100 MB/s per request: gap ~ 1-2 MB",
    "http": "nominal HTTP server nearby: ~2-5 ms, ~100 MB/s per request: gap ~ 256 KB",
}
_PRESET_KIND = {"nvme": "file", "hdd": "file", "s3": "s3", "http": "http"}


@dataclass
class TuneProfile:
    """Settings for one storage, and why: ``settings`` are lsio.open keywords."""

    key: str  # the storage: "file:dev=MAJ:MIN", "s3:ENDPOINT/BUCKET", "http://HOST:PORT"
    kind: str  # "file", "s3" or "http"
    source: str  # "measured" or "preset <name>"
    settings: dict[str, Any]
    reasons: dict[str, str] = field(default_factory=dict)  # setting -> the numbers behind it
    measurements: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    target: str = ""  # the path or URL that was probed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TuneProfile:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def explain(self) -> str:
        """Plain text: each chosen setting and why."""
        lines = [f"{self.target or self.key}: {self.source} profile for {self.key}"]
        for name, value in self.settings.items():
            lines.append(f"  {name:17} = {_show(name, value):>10}   {self.reasons.get(name, '')}")
        return "\n".join(lines)


def _show(name: str, value: Any) -> str:
    if isinstance(value, int) and name in ("coalesce_gap", "max_merged", "part_size", "direct_threshold",
                                           "max_inflight_bytes"):
        if value == 0:
            return "0"
        for unit, size in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", KiB)):
            if value >= size and value % size == 0:
                return f"{value // size} {unit}"
    return str(value)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _pow2_floor(n: float, lo: int, hi: int) -> int:
    n = max(lo, min(hi, n))
    return 1 << int(math.floor(math.log2(n)))


# ---- profile file -------------------------------------------------------------------------------------------


def profile_path() -> Path:
    """``$LSIO_TUNE_PROFILE``, else ``~/.config/lsio/tune.json``."""
    env = os.environ.get("LSIO_TUNE_PROFILE")
    return Path(env) if env else Path.home() / ".config" / "lsio" / "tune.json"


def _read_profiles(path: Path) -> dict[str, Any]:
    """The profiles in `path` ({} when it does not exist); ValueError naming the file when it is corrupt."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ValueError(f"lsio tune profile {path}: cannot read it: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"lsio tune profile {path} is corrupt: {e} (fix or delete it, or run `lsio tune` again "
                         "after deleting it)") from None  # fmt: skip
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) and "settings" in p for p in profiles.values()):
        raise ValueError(f"lsio tune profile {path} is corrupt: expected {{\"version\": 1, \"profiles\": {{storage "
                         "key: {settings, ...}}}} (fix or delete it)")  # fmt: skip
    return profiles


def save_profile(profile: TuneProfile, path: Optional[Path] = None) -> Path:
    """Adds or replaces the profile of ``profile.key`` in the profile file (written atomically)."""
    path = path or profile_path()
    profiles = _read_profiles(path)
    profiles[profile.key] = profile.to_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps({"version": 1, "profiles": profiles}, indent=2) + "\n")
    tmp.replace(path)
    return path


def load_profile(url: str, remote: Optional[dict[str, Any]] = None) -> Optional[tuple[TuneProfile, Path]]:
    """The saved profile for the storage of `url`, or None. A corrupt file: RuntimeWarning, None."""
    key = storage_key(url, remote)
    if key is None:
        return None
    path = profile_path()
    try:
        profiles = _read_profiles(path)
    except ValueError as e:
        warnings.warn(f"{e}; opening {url or '.'} without a tuned profile", RuntimeWarning, stacklevel=3)
        return None
    if key not in profiles:
        return None
    return TuneProfile.from_dict(profiles[key]), path


# ---- which storage ------------------------------------------------------------------------------------------


def storage_kind(url: str) -> str:
    if url.startswith("s3://"):
        return "s3"
    if url.startswith(("http://", "https://")):
        return "http"
    if url.startswith("memory://"):
        return "memory"
    return "file"


def storage_key(url: str, remote: Optional[dict[str, Any]] = None) -> Optional[str]:
    """What a profile is keyed by: the device of a local path, S3 endpoint + bucket, HTTP scheme://host:port.

    None for memory:// and for "" (a store of absolute paths on any device)."""
    kind = storage_kind(url)
    if kind == "memory" or url == "":
        return None
    if kind == "http":
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    if kind == "s3":
        endpoint = (remote or {}).get("endpoint") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get(
            "AWS_ENDPOINT_URL") or "aws"  # fmt: skip
        bucket = url[len("s3://"):].split("/", 1)[0]
        return f"s3:{endpoint.rstrip('/')}/{bucket}"
    path = Path(url[len("file://"):] if url.startswith("file://") else url).absolute()
    while not path.exists() and path != path.parent:  # a store may be opened on a folder not made yet
        path = path.parent
    dev = path.stat().st_dev  # the file system's identity only: no data is read here
    return f"file:dev={os.major(dev)}:{os.minor(dev)}"


def preset_profile(name: str, url: str = "") -> TuneProfile:
    """A profile from nominal numbers, without probing: "nvme", "hdd" (local), "s3", "http"."""
    if name not in PRESETS:
        raise ValueError(f"unknown tune preset {name!r} (presets: {', '.join(PRESETS)})")
    kind = _PRESET_KIND[name]
    if url and storage_kind(url) != "memory" and (storage_kind(url) == "file") != (kind == "file"):
        raise ValueError(f"the preset {name!r} is for {'local files' if kind == 'file' else 'remote stores'}, "
                         f"not for {url}")  # fmt: skip
    key = (storage_key(url) if url else None) or f"preset:{name}"
    why = _PRESET_WHY[name]
    return TuneProfile(key=key, kind=kind if kind == "file" else storage_kind(url or kind + "://"),
                       source=f"preset {name}", settings=dict(PRESETS[name]),
                       reasons={k: why for k in PRESETS[name]}, created=_now(), target=url)  # fmt: skip


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- applying a profile in lsio.open ------------------------------------------------------------------------


def resolve_open_settings(url: str, explicit: dict[str, Any], tune: Union[bool, str, TuneProfile],
                          remote: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:  # fmt: skip
    """The tuned settings lsio.open should use (explicit keywords removed), and where each setting came from."""
    kind = storage_kind(url)
    names = FILE_SETTINGS if kind == "file" else REMOTE_SETTINGS if kind in ("s3", "http") else ()
    sources = {n: ("explicit" if n in explicit else "default") for n in names}
    profile: Optional[TuneProfile] = None
    label = ""
    if isinstance(tune, TuneProfile):
        profile, label = tune, f"profile {tune.key} ({tune.source})"
    elif isinstance(tune, str):
        profile, label = preset_profile(tune, url), f"preset {tune}"
    elif tune is True:
        found = load_profile(url, remote) if names else None
        if found is not None:
            profile, label = found[0], f"profile {found[0].key} ({found[1]})"
    elif tune is not False:
        raise TypeError(f"tune must be True, False, a preset name ({', '.join(PRESETS)}) or a TuneProfile, "
                        f"not {tune!r}")  # fmt: skip
    chosen: dict[str, Any] = {}
    if profile is not None:
        for name, value in profile.settings.items():
            if name in names and name not in explicit:
                chosen[name] = value
                sources[name] = label
    return chosen, sources


# ---- measuring ----------------------------------------------------------------------------------------------


def _timed(fn: Callable[[], Any], budget: float, min_runs: int = 1) -> float:
    """Seconds per call of fn, repeating it until `budget` seconds passed (at least min_runs calls)."""
    runs, start = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if runs >= min_runs and elapsed >= budget:
            return elapsed / runs


@dataclass
class _Probe:
    store_for: Callable[..., Any]  # (**settings) -> lsio.Store
    key: str  # the scratch or probe object
    size: int
    budget: float
    rng: np.random.Generator

    def random_reads(self, store: Any, n: int, length: int, direct: bool = False) -> float:
        """Reads per second of up to n random aligned `length`-byte reads in one batch.

        The reads are distinct and never touch (every other slot of the file): the planner merges overlapping
        and touching ranges even with coalesce_gap=0, so repeated or adjacent slots would be read once, as fewer
        and larger reads than are counted (with n > slots the bandwidth probe reported up to 4x the bytes read).
        """
        slots = max(1, self.size // length)
        k = min(n, (slots + 1) // 2)
        starts = self.rng.choice((slots + 1) // 2, k, replace=False).astype(np.int64) * 2 * length
        ends = starts + length
        per_batch = _timed(lambda: store.read_ranges(self.key, starts, ends, direct=direct, coalesce_gap=0),
                           self.budget)  # fmt: skip
        return k / per_batch

    def cold_bandwidth(self, store: Any, length: int, drop: Callable[[], None]) -> float:
        """Bytes per second of buffered reads of `length` bytes (every other slot, up to 64 MiB) right after the
        probe file was dropped from the page cache: what a cold file costs without O_DIRECT. Best of two."""
        slots = max(1, self.size // length)
        k = max(1, min((slots + 1) // 2, (64 * MiB) // length))
        starts = self.rng.choice((slots + 1) // 2, k, replace=False).astype(np.int64) * 2 * length
        best = 0.0
        for _ in range(2):
            drop()
            t = time.perf_counter()
            store.read_ranges(self.key, starts, starts + length, coalesce_gap=0)
            best = max(best, k * length / (time.perf_counter() - t))
        return best

    def warm(self) -> None:
        """Reads the whole probe file buffered (never O_DIRECT), so that the page-cache probes after it measure the
        page cache: the scratch file is written with O_DIRECT and the cold probe drops it, and a store's default
        direct_threshold would read a mostly uncached file's large ranges with O_DIRECT, never caching it (the
        "hot" 16 MiB-read probe measured the device at 1-2.6 GiB/s that way, and chose 16 MiB in flight)."""
        step = 64 * MiB
        starts = np.arange(0, self.size, step, dtype=np.int64)
        self.store_for(direct_threshold=0).read_ranges(self.key, starts, np.minimum(starts + step, self.size))

    def latency(self, store: Any, direct: bool = False, n: int = 7) -> float:
        """Median seconds of one 4 KiB read on its own."""
        times = []
        for _ in range(n):
            start = int(self.rng.integers(0, max(1, self.size // (4 * KiB)))) * 4 * KiB
            t = time.perf_counter()
            store.read_ranges(self.key, [start], [min(self.size, start + 4 * KiB)], direct=direct)
            times.append(time.perf_counter() - t)
        return statistics.median(times)


def _local_path(url: str, key: str) -> Optional[str]:
    """The file `key` of a local folder store, or None (a store of absolute paths: url "")."""
    root = url[len("file://"):] if url.startswith("file://") else url
    return os.path.join(root, key) if root else None


def _drop_from_page_cache(path: str) -> None:
    """Writes `path` back and drops its pages from the page cache (no root needed, unlike drop_caches)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _worker_counts(engine: str, cpus: int, quick: bool) -> list[int]:
    """The worker counts the probe compares. More workers than CPUs only help an engine whose workers block in read
    (posix). An io_uring worker never blocks: extra ones only add rings (more depth, which queue_depth gives) and
    then compete with decodes and copies for the CPUs (measured on 2 CPUs: Zarr read-all hot took 0.45 s with 4
    uring workers and 0.30 s with 2, while 4 KiB reads/s favoured 4 by 12%; bench/tune_bench.py)."""
    return sorted({1, cpus} if quick or engine == "uring" else {1, cpus, 2 * cpus})


def _smallest_within(results: dict[int, float], fraction: float) -> int:
    """The smallest key whose value reaches `fraction` of the best."""
    best = max(results.values())
    return min(k for k, v in results.items() if v >= fraction * best)


def _tune_file(url: str, quick: bool, probe_key: Optional[str], log: Callable[[str], None]) -> TuneProfile:
    import lsio

    budget = 0.03 if quick else 0.25
    base = lsio.open(url, tune=False)
    rng = np.random.default_rng(1)
    if probe_key is None:  # a scratch file, removed afterwards
        size = 32 * MiB if quick else 256 * MiB
        key = f".lsio-tune-{os.getpid()}-{uuid.uuid4().hex[:8]}.scratch"
        log(f"writing a {_size(size)} scratch file {key} under {url}")
        base.put(key, rng.integers(0, 256, size, dtype=np.uint8))
    else:  # an existing file of a read-only place, left as it is
        key, size = probe_key, base.sizes([probe_key])[0]
        if size < 8 * MiB:
            raise ValueError(f"{probe_key} under {url} has {size} bytes: probing needs a file of at least 8 MiB")
    stores: dict[tuple[Any, ...], Any] = {}

    def store_for(**settings: Any) -> Any:
        k = tuple(sorted(settings.items()))
        if k not in stores:
            stores[k] = lsio.open(url, tune=False, **settings)
        return stores[k]

    m: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    try:
        probe = _Probe(store_for, key, size, budget, rng)
        # O_DIRECT support: does a direct read succeed?
        try:
            base.read_ranges(key, [0], [4 * KiB], direct=True)
            m["o_direct"] = True
        except (OSError, ValueError, lsio.LsioError) as e:
            m["o_direct"] = False
            m["o_direct_error"] = str(e)
        device = m["o_direct"]  # direct reads measure the device; buffered ones the page cache
        probe.warm()
        m["latency_hot_s"] = probe.latency(base)
        if device:
            m["latency_device_s"] = probe.latency(base, direct=True)
        engines = ["uring", "posix"]
        if not base.engine.startswith("uring"):
            engines = ["posix"]  # io_uring refused by this kernel
            m["uring_unavailable"] = base.engine
        depths = [1, 16, 128] if quick else [1, 4, 16, 64, 128]
        n_small = 512 if quick else 4096
        iops: dict[str, dict[int, float]] = {}
        hot: dict[str, float] = {}
        hot_by_depth: dict[str, dict[int, float]] = {}
        for engine in engines:
            log(f"{engine}: 4 KiB random reads against queue depth {depths}")
            iops[engine] = {qd: probe.random_reads(store_for(engine=engine, queue_depth=qd), max(n_small, 4 * qd),
                                                   4 * KiB, direct=device) for qd in depths}  # fmt: skip
            probe.warm()  # the device probe above read around the cache
            hot_by_depth[engine] = {qd: probe.random_reads(store_for(engine=engine, queue_depth=qd), n_small * 4,
                                                           4 * KiB) for qd in depths}  # fmt: skip
            hot[engine] = max(hot_by_depth[engine].values())
        m["iops_4k_device_by_depth" if device else "iops_4k_by_depth"] = {e: _ints(d) for e, d in iops.items()}
        m["reads_per_s_4k_hot_by_depth"] = {e: _ints(d) for e, d in hot_by_depth.items()}
        # Engine: the better geometric mean of its device and page-cache rates relative to the other.
        score = {e: math.sqrt(max(iops[e].values()) * hot[e]) for e in engines}
        engine = max(score, key=lambda e: score[e])
        reasons["engine"] = "; ".join(f"{e}: {max(iops[e].values()):,.0f} reads/s {'device' if device else 'hot'} "
                                      f"(best depth), {hot[e]:,.0f}/s page cache" for e in engines)  # fmt: skip
        if len(engines) == 1:
            reasons["engine"] += f" (io_uring unavailable: {base.engine})"
        # Deep enough for both the device and page-cache hits (which complete inline, one per submission slot).
        qd = max(_smallest_within(iops[engine], 0.9), _smallest_within(hot_by_depth[engine], 0.9))
        reasons["queue_depth"] = (f"smallest depth within 90% of the best 4 KiB rate, {'device' if device else 'hot'}"
                                  " and page cache: " + ", ".join(f"{q}: {v:,.0f}/s and {hot_by_depth[engine][q]:,.0f}/s"
                                                                   for q, v in iops[engine].items()))  # fmt: skip
        # Workers: page-cache hits complete on the worker that submits them, so hot reads scale with workers.
        cpus = os.cpu_count() or 1
        counts = _worker_counts(engine, cpus, quick)
        per_worker = {w: math.sqrt(probe.random_reads(store_for(engine=engine, queue_depth=qd, workers=w),
                                                      n_small * 4, 4 * KiB) *
                                   probe.random_reads(store_for(engine=engine, queue_depth=qd, workers=w),
                                                      max(n_small, 4 * qd), 4 * KiB, direct=device))
                      for w in counts}  # fmt: skip
        m["reads_per_s_4k_by_workers"] = _ints(per_worker)
        best_workers = max(per_worker, key=lambda w: per_worker[w])
        workers = 0 if per_worker[cpus] >= 0.9 * per_worker[best_workers] else best_workers
        reasons["workers"] = (f"one per CPU unless another count is >10% better (geometric mean of page-cache and "
                              f"{'device' if device else 'hot'} 4 KiB reads/s): " +
                              ", ".join(f"{w}: {v:,.0f}/s" for w, v in per_worker.items()) +
                              (f"; 0 = one per CPU ({cpus})" if workers == 0 else ""))  # fmt: skip
        # Bandwidth against request size at the chosen depth (device when O_DIRECT works, else page cache).
        sizes = [4 * KiB, 64 * KiB, 1 * MiB, 8 * MiB] if quick else [4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB,
                                                                      1 * MiB, 4 * MiB, 8 * MiB]  # fmt: skip
        chosen = store_for(engine=engine, queue_depth=qd, workers=workers)
        log(f"{engine} depth {qd}: bandwidth against request size {[_size(s) for s in sizes]}")
        bw = {s: probe.random_reads(chosen, max(8, min(n_small, 4 * size // s)), s, direct=device) * s
              for s in sizes}  # fmt: skip
        probe.warm()
        hot_store = store_for(engine=engine, queue_depth=qd, workers=workers, direct_threshold=0)
        bw_hot = {s: probe.random_reads(hot_store, max(8, min(n_small, 4 * size // s)), s) * s
                  for s in sizes if s >= 256 * KiB}  # fmt: skip
        m["bandwidth_by_size" + ("_device" if device else "_hot")] = _ints(bw)
        m["bandwidth_by_size_hot"] = _ints(bw_hot)
        peak = max(bw.values())
        rate = max(iops[engine].values()) if device else hot[engine]
        # A gap is worth reading when it costs less than a request: gap = bandwidth / request rate. The same
        # settings read hot files, so a gap must pay for itself on page-cache hits too: the smaller of the two.
        gap_raw = peak / rate
        # Half the page cache's break-even: measured, even 4 KiB gaps cost hot 4 KiB random reads 8% and 16 KiB 15%
        # (the model leaves out the larger buffers and copies of a merged read).
        gap_hot = max(bw_hot.values()) / hot[engine] / 2
        gap_at = min(gap_raw, gap_hot)
        gap = 0 if gap_at < 2 * KiB else _pow2_floor(gap_at, 4 * KiB, 4 * MiB)
        reasons["coalesce_gap"] = (f"bandwidth / request rate, the smaller of {'device' if device else 'reads'} "
                                   f"{_size(peak)}/s / {rate:,.0f}/s = {_size(gap_raw)} and page cache "
                                   f"{_size(max(bw_hot.values()))}/s / {hot[engine]:,.0f}/s / 2 = {_size(gap_hot)}")  # fmt: skip
        part_at = _smallest_within(bw, 0.9)
        part = max(1 * MiB, part_at)
        reasons["part_size"] = (f"requests of {_size(part_at)} reach 90% of the peak {_size(peak)}/s "
                                f"(at least 1 MiB): larger parts gain nothing, smaller ones lose bandwidth")
        merged = max(16 * MiB, part, 4 * gap)
        reasons["max_merged"] = f"max(16 MiB, part size, 4 x gap) = {_size(merged)}"
        threshold = 0
        path = _local_path(url, key)
        if device and path is not None:
            # O_DIRECT for cold files only (the engine keeps a file the page cache mostly holds buffered), where
            # it clearly wins: direct reads >10% faster than buffered reads of that size from a cold file.
            log("buffered reads of a cold file against request size")
            cold = {s: probe.cold_bandwidth(chosen, s, lambda: _drop_from_page_cache(path)) for s in bw_hot}
            m["bandwidth_by_size_cold_buffered"] = _ints(cold)
            wins = [s for s in cold if bw[s] >= 1.1 * cold[s]]
            threshold = min(wins) if wins else 0
            reasons["direct_threshold"] = (
                "off: " if threshold == 0 else f"{_size(threshold)}: ") + ", ".join(
                f"{_size(s)} direct {_size(bw[s])}/s vs cold buffered {_size(cold[s])}/s" for s in cold)  # fmt: skip
        elif device:
            reasons["direct_threshold"] = f"off: {url} is not a local folder (no cold buffered reads to compare)"
        else:
            reasons["direct_threshold"] = f"off: O_DIRECT is refused here ({m.get('o_direct_error', '')})"
        # Bytes in flight per worker for large reads: 16 MiB ranges cut in `part` pieces, hot.
        budgets = [2 * MiB, 16 * MiB, 64 * MiB] if quick else [2 * MiB, 8 * MiB, 16 * MiB, 64 * MiB]
        big = min(16 * MiB, size // 4)
        starts = np.arange(0, size, big, dtype=np.int64)
        ends = np.minimum(starts + big, size)
        log(f"bandwidth of {_size(big)} reads in {_size(part)} parts against bytes in flight {[_size(b) for b in budgets]}")

        def big_reads(budget: int) -> float:
            # Buffered whatever the size (direct_threshold=0): this measures page-cache hits.
            store = store_for(engine=engine, queue_depth=qd, workers=workers, part_size=part, max_inflight_bytes=budget,
                              direct_threshold=0)  # fmt: skip
            store.read_ranges(key, starts, ends)  # untimed: the whole file hot (after the cold probe), buffers made
            return probe.random_reads(store, size // big, big) * big

        by_budget = {b: big_reads(b) for b in budgets}
        m["bandwidth_by_inflight_bytes_hot"] = _ints(by_budget)
        inflight = _smallest_within(by_budget, 0.9)
        reasons["max_inflight_bytes"] = (f"smallest within 90% of the best {_size(big)}-read bandwidth (page cache): "
                                         + ", ".join(f"{_size(b)}: {_size(v)}/s" for b, v in by_budget.items()))
        settings = {"engine": engine, "workers": workers, "queue_depth": qd, "coalesce_gap": gap, "max_merged": merged,
                    "part_size": part, "direct_threshold": threshold, "max_inflight_bytes": inflight}  # fmt: skip
    finally:
        stores.clear()
        if probe_key is None:
            base.remove([key])
    m["probed"] = key if probe_key is not None else f"scratch file of {_size(size)}"
    return TuneProfile(key=storage_key(url) or "file:", kind="file", source="measured", settings=settings,
                       reasons=reasons, measurements=m, created=_now(), target=url)  # fmt: skip


def _split_http(url: str, probe_key: Optional[str]) -> tuple[str, Optional[str]]:
    """(store base URL, object key): an URL not ending in "/" names the object itself."""
    if probe_key is not None or url.endswith("/"):
        return url if url.endswith("/") else url + "/", probe_key
    base, _, name = url.rpartition("/")
    return base + "/", name


def _tune_remote(url: str, quick: bool, probe_key: Optional[str], remote: dict[str, Any],
                 log: Callable[[str], None]) -> TuneProfile:  # fmt: skip
    import lsio

    kind = storage_kind(url)
    base_url, key = (_split_http(url, probe_key) if kind == "http" else
                     (url if url.endswith("/") else url + "/", probe_key))  # fmt: skip
    base = lsio.open(base_url, tune=False, **remote)
    scratch = None
    if key is None:
        if kind == "http":
            raise ValueError(f"an HTTP store is read only: name an existing object to probe (lsio tune "
                             f"{base_url}OBJECT, or probe_key=)")  # fmt: skip
        scratch = key = f".lsio-tune-{os.getpid()}-{uuid.uuid4().hex[:8]}.scratch"
        size = 8 * MiB if quick else 64 * MiB
        log(f"writing a {_size(size)} scratch object {key} under {base_url}")
        base.put(key, np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8))
    else:
        size = base.sizes([key])[0]
    m: dict[str, Any] = {"object": key, "object_size": size}
    reasons: dict[str, str] = {}
    stores: list[Any] = []

    def store_for(**settings: Any) -> Any:
        s = lsio.open(base_url, tune=False, **{**remote, **settings})
        stores.append(s)
        return s

    try:
        probe = _Probe(store_for, key, size, 0.0, np.random.default_rng(2))
        lat = probe.latency(base, n=5 if quick else 9)
        m["latency_s"] = lat
        big = min(size, 8 * MiB if quick else 32 * MiB)
        one = store_for(max_inflight=1, part_size=big, max_merged=big, coalesce_gap=0)
        t = _timed(lambda: one.read_ranges(key, [0], [big]), 0.0, min_runs=2)
        per_request_bw = big / max(t - lat, t / 10, 1e-6)
        m["per_request_bandwidth_Bps"] = round(per_request_bw)
        raw = lat * per_request_bw
        gap = _pow2_floor(raw, 16 * KiB, 16 * MiB)
        reasons["coalesce_gap"] = (f"latency x per-request bandwidth = {lat * 1e3:.1f} ms x "
                                   f"{_size(per_request_bw)}/s = {_size(raw)}")  # fmt: skip
        levels = [1, 4, 16, 64] if quick else [1, 4, 16, 64, 128]
        rates: dict[int, float] = {}
        for level in levels:
            s = store_for(max_inflight=level, max_connections=level, coalesce_gap=0)
            n = max(8, 2 * level)
            rates[level] = probe.random_reads(s, n, 4 * KiB)
            log(f"{level} requests in flight: {rates[level]:,.0f} requests/s")
        m["requests_per_s_by_inflight"] = _ints(rates)
        # Little's law: the requests in flight that sustain the best rate are rate x latency; twice that, as
        # a power of two in 16-256, leaves headroom (the rate may still have been climbing at the last level).
        best_rate = max(rates.values())
        need = 2 * best_rate * lat
        inflight = min(256, max(16, 1 << max(0, math.ceil(math.log2(max(need, 1))))))
        reasons["max_inflight"] = (f"2 x best rate x latency = 2 x {best_rate:,.0f}/s x {lat * 1e3:.1f} ms = "
                                   f"{need:.1f}, power of two in 16-256 (requests/s by count in flight: " +
                                   ", ".join(f"{k}: {v:,.0f}" for k, v in rates.items()) + ")")  # fmt: skip
        reasons["max_connections"] = "as many as requests in flight (HTTP/1.1: one request per connection)"
        # A part should take at least ~2 round trips to transfer, so the per-request wait stays under a third.
        part = _pow2_floor(2 * raw, 1 * MiB, 64 * MiB)
        reasons["part_size"] = f"2 x latency x bandwidth = {_size(2 * raw)}, within 1-64 MiB"
        merged = max(16 * MiB, 2 * gap, part)
        reasons["max_merged"] = f"max(16 MiB, 2 x gap, part size) = {_size(merged)}"
        budget, reasons["max_inflight_bytes"], m["bandwidth_by_parts_in_flight"] = _remote_byte_budget(
            probe, store_for, part, quick, log)
        settings = {"max_inflight": inflight, "max_connections": inflight, "coalesce_gap": gap, "max_merged": merged,
                    "part_size": part, "max_inflight_bytes": budget}  # fmt: skip
    finally:
        stores.clear()
        if scratch is not None:
            base.remove([scratch])
    return TuneProfile(key=storage_key(url, remote) or url, kind=kind, source="measured", settings=settings,
                       reasons=reasons, measurements=m, created=_now(), target=url)  # fmt: skip


def _remote_byte_budget(probe: _Probe, store_for: Callable[..., Any], part: int, quick: bool,
                        log: Callable[[str], None]) -> tuple[int, str, dict[str, int]]:
    """max_inflight_bytes of a remote store: bandwidth of random part-sized GETs by how many are in flight; the
    largest count within 90% of the best, times the part size. Big responses in flight can slow each other
    (a link, not the latency, is the limit), while small requests still want many in flight: a byte budget
    gives both. The largest, not the smallest: the bandwidth is flat over a range of counts, where the
    smallest is the noisiest pick and a budget of one part would serialise. No limit (0) when that is the
    most probed (more may help) or the object is too small to probe."""
    slots = (probe.size // part + 1) // 2  # distinct, non-touching part-sized reads the object holds
    levels = [n for n in ([1, 4, 16] if quick else [1, 2, 4, 8, 16]) if 2 * n <= slots]
    if len(levels) < 2:
        return 0, f"no limit: the object ({_size(probe.size)}) holds too few {_size(part)} parts to probe", {}
    reads = (16 if quick else 64) * MiB // part  # per level: a few ms of a fast link are all noise
    bw: dict[int, float] = {}
    for n in levels:
        s = store_for(max_inflight=n, max_connections=n, part_size=part, coalesce_gap=0)
        bw[n] = probe.random_reads(s, min(slots, max(4 * n, reads)), part) * part
        log(f"{n} GETs of {_size(part)} in flight: {_size(bw[n])}/s")
    shown = ", ".join(f"{n}: {_size(v)}/s" for n, v in bw.items())
    best = max(bw.values())
    n = max(k for k, v in bw.items() if v >= 0.9 * best)
    if n == levels[-1]:
        return 0, f"no limit: {n} GETs of {_size(part)} in flight, the most probed, keep the bandwidth ({shown})", \
            _ints(bw)
    return (n * part, f"{n} x part size: the most GETs of {_size(part)} in flight within 90% of the best "
            f"bandwidth; more lose it ({shown})", _ints(bw))  # fmt: skip


def _ints(d: dict[int, float]) -> dict[str, int]:
    """A measurement table keyed by setting, as stored in a profile: string keys, whole numbers."""
    return {str(k): round(v) for k, v in d.items()}


def tune(url: Union[str, os.PathLike[str]], *, quick: bool = False, save: bool = True, preset: Optional[str] = None,
         probe_key: Optional[str] = None, log: Optional[Callable[[str], None]] = None,
         **remote: Any) -> TuneProfile:  # fmt: skip
    """Measure the storage at `url` through lsio.Store and pick settings for it (see the module docstring).

    Local files: engine (uring and posix both measured), queue_depth, workers, coalesce_gap, max_merged,
    part_size, direct_threshold and max_inflight_bytes, from the latency of small reads, reads/s against queue
    depth, bandwidth against request size and bytes in flight, and direct (device) against buffered reads of a
    cold file (dropped from the page cache with fadvise). S3/HTTP: max_inflight,
    coalesce_gap (latency x per-request bandwidth), max_merged and part_size. ``quick`` probes for a second or
    two; ``preset`` ("nvme", "hdd", "s3", "http") skips probing. ``probe_key`` names an existing object (at
    least 8 MiB for files) to probe instead of writing a scratch one: needed for HTTP and read-only folders. ``save`` stores the profile for lsio.open
    (ValueError naming the file when the existing profile file is corrupt). ``remote`` keywords (endpoint,
    credentials...) reach the store as in lsio.open.
    """
    url = os.fspath(url)
    if storage_kind(url) == "memory" or url == "":
        raise ValueError(f"nothing to tune for {url!r}: give a directory, s3:// or http(s):// URL")
    say = log or (lambda _msg: None)
    if preset is not None:
        profile = preset_profile(preset, url)
    elif storage_kind(url) == "file":
        profile = _tune_file(url, quick, probe_key, say)
    else:
        profile = _tune_remote(url, quick, probe_key, remote, say)
    if save:
        say(f"saved to {save_profile(profile)}")
    return profile
