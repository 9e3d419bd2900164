"""The benchmark workloads and the byte ranges each contestant reads.

Every contestant but fio reads exactly the ranges of a workload's ranges file,
in calls ("batches") of `batch_ranges` ranges. fio reads the same files with the
same block size and pattern for a fixed time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import GIB, KIB, MIB, FileSet

# A batch holds at most this many bytes, so `read` (all results of a call held
# at once) stays bounded (and the same call size is used by every contestant).
BATCH_BYTES = 256 * MIB


@dataclass(frozen=True)
class Workload:
    key: str  # "W1", "W4a", ...
    title: str
    files: FileSet
    pattern: str  # "random" | "sequential" | "whole"
    block: int  # bytes per range (the file size for "whole")
    direct: bool
    total_ranges: int
    fio_configs: tuple[str, ...]  # names from fio.CONFIGS, tried in turn

    @property
    def pass_ranges(self) -> int:
        """Ranges that cover every file once."""
        return self.files.count * (self.files.size // self.block)

    @property
    def batch_ranges(self) -> int:
        """Ranges per call: divides a pass, so no call holds a range twice."""
        per_pass = self.pass_ranges
        calls = max(1, math.ceil(per_pass * self.block / BATCH_BYTES))
        while per_pass % calls:
            calls += 1
        return per_pass // calls

    @property
    def total_bytes(self) -> int:
        return self.total_ranges * self.block


def make_ranges(w: Workload, seed: int = 42) -> np.ndarray:
    """(total_ranges, 3) int64 array of (file_index, start, end); end -1 = to EOF.

    The ranges come in passes; each pass names every block of every file once
    (in random order for "random"), as fio's random map does, so no call holds
    the same range twice and a pass never repeats a block.
    """
    rng = np.random.default_rng(seed)
    per_file = w.files.size // w.block
    passes = math.ceil(w.total_ranges / w.pass_ranges)
    out = []
    for _ in range(passes):
        blocks = np.arange(w.pass_ranges, dtype=np.int64)
        if w.pattern == "random":
            blocks = rng.permutation(blocks)
        out.append(_blocks_to_triples(blocks, per_file, w.block, whole=w.pattern == "whole"))
    return np.concatenate(out)[: w.total_ranges]


def _blocks_to_triples(blocks: np.ndarray, per_file: int, block: int, whole: bool) -> np.ndarray:
    files = blocks // per_file
    starts = (blocks % per_file) * block
    ends = np.full_like(starts, -1) if whole else starts + block
    return np.stack([files, starts, ends], axis=1).astype("<i8")


@dataclass(frozen=True)
class Inputs:
    """The files every range-driven contestant reads: paths and ranges."""

    paths_file: Path
    ranges_file: Path
    ranges: np.ndarray
    paths: list[str]


def write_inputs(w: Workload, work_dir: Path) -> Inputs:
    work_dir.mkdir(parents=True, exist_ok=True)
    paths = [str(p) for p in w.files.paths()]
    paths_file = work_dir / f"{w.key}.paths"
    paths_file.write_text("\n".join(paths) + "\n")
    ranges = make_ranges(w)
    ranges_file = work_dir / f"{w.key}.ranges"
    ranges.tofile(ranges_file)
    return Inputs(paths_file, ranges_file, ranges, paths)


@dataclass(frozen=True)
class Sizes:
    """How big a run is: full scale, scaled down, or the --quick demo."""

    scale: float = 1.0
    quick: bool = False


def workloads(data_dir: Path, sizes: Sizes) -> list[Workload]:
    q, s = sizes.quick, sizes.scale
    n_small = 100 if q else 1000
    big = 256 * MIB if q else 2 * GIB

    def n(full: int, quick: int) -> int:
        return max(1, int((quick if q else full) * s))

    hot_4k = ("psync", "uring-qd1", "uring-qd32", "uring-qd32-fixed", "psync-fileseq", "uring-qd32-fileseq")
    cold_4k = ("psync", "uring-qd1", "uring-qd8", "uring-qd32", "uring-qd128", "uring-qd128-fileseq")
    hot_big = ("psync", "uring-qd1", "uring-qd8")
    mib1 = FileSet(data_dir, MIB, n_small)
    kib256 = FileSet(data_dir, 256 * KIB, 1000)
    one_big = FileSet(data_dir, big, 1)
    return [
        Workload("W1", f"4 KiB random reads, {mib1.count:,} files of 1 MiB, page cache hot", mib1,
                 "random", 4 * KIB, False, n(1_000_000, 100_000), hot_4k),
        Workload("W2", f"4 KiB random reads, {mib1.count:,} files of 1 MiB, O_DIRECT (cold)", mib1,
                 "random", 4 * KIB, True, n(80_000, 20_000), cold_4k),
        Workload("W3", f"get_1000_whole_files: {kib256.count:,} files of 256 KiB, whole-file reads, hot", kib256,
                 "whole", 256 * KIB, False, n(10_000, 2_000), hot_big),
        Workload("W4a", f"one {big // MIB:,} MiB file in 1 MiB ranges, hot", one_big,
                 "sequential", MIB, False, n(2 * (big // MIB), 2 * (big // MIB)), hot_big),
        Workload("W4b", f"one {big // MIB:,} MiB file in 16 MiB ranges, hot", one_big,
                 "sequential", 16 * MIB, False, n(2 * (big // (16 * MIB)), 2 * (big // (16 * MIB))), hot_big),
    ]
