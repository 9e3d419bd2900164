"""Writes the results: a markdown report and a bar chart of ratios to fio."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .results import Measurement
from .workloads import Workload

FIO = "fio"


@dataclass(frozen=True)
class Machine:
    nproc: int
    kernel: str
    cpu: str
    memory_gib: float
    fio_version: str
    filesystem: str

    def line(self) -> str:
        return (f"nproc {self.nproc}, kernel {self.kernel}, CPU {self.cpu}, {self.memory_gib:.0f} GiB RAM, "
                f"{self.fio_version}, data on {self.filesystem}")


def machine_info(data_dir: Path) -> Machine:
    return Machine(
        nproc=os.cpu_count() or 0,
        kernel=platform.release(),
        cpu=_cpu_model(),
        memory_gib=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        fio_version=_command_output(["fio", "--version"]) or "fio missing",
        filesystem=_filesystem_of(data_dir),
    )


def load_average() -> float:
    """The 1-minute load average (other work on a shared machine shows here)."""
    return os.getloadavg()[0]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _command_output(cmd: list[str]) -> str:
    if not shutil.which(cmd[0]):
        return ""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _filesystem_of(path: Path) -> str:
    out = _command_output(["df", "--output=source,fstype", str(path)]).splitlines()
    return " ".join(out[-1].split()) if len(out) > 1 else "unknown"


# ------------------------------------------------------------- markdown ---

def _fio_best(ms: list[Measurement]) -> Measurement | None:
    return next((m for m in ms if m.contestant == FIO and m.ok), None)


def _ratio(m: Measurement, fio: Measurement | None, attr: str) -> str:
    if not m.ok or fio is None:
        return "–"
    return f"{getattr(m, attr) / getattr(fio, attr):.2f}"


def _cell_text(text: str, limit: int = 300) -> str:
    text = text.replace("|", "/").replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")


def _status(m: Measurement) -> str:
    if m.ok:
        # A round that failed does not hide the others' result, but it is shown.
        return "ok" + (f"; failed {_cell_text('; '.join(m.round_errors))}" if m.round_errors else "")
    text = _cell_text(m.error or "no result")
    return f"n/a: {text}" if m.skipped else f"**FAILED**: {text}"


def _rounds(m: Measurement) -> str:
    """Each round's chunks/s as % of the best, in round order (× = that round failed)."""
    if not m.ok or not m.runs:
        return "–"
    best = max(m.runs)
    return " / ".join(f"{r / best * 100:.0f}" if r > 0 else "×" for r in m.runs)


def _row(m: Measurement, w: Workload, fio: Measurement | None) -> str:
    if not m.ok:
        cells = [m.contestant, m.config or "", "–", "–", "–", "–", "–", "–", "–", "–", _status(m)]
    else:
        cpu_fixed = m.cpu_us_per_chunk * w.total_ranges / 1e6  # fio: scaled to the same work
        rss = f"{m.peak_rss_kib / 1024:,.0f}" if m.peak_rss_kib else "–"
        cells = [m.contestant, m.config, f"{m.chunks_per_s:,.0f}", f"{m.gb_per_s:.2f}", f"{cpu_fixed:.2f}",
                 f"{m.cpu_us_per_chunk:.2f}", rss, _ratio(m, fio, "chunks_per_s"), _ratio(m, fio, "gb_per_s"),
                 _rounds(m), _status(m)]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| contestant | config | chunks/s | GB/s | CPU s | CPU µs/chunk | peak RSS MiB | × fio chunks/s "
          "| × fio GB/s | rounds, % of best | status |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")


def method(rounds: int) -> str:
    """How the figures were taken, in the words every section repeats."""
    return f"best of {rounds} interleaved rounds, order rotated; fio's config chosen by one sweep first"


def workload_section(w: Workload, ms: list[Measurement], rounds: int) -> str:
    fio = _fio_best(ms)
    what = "whole files" if w.pattern == "whole" else f"{w.block // 1024:,} KiB ranges ({w.pattern})"
    lines = [
        f"### {w.key}: {w.title}",
        "",
        f"{w.total_ranges:,} reads of {what} = {w.total_bytes / 2**30:.2f} GiB per run, "
        f"in calls of {w.batch_ranges:,} ranges; {method(rounds)}"
        + (f" (fio: {fio.config}, time-based)" if fio else "") + "."
        + (" O_DIRECT: every run re-reads the same blocks from the device; on a virtual disk the host "
           "may still cache them." if w.direct else ""),
        "",
        HEADER,
    ]
    lines += [_row(m, w, fio) for m in ms]
    return "\n".join(lines) + "\n"


def summary_table(wls: list[Workload], by_wl: dict[str, list[Measurement]]) -> str:
    names = list(dict.fromkeys(m.contestant for w in wls for m in by_wl[w.key]))
    lines = ["| contestant | " + " | ".join(w.key for w in wls) + " |",
             "|---|" + "--:|" * len(wls)]
    for name in names:
        cells = []
        for w in wls:
            ms = by_wl[w.key]
            m = next((x for x in ms if x.contestant == name), None)
            cells.append("–" if m is None else (_ratio(m, _fio_best(ms), "chunks_per_s") if m.ok else
                                                ("n/a" if m.skipped else "failed")))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def fio_sweep_section(wls: list[Workload], sweeps: dict[str, list[Measurement]]) -> str:
    lines = ["| workload | fio config | chunks/s | GB/s | CPU µs/chunk | status |", "|---|---|--:|--:|--:|---|"]
    for w in wls:
        for m in sweeps.get(w.key, []):
            if m.ok:
                lines.append(f"| {w.key} | {m.config} | {m.chunks_per_s:,.0f} | {m.gb_per_s:.2f} | "
                             f"{m.cpu_us_per_chunk:.2f} | ok |")
            else:
                lines.append(f"| {w.key} | {m.config} | – | – | – | {_status(m)} |")
    return "\n".join(lines) + "\n"


def method_paragraph(rounds: int, runs_per_process: int) -> str:
    process = ("which runs the workload once" if runs_per_process == 1 else
               f"which runs the workload {runs_per_process} times and reports its fastest run (there is no "
               "untimed warm-up, and a fresh process's first run pays first-touch costs)")
    return (
        f"Method: {method(rounds)}. Per workload, fio first tries each of its configurations once (last table) "
        f"and keeps the fastest. Then come {rounds} rounds; each runs fio's chosen configuration once and every "
        "contestant once, in an order rotated by one place per round (round 1 starts with the first row, "
        "round 2 with the second, and so on; fio is one of the rows), so that a machine whose speed drifts "
        f"touches every row alike. Each contestant is a fresh process per round, {process}. A row's figure is "
        "its best round; the ratios are that best over fio's best of the same rounds. `rounds, % of best` "
        "lists each round's chunks/s in round order: their spread is the machine's noise."
    )


def write_markdown(path: Path, *, command: str, date: str, machine: Machine, wls: list[Workload],
                   by_wl: dict[str, list[Measurement]], sweeps: dict[str, list[Measurement]], rounds: int,
                   runs_per_process: int, notes: list[str], elapsed_s: float) -> None:
    parts = [
        "# LSIO core benchmark\n",
        f"- command: `{command}`",
        f"- date: {date} (total run time {elapsed_s / 60:.1f} min)",
        f"- machine: {machine.line()}",
        f"- method: {method(rounds)}",
        f"- chart: [{path.with_suffix('.png').name}]({path.with_suffix('.png').name})",
        "",
        method_paragraph(rounds, runs_per_process),
        "",
        "How to read it: every contestant but fio reads the same fixed list of ranges (same files, same order, "
        "same calls of at most 256 MiB). fio reads the same files with the same block size and pattern for a "
        f"fixed time with {machine.nproc} jobs (one per CPU), trying several "
        "engines and queue depths; its best is the reference (× fio = 1.00). LSIO and the Python readers also "
        f"use {machine.nproc} workers/threads. `CPU s` is user+system CPU for the workload's fixed work (fio's, "
        "from its own usr/sys figures, scaled to that work), both of the best round. Peak RSS is the contestant "
        "process's own (GNU time; fio: its largest process), the largest of its rounds.",
        "",
        "Merging: the C++ LSIO rows run with `coalesce_gap=0, max_merged=<range size>`, so each range is its "
        "own read, as in fio. `LSIO uring read (merging)` keeps the default `max_merged` (16 MiB), and so "
        "does `LSIO Python read_ranges` (the Python API has no max_merged), so adjacent ranges of one call "
        "are read together there. obstore's calls are split so that no two ranges of one call touch (it "
        "merges touching ranges even with coalesce=0).",
        "",
        "## Ratio to fio (chunks/s)\n",
        summary_table(wls, by_wl),
        "## Workloads\n",
    ]
    parts += [workload_section(w, by_wl[w.key], rounds) for w in wls]
    parts += ["## fio configurations tried (one run each, before the rounds; the fastest is fio's row)\n",
              fio_sweep_section(wls, sweeps)]
    if notes:
        parts += ["## Notes\n", "\n".join(f"- {n}" for n in notes) + "\n"]
    path.write_text("\n".join(parts))


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=1, default=str))


# ---------------------------------------------------------------- chart ---

def write_chart(path: Path, wls: list[Workload], by_wl: dict[str, list[Measurement]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in dict.fromkeys(m.contestant for w in wls for m in by_wl[w.key]) if n != FIO]
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(8, 1.9 * len(wls) + 4), 6.5))
    cmap = plt.get_cmap("tab10")
    for i, name in enumerate(names):
        color = COLORS.get(name, cmap(i % 10))
        xs, ys, missing = [], [], []
        for j, w in enumerate(wls):
            ms = by_wl[w.key]
            fio = _fio_best(ms)
            m = next((x for x in ms if x.contestant == name), None)
            x = j - 0.4 + width * (i + 0.5)
            if m is not None and m.ok and fio is not None:
                xs.append(x)
                ys.append(m.chunks_per_s / fio.chunks_per_s)
            elif m is not None:
                missing.append(x)
        bars = ax.bar(xs, ys, width, label=name, color=color)
        ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], fontsize=6, rotation=90, padding=2)
        for x in missing:
            ax.text(x, 0.011, "×", ha="center", va="bottom", color=color, fontsize=9)
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--", label="fio best = 1")
    ax.set_yscale("log")
    ax.set_ylim(0.01, 4)
    ax.set_xticks(range(len(wls)), [f"{w.key}\n{_short(w)}\n{_fio_label(by_wl[w.key])}" for w in wls], fontsize=8)
    ax.set_ylabel("throughput / fio best (log scale; × = failed or n/a)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


# One hue per family: LSIO uring blues, LSIO posix greens, LSIO Python purples.
COLORS = {
    "LSIO uring read": "#1f4e9c",
    "LSIO uring for_each": "#3b7dd8",
    "LSIO uring read_into": "#8fbcf2",
    "LSIO uring read (merging)": "#0b2350",
    "LSIO posix read": "#1b7a3a",
    "LSIO posix for_each": "#3fb35f",
    "LSIO posix read_into": "#9bdcaa",
    "LSIO Python read_ranges": "#6a2c91",
    "LSIO Python read_into": "#b98ad6",
    "obstore": "#e08e0b",
    "Python threads + os.pread": "#c0392b",
    "C++ threads + pread into read_into's output": "#7f8c8d",
}


def _fio_label(ms: list[Measurement]) -> str:
    fio = _fio_best(ms)
    return f"fio: {fio.chunks_per_s:,.0f}/s, {fio.gb_per_s:.2f} GB/s" if fio else "fio: failed"


def _short(w: Workload) -> str:
    kind = "O_DIRECT" if w.direct else "hot"
    if w.pattern == "whole":
        return f"{w.files.count} whole files, {kind}"
    return f"{w.block // 1024:,} KiB {w.pattern}, {kind}"
