"""lsio's read-only HTTP store against nginx: ranges (coalesced or not, suffix, to-EOF, whole, empty), past-EOF,
read_into, for_each, async, sizes, writes refused, a server ignoring Range, a big whole read and many random
ranges byte for byte."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import numpy as np
import pytest

import lsio
from tests.servers.launch import Nginx

T = 60.0
SIZE = 1_000_000


@pytest.fixture(scope="module")
def files(nginx_server: Nginx) -> dict[str, bytes]:
    rng = random.Random(5)
    out = {"h/a.bin": rng.randbytes(SIZE), "h/empty.bin": b""}
    for k, v in out.items():
        p = nginx_server.root / k
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(v)
    return out


@pytest.fixture(scope="module")
def web(nginx_server: Nginx, files: dict[str, bytes]) -> lsio.Store:
    return lsio.open(nginx_server.url + "h/", backoff_initial=0.01, backoff_max=0.05)


@pytest.mark.parametrize("gap", [0, None])
def test_ranges_coalesced_or_not(web: lsio.Store, files: dict[str, bytes], gap: int | None) -> None:
    d = files["h/a.bin"]
    starts = [0, 10, 10, 500, 600_000, 999_000]
    ends = [10, 20, 30, 4000, 600_001, SIZE]
    bufs = web.read_ranges(["a.bin"] * len(starts), starts, ends, coalesce_gap=gap, timeout=T)
    assert [bytes(b) for b in bufs] == [d[s:e] for s, e in zip(starts, ends)]


def test_suffix_eof_whole_empty(web: lsio.Store, files: dict[str, bytes]) -> None:
    d = files["h/a.bin"]
    bufs = web.read_ranges(["a.bin"] * 5 + ["empty.bin", "empty.bin"], [-100, 999_900, 0, 5, -SIZE, 0, 0],
                           [None, None, None, 5, None, None, 0], timeout=T)
    assert [bytes(b) for b in bufs] == [d[-100:], d[999_900:], d, b"", d, b"", b""]


def test_past_eof_is_out_of_range_with_size(web: lsio.Store) -> None:
    with pytest.raises(lsio.OutOfRangeError, match=str(SIZE)):
        web.read_ranges("a.bin", [SIZE - 10], [SIZE + 10], timeout=T)
    with pytest.raises(lsio.OutOfRangeError):
        web.read_ranges("a.bin", [SIZE + 100], [SIZE + 200], timeout=T)


def test_read_into(web: lsio.Store, files: dict[str, bytes]) -> None:
    d = files["h/a.bin"]
    out = np.zeros(3000, np.uint8)
    tail = bytearray(50)
    web.read_into(["a.bin", "a.bin", "a.bin"], [0, 70_000, -50], [out[:1000], out[1000:], tail], timeout=T)
    assert out.tobytes() == d[:1000] + d[70_000:72_000] and bytes(tail) == d[-50:]


def test_for_each(web: lsio.Store, files: dict[str, bytes]) -> None:
    d = files["h/a.bin"]
    starts = list(range(0, 100_000, 10_000))
    got: dict[int, bytes] = {}
    web.for_each(["a.bin"] * 10, starts, [s + 77 for s in starts], lambda i, b: got.__setitem__(i, bytes(b)))
    assert got == {i: d[s:s + 77] for i, s in enumerate(starts)}


def test_async(web: lsio.Store, files: dict[str, bytes]) -> None:
    d = files["h/a.bin"]

    async def main() -> list[list[lsio.Buffer]]:
        return await asyncio.gather(*(web.read_ranges_async("a.bin", [k * 1000], [k * 1000 + 10]) for k in range(8)))

    res = asyncio.run(asyncio.wait_for(main(), T))
    assert [bytes(r[0]) for r in res] == [d[k * 1000:k * 1000 + 10] for k in range(8)]


def test_sizes(web: lsio.Store) -> None:
    assert list(web.sizes(["a.bin", "empty.bin"])) == [SIZE, 0]
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        web.sizes(["nope.bin"])
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        web.read_ranges("nope.bin", [0], [1], timeout=T)


def test_writes_and_listing_refused(web: lsio.Store) -> None:
    # StatusCode::kUnimplemented maps to lsio.LsioError (python/src/errors.cc).
    for call in (lambda: web.put("x.bin", b"x"), lambda: web.remove(["a.bin"]), lambda: web.list(""),
                 lambda: web.list_dir("")):
        with pytest.raises(lsio.LsioError, match="(?i)read.only|not supported|unimplemented|cannot"):
            call()


def test_norange_location(nginx_server: Nginx, files: dict[str, bytes]) -> None:
    s = lsio.open(nginx_server.norange_url + "h/")
    with pytest.raises(lsio.LsioError, match="Range"):
        s.read_ranges("a.bin", [10], [20], timeout=T)
    (b,) = s.read_ranges("a.bin", [0], [None], timeout=T)
    assert bytes(b) == files["h/a.bin"]


def test_big_whole_read_in_parallel_parts(nginx_server: Nginx) -> None:
    data = np.random.default_rng(6).integers(0, 256, 64 << 20, dtype=np.uint8).tobytes()
    p = nginx_server.root / "big" / "b64.bin"
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(data)
    try:
        (b,) = lsio.open(nginx_server.url + "big/").read_ranges("b64.bin", [0], [None], timeout=T)
        assert len(b) == len(data) and bytes(b) == data
    finally:
        p.unlink()


def test_many_random_ranges(nginx_server: Nginx, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n_files, fsize = 20, 1 << 20
    blobs = []
    for i in range(n_files):
        blob = rng.integers(0, 256, fsize, dtype=np.uint8).tobytes()
        (nginx_server.root / "many").mkdir(exist_ok=True)
        (nginx_server.root / "many" / f"{i}.bin").write_bytes(blob)
        blobs.append(blob)
    which = rng.integers(0, n_files, 10_000)
    starts = rng.integers(0, fsize - 4096, 10_000)
    s = lsio.open(nginx_server.url + "many/")
    bufs = s.read_ranges([f"{i}.bin" for i in which], starts.tolist(), (starts + 4096).tolist(), timeout=T)
    for i, st, b in zip(which, starts, bufs):
        assert bytes(b) == blobs[i][st:st + 4096]
