"""Torn writes: a writer of a sharded Zarr v3 array killed with SIGKILL at a random point never leaves a torn chunk
or a mixed shard.

200 times: a new small array (2-3 dimensions, several shards, partial edge shards, zstd inner chunks; see
torn_writer.case) is created holding content A; a writer process rewrites a region spanning several shards (some
partly, so they are read, modified and rewritten) alternately with B and A, and is killed with SIGKILL after a
random number (0-3) of completed writes plus 0-30 ms. Then:

- lsio reads the array, and every inner chunk is exactly A's or exactly B's (never a mix inside a chunk), and all
  inner chunks of one shard come from the same version (a shard is replaced whole: written to a temporary file,
  renamed over the old one; or deleted when B leaves it all fill value);
- zarr-python reads the same array without error and gets the same values;
- the only files besides zarr.json and shard files are the killed writer's temporary files, named
  ``<shard key>.lsio-tmp.<writer pid>.<n>``, next to the shard they were to replace. They are left behind (nothing
  removes them); readers never list chunk directories, so they are ignored, and group listing (lsio and
  zarr-python) only reports the array.

The writers are forked by one server process (torn_writer.py run as a script) that has imported numpy and lsio
but opened no store, so each iteration costs a fork, not a Python start-up. Each iteration's seed (base seed +
iteration) fixes the array, A, B, the region and the kill point; a failure names it.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest
import zarr

import lsio
import lsio.zarr
import torn_writer
from torn_writer import Case

ITERATIONS = 200
BASE_SEED = 20240611
TIMEOUT = 120  # seconds for one answer of the server: generous, the machine may be busy

_TMP = re.compile(r"^(?P<key>.+)\.lsio-tmp\.(?P<pid>\d+)\.\d+$")


def _readline(stream: IO[bytes], timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no answer from the writer server in {timeout} s")
    line = stream.readline()
    if not line:
        raise EOFError("the writer server exited")
    return line.decode()


def _check(root: Path, c: Case, answer: dict[str, Any]) -> Counter[str]:
    """Checks the array at root/arr after the kill; returns what each shard holds ("A", "B" or "either")."""
    path = root / "arr"
    got = lsio.zarr.open_array(str(path), mode="r")[...]
    assert got.shape == c.shape and got.dtype == np.uint16
    seen: Counter[str] = Counter()
    for shard in torn_writer._grid(c.shape, c.shards):
        versions = set()
        for box in _chunks_of(c, shard):
            is_a = np.array_equal(got[box], c.a[box])
            is_b = np.array_equal(got[box], c.b[box])
            if not (is_a or is_b):
                raise AssertionError(
                    f"torn chunk {box} of shard {shard}: {np.count_nonzero(got[box] == c.a[box])} elements match A, "
                    f"{np.count_nonzero(got[box] == c.b[box])} match B, of {got[box].size}")
            if is_a != is_b:
                versions.add("A" if is_a else "B")
        assert len(versions) <= 1, f"shard {shard} mixes inner chunks of A and B"
        seen[versions.pop() if versions else "either"] += 1

    # zarr-python reads it too, the same.
    z = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(z[...], got)

    # Files: metadata, shards, and the killed writer's temporary files; nothing else.
    shard_keys = {"c/" + "/".join(str(s.start // n) for s, n in zip(box, c.shards))
                  for box in torn_writer._grid(c.shape, c.shards)}
    for dirpath, _, files in os.walk(path):
        for name in files:
            key = os.path.relpath(os.path.join(dirpath, name), path)
            if key == "zarr.json" or key in shard_keys:
                continue
            m = _TMP.match(key)
            assert m is not None, f"unexpected file {key!r} in the array"
            assert m["key"] in shard_keys and int(m["pid"]) == answer["pid"], f"unexpected temporary file {key!r}"
            seen["temporary files"] += 1
    return seen


def test_killed_writer_leaves_no_torn_chunk(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"  # the server forks: keep it single-threaded
    stderr_path = tmp_path / "server.stderr"
    with open(stderr_path, "wb") as stderr:
        server = subprocess.Popen([sys.executable, str(Path(torn_writer.__file__))], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=stderr, env=env)
    assert server.stdin is not None and server.stdout is not None
    totals: Counter[str] = Counter()
    writes = 0
    try:
        assert _readline(server.stdout, TIMEOUT).strip() == "ready"
        for it in range(ITERATIONS):
            seed = BASE_SEED + it
            c = torn_writer.case(seed)
            root = tmp_path / f"it{it}"
            root.mkdir()
            (root / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
            torn_writer.create(str(root / "arr"), c)
            kill = np.random.default_rng(seed + 1)
            cmd = {"path": str(root / "arr"), "seed": seed, "after_writes": int(kill.integers(0, 4)),
                   "delay_ms": float(kill.uniform(0, 30))}
            try:
                server.stdin.write((json.dumps(cmd) + "\n").encode())
                server.stdin.flush()
                answer = json.loads(_readline(server.stdout, TIMEOUT))
                assert "error" not in answer, answer["error"]
                assert answer["signal"] == 9, answer
                writes += answer["writes"]
                seen = _check(root, c, answer)
            except Exception as e:
                server_err = stderr_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"iteration {it}, {c.describe()}, kill {cmd}: {e}\n"
                                     f"writer server stderr:\n{server_err}") from e
            totals.update(seen)
            if seen["A"] and seen["B"]:
                totals["arrays mixing A and B shards"] += 1
            if seen["temporary files"]:
                totals["arrays with temporary files"] += 1
            # Leftover temporary files do not disturb opening the array or listing the group.
            if seen["temporary files"]:
                assert list(lsio.zarr.open_group(str(root))) == ["arr"]
                assert [name for name, _ in zarr.open_group(str(root), mode="r").members()] == ["arr"]
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(f"\n{ITERATIONS} killed writers, {writes} completed writes; shards and arrays seen: {dict(totals)}")
    # Not about timing: every writer was killed after at least after_writes completed writes, so some arrays hold B.
    assert totals["B"] > 0, totals


def test_the_check_catches_torn_chunks_and_mixed_shards(tmp_path: Path) -> None:
    """The check above has teeth: one row of an inner chunk rewritten (a torn chunk), or one inner chunk of a shard
    from B while another is from A (a mixed shard), is reported; a truncated shard file fails the read."""
    c, shard, chunk = next(_torn_candidates())
    answer = {"pid": -1}

    torn = tmp_path / "torn"
    a = torn_writer.create(str(torn / "arr"), c)
    row = (slice(chunk[0].start, chunk[0].start + 1),) + chunk[1:]
    a[row] = c.b[row]
    with pytest.raises(AssertionError, match="torn chunk"):
        _check(torn, c, answer)

    mixed = tmp_path / "mixed"
    a = torn_writer.create(str(mixed / "arr"), c)
    a[chunk] = c.b[chunk]  # this inner chunk from B, another one of the same shard still from A
    with pytest.raises(AssertionError, match="mixes inner chunks"):
        _check(mixed, c, answer)

    broken = tmp_path / "broken"
    torn_writer.create(str(broken / "arr"), c)
    key = broken / "arr" / ("c/" + "/".join(str(s.start // n) for s, n in zip(shard, c.shards)))
    data = key.read_bytes()
    key.write_bytes(data[: len(data) // 2])
    with pytest.raises(lsio.DataLossError):
        _check(broken, c, answer)


def _chunks_of(c: Case, shard: tuple[slice, ...]) -> list[tuple[slice, ...]]:
    return [tuple(slice(s.start + r.start, s.start + r.stop) for s, r in zip(shard, rel))
            for rel in torn_writer._grid(tuple(s.stop - s.start for s in shard), c.chunks)]


def _torn_candidates() -> Iterator[tuple[Case, tuple[slice, ...], tuple[slice, ...]]]:
    """(case, shard, chunk): the shard has another inner chunk where A and B differ, and A and B differ both in
    the chunk's first row and in the rest of it."""
    for seed in range(BASE_SEED, BASE_SEED + 1000):
        c = torn_writer.case(seed)
        for shard in torn_writer._grid(c.shape, c.shards):
            differing = [box for box in _chunks_of(c, shard) if not np.array_equal(c.a[box], c.b[box])]
            for box in differing:
                first = (slice(box[0].start, box[0].start + 1),) + box[1:]
                rest = (slice(box[0].start + 1, box[0].stop),) + box[1:]
                if len(differing) >= 2 and box[0].stop - box[0].start >= 2 and \
                        not np.array_equal(c.a[first], c.b[first]) and not np.array_equal(c.a[rest], c.b[rest]):
                    yield c, shard, box
