"""Random batches over random files, compared against an os.pread oracle."""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from typing import Optional

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lsio
from util import expected_read, write_file
from pathlib import Path

SIZES = st.one_of(st.just(0), st.integers(1, 64), st.integers(0, 20_000), st.sampled_from([4095, 4096, 4097, 65536]))


@dataclass(frozen=True)
class Request:
    file: int  # index into the files; len(files) names a missing file
    start: int
    end: Optional[int]


@st.composite
def requests(draw: st.DrawFn, sizes: list[int]) -> Request:
    file = draw(st.integers(0, len(sizes)))  # sometimes the missing file
    size = sizes[file] if file < len(sizes) else 100
    offset = st.integers(0, size + 10)  # a little past EOF at times
    kind = draw(st.sampled_from(["bounded", "bounded", "to_eof", "suffix", "zero"]))
    if kind == "bounded":
        a, b = sorted((draw(offset), draw(offset)))
        return Request(file, a, b)
    if kind == "to_eof":
        return Request(file, draw(offset), None)
    if kind == "suffix":
        return Request(file, -draw(st.integers(1, size + 10)), None)
    a = draw(offset)
    return Request(file, a, a)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[int], list[Request]]:
    sizes = draw(st.lists(SIZES, min_size=1, max_size=5))
    reqs = draw(st.lists(requests(sizes), min_size=0, max_size=60))
    repeat = bool(reqs) and draw(st.booleans())
    repeats = draw(st.lists(st.sampled_from(reqs), max_size=10)) if repeat else []  # duplicates, overlaps
    return sizes, reqs + repeats


def make_files(root: str, sizes: list[int], seed: int) -> list[str]:
    rng = random.Random(seed)
    paths = [write_file(Path(root) / f"f{i}", rng.randbytes(n)) for i, n in enumerate(sizes)]
    return paths + [os.path.join(root, "missing")]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(batch=batches(), gap=st.sampled_from([0, 0, 64, 4096, 1 << 20]), direct=st.booleans(), seed=st.integers(0, 99))
def test_read_ranges_matches_pread(store: lsio.Store, batch: tuple[list[int], list[Request]], gap: int, direct: bool,
                                   seed: int) -> None:
    sizes, reqs = batch
    with tempfile.TemporaryDirectory() as root:
        paths = make_files(root, sizes, seed)
        req_paths = [paths[r.file] for r in reqs]
        use_numpy = seed % 2 == 0
        starts = np.array([r.start for r in reqs], np.int64) if use_numpy else [r.start for r in reqs]
        ends = np.array([-1 if r.end is None else r.end for r in reqs], np.int64) if use_numpy else [r.end for r in reqs]
        results = store.read_ranges(req_paths, starts, ends, on_error="return", coalesce_gap=gap, direct=direct)
        assert len(results) == len(reqs)
        for r, path, got in zip(reqs, req_paths, results):
            if r.file == len(sizes):
                assert isinstance(got, FileNotFoundError) and path in str(got), (r, got)
                continue
            want = expected_read(path, r.start, r.end)
            if want is None:
                assert isinstance(got, lsio.OutOfRangeError) and path in str(got), (r, sizes[r.file], got)
            else:
                assert isinstance(got, lsio.Buffer), (r, sizes[r.file], got)
                assert bytes(got) == want, (r, sizes[r.file])


@SETTINGS
@given(batch=batches(), direct=st.booleans(), seed=st.integers(0, 99))
def test_read_into_matches_pread(store: lsio.Store, batch: tuple[list[int], list[Request]], direct: bool,
                                 seed: int) -> None:
    sizes, reqs = batch
    reqs = [r for r in reqs if r.end is not None or r.start < 0]  # read_into needs a length
    with tempfile.TemporaryDirectory() as root:
        paths = make_files(root, sizes, seed)
        lengths = [r.end - r.start if r.end is not None else -r.start for r in reqs]
        big = np.full(sum(lengths), 0xAB, np.uint8)  # every request reads into a slice of one array
        bounds = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(int)
        outs = [big[bounds[i] : bounds[i + 1]] for i in range(len(reqs))]
        errors = store.read_into([paths[r.file] for r in reqs], [r.start for r in reqs], outs, on_error="return",
                                 direct=direct)
        assert errors is not None and len(errors) == len(reqs)
        for r, out, err in zip(reqs, outs, errors):
            path = paths[r.file]
            want = None if r.file == len(sizes) else expected_read(path, r.start, r.end)
            if want is None or (r.start < 0 and -r.start > sizes[r.file]):  # suffix into: exactly n bytes
                assert isinstance(err, OSError) and path in str(err), (r, err)
            else:
                assert err is None, (r, sizes[r.file], err)
                assert out.tobytes() == want, (r, sizes[r.file])
