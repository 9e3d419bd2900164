"""The training-loader benchmark's report: bench/results/ml.md and ml.png."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .mldata import CHUNKS, CROP, Dataset

OUT_BYTES = math.prod(CROP) * 4  # float32 per sample
CHUNK_BYTES = math.prod(CHUNKS) * 2  # uint16 per inner chunk


@dataclass
class Row:
    contestant: str
    samples: int = 0  # per window
    best_seconds: float = 0.0
    cpu_seconds: float = 0.0
    measured_samples: int = 0
    peak_rss_mib: float = 0.0
    processes: int = 1
    chunks_per_sample: float = 0.0
    wait_fraction: float | None = None
    checksum: float | None = None
    error: str | None = None
    windows: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.best_seconds > 0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.best_seconds if self.ok else 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.samples_per_s * self.chunks_per_sample

    @property
    def cores(self) -> float:
        """CPU seconds per wall second over the measured windows."""
        return self.cpu_seconds / sum(self.windows) if self.ok and self.windows else 0.0

    @property
    def cpu_per_sample(self) -> float:
        return self.cpu_seconds / self.measured_samples if self.measured_samples else 0.0


@dataclass
class Context:
    command: str
    dataset: Dataset
    batch_size: int
    batches: int
    warmup: int
    repeats: int
    step: float
    reference: str
    split_lines: list[str]
    notes: list[str]


def _fmt_rss(r: Row) -> str:
    return f"{r.peak_rss_mib:.0f}" + (f" ({r.processes} proc)" if r.processes > 1 else "")


def _ratio(lsio: Row, r: Row) -> str:
    return f"{lsio.samples_per_s / r.samples_per_s:.2f}" if lsio.ok and r.ok else "–"


def table(rows: list[Row], lsio_rows: list[Row]) -> list[str]:
    heads = ["contestant", "samples/s", "output GB/s (float32)", "decoded GB/s (uint16 chunks)", "inner chunks/s",
             "CPU s/sample", "cores used", "peak RSS MiB", "data wait"] + [f"{r.contestant} ×" for r in lsio_rows]
    lines = ["| " + " | ".join(heads) + " |", "|---|" + "--:|" * (len(heads) - 1)]
    for r in rows:
        if not r.ok:
            lines.append(f"| {r.contestant} | {r.error} |" + " |" * (len(heads) - 2))
            continue
        wait = f"{100 * r.wait_fraction:.1f}%" if r.wait_fraction is not None else "–"
        cells = [r.contestant, f"{r.samples_per_s:.0f}", f"{r.samples_per_s * OUT_BYTES / 1e9:.2f}",
                 f"{r.chunks_per_s * CHUNK_BYTES / 1e9:.2f}", f"{r.chunks_per_s:,.0f}", f"{r.cpu_per_sample:.4f}",
                 f"{r.cores:.2f}", _fmt_rss(r), wait] + [_ratio(x, r) for x in lsio_rows]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets(rows: list[Row], ref: Row | None) -> list[str]:
    if ref is None or not ref.ok:
        return ["- no LSIO contestant ran: no targets to check"]
    others = [r for r in rows if r.ok and not r.contestant.startswith("lsio")]
    best = max(others, key=lambda r: r.samples_per_s, default=None)
    out = []
    if best is not None:
        ratio = ref.samples_per_s / best.samples_per_s
        out.append(f"- {ref.contestant} samples/s ÷ fastest other ({best.contestant}): **{ratio:.2f}×** "
                   f"(target ≥ 2×: {'met' if ratio >= 2 else 'not met'})")
    out.append(f"- {ref.contestant} inner chunks decoded and placed: **{ref.chunks_per_s:,.0f}/s** "
               f"(target: towards 1,000,000/s)")
    if ref.wait_fraction is not None:
        out.append(f"- {ref.contestant} data wait at a step time of 80% of its rate: "
                   f"**{100 * ref.wait_fraction:.1f}%** "
                   f"(target < 5%: {'met' if ref.wait_fraction < 0.05 else 'not met'})")
    return out


def markdown(rows: list[Row], ctx: Context) -> str:
    lsio_rows = [r for r in rows if r.contestant.startswith("lsio") and r.ok]
    ref = next((r for r in rows if r.contestant == ctx.reference), None)
    b = ctx.batch_size
    lines = [
        "# Training-loader benchmark", "",
        f"- command: `{ctx.command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: nproc {os.cpu_count()}, "
        f"kernel {os.uname().release}; page cache hot (every file read once first); each contestant in its own "
        "process; the machine is shared (builds and other benchmarks may run alongside; the 'cores used' column shows "
        "what each contestant got): compare ratios, not absolute numbers",
        f"- data: {ctx.dataset.describe()}",
        f"- workload: batches of {b} crops of (time, channel, y, x) = {CROP} (uniform random over the valid starts, "
        f"seeded), float32 output normalised per channel ((x - mean) / std); {ctx.warmup} warm-up batches, then "
        f"{ctx.repeats} windows of {ctx.batches} batches, the best window counts",
        "- samples/s: crops per second; output GB/s: float32 bytes delivered; decoded GB/s: uint16 bytes of the "
        f"inner chunks the crops touch ({CHUNKS} = {CHUNK_BYTES} B each; {ref.chunks_per_sample if ref else 0:.1f} "
        "per crop on average, usually 12 × 4 × 3 × 3 = 432); CPU s/sample: user + system seconds of the process "
        "(all threads, and DataLoader workers) over the measured windows ÷ samples; cores used: those CPU seconds ÷ "
        "the windows' wall seconds; peak RSS: VmHWM of the process "
        "(plus its workers' for the DataLoader)",
        f"- data wait: a consumer that sleeps a fixed step of {ctx.step * 1e3:.1f} ms per batch ({b} samples at 80% "
        f"of {ctx.reference}'s measured samples/s) over {max(8, ctx.batches)} batches after {ctx.warmup} warm-up ones "
        "consumed the same way (the start-up transient left out); the fraction of its time spent waiting for the "
        "next batch",
        "- ratio columns: that LSIO contestant's samples/s ÷ the row's", "",
        *table(rows, lsio_rows), "",
        "## Targets", "",
        *targets(rows, ref), "",
        "## What limits LSIO", "",
        *ctx.split_lines,
    ]
    if ctx.notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in ctx.notes]]
    return "\n".join(lines) + "\n"


def plot(rows: list[Row], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.ok]
    names = [r.contestant.replace(" ", "\n", 1) for r in ok]
    colors = ["tab:blue" if r.contestant.startswith("lsio") else "tab:gray" for r in ok]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.8))
    bars = a1.bar(names, [r.samples_per_s for r in ok], color=colors)
    ref = max((r for r in ok if r.contestant.startswith("lsio")), key=lambda r: r.samples_per_s, default=None)
    for bar, r in zip(bars, ok):
        other = ref is not None and not r.contestant.startswith("lsio")
        label = f"{r.samples_per_s:.0f}"
        if other and ref is not None:
            label += f"\nbest LSIO {ref.samples_per_s / r.samples_per_s:.1f}×"
        a1.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=8)
    a1.set_ylabel("samples/s (higher is better)")
    a1.set_title(title, fontsize=9)
    a1.tick_params(axis="x", labelsize=7)
    a1.margins(y=0.2)
    waits = [100 * (r.wait_fraction or 0.0) for r in ok]
    a2.bar(names, waits, color=colors)
    a2.axhline(5, color="tab:red", linestyle="--", linewidth=1, label="5% target")
    a2.set_ylabel("data wait, % of consumer time (lower is better)")
    a2.set_title("consumer sleeping 80% of LSIO's batch time per batch", fontsize=9)
    a2.tick_params(axis="x", labelsize=7)
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def row_from(contestant: str, data: dict[str, Any], batch_size: int, batches: int, chunks_per_sample: float) -> Row:
    if "error" in data:
        return Row(contestant, error=data["error"])
    windows = data["windows"]
    return Row(contestant, samples=batches * batch_size, best_seconds=min(windows), cpu_seconds=data["cpu_seconds"],
               measured_samples=len(windows) * batches * batch_size, peak_rss_mib=data["peak_rss_mib"],
               processes=data["processes"], chunks_per_sample=chunks_per_sample, checksum=data["checksum"],
               windows=windows)
