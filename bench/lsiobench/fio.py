"""fio: the machine's limit, on the same files, block size and concurrency.

One job file per (workload, config) is written to bench/fio/<report name>/ (so
a run can be repeated by hand: `fio bench/fio/core/W1-psync.fio`). `sweep` tries
every config of a workload once to pick the fastest; run.py then runs that one
config once per round (`run_config`), interleaved with the other contestants.

Jobs are separate sections, one per CPU, rather than numjobs=N: with
filename_format and numjobs, fio 3.33 runs only the first clone when the clones
share files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import proc
from .results import Measurement, failed
from .workloads import Workload

# name -> (label, options)
CONFIGS: dict[str, tuple[str, dict[str, str]]] = {
    "psync": ("psync", {"ioengine": "psync"}),
    "uring-qd1": ("io_uring qd1", {"ioengine": "io_uring", "iodepth": "1"}),
    "uring-qd8": ("io_uring qd8", {"ioengine": "io_uring", "iodepth": "8"}),
    "uring-qd32": ("io_uring qd32", {"ioengine": "io_uring", "iodepth": "32"}),
    "uring-qd128": ("io_uring qd128", {"ioengine": "io_uring", "iodepth": "128"}),
    # Random offsets, but one file at a time: the locality LSIO's planner gets by
    # sorting each call's ranges per file (fio's default switches file per I/O).
    "psync-fileseq": ("psync, file by file", {"ioengine": "psync", "file_service_type": "sequential"}),
    "uring-qd32-fileseq": (
        "io_uring qd32, file by file",
        {"ioengine": "io_uring", "iodepth": "32", "file_service_type": "sequential"},
    ),
    "uring-qd128-fileseq": (
        "io_uring qd128, file by file",
        {"ioengine": "io_uring", "iodepth": "128", "file_service_type": "sequential"},
    ),
    "uring-qd32-fixed": (
        "io_uring qd32 fixedbufs+registerfiles",
        {"ioengine": "io_uring", "iodepth": "32", "fixedbufs": "1", "registerfiles": "1"},
    ),
}


@dataclass(frozen=True)
class FioSettings:
    jobs: int
    runtime_s: int
    job_dir: Path


def available() -> str | None:
    """None if fio can run, else why not."""
    return None if shutil.which("fio") else "fio not found on PATH"


def job_file_text(w: Workload, config: str, s: FioSettings) -> str:
    options = {**_files_options(w), **_pattern_options(w), **CONFIGS[config][1]}
    options.update(
        direct="1" if w.direct else "0",
        invalidate="0",  # never drop the page cache: later hot workloads rely on it
        time_based="1",
        runtime=str(s.runtime_s),
        thread="0",
    )
    lines = [f"; {w.key}: {w.title} ({CONFIGS[config][0]}, {s.jobs} jobs)", "[global]"]
    lines += [f"{k}={v}" for k, v in options.items()]
    for j in range(s.jobs):
        lines.append(f"[{w.key}-j{j}]")
        lines += [f"{k}={v}" for k, v in _per_job_options(w, j, s.jobs).items()]
    return "\n".join(lines) + "\n"


def _files_options(w: Workload) -> dict[str, str]:
    if w.files.count == 1:
        return {"filename": str(w.files.path(0))}
    return {
        "directory": str(w.files.folder),
        "filename_format": "f$filenum",  # the names data.FileSet gives: f0, f1, ...
        "nrfiles": str(w.files.count),
        "filesize": str(w.files.size),
        "size": str(w.files.total_bytes),
        "file_service_type": "random" if w.pattern == "random" else "roundrobin",
        "allow_file_create": "0",
    }


def _pattern_options(w: Workload) -> dict[str, str]:
    return {"rw": "randread" if w.pattern == "random" else "read", "bs": str(w.block)}


def _per_job_options(w: Workload, job: int, jobs: int) -> dict[str, str]:
    if w.files.count != 1:
        return {}
    share = w.files.size // jobs // w.block * w.block  # each job reads its own part of the file
    return {"offset": str(job * share), "size": str(share)}


def run_config(w: Workload, config: str, s: FioSettings) -> tuple[Measurement, dict | None]:
    """Runs one job file; returns the measurement and fio's JSON (None if it failed)."""
    label = CONFIGS[config][0]
    job = s.job_dir / f"{w.key}-{config}.fio"
    job.parent.mkdir(parents=True, exist_ok=True)
    job.write_text(job_file_text(w, config, s))
    r = proc.run(["fio", "--output-format=json", str(job)], timeout=s.runtime_s + 120)
    if r.returncode != 0:
        return failed(w.key, "fio", f"fio exit {r.returncode}: {r.tail()}", label), None
    try:
        doc = json.loads(r.stdout[r.stdout.index("{"):])
    except ValueError as e:
        return failed(w.key, "fio", f"unparsable fio output ({e}): {r.tail()}", label), None
    m = parse(doc, w.key, label)
    m.peak_rss_kib = r.peak_rss_kib
    return m, doc


def parse(doc: dict, workload: str, label: str) -> Measurement:
    """Sums the jobs of one fio JSON report."""
    jobs = doc.get("jobs", [])
    errors = [f"{j['jobname']}: error {j['error']}" for j in jobs if j.get("error")]
    idle = [j["jobname"] for j in jobs if j["read"]["total_ios"] == 0]
    if not jobs or errors or idle:
        why = "; ".join(errors) or f"jobs that did no I/O: {', '.join(idle) or 'all'}"
        return failed(workload, "fio", why, label)
    ios = sum(j["read"]["total_ios"] for j in jobs)
    nbytes = sum(j["read"]["io_bytes"] for j in jobs)
    iops = sum(j["read"]["iops"] for j in jobs)
    cpu = sum((j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1000 for j in jobs)
    return Measurement(
        workload=workload, contestant="fio", config=label, chunks=ios, nbytes=nbytes,
        seconds=ios / iops, cpu_seconds=cpu, runs=[iops],
    )


def sweep(w: Workload, s: FioSettings, log: Callable[[str], None]) -> tuple[str | None, list[Measurement]]:
    """Runs every config of `w` once; returns the fastest config's name and the sweep.

    The sweep only picks the config: run.py then measures that config once per
    round, interleaved with the contestants, so that fio and LSIO see the same
    machine speed. The name is None if every config failed.
    """
    results: list[Measurement] = []
    for config in w.fio_configs:
        m, _doc = run_config(w, config, s)
        log(f"  fio {m.config:<40} " + (f"{m.chunks_per_s:>12,.0f} chunks/s" if m.ok else f"FAILED {m.error}"))
        results.append(m)
    ok = [(m, c) for m, c in zip(results, w.fio_configs) if m.ok]
    if not ok:
        return None, results
    return max(ok, key=lambda mc: mc[0].chunks_per_s)[1], results


def default_settings(job_dir: Path, runtime_s: int) -> FioSettings:
    return FioSettings(jobs=os.cpu_count() or 1, runtime_s=runtime_s, job_dir=job_dir)
