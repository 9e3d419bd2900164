"""The writer side of test_writer_kill.py: the cases, and a fork server whose children write until SIGKILLed.

``case(seed)`` gives a small sharded Zarr v3 array (2-3 dimensions, several shards, partial edge shards, zstd inner
chunks) and two full contents A and B that differ only inside a region R spanning several shards, partly covering
some. Some inner chunks and whole shards of B inside R are all fill value, so writing B drops them (a missing inner
chunk, a deleted shard file) and writing A brings them back.

Run as a script, this is a fork server: it imports numpy and lsio once, opens no store (so it has no worker threads
to lose in fork()), prints "ready", then for each JSON command line {"path", "seed", "after_writes", "delay_ms"} on
stdin forks a writer that opens the array at path and writes ``a[R] = B[R]``, ``a[R] = A[R]``, ... forever, sending
one byte to the server after opening and one after each completed write. The server waits for ``after_writes``
completed writes, sleeps ``delay_ms`` milliseconds, kills the writer with SIGKILL, reaps it and answers one JSON line
{"pid", "writes" (completed writes it reported), "signal"} (or {"error": ...}).
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

import lsio.zarr

FILL = 0
DTYPE = "uint16"
CODECS = [{"name": "bytes", "configuration": {"endian": "little"}},
          {"name": "zstd", "configuration": {"level": 1, "checksum": False}}]


@dataclass
class Case:
    seed: int
    shape: tuple[int, ...]
    chunks: tuple[int, ...]  # inner chunks
    shards: tuple[int, ...]
    index_location: str
    region: tuple[slice, ...]  # R: where A and B differ, what every write rewrites
    a: np.ndarray
    b: np.ndarray

    def describe(self) -> str:
        r = ", ".join(f"{s.start}:{s.stop}" for s in self.region)
        return (f"seed {self.seed}: shape {self.shape}, shards {self.shards}, inner chunks {self.chunks}, "
                f"index at the {self.index_location}, region [{r}]")


def _grid(shape: tuple[int, ...], block: tuple[int, ...]) -> list[tuple[slice, ...]]:
    """The blocks of a regular grid over shape, clipped to it, in C order."""
    counts = [math.ceil(n / b) for n, b in zip(shape, block)]
    out = []
    for idx in np.ndindex(*counts):
        out.append(tuple(slice(i * b, min((i + 1) * b, n)) for i, b, n in zip(idx, block, shape)))
    return out


def _inside(box: tuple[slice, ...], region: tuple[slice, ...]) -> bool:
    return all(r.start <= b.start and b.stop <= r.stop for b, r in zip(box, region))


def case(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(2, 4))
    chunks = tuple(int(rng.integers(2, 5)) for _ in range(ndim))
    per = [int(rng.integers(1, 3)) for _ in range(ndim)]  # inner chunks per shard along each dimension
    if math.prod(per) == 1:
        per[0] = 2
    shards = tuple(c * k for c, k in zip(chunks, per))
    counts = [int(rng.integers(2, 4)) if d < 2 else int(rng.integers(1, 3)) for d in range(ndim)]
    # The last shard along each dimension is partial (the array ends inside it) most of the time.
    shape = tuple(s * m - int(rng.integers(0, s)) for s, m in zip(shards, counts))
    region = []
    for n, s in zip(shape, shards):
        if n <= 1 or rng.random() < 0.3:
            region.append(slice(0, n))
        else:  # from inside the first shard to inside the last: partly covered shards at both ends
            start = int(rng.integers(0, min(s, n - 1)))
            stop = int(rng.integers(max(start + 1, n - s + 1), n + 1))
            region.append(slice(start, stop))
    r = tuple(region)
    a = rng.integers(1, 1 << 16, shape, dtype=np.uint16)  # never the fill value
    b = a.copy()
    b[r] = rng.integers(1, 1 << 16, b[r].shape, dtype=np.uint16)
    for box in _grid(shape, chunks):
        if _inside(box, r) and rng.random() < 0.25:
            b[box] = FILL  # B omits this inner chunk
    for box in _grid(shape, shards):
        if _inside(box, r) and rng.random() < 0.3:
            b[box] = FILL  # B deletes this shard
    location = "start" if rng.random() < 0.5 else "end"
    return Case(seed, shape, chunks, shards, location, r, a, b)


def create(path: str, c: Case) -> lsio.zarr.Array:
    """The array of case c at path, holding A."""
    arr = lsio.zarr.create(path, shape=c.shape, dtype=DTYPE, chunks=c.chunks, shards=c.shards, codecs=CODECS,
                           index_location=c.index_location, fill_value=FILL)  # type: ignore[arg-type]
    arr[...] = c.a
    return arr


# ---- the fork server --------------------------------------------------------------------------------------------------


def _writer(path: str, seed: int, fd: int) -> None:
    c = case(seed)
    arr = lsio.zarr.open_array(path)
    os.write(fd, b"S")
    versions = (c.b[c.region], c.a[c.region])
    k = 0
    while True:
        arr[c.region] = versions[k % 2]
        k += 1
        os.write(fd, b"W")


def _run(cmd: dict[str, Any]) -> dict[str, Any]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer
        code = 3
        try:
            os.close(r)
            _writer(cmd["path"], int(cmd["seed"]), w)
        except BaseException:  # noqa: BLE001 - reported through the exit status and stderr
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(w)
    seen = b""
    want = 1 + int(cmd["after_writes"])
    deadline = time.monotonic() + 120
    eof = False
    while len(seen) < want and not eof:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            chunk = os.read(r, 4096)
            eof = not chunk
            seen += chunk
    if len(seen) < want:  # the writer died (an error) or never got there
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(r)
        return {"error": f"writer {pid} sent {seen!r} of {want} bytes, then {'exited' if eof else 'timed out'} "
                         f"(wait status {status})", "pid": pid}
    time.sleep(float(cmd["delay_ms"]) / 1000)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    while True:  # the writer is dead: its end of the pipe is closed, the rest reads to EOF
        chunk = os.read(r, 4096)
        if not chunk:
            break
        seen += chunk
    os.close(r)
    result: dict[str, Any] = {"pid": pid, "writes": seen.count(b"W"), "signal": None}
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
    else:
        result["error"] = f"writer {pid} exited with status {os.WEXITSTATUS(status)} before it was killed"
    return result


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
