"""One measured (or failed) contestant on one workload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    runs: list[float] = field(default_factory=list)  # seconds (or chunks/s for fio) of each repeat

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
