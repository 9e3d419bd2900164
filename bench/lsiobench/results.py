"""One measured (or failed) contestant on one workload, and the best of its rounds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass
class Measurement:
    workload: str
    contestant: str
    config: str = ""  # e.g. "io_uring qd32", "engine uring"
    chunks: int = 0  # ranges read in the measured run
    nbytes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # user + system, of the measured run
    peak_rss_kib: int | None = None
    error: str | None = None  # set when the contestant failed or was skipped
    skipped: bool = False  # a "not applicable" rather than a failure
    # chunks/s: of the one measured run, or after best_of_rounds of every round in
    # round order (0.0 for a round that failed)
    runs: list[float] = field(default_factory=list)
    round_errors: list[str] = field(default_factory=list)  # "round 2: ..." for rounds that failed

    @property
    def ok(self) -> bool:
        return self.error is None and self.seconds > 0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.ok else 0.0

    @property
    def gb_per_s(self) -> float:
        return self.nbytes / self.seconds / 1e9 if self.ok else 0.0

    @property
    def cpu_us_per_chunk(self) -> float:
        return self.cpu_seconds / self.chunks * 1e6 if self.ok and self.chunks else 0.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(chunks_per_s=self.chunks_per_s, gb_per_s=self.gb_per_s, cpu_us_per_chunk=self.cpu_us_per_chunk)
        return d


def failed(workload: str, contestant: str, error: str, config: str = "", skipped: bool = False) -> Measurement:
    return Measurement(workload=workload, contestant=contestant, config=config, error=error, skipped=skipped)


def best_of_rounds(rounds: list[Measurement]) -> Measurement:
    """One contestant's rounds (in round order) as one row: its fastest round.

    The row keeps every round's chunks/s in `runs` (the spread the report shows)
    and the errors of rounds that failed; peak RSS is the largest of any
    successful round, since each round is a fresh process. If every round
    failed, the row is the first failure, as a single run's would be.
    """
    ok = [m for m in rounds if m.ok]
    if not ok:
        first = rounds[0]
        more = f" (failed in all {len(rounds)} rounds)" if len(rounds) > 1 else ""
        return replace(first, error=f"{first.error or 'no result'}{more}", runs=[])
    best = max(ok, key=lambda m: m.chunks_per_s)
    rss = [m.peak_rss_kib for m in ok if m.peak_rss_kib]
    return replace(
        best,
        runs=[m.chunks_per_s for m in rounds],
        peak_rss_kib=max(rss) if rss else None,
        round_errors=[f"round {i + 1}: {m.error}" for i, m in enumerate(rounds) if not m.ok],
    )
