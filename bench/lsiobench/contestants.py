"""Contestants that read a workload's ranges file: lsio_bench and the Python readers.

run.py measures in interleaved rounds: every round starts one fresh process per
contestant (`run`), and the best round counts. Each process runs the workload
`RunContext.runs_per_process` times (`--repeat` of lsio_bench and of
lsiobench.readers) and reports its fastest run.

Why 2 runs per process by default rather than 1: neither lsio_bench (run
without --warmup) nor the Python readers make an untimed warm-up run, and a
fresh process's first run pays first-touch costs (buffers and the store's pool
faulted in, thread pools started): in the results of 2026-12-01 it was up to
2.6x slower than the process's later runs at full scale (W4a, LSIO uring read
with merging) and up to 10x in --quick. With 1 run per process every round
would measure that cold start instead of the reader, in every round alike, so
the best round would not remove it. The cost: 3 rounds of 2 runs read twice as
much as the old 3 in-process repeats (an estimated 2-3 more minutes for a full
run); `run.py --process-runs 1` saves that and accepts the cold-start bias.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import proc
from .results import Measurement, failed
from .workloads import Inputs, Workload

BENCH_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Contestant:
    name: str  # the row label, e.g. "LSIO uring read"
    kind: str  # "lsio_bench" | "python"
    engine: str = ""  # lsio_bench --engine
    mode: str = ""  # lsio_bench --mode
    impl: str = ""  # readers --impl
    max_ranges: int = 0  # read only the first ranges (whole calls) when the contestant is slow; 0: all
    merge: bool = False  # lsio_bench: default max_merged (adjacent ranges merge) instead of one read per range

    @property
    def key(self) -> str:
        return re.sub(r"[^a-z0-9_]+", "-", self.name.lower()).strip("-")


CONTESTANTS: tuple[Contestant, ...] = (
    Contestant("LSIO uring read", "lsio_bench", engine="uring", mode="read"),
    Contestant("LSIO uring for_each", "lsio_bench", engine="uring", mode="for_each"),
    Contestant("LSIO uring read_into", "lsio_bench", engine="uring", mode="read_into"),
    Contestant("LSIO uring read (merging)", "lsio_bench", engine="uring", mode="read", merge=True),
    Contestant("LSIO posix read", "lsio_bench", engine="posix", mode="read"),
    Contestant("LSIO posix for_each", "lsio_bench", engine="posix", mode="for_each"),
    Contestant("LSIO posix read_into", "lsio_bench", engine="posix", mode="read_into"),
    Contestant("LSIO Python read_ranges", "python", impl="lsio"),
    Contestant("LSIO Python read_into", "python", impl="lsio_into"),
    # obstore opens the file for every range (~60 µs per 4 KiB range here):
    # cap its work so the whole benchmark stays near 10 minutes.
    Contestant("obstore", "python", impl="obstore", max_ranges=200_000),
    Contestant("Python threads + os.pread", "python", impl="pread"),
    # No LSIO: C++ threads pread into read_into's destinations, the bound that writing every byte to a large
    # output sets (fio reads into one small buffer that stays in the CPU cache).
    Contestant("C++ threads + pread into read_into's output", "lsio_bench", engine="posix", mode="pread_into"),
)


@dataclass(frozen=True)
class RunContext:
    lsio_bench: Path | None  # None: not built (the reason is in lsio_bench_missing)
    lsio_bench_missing: str
    python: str
    runs_per_process: int  # --repeat of each contestant process; it reports its fastest run
    threads: int
    raw_dir: Path
    timeout_s: float


def no_merge_bytes(w: Workload) -> int:
    """max_merged that keeps every range its own read (as fio does): the range size."""
    return w.block


def lsio_bench_cmd(c: Contestant, w: Workload, inputs: Inputs, ctx: RunContext) -> list[str]:
    cmd = [
        str(ctx.lsio_bench), "--engine", c.engine, "--mode", c.mode,
        "--paths-file", str(inputs.paths_file), "--ranges-file", str(inputs.ranges_file),
        "--batch", str(w.batch_ranges), "--repeat", str(ctx.runs_per_process), "--workers", str(ctx.threads),
        "--coalesce-gap", "0", "--verify",
    ]
    if not c.merge:
        cmd += ["--max-merged", str(no_merge_bytes(w))]
    return cmd + (["--direct"] if w.direct else [])


def python_cmd(c: Contestant, w: Workload, inputs: Inputs, ctx: RunContext) -> list[str]:
    cmd = [
        ctx.python, "-m", "lsiobench.readers", "--impl", c.impl,
        "--paths-file", str(inputs.paths_file), "--ranges-file", str(inputs.ranges_file),
        "--batch", str(w.batch_ranges), "--repeat", str(ctx.runs_per_process), "--threads", str(ctx.threads),
    ]
    if c.max_ranges:
        cmd += ["--limit", str(c.max_ranges)]
    if c.impl == "lsio":
        cmd += ["--lsio-options", json.dumps({"coalesce_gap": 0})]
    if c.impl == "lsio_into":
        cmd += ["--block", str(w.block)]
    return cmd + (["--direct"] if w.direct else [])


def expected_chunks(c: Contestant, w: Workload, inputs: Inputs) -> int:
    """How many ranges `c` reads: all, or its limit rounded down to whole calls."""
    n = int(inputs.ranges.shape[0])
    if not c.max_ranges or c.max_ranges >= n:
        return n
    return max(w.batch_ranges, c.max_ranges // w.batch_ranges * w.batch_ranges)


def run(c: Contestant, w: Workload, inputs: Inputs, ctx: RunContext, round_index: int = 0) -> Measurement:
    """Runs `c` once (one process) on `w`; its output goes to <raw_dir>/<workload>-<contestant>-r<round>.json."""
    if c.kind == "lsio_bench" and ctx.lsio_bench is None:
        return failed(w.key, c.name, ctx.lsio_bench_missing)
    if c.mode == "pread_into" and w.direct:
        return failed(w.key, c.name, "the pread reference reads buffered only", skipped=True)
    cmd = lsio_bench_cmd(c, w, inputs, ctx) if c.kind == "lsio_bench" else python_cmd(c, w, inputs, ctx)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")])))
    r = proc.run(cmd, timeout=ctx.timeout_s, env=env, cwd=BENCH_DIR)
    (ctx.raw_dir / f"{w.key}-{c.key}-r{round_index + 1}.json").write_text(
        json.dumps({"cmd": cmd, "returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr[-4000:]}, indent=1))
    if r.returncode == 3 and c.kind == "python":
        return failed(w.key, c.name, r.tail(1), skipped=True)
    if r.returncode != 0:
        return failed(w.key, c.name, f"exit {r.returncode}: {r.tail()}")
    try:
        doc = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        return failed(w.key, c.name, f"unparsable output ({e}): {r.tail()}")
    m = to_measurement(c, w, doc, r.peak_rss_kib, expected_chunks(c, w, inputs))
    if m.chunks < int(inputs.ranges.shape[0]):
        m.config = ", ".join(filter(None, [m.config, f"first {m.chunks:,} ranges"]))
    return m


def to_measurement(c: Contestant, w: Workload, doc: dict[str, Any], peak_rss_kib: int, want_chunks: int) -> Measurement:
    m = Measurement(
        workload=w.key, contestant=c.name, config=_config_label(c, doc),
        chunks=int(doc["chunks"]), nbytes=int(doc["bytes"]), seconds=float(doc["seconds"]),
        cpu_seconds=float(doc["cpu_user"]) + float(doc["cpu_sys"]), peak_rss_kib=peak_rss_kib,
    )
    problems = []
    if doc.get("errors"):
        problems.append(f"{doc['errors']} failed ranges, first: {doc.get('first_error', '')}")
    if doc.get("verify_error"):
        problems.append(f"verify: {doc['verify_error']}")
    if not problems and (m.chunks, m.nbytes) != (want_chunks, want_chunks * w.block):
        problems.append(f"read {m.chunks:,} ranges / {m.nbytes:,} bytes, expected {want_chunks:,} / "
                        f"{want_chunks * w.block:,}")
    if problems:
        m.error = "; ".join(problems)
    # The process's fastest run is this round's figure (its other runs stay in the raw file).
    m.runs = [m.chunks_per_s] if m.ok else []
    return m


def _config_label(c: Contestant, doc: dict[str, Any]) -> str:
    if c.mode == "pread_into":
        return "no LSIO: 2 threads, pread into the read_into destinations"
    if c.kind == "lsio_bench":
        return str(doc.get("engine", c.engine)) + (", max_merged 16 MiB" if c.merge else "")
    if c.impl == "lsio":
        return "coalesce_gap=0 (adjacent ranges merge)"
    return ""


def python_executable() -> str:
    return sys.executable
