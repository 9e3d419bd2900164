#!/usr/bin/env python3
"""Does `lsio tune` pick settings within 10% of the best hand-found setting of each workload?

    .venv/bin/python bench/tune_bench.py            # ~10-15 min on 2 cores -> bench/results/tune.{md,png}
    .venv/bin/python bench/tune_bench.py --quick    # ~2 min, smaller data and grids -> results/tune-quick.*
    .venv/bin/python bench/tune_bench.py --tiny     # seconds: proves the script runs (-> a temporary folder)

First ``lsio.tune(root, save=False)`` runs once per storage (the device of the local data; nginx on 127.0.0.1
for the HTTP workload), timed, its ``explain()`` kept for the report. Then every workload is measured for three
kinds of contestant: a hand grid of store settings (engine, workers, queue depth, coalesce gap, part size, read
bytes in flight, O_DIRECT threshold, requests in flight), the defaults (``lsio.open(root)`` with
``LSIO_TUNE_PROFILE`` pointing at a missing file, so no saved profile leaks in), and the tuned settings
(``lsio.open(root, **profile.settings)``). Every measurement is a fresh subprocess with a fresh store;
contestants run interleaved in rounds (every setting once per round, the order rotated), and the best of the
rounds counts. Reported per workload: the best hand setting, the tuned settings, and best_hand_time / tuned_time
(target >= 0.9: tuned within 10% of the best hand setting), the same for the defaults.

Workloads (data reused from the other benchmarks, made only when missing):
  4k-random      4 KiB random ranges over 1,500 files of 512 KiB (pyread_bench's data), hot, Store.read_batch
  whole-256KiB   1,000 files of 256 KiB read whole (size unknown to the caller; run.py's W3 data), hot
  big-16MiB      one 2 GiB file in 16 MiB ranges (run.py's W4 data), hot
  big-16MiB-cold the same, page cache dropped before every run
  zarr-raw       read-all of zarr_bench's raw uint16 1024^3 array (256^3 chunks), hot
  zarr-sharded   read-all of zarr_bench's sharded array (256^3 shards of 64^3 zstd inner chunks), hot
  zarr-raw-cold  zarr-raw with the page cache dropped
  http-1MiB      random 1 MiB ranges of the big file, served by nginx (tests/servers/launch.py), hot
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lsiobench.data import GIB, KIB, MIB, FileSet, ensure_files, size_label, warm_page_cache  # noqa: E402

TARGET = 0.9  # tuned within 10% of the best hand setting
# Rows of the confirmation rounds. The grid's best hand setting is the fastest of many noisy measurements, so
# its figure is biased low (the luckiest of N draws): it is measured again, with tuned and defaults only, in
# rounds of their own, and the summary's ratios come from those rounds (the grid's ratios are shown beside).
CONFIRM_PREFIX = "confirm: "
YMAX = 1.5  # the plot's ratio axis is cut here (values are printed on the bars)


# ---- sizes and grids ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mode:
    name: str  # "full", "quick", "tiny"
    pyread_dir: str
    pyread_files: int
    ranges_4k: int
    call_4k: int
    passes_4k: int
    whole_files: int
    whole_passes: int
    big: int
    big_passes: int
    zarr_dir: str
    zarr_size: int  # made at this size when missing
    http_ranges: int
    http_call: int
    rounds: int
    tune_quick: bool
    max_grid: int = 0  # 0: the whole grid


MODES = {
    "full": Mode("full", "pyread", 1500, 200_000, 20_000, 2, 1000, 4, 2 * GIB, 2, "zarr-1024", 1024, 1024, 256, 3, False),
    "quick": Mode("quick", "pyread-quick", 100, 40_000, 10_000, 4, 1000, 4, 256 * MIB, 8, "zarr-512", 512, 256, 64,
                  2, True),
    "tiny": Mode("tiny", "pyread-tiny", 20, 2_000, 1_000, 1, 20, 1, 16 * MIB, 1, "zarr-128", 128, 16, 4, 1, True, 2),
}  # fmt: skip


def product(**axes: Any) -> list[dict[str, Any]]:
    """Every combination of the listed values (a scalar is a one-value axis)."""
    lists = {k: v if isinstance(v, (list, tuple)) else [v] for k, v in axes.items()}
    return [dict(zip(lists, combo)) for combo in itertools.product(*lists.values())]


def grids(full: bool) -> dict[str, list[dict[str, Any]]]:
    """The hand settings of each workload: engine x workers x queue depth, then the knobs that workload exercises
    around a good base (uring, 2 workers)."""
    engines = ["uring", "posix"]
    workers = [1, 2, 4] if full else [1, 2]
    depths = [8, 32, 128] if full else [8, 128]
    base = product(engine=engines, workers=workers, queue_depth=depths)
    by_workers = product(engine=engines, workers=workers, queue_depth=32)
    parts = [1 * MIB, 4 * MIB, 16 * MIB] if full else [1 * MIB, 16 * MIB]
    inflight = [2 * MIB, 16 * MIB, 64 * MIB] if full else [2 * MIB, 16 * MIB]
    return {
        "4k-random": base + product(engine=engines, workers=2, queue_depth=128,
                                    coalesce_gap=[4 * KIB, 64 * KIB] if full else [16 * KIB]),
        "whole-256KiB": base + product(engine=engines, workers=2, queue_depth=32, max_inflight_bytes=16 * MIB),
        "big-16MiB": base + product(engine="uring", workers=2, queue_depth=32, part_size=parts,
                                    max_inflight_bytes=inflight),
        "big-16MiB-cold": by_workers + product(engine="uring", workers=2, queue_depth=32, part_size=parts,
                                               max_inflight_bytes=inflight[:2])
        + product(engine=engines, workers=2, queue_depth=32, direct_threshold=1 * MIB,
                  max_inflight_bytes=inflight[:2]),
        "zarr-raw": by_workers + product(engine="uring", workers=2, queue_depth=32, part_size=parts[-2:],
                                         max_inflight_bytes=inflight[:2]),
        "zarr-sharded": by_workers,
        "zarr-raw-cold": product(engine=engines, workers=[1, 2], queue_depth=32)
        + [{"engine": "uring", "workers": 2, "queue_depth": 32, **extra} for extra in
           ({"max_inflight_bytes": 16 * MIB}, {"direct_threshold": 1 * MIB},
            {"direct_threshold": 1 * MIB, "max_inflight_bytes": 16 * MIB})],
        "http-1MiB": [{"max_inflight": n, "max_connections": n, "coalesce_gap": g, "part_size": p}
                      for n in ([4, 16, 64] if full else [4, 64]) for g in (0, 1 * MIB)
                      for p in ([1 * MIB, 8 * MIB] if full else [8 * MIB])],
    }  # fmt: skip


def label(settings: dict[str, Any]) -> str:
    short = {"engine": "", "workers": "w", "queue_depth": "qd", "coalesce_gap": "gap ", "part_size": "part ",
             "max_inflight_bytes": "inflight ", "direct_threshold": "direct>=", "max_merged": "merged ",
             "max_inflight": "requests ", "max_connections": "conns "}  # fmt: skip
    parts = []
    for k, v in settings.items():
        if k == "max_connections" and v == settings.get("max_inflight"):
            continue
        if k == "direct_threshold" and v == 0:
            parts.append("direct off")
            continue
        if k == "workers" and v == 0:
            parts.append("w=nproc")
            continue
        text = _size(v) if k in ("coalesce_gap", "part_size", "max_inflight_bytes", "direct_threshold",
                                 "max_merged") else str(v)  # fmt: skip
        parts.append(f"{short.get(k, k + ' ')}{text}")
    return " ".join(parts) or "(defaults)"


def _size(n: int) -> str:
    for unit, size in (("G", GIB), ("M", MIB), ("K", KIB)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def _secs(x: float) -> str:
    return f"{x:.3f}" if x >= 0.1 else f"{x:.5f}"


# ---- workloads ----------------------------------------------------------------------------------------------

@dataclass
class Workload:
    key: str
    title: str
    root: str  # the store URL (a folder, or http://.../FOLDER/)
    spec: dict[str, Any]  # for the child: kind, ranges file or array, call size, passes, expected bytes
    grid: list[dict[str, Any]]
    cold_files: list[str] = field(default_factory=list)  # dropped from the page cache before each timed run
    warm: list[Path] = field(default_factory=list)  # read once before the rounds (hot workloads)
    http: bool = False
    error: str = ""


def save_ranges(tmp: Path, key: str, keys: list[str], index: np.ndarray, starts: np.ndarray,
                ends: Optional[np.ndarray]) -> str:  # fmt: skip
    path = tmp / f"{key}.npz"
    np.savez(path, keys=np.array(keys), index=index.astype(np.int64), starts=starts.astype(np.int64),
             ends=(ends if ends is not None else np.full(len(starts), -1)).astype(np.int64))  # fmt: skip
    return str(path)


def ranges_spec(tmp: Path, key: str, keys: list[str], index: np.ndarray, starts: np.ndarray,
                ends: Optional[np.ndarray], call: int, passes: int, expect: int) -> dict[str, Any]:  # fmt: skip
    return {"kind": "ranges", "ranges": save_ranges(tmp, key, keys, index, starts, ends), "call": call,
            "passes": passes, "expect": expect * passes}  # fmt: skip


def random_4k(a: argparse.Namespace, m: Mode, tmp: Path, grid: list[dict[str, Any]]) -> Workload:
    import pyread_bench

    ns = argparse.Namespace(data=a.data_dir / m.pyread_dir, files=m.pyread_files, file_kib=512, ranges=m.ranges_4k)
    paths = pyread_bench.make_data(ns)  # pyread_bench's files (written once) and its ranges
    index, starts, ends = pyread_bench.make_ranges(ns, len(paths))
    keys = [Path(p).name for p in paths]
    spec = ranges_spec(tmp, "4k", keys, index, starts, ends, m.call_4k, m.passes_4k, int((ends - starts).sum()))
    return Workload("4k-random", f"{m.ranges_4k:,} random 4 KiB ranges over {m.pyread_files:,} files of 512 KiB, "
                    f"calls of {m.call_4k:,} (Store.read_batch), {m.passes_4k} pass(es), hot", str(ns.data), spec,
                    grid,
                    warm=[Path(p) for p in paths])  # fmt: skip


def whole_files(a: argparse.Namespace, m: Mode, tmp: Path, grid: list[dict[str, Any]]) -> Workload:
    files = FileSet(a.data_dir, 256 * KIB, m.whole_files)  # run.py's W3 files
    ensure_files(files)
    n = files.count
    spec = ranges_spec(tmp, "whole", [p.name for p in files.paths()], np.arange(n), np.zeros(n, np.int64), None,
                       n, m.whole_passes, files.total_bytes)  # fmt: skip
    return Workload("whole-256KiB", f"{n:,} files of 256 KiB read whole (size unknown to the caller), one call per "
                    f"pass, {m.whole_passes} pass(es), hot", str(files.folder), spec, grid, warm=files.paths())


def big_file(a: argparse.Namespace, m: Mode, tmp: Path, grid: list[dict[str, Any]], cold: bool) -> Workload:
    files = FileSet(a.data_dir, m.big, 1)  # run.py's W4 file
    ensure_files(files)
    n = m.big // (16 * MIB)
    starts = np.arange(n, dtype=np.int64) * 16 * MIB
    passes = 1 if cold else m.big_passes
    spec = ranges_spec(tmp, "big-cold" if cold else "big", [files.path(0).name], np.zeros(n, np.int64), starts,
                       starts + 16 * MIB, 16, passes, m.big)  # fmt: skip
    w = Workload("big-16MiB" + ("-cold" if cold else ""), f"one {_size(m.big)}iB file in 16 MiB ranges, calls of 16 "
                 f"ranges, {passes} pass(es), " + ("page cache dropped" if cold else "hot"), str(files.folder), spec,
                 grid)  # fmt: skip
    if cold:
        w.cold_files = [str(files.path(0))]
    else:
        w.warm = files.paths()
    return w


def zarr_array(a: argparse.Namespace, m: Mode, layout: str, grid: list[dict[str, Any]], cold: bool) -> Workload:
    import zarr_bench

    root = a.data_dir / m.zarr_dir
    root.mkdir(parents=True, exist_ok=True)
    zarr_bench.create_data(root, m.zarr_size)  # zarr_bench's arrays (made when missing)
    meta = json.loads((root / f"{layout}.zarr" / "zarr.json").read_text())
    shape = meta["shape"]
    nbytes = int(np.prod(shape)) * np.dtype(meta["data_type"]).itemsize
    files = [str(f) for f in sorted((root / f"{layout}.zarr").rglob("*")) if f.is_file()]
    spec = {"kind": "zarr", "array": f"{layout}.zarr", "passes": 1, "expect": nbytes}
    outer = "x".join(map(str, meta["chunk_grid"]["configuration"]["chunk_shape"]))
    inner = [c["configuration"]["chunk_shape"] for c in meta["codecs"] if c["name"] == "sharding_indexed"]
    what = f"raw {outer} chunks" if not inner else f"{outer} shards of {'x'.join(map(str, inner[0]))} zstd chunks"
    w = Workload(f"zarr-{layout}" + ("-cold" if cold else ""), f"Zarr read-all, uint16 {'x'.join(map(str, shape))} "
                 f"({what}), lsio.zarr.open_array(...)[...], " + ("page cache dropped" if cold else "hot"), str(root),
                 spec, grid)  # fmt: skip
    if cold:
        w.cold_files = files
    else:
        w.warm = [Path(f) for f in files]
    return w


def http_ranges(a: argparse.Namespace, m: Mode, tmp: Path, grid: list[dict[str, Any]]) -> Workload:
    files = FileSet(a.data_dir, m.big, 1)
    ensure_files(files)
    blocks = m.big // MIB
    n = min(m.http_ranges, blocks)
    starts = np.random.default_rng(3).permutation(blocks)[:n].astype(np.int64) * MIB  # distinct blocks
    spec = ranges_spec(tmp, "http", [files.path(0).name], np.zeros(n, np.int64), starts, starts + MIB,
                       m.http_call, 1, n * MIB)  # fmt: skip
    w = Workload("http-1MiB", f"{n:,} random 1 MiB ranges (distinct, aligned) of a {_size(m.big)}iB file served by "
                 f"nginx on 127.0.0.1, calls of {m.http_call}, hot", "", spec, grid, warm=files.paths(), http=True)
    w.spec["folder"] = size_label(m.big)
    return w


# ---- one measurement (a child process) ----------------------------------------------------------------------

def drop_cache(files: list[str], method: str) -> None:
    if method == "drop_caches":
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return
    for f in files:  # only these files' clean pages: no root needed, the rest of the machine keeps its cache
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def child(payload: dict[str, Any]) -> None:
    import lsio

    spec = payload["spec"]
    store = lsio.open(payload["root"], **payload["settings"])
    leaked = {k: v for k, v in store.option_sources.items() if v not in ("explicit", "default")}
    if leaked:
        raise SystemExit(f"a tuned profile leaked into the store: {leaked}")
    cold = payload["cold_files"]
    if spec["kind"] == "ranges":
        d = np.load(spec["ranges"])
        keys = [str(k) for k in d["keys"]]
        index, starts, ends = d["index"], d["starts"], d["ends"]
        whole = bool((ends < 0).all())
        calls = [slice(i, i + spec["call"]) for i in range(0, len(starts), spec["call"])]

        def run(sl: slice) -> int:
            r = store.read_batch((keys, index[sl]), starts[sl], None if whole else ends[sl])
            return int(r.nbytes)

        def one_pass() -> int:
            return sum(run(sl) for sl in calls)

        if not cold:
            run(calls[0])  # untimed: the store's buffer pool and descriptors as a long-running caller has them
    else:
        import lsio.zarr

        array = lsio.zarr.open_array(store, spec["array"], mode="r")

        def one_pass() -> int:
            return int(array[...].nbytes)

        if not cold:
            array[tuple(slice(0, c) for c in (array.shards or array.chunks))]  # untimed: one shard/chunk
    if cold:
        drop_cache(cold, payload["drop"])
    t0 = time.perf_counter()
    nbytes = sum(one_pass() for _ in range(spec["passes"]))
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "bytes": nbytes, "engine": store.engine}))


def measure(w: Workload, root: str, settings: dict[str, Any], a: argparse.Namespace) -> dict[str, Any]:
    payload = {"root": root, "settings": settings, "spec": w.spec, "cold_files": w.cold_files, "drop": a.drop}
    try:
        p = subprocess.run([sys.executable, __file__, "--child", json.dumps(payload)], capture_output=True,
                           text=True, timeout=a.timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {a.timeout} s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1][:200]}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if r["bytes"] != w.spec["expect"]:
        return {"error": f"read {r['bytes']} bytes, expected {w.spec['expect']}"}
    return r


# ---- the run ------------------------------------------------------------------------------------------------

def tune_storage(url: str, quick: bool) -> dict[str, Any]:
    import lsio

    t0 = time.perf_counter()
    try:
        profile = lsio.tune(url, quick=quick, save=False)
    except Exception as e:  # reported in its rows: the benchmark goes on with the other contestants
        return {"error": f"lsio.tune({url!r}) failed: {type(e).__name__}: {e}", "seconds": time.perf_counter() - t0}
    return {"settings": profile.settings, "explain": profile.explain(), "key": profile.key,
            "seconds": time.perf_counter() - t0, "quick": quick, "target": url}  # fmt: skip


def run_workload(w: Workload, root: str, tuned: dict[str, Any], a: argparse.Namespace, rounds: int,
                 confirm: int) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """The grid rounds (every setting, defaults and tuned), then `confirm` rounds of only the grid's best hand
    setting, tuned and defaults, stored as "confirm: <name>" (see CONFIRM_PREFIX)."""
    contestants: dict[str, Optional[dict[str, Any]]] = {"defaults": {}, "tuned": tuned.get("settings")}
    for s in w.grid:
        contestants[label(s)] = s
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in contestants}
    if w.warm:
        warm_page_cache(w.warm)

    def play(names: list[str], r: int, prefix: str) -> None:
        names = names[r % len(names):] + names[:r % len(names)]  # rotated: no contestant always goes first
        for name in names:
            settings = contestants[name]
            m = measure(w, root, settings, a) if settings is not None else {"error": tuned.get("error", "")}
            runs.setdefault(prefix + name, []).append(m)
            shown = f"{_secs(m['seconds'])} s" if "seconds" in m and "error" not in m else m.get("error", "")
            print(f"  {prefix or 'round'} {r + 1} {w.key:15} {name:42} {shown}", flush=True)

    for r in range(rounds):
        play(list(contestants), r, "")
    top = summarize(runs, w.grid)["best_label"]
    for r in range(confirm if top else 0):
        play([top, "tuned", "defaults"], r, CONFIRM_PREFIX)
    return runs


def best(ms: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    ok = [m for m in ms if "error" not in m]
    return min(ok, key=lambda m: m["seconds"]) if ok else None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller data and grids, 2 rounds (~2 min)")
    ap.add_argument("--tiny", action="store_true", help="seconds: 2 hand settings per workload, tiny data, 1 round")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 2, tiny 1)")
    ap.add_argument("--confirm", type=int, help="confirmation rounds of the best hand setting, tuned and defaults "
                    "(default 5, quick 2, tiny 1; 0: the grid's ratios only)")
    ap.add_argument("--max-grid", type=int, help="keep the first N hand settings of each workload")
    ap.add_argument("--only", default="", help="comma-separated workload keys (default all)")
    ap.add_argument("--no-http", action="store_true", help="skip the nginx workload")
    ap.add_argument("--tune-quick", action="store_true", help="lsio.tune(quick=True) (default for --quick/--tiny)")
    ap.add_argument("--drop", choices=["auto", "drop_caches", "fadvise"], default="auto",
                    help="cold runs: /proc/sys/vm/drop_caches (root; default when root, except --tiny) or "
                         "posix_fadvise(DONTNEED) of the workload's files")  # fmt: skip
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--out-dir", type=Path, help="default bench/results (--tiny: a temporary folder)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per measurement")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child(json.loads(a.child))
        return 0
    mode = MODES["tiny" if a.tiny else "quick" if a.quick else "full"]
    rounds = a.rounds or mode.rounds
    confirm = a.confirm if a.confirm is not None else {"full": 5, "quick": 2, "tiny": 1}[mode.name]
    max_grid = a.max_grid if a.max_grid is not None else mode.max_grid
    if a.drop == "auto":
        a.drop = "drop_caches" if os.geteuid() == 0 and not a.tiny else "fadvise"
    name = {"full": "tune", "quick": "tune-quick", "tiny": "tune-tiny"}[mode.name]
    out_dir = a.out_dir or (Path(tempfile.gettempdir()) / "lsio-tune-bench-tiny" if a.tiny else HERE / "results")
    started = time.perf_counter()
    # No saved profile may reach the defaults (or any other contestant): children inherit this.
    os.environ["LSIO_TUNE_PROFILE"] = str(Path(tempfile.mkdtemp(prefix="lsio-tune-bench-")) / "no-profile.json")
    only = set(filter(None, a.only.split(",")))
    all_grids = grids(mode.name == "full")
    with tempfile.TemporaryDirectory(prefix="lsio-tune-bench-") as tmpdir:
        tmp = Path(tmpdir)
        makers = {
            "4k-random": lambda g: random_4k(a, mode, tmp, g),
            "whole-256KiB": lambda g: whole_files(a, mode, tmp, g),
            "big-16MiB": lambda g: big_file(a, mode, tmp, g, cold=False),
            "zarr-raw": lambda g: zarr_array(a, mode, "raw", g, cold=False),
            "zarr-sharded": lambda g: zarr_array(a, mode, "sharded", g, cold=False),
            "http-1MiB": lambda g: http_ranges(a, mode, tmp, g),
            "big-16MiB-cold": lambda g: big_file(a, mode, tmp, g, cold=True),  # cold last: they empty the cache
            "zarr-raw-cold": lambda g: zarr_array(a, mode, "raw", g, cold=True),
        }
        keys = [k for k in makers if (not only or k in only) and not (a.no_http and k == "http-1MiB")]
        wls = []
        for k in keys:
            g = all_grids[k][:max_grid] if max_grid else all_grids[k]
            print(f"data for {k}", flush=True)
            wls.append(makers[k](g))
        tunes: dict[str, dict[str, Any]] = {}  # storage key -> tune result
        results: dict[str, dict[str, list[dict[str, Any]]]] = {}
        from lsio._tune import storage_key

        for w in wls:
            if w.http:
                continue
            key = storage_key(w.root) or w.root
            if key not in tunes:
                print(f"lsio.tune({w.root!r}, quick={mode.tune_quick or a.tune_quick}, save=False)", flush=True)
                tunes[key] = tune_storage(w.root, mode.tune_quick or a.tune_quick)
            w.spec["storage"] = key
        for w in wls:
            print(f"{w.key}: {w.title}; {len(w.grid)} hand settings + defaults + tuned, {rounds} round(s)", flush=True)
            if w.http:
                results[w.key] = run_http(w, a, mode, rounds, confirm, tunes)
            else:
                results[w.key] = run_workload(w, w.root, tunes[w.spec["storage"]], a, rounds, confirm)
    elapsed = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    command = "bench/tune_bench.py" + (" " + " ".join(argv) if argv else "")
    write_report(out_dir / f"{name}.md", command, a, mode, rounds, confirm, wls, results, tunes, elapsed)
    plot(out_dir / f"{name}.png", wls, results)
    (out_dir / "raw").mkdir(exist_ok=True)
    (out_dir / "raw" / f"{name}.json").write_text(json.dumps({"tunes": tunes, "results": results}, indent=1))
    print(f"wrote {out_dir / name}.md, .png and raw/{name}.json ({elapsed / 60:.1f} min)")
    return 0


def run_http(w: Workload, a: argparse.Namespace, mode: Mode, rounds: int, confirm: int,
             tunes: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    sys.path.insert(0, str(HERE.parent / "tests" / "servers"))
    from launch import Nginx

    try:
        with Nginx(a.data_dir) as nginx:
            root = f"{nginx.url}{w.spec['folder']}/"
            w.root = root
            target = root + "f0"  # the object the tuner probes (HTTP stores are read only: no scratch object)
            print(f"lsio.tune({target!r}, quick={mode.tune_quick or a.tune_quick}, save=False)", flush=True)
            tuned = tune_storage(target, mode.tune_quick or a.tune_quick)
            tunes[tuned.get("key", "http")] = tuned
            w.spec["storage"] = tuned.get("key", "http")
            return run_workload(w, root, tuned, a, rounds, confirm)
    except Exception as e:  # nginx missing or failing: the rows say so
        w.error = f"{type(e).__name__}: {e}"
        print(f"  {w.key}: {w.error}", flush=True)
        return {}


# ---- report -------------------------------------------------------------------------------------------------

def summarize(results: dict[str, list[dict[str, Any]]], grid: list[dict[str, Any]]) -> dict[str, Any]:
    """The grid's best hand setting and the grid ratios; with confirmation rounds, the ratios (and times) of
    those rounds instead (`grid_*_ratio` keep the grid's)."""
    hand = {label(s): best(results.get(label(s), [])) for s in grid}
    hand = {k: v for k, v in hand.items() if v is not None}
    top = min(hand, key=lambda k: hand[k]["seconds"]) if hand else None
    out: dict[str, Any] = {"best_label": top, "best": hand.get(top) if top else None, "confirmed": False}
    for who in ("tuned", "defaults"):
        b = best(results.get(who, []))
        out[who] = b
        out[f"{who}_ratio"] = out[f"grid_{who}_ratio"] = (hand[top]["seconds"] / b["seconds"]) if (b and top) else None
        out[f"{who}_error"] = next((m["error"] for m in results.get(who, []) if "error" in m), "")
    again = best(results.get(CONFIRM_PREFIX + top, [])) if top else None
    if again:
        out["confirmed"], out["best"] = True, again
        for who in ("tuned", "defaults"):
            b = best(results.get(CONFIRM_PREFIX + who, []))
            out[who] = b
            out[f"{who}_ratio"] = again["seconds"] / b["seconds"] if b else None
    return out


def write_report(path: Path, command: str, a: argparse.Namespace, mode: Mode, rounds: int, confirm: int,
                 wls: list[Workload],
                 results: dict[str, dict[str, list[dict[str, Any]]]], tunes: dict[str, dict[str, Any]],
                 elapsed: float) -> None:  # fmt: skip
    from lsiobench.report import machine_info

    def r(x: Optional[float]) -> str:
        return "–" if x is None else (f"**{x:.2f}**" if x < TARGET else f"{x:.2f}")

    lines = [
        f"# `lsio tune` against the best hand-found settings{'' if mode.name == 'full' else f' ({mode.name})'}",
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC (total run time {elapsed / 60:.1f} min)",
        f"- machine: {machine_info(a.data_dir).line()}",
        f"- chart: [{path.with_suffix('.png').name}]({path.with_suffix('.png').name})",
        f"- best of {rounds} interleaved round(s) (every contestant once per round, order rotated); each "
        "measurement a fresh subprocess and store (hot: one untimed call first; cold: the page cache dropped by "
        f"{'`/proc/sys/vm/drop_caches`' if a.drop == 'drop_caches' else 'posix_fadvise(DONTNEED) of the files'} "
        "after the store is open); `LSIO_TUNE_PROFILE` points at a missing file, so `defaults` is lsio.open with "
        "nothing saved, and `tuned` is `lsio.open(root, **profile.settings)`.",
        f"- ratio = best hand time / time (>= {TARGET} means within 10% of the best hand setting; > 1: faster "
        "than every hand setting); below the target in bold.",
        f"- then {confirm} confirmation round(s): the grid's best hand setting is the fastest of many noisy "
        "measurements, a figure biased low by the selection itself (the luckiest of N draws), so it is measured "
        "again with tuned and defaults only, interleaved in rounds of their own (`confirm:` rows); the summary's "
        "times and ratios are those rounds' best, the grid's ratios are shown beside.",
        "",
        "## Summary",
        "",
        "| workload | best hand setting | s | tuned s | best / tuned | defaults s | best / defaults | grid: best / "
        "tuned | grid: best / defaults |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for w in wls:
        s = summarize(results.get(w.key, {}), w.grid)
        if w.error or s["best"] is None:
            lines.append(f"| {w.key} | {w.error or 'no hand setting ran'} | | | | | | | |")
            continue
        t = _secs(s["tuned"]["seconds"]) if s["tuned"] else f"n/a: {s['tuned_error'][:120]}"
        d = _secs(s["defaults"]["seconds"]) if s["defaults"] else f"failed: {s['defaults_error'][:120]}"
        lines.append(f"| {w.key} | {s['best_label']} | {_secs(s['best']['seconds'])} | {t} | {r(s['tuned_ratio'])} | "
                     f"{d} | {r(s['defaults_ratio'])} | {r(s['grid_tuned_ratio'])} | {r(s['grid_defaults_ratio'])} |")
    lines += ["", "## Tuning (once per storage, before the rounds)", ""]
    for key, t in tunes.items():
        if "error" in t:
            lines += [f"- {key}: **{t['error']}** (after {t['seconds']:.2f} s)", ""]
            continue
        lines += [f"- {key}: `lsio.tune({t['target']!r}, quick={t['quick']}, save=False)` took {t['seconds']:.2f} s;"
                  f" settings `{t['settings']}`", "", "```", t["explain"], "```", ""]  # fmt: skip
    lines += ["## Workloads", ""]
    for w in wls:
        lines += [f"### {w.key}: {w.title}", ""]
        if w.error:
            lines += [f"Not run: {w.error}", ""]
            continue
        res = results.get(w.key, {})
        s = summarize(res, w.grid)
        hand_best = [best(res.get(label(g), [])) for g in w.grid]
        top = min((b["seconds"] for b in hand_best if b), default=None)  # the grid's: rows of the grid rounds
        again = best(res.get(CONFIRM_PREFIX + s["best_label"], [])) if s["best_label"] else None
        lines += ["| contestant | settings | best s | median s | GB/s | best hand / this |", "|---|---|--:|--:|--:|--:|"]
        tuned_settings = tunes.get(w.spec.get("storage", ""), {}).get("settings")
        for name, ms in res.items():
            plain = name.removeprefix(CONFIRM_PREFIX)
            settings = ("(lsio defaults)" if plain == "defaults" else label(tuned_settings or {})
                        if plain == "tuned" else "hand")  # fmt: skip
            b = best(ms)
            if b is None:
                err = next((m["error"] for m in ms if "error" in m), "not run")
                lines.append(f"| {name} | {settings} | {err[:160]} | | | |")
                continue
            med = statistics.median(m["seconds"] for m in ms if "error" not in m)
            ref = again if name.startswith(CONFIRM_PREFIX) and again else None
            ratio = f"{(ref['seconds'] if ref else top) / b['seconds']:.2f}" if (ref or top) else "–"
            lines.append(f"| {name} | {settings} | {_secs(b['seconds'])} | {_secs(med)} | "
                         f"{b['bytes'] / b['seconds'] / 1e9:.2f} | {ratio} |")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def plot(path: Path, wls: list[Workload], results: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(7, 1.3 * len(wls) + 2), 4.5))
    for x, w in enumerate(wls):
        res = results.get(w.key, {})
        s = summarize(res, w.grid)
        if s["best"] is None:
            ax.text(x, 0.05, "×", ha="center")
            continue
        top = s["best"]["seconds"]
        hand = [top / b["seconds"] for b in (best(res.get(label(g), [])) for g in w.grid) if b]
        ax.scatter([x + 0.3] * len(hand), hand, s=10, color="grey", label="hand settings" if x == 0 else None)
        for dx, who, color in ((-0.2, "defaults", "C7"), (0.05, "tuned", "C0")):
            v = s[f"{who}_ratio"]
            if v is not None:
                ax.bar(x + dx, min(v, YMAX), 0.25, color=color, label=who if x == 0 else None)
                ax.text(x + dx, min(v, YMAX) + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
            else:
                ax.text(x + dx, 0.02, "n/a", ha="center", va="bottom", fontsize=7, color=color)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.axhline(TARGET, color="C3", lw=0.8, ls="--", label=f"target {TARGET}")
    ax.set_xticks(range(len(wls)), [w.key for w in wls], fontsize=8, rotation=20)
    ax.set_ylim(0, YMAX + 0.1)
    ax.set_ylabel(f"best hand time / time (1 = best hand; cut at {YMAX})")
    ax.set_title("lsio tune vs the best hand-found setting, per workload", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
