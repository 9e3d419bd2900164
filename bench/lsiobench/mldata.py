"""The training-loader benchmark's dataset and crops.

A satellite-like uint16 array (time, channel, y, x) in shards of tiny zstd inner
chunks, written once by lsio.zarr.create in shard-aligned time slabs and reused
when present (a sidecar ``ml_bench.json`` with the per-channel mean and std marks
a complete write). Crop starts are seeded and uniform over the valid starts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SIDECAR = "ml_bench.json"
CHANNELS = 4
SIDE = 512
CHUNKS = (1, 1, 64, 64)
SHARDS = (16, 4, 256, 256)
CROP = (12, CHANNELS, 128, 128)  # time, channel (all), y, x
CHANNEL_OFFSETS = (900.0, 1700.0, 2600.0, 3400.0)


@dataclass(frozen=True)
class Dataset:
    path: Path
    shape: tuple[int, int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    stored_bytes: int

    @property
    def decoded_bytes(self) -> int:
        return math.prod(self.shape) * 2

    @property
    def inner_chunks(self) -> int:
        return math.prod(math.ceil(n / c) for n, c in zip(self.shape, CHUNKS))

    def describe(self) -> str:
        t, c, y, x = self.shape
        return (f"uint16 (time={t}, channel={c}, y={y}, x={x}) = {self.decoded_bytes / 2**30:.2f} GiB decoded, "
                f"shards {SHARDS} of inner chunks {CHUNKS}, zstd (level 0) + crc32c shard index, written by "
                f"lsio.zarr.create; {self.stored_bytes / 2**20:.0f} MiB on disk, "
                f"{self.stored_bytes / self.inner_chunks / 1e3:.1f} kB per inner chunk on average")


def _slab(t0: int, n: int, rng: np.random.Generator) -> npt.NDArray[np.uint16]:
    """Time steps t0..t0+n: drifting smooth fields (clouds over terrain), a per-channel offset, and noise."""
    t = np.arange(t0, t0 + n, dtype=np.float32)[:, None, None]
    g = np.linspace(0.0, 2.0 * np.pi, SIDE, dtype=np.float32)
    y, x = g[None, :, None], g[None, None, :]
    terrain = 300.0 * np.sin(3.0 * x + 1.3) * np.cos(2.0 * y) + 150.0 * np.sin(7.0 * (x + y))
    clouds = 500.0 * np.sin(2.0 * x - 0.05 * t) * np.sin(3.0 * y + 0.03 * t) ** 2
    out = np.empty((n, CHANNELS, SIDE, SIDE), dtype=np.uint16)
    for c, off in enumerate(CHANNEL_OFFSETS):
        field = off + terrain + (0.5 + 0.3 * c) * clouds
        noise = rng.integers(0, 16, size=(n, SIDE, SIDE), dtype=np.uint16)
        np.add(field.astype(np.uint16), noise, out=out[:, c])
    return out


def _stored_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _load(path: Path) -> Dataset | None:
    side = path / SIDECAR
    if not side.exists():
        return None
    meta = json.loads(side.read_text())
    shape = tuple(meta["shape"])
    return Dataset(path, (shape[0], shape[1], shape[2], shape[3]), tuple(meta["mean"]), tuple(meta["std"]),
                   _stored_bytes(path))


def ensure_dataset(root: Path, time_steps: int) -> Dataset:
    """The dataset with `time_steps` time steps under root, written now unless a complete one is there."""
    path = root / f"sat-t{time_steps}.zarr"
    found = _load(path)
    if found is not None and found.shape[0] == time_steps:
        return found
    import lsio.zarr

    shape = (time_steps, CHANNELS, SIDE, SIDE)
    arr = lsio.zarr.create(str(path), shape=shape, dtype="uint16", chunks=CHUNKS, shards=SHARDS,
                           dimension_names=("time", "channel", "y", "x"), overwrite=True)
    rng = np.random.default_rng(0)
    sums = np.zeros(CHANNELS)
    squares = np.zeros(CHANNELS)
    for t0 in range(0, time_steps, SHARDS[0]):
        slab = _slab(t0, min(SHARDS[0], time_steps - t0), rng)
        arr[t0:t0 + slab.shape[0]] = slab
        f = slab.astype(np.float64)
        sums += f.sum(axis=(0, 2, 3))
        squares += (f * f).sum(axis=(0, 2, 3))
    count = time_steps * SIDE * SIDE
    mean = sums / count
    std = np.sqrt(squares / count - mean * mean)
    (path / SIDECAR).write_text(json.dumps({"shape": shape, "mean": mean.tolist(), "std": std.tolist()}))
    loaded = _load(path)
    assert loaded is not None
    return loaded


def warm(path: Path) -> None:
    """Reads every file once so the page cache is hot."""
    for f in sorted(path.rglob("*")):
        if f.is_file():
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def crop_starts(shape: tuple[int, ...], batches: int, batch_size: int, seed: int) -> npt.NDArray[np.int64]:
    """(batches, batch_size, 4) int64 starts, uniform over the starts whose crop lies inside the array."""
    rng = np.random.default_rng(seed)
    hi = [n - c + 1 for n, c in zip(shape, CROP)]  # channel: hi = 1, start 0
    cols = [rng.integers(0, h, size=(batches, batch_size)) for h in hi]
    return np.stack(cols, axis=-1).astype(np.int64)


def chunks_touched(starts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Inner chunks each crop intersects (e.g. 12 x 4 x 3 x 3 = 432), same leading shape as starts[..., 0]."""
    n = np.ones(starts.shape[:-1], dtype=np.int64)
    for d, (c, k) in enumerate(zip(CROP, CHUNKS)):
        s = starts[..., d]
        n *= (s + c - 1) // k - s // k + 1
    return n


def inner_chunks_of(shard: Path, count: int) -> list[bytes]:
    """The first `count` encoded inner chunks of a shard (index at the end: (offset, nbytes) uint64 pairs + crc32c)."""
    data = shard.read_bytes()
    n = math.prod(s // c for s, c in zip(SHARDS, CHUNKS))
    index = np.frombuffer(data[-(16 * n + 4):-4], dtype="<u8").reshape(n, 2)
    return [data[int(o):int(o) + int(b)] for o, b in index[:count] if o != 2**64 - 1]


def zstd_floor_us(path: Path, count: int = 2048, rounds: int = 3) -> float:
    """Microseconds to zstd-decode one inner chunk of the dataset, one thread, best of `rounds`: the system
    libzstd called through ctypes with one reused decompression context into one reused buffer, i.e. what
    decompression alone costs whoever calls it (plus ~1 us of ctypes call)."""
    import ctypes
    import ctypes.util
    import time

    lib = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
    lib.ZSTD_createDCtx.restype = ctypes.c_void_p
    lib.ZSTD_decompressDCtx.restype = ctypes.c_size_t
    lib.ZSTD_decompressDCtx.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                        ctypes.c_size_t]
    lib.ZSTD_freeDCtx.argtypes = [ctypes.c_void_p]
    lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
    chunks = inner_chunks_of(path / "c" / "0" / "0" / "0" / "0", count)
    out = ctypes.create_string_buffer(math.prod(CHUNKS) * 2)
    dctx = lib.ZSTD_createDCtx()
    best = float("inf")
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            for c in chunks:
                n = lib.ZSTD_decompressDCtx(dctx, out, len(out), c, len(c))
                if lib.ZSTD_isError(n) or n != len(out):
                    raise RuntimeError("zstd floor: a chunk did not decode to a full inner chunk")
            best = min(best, time.perf_counter() - t0)
    finally:
        lib.ZSTD_freeDCtx(dctx)
    return best / len(chunks) * 1e6
