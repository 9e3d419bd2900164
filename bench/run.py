#!/usr/bin/env python3
"""LSIO core benchmark: fio vs LSIO (C++ and Python) vs obstore vs Python pread.

    python bench/run.py            # full scale, bench/results/core.{md,png}
    python bench/run.py --quick    # small demo, bench/results/core-quick.{md,png}

Method, per workload: fio tries each of its configs once and keeps the
fastest; then --repeats rounds each run fio's chosen config once and every
contestant once, in an order rotated by one place per round (fio is one of the
rotated entries). Every row's figure is its best round. The host is shared and
drifts 10-20% in speed within minutes; measured in sequence, fio and LSIO
minutes apart gave ratios that moved by +-10%, interleaved they see the same
machine. Each contestant is a fresh process per round that runs the workload
--process-runs times (default 2: the first run pays a fresh process's
first-touch costs, see lsiobench/contestants.py) and reports its fastest.

See bench/README.md for the workloads and how each contestant is run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from lsiobench import contestants, data, fio, report  # noqa: E402
from lsiobench.results import Measurement, best_of_rounds, failed  # noqa: E402
from lsiobench.workloads import Inputs, Sizes, Workload, workloads, write_inputs  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small demo: fewer files, ranges and fio seconds")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every workload's number of ranges")
    p.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data", help="where the input files live")
    p.add_argument("--out-dir", type=Path, default=BENCH_DIR / "results")
    p.add_argument("--name", help="report base name (default: core, or core-quick with --quick)")
    p.add_argument("--repeats", type=int, default=3,
                   help="interleaved rounds (fio and every contestant once per round); the best round counts")
    p.add_argument("--process-runs", type=int, default=2,
                   help="runs of the workload inside each contestant process per round; the fastest is the "
                        "round's figure (1: no warm-up, a fresh process's first run)")
    p.add_argument("--fio-runtime", type=int, help="seconds per fio run (default 3, quick 1)")
    p.add_argument("--workloads", help="comma-separated subset, e.g. W1,W3")
    p.add_argument("--contestants", help="comma-separated substrings of contestant names, e.g. 'uring,pread'")
    p.add_argument("--no-fio", action="store_true", help="skip fio (ratios are then unavailable)")
    p.add_argument("--build-dir", type=Path, default=REPO / "build" / "release")
    p.add_argument("--lsio-bench", type=Path, help="lsio_bench binary (default: <build-dir>/bench/lsio_bench)")
    p.add_argument("--no-build", action="store_true", help="do not (re)build lsio_bench")
    p.add_argument("--timeout", type=float, default=300, help="seconds before a contestant is killed")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.process_runs < 1:
        p.error("--repeats and --process-runs must be >= 1")
    return args


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------- build ---

def build_lsio_bench(build_dir: Path) -> str | None:
    """Configures (if needed) and builds the lsio_bench target; returns an error or None."""
    steps = []
    if not (build_dir / "build.ninja").exists():
        steps.append(["cmake", "-S", str(REPO), "-B", str(build_dir), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"])
    steps.append(["ninja", "-C", str(build_dir), "lsio_bench"])
    for cmd in steps:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
        except (OSError, subprocess.SubprocessError) as e:
            return f"{shlex.join(cmd)}: {e}"
        if r.returncode != 0:
            tail = " | ".join((r.stdout + r.stderr).strip().splitlines()[-8:])
            return f"build failed ({shlex.join(cmd)}): {tail}"
    return None


def find_lsio_bench(args: argparse.Namespace) -> tuple[Path | None, str]:
    binary = args.lsio_bench or args.build_dir / "bench" / "lsio_bench"
    error = None if args.no_build or args.lsio_bench else build_lsio_bench(args.build_dir)
    if binary.exists() and os.access(binary, os.X_OK):
        if error:
            log(f"warning: {error}; using the existing {binary}")
        return binary, ""
    return None, error or f"lsio_bench not found at {binary}"


# ------------------------------------------------------------- workload ---

def prepare(w: Workload, work_dir: Path) -> Inputs:
    written = data.ensure_files(w.files)
    if written:
        log(f"  created {written} files of {w.files.size:,} bytes in {w.files.folder}")
    if not w.direct:
        t0 = time.monotonic()
        data.warm_page_cache(w.files.paths())
        log(f"  page cache warmed ({w.files.total_bytes / 2**30:.2f} GiB, {time.monotonic() - t0:.1f} s)")
    return write_inputs(w, work_dir)


@dataclass
class Entrant:
    """One row of a workload: fio or a contestant, measured once per round."""

    name: str
    measure: Callable[[int], Measurement]  # round index -> one measurement
    rounds: list[Measurement] = field(default_factory=list)
    settled: Measurement | None = None  # a result no further round can change (n/a, fio unusable)

    def result(self) -> Measurement:
        return self.settled or best_of_rounds(self.rounds)


def log_measurement(m: Measurement, prefix: str, wall_s: float | None = None) -> None:
    if m.ok:
        took = f"  ({wall_s:.0f} s)" if wall_s is not None else ""
        log(f"  {prefix}{m.contestant:<28} {m.chunks_per_s:>12,.0f} chunks/s {m.gb_per_s:7.2f} GB/s"
            f"  cpu {m.cpu_seconds:6.2f} s{took}")
    else:
        log(f"  {prefix}{m.contestant:<28} {'n/a' if m.skipped else 'FAILED'}: {m.error}")


def measure_once(e: Entrant, round_index: int, workload: str) -> None:
    t0 = time.monotonic()
    try:
        m = e.measure(round_index)
    except Exception as ex:  # a broken contestant must not stop the others, nor its later rounds
        m = failed(workload, e.name, f"{type(ex).__name__}: {ex}")
    log_measurement(m, f"r{round_index + 1} ", time.monotonic() - t0)
    if m.skipped:
        e.settled = m  # "not applicable" (e.g. obstore with O_DIRECT) will not change: skip its other rounds
    else:
        e.rounds.append(m)


def rotated(entrants: list[Entrant], round_index: int) -> list[Entrant]:
    """The order of one round: starts at entrant round_index mod n, so no row is always first or last."""
    k = round_index % len(entrants) if entrants else 0
    return entrants[k:] + entrants[:k]


def settled_entrant(m: Measurement) -> Entrant:
    return Entrant(m.contestant, lambda _r: m, settled=m)


def fio_entrant(w: Workload, fio_settings: fio.FioSettings) -> tuple[Entrant, list[Measurement]]:
    """Sweeps fio's configs once; the entrant then runs only the fastest, once per round."""
    why = fio.available()
    if why:
        return settled_entrant(failed(w.key, "fio", why)), []
    config, sweep = fio.sweep(w, fio_settings, log)
    if config is None:  # every config failed: the row shows the first failure, as before
        return settled_entrant(sweep[0]), sweep
    return Entrant("fio", lambda _r: fio.run_config(w, config, fio_settings)[0]), sweep


def contestant_entrant(c: contestants.Contestant, w: Workload, inputs: Inputs,
                       ctx: contestants.RunContext) -> Entrant:
    return Entrant(c.name, lambda r: contestants.run(c, w, inputs, ctx, r))


def run_workload(w: Workload, args: argparse.Namespace, ctx: contestants.RunContext,
                 chosen: list[contestants.Contestant], fio_settings: fio.FioSettings | None
                 ) -> tuple[list[Measurement], list[Measurement]]:
    log(f"\n{w.key}: {w.title} ({w.total_ranges:,} ranges, calls of {w.batch_ranges:,})")
    inputs = prepare(w, args.data_dir / "inputs")
    entrants: list[Entrant] = []
    sweep: list[Measurement] = []
    if fio_settings is not None:
        fio_e, sweep = fio_entrant(w, fio_settings)
        entrants.append(fio_e)
    entrants += [contestant_entrant(c, w, inputs, ctx) for c in chosen]
    for r in range(args.repeats):
        log(f"  round {r + 1}/{args.repeats}")
        for e in rotated(entrants, r):
            if e.settled is None:
                measure_once(e, r, w.key)
    results = [e.result() for e in entrants]  # table order stays fio first, then CONTESTANTS order
    log("  best of the rounds:")
    for m in results:
        log_measurement(m, "")
    return results, sweep


# ----------------------------------------------------------------- main ---

def select_contestants(wanted: str | None) -> list[contestants.Contestant]:
    if not wanted:
        return list(contestants.CONTESTANTS)
    keys = [k.strip().lower() for k in wanted.split(",") if k.strip()]
    return [c for c in contestants.CONTESTANTS if any(k in c.name.lower() for k in keys)]


def _shown_path(path: str) -> str:
    """`path` relative to the working directory when it is inside it (as typed)."""
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel.startswith("..") else rel


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_before = report.load_average()
    command = shlex.join([_shown_path(sys.executable), _shown_path(sys.argv[0]), *argv])
    name = args.name or ("core-quick" if args.quick else "core")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    raw_dir = args.out_dir / "raw" / name
    raw_dir.mkdir(parents=True, exist_ok=True)
    for stale in raw_dir.glob("*.json"):
        stale.unlink()

    wls = workloads(args.data_dir, Sizes(scale=args.scale, quick=args.quick))
    if args.workloads:  # "W4" selects W4a and W4b
        wanted = [k.strip().upper() for k in args.workloads.split(",") if k.strip()]
        wls = [w for w in wls if any(w.key.upper().startswith(k) for k in wanted)]
    chosen = select_contestants(args.contestants)
    binary, missing = find_lsio_bench(args) if any(c.kind == "lsio_bench" for c in chosen) else (None, "")
    log(f"lsio_bench: {binary or missing}")
    threads = os.cpu_count() or 1
    ctx = contestants.RunContext(lsio_bench=binary, lsio_bench_missing=missing, python=sys.executable,
                                 runs_per_process=args.process_runs, threads=threads, raw_dir=raw_dir,
                                 timeout_s=args.timeout)
    runtime = args.fio_runtime or (1 if args.quick else 3)
    fio_settings = None if args.no_fio else fio.default_settings(BENCH_DIR / "fio" / name, runtime)

    by_wl: dict[str, list[Measurement]] = {}
    sweeps: dict[str, list[Measurement]] = {}
    for w in wls:
        by_wl[w.key], sweeps[w.key] = run_workload(w, args, ctx, chosen, fio_settings)

    machine = report.machine_info(args.data_dir)
    date = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    notes = [f"load average (1 min) before the run {load_before:.2f}, after {report.load_average():.2f}: "
             f"well above 0 means other work shared the {machine.nproc} CPUs."]
    notes += [f"lsio_bench was not available: {missing}"] if missing else []
    md = args.out_dir / f"{name}.md"
    report.write_markdown(md, command=command, date=date, machine=machine, wls=wls, by_wl=by_wl, sweeps=sweeps,
                          rounds=args.repeats, runs_per_process=args.process_runs, notes=notes,
                          elapsed_s=time.monotonic() - started)
    report.write_chart(md.with_suffix(".png"), wls, by_wl,
                       f"LSIO vs fio and peers, {machine.nproc} CPUs, kernel {machine.kernel} ({name})")
    report.write_json(raw_dir / "measurements.json", {
        "command": command, "date": date, "machine": machine.__dict__,
        "method": report.method(args.repeats), "rounds": args.repeats, "runs_per_process": args.process_runs,
        "workloads": {w.key: [m.to_json() for m in by_wl[w.key]] for w in wls},
        "fio_sweeps": {k: [m.to_json() for m in v] for k, v in sweeps.items()},
    })
    log(f"\nwrote {md} and {md.with_suffix('.png')} in {(time.monotonic() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
