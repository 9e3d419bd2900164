"""Store.read_batch / lsio.read_batch (one BatchResult per batch) and read_ranges(out=): values, zero-copy views,
lifetimes, errors per range, the compact path form (files, file_index)."""

from __future__ import annotations

import errno
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lsio
from util import open_store, pattern, write_file

FILE_SIZE = 64 * 1024
N_FILES = 12


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("batch")
    return [write_file(d / f"f{i:02d}.bin", pattern(FILE_SIZE, seed=i)) for i in range(N_FILES)]


def random_ranges(files: list[str], n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """file_index, starts, ends: random lengths 0..8 KiB, including touching and overlapping ranges."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(files), n)
    starts = rng.integers(0, FILE_SIZE, n).astype(np.int64)
    ends = np.minimum(starts + rng.integers(0, 8192, n), FILE_SIZE).astype(np.int64)
    return index, starts, ends


def pread(path: str, start: int, end: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, end - start, start)
    finally:
        os.close(fd)


def expected(files: list[str], index: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[bytes]:
    return [pread(files[k], int(s), int(e)) for k, s, e in zip(index, starts, ends)]


@pytest.mark.parametrize("form", ["compact", "list"])
def test_values_equal_pread(store: lsio.Store, files: list[str], form: str) -> None:
    index, starts, ends = random_ranges(files, 3000)
    paths = (files, index) if form == "compact" else [files[k] for k in index]
    r = store.read_batch(paths, starts, ends)
    want = expected(files, index, starts, ends)
    assert len(r) == len(want)
    assert [bytes(b) for b in r] == want  # iteration
    assert all(bytes(r[i]) == want[i] for i in range(0, len(want), 97))  # indexing
    assert bytes(r[-1]) == want[-1]
    assert r.sizes.dtype == np.int64 and r.sizes.tolist() == [len(w) for w in want]
    assert r.offsets.dtype == np.int64 and r.offsets.tolist() == [0, *np.cumsum([len(w) for w in want]).tolist()]
    assert r.ok.dtype == np.bool_ and bool(r.ok.all()) and r.errors() == []
    assert r.to_numpy().tobytes() == b"".join(want) and r.nbytes == sum(len(w) for w in want)
    assert not r.flat
    with pytest.raises(IndexError):
        r[len(want)]


def test_engine_from_environment(files: list[str]) -> None:
    """LSIO_ENGINE picks the engine of lsio.open() (a child process): both engines give the pread bytes."""
    index, starts, ends = random_ranges(files, 200, seed=5)
    want = b"".join(expected(files, index, starts, ends))
    code = (
        "import json, sys, numpy as np, lsio\n"
        "files, index, starts, ends = json.loads(sys.argv[1])\n"
        "r = lsio.read_batch((files, np.array(index)), np.array(starts), np.array(ends))\n"
        "sys.stdout.buffer.write(lsio.engine().split()[0].encode() + b'\\n' + r.to_numpy().tobytes())\n"
    )
    arg = json.dumps([files, index.tolist(), starts.tolist(), ends.tolist()])
    for engine in ("uring", "posix"):
        env = dict(os.environ, LSIO_ENGINE=engine)
        out = subprocess.run([sys.executable, "-c", code, arg], env=env, capture_output=True, check=True).stdout
        name, _, data = out.partition(b"\n")
        assert name.decode() == engine
        assert data == want


def test_module_level_and_single_path(files: list[str]) -> None:
    r = lsio.read_batch(files[3], [0, 100, FILE_SIZE - 5], [10, 100, FILE_SIZE])
    assert [bytes(b) for b in r] == [pattern(FILE_SIZE, 3)[:10], b"", pattern(FILE_SIZE, 3)[-5:]]
    assert isinstance(r, lsio.BatchResult) and isinstance(r[0], lsio.Buffer)


def test_to_end_and_suffix_ranges(store: lsio.Store, files: list[str]) -> None:
    content = pattern(FILE_SIZE, 0)
    r = store.read_batch(files[0], [10, -7], [None, None])
    assert [bytes(b) for b in r] == [content[10:], content[-7:]]
    assert r.sizes.tolist() == [FILE_SIZE - 10, 7]


def test_views_share_memory_with_the_result(store: lsio.Store, files: list[str]) -> None:
    index, starts, ends = random_ranges(files, 500, seed=1)
    r = store.read_batch((files, index), starts, ends)
    a = np.frombuffer(r[7], np.uint8)
    b = np.frombuffer(r[7], np.uint8)
    assert np.shares_memory(a, b)  # two views of range 7: the same bytes, not copies
    flat = store.read_batch((files, index), starts, ends, out=np.empty(int(ends.sum() - starts.sum()), np.uint8))
    whole = flat.to_numpy()
    part = np.frombuffer(flat[7], np.uint8)
    assert np.shares_memory(whole, part) and part.ctypes.data == whole.ctypes.data + int(flat.offsets[7])


def test_view_outlives_result_and_store(engine: str, files: list[str]) -> None:
    store = open_store("", engine)
    index, starts, ends = random_ranges(files, 400, seed=2)
    r = store.read_batch((files, index), starts, ends)
    views = [memoryview(r[i]) for i in (0, 13, 399)]
    arrays = [np.frombuffer(r[i], np.uint8) for i in (0, 13, 399)]
    survivor = store.read_batch((files, index), starts, ends)  # a result that outlives its store
    del r, store
    gc.collect()
    want = expected(files, index, starts, ends)
    for k, i in enumerate((0, 13, 399)):
        assert views[k].tobytes() == want[i] and arrays[k].tobytes() == want[i]
    assert [bytes(b) for b in survivor] == want
    flat_view = survivor.to_numpy()
    del survivor
    gc.collect()
    assert flat_view.tobytes() == b"".join(want)  # the copy owns its memory


def test_out_form(store: lsio.Store, files: list[str]) -> None:
    index, starts, ends = random_ranges(files, 2000, seed=3)
    want = expected(files, index, starts, ends)
    total = sum(len(w) for w in want)
    out = np.full(total + 10, 0xAB, np.uint8)
    offsets = store.read_ranges((files, index), starts, ends, out=out)
    assert offsets.dtype == np.int64 and offsets.tolist() == [0, *np.cumsum([len(w) for w in want]).tolist()]
    assert out[:total].tobytes() == b"".join(want)
    assert (out[total:] == 0xAB).all()  # nothing written past the ranges

    out2 = bytearray(total)
    r = lsio.read_batch((files, index), starts, ends, out=out2)
    assert r.flat and bytes(out2) == b"".join(want)
    assert [bytes(b) for b in r] == want
    view = r.to_numpy()
    assert np.shares_memory(view, np.frombuffer(out2, np.uint8))
    with pytest.raises(BufferError):  # the result pins the bytearray: it cannot be resized under the views
        out2.append(0)
    del r, view
    gc.collect()
    out2.append(0)  # released with the last view


def test_out_errors(store: lsio.Store, files: list[str]) -> None:
    with pytest.raises(ValueError, match=r"out holds 100 bytes but the 2 ranges need 150"):
        store.read_ranges(files[0], [0, 100], [50, 200], out=np.empty(100, np.uint8))
    with pytest.raises(ValueError, match=r"range 1 .*f00.bin.*out= needs ranges"):
        store.read_ranges(files[0], [0, 5], [50, None], out=np.empty(100, np.uint8))
    with pytest.raises(TypeError, match="writable"):
        store.read_ranges(files[0], [0], [5], out=b"12345")
    with pytest.raises(ValueError, match="read_batch"):
        store.read_ranges(files[0], [0], [5], out=bytearray(5), on_error="return")


def test_errors_per_range(store: lsio.Store, files: list[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.bin")
    paths = [files[0], missing, files[1], files[2]]
    starts = np.array([0, 0, FILE_SIZE - 10, 5], np.int64)
    ends = np.array([10, 10, FILE_SIZE + 1, 9], np.int64)
    for out in (None, bytearray(100)):
        r = store.read_batch(paths, starts, ends, on_error="return", out=out)
        assert r.ok.tolist() == [True, False, False, True]
        assert bytes(r[0]) == pattern(FILE_SIZE, 0)[:10] and bytes(r[3]) == pattern(FILE_SIZE, 2)[5:9]
        assert isinstance(r[1], FileNotFoundError) and r[1].errno == errno.ENOENT and missing in str(r[1])
        assert isinstance(r[2], lsio.OutOfRangeError)
        assert files[1] in str(r[2]) and f"[{FILE_SIZE - 10}, {FILE_SIZE + 1})" in str(r[2])
        assert [i for i, _ in r.errors()] == [1, 2] and r.error(0) is None and isinstance(r.error(-3), FileNotFoundError)
        assert r.sizes.tolist()[::3] == [10, 4] and r.sizes[1] == 0 and r.sizes[2] == 0
        with pytest.raises(FileNotFoundError, match=missing):
            store.read_batch(paths, starts, ends, out=out)
    with pytest.raises(lsio.OutOfRangeError, match=rf"f01.bin \[{FILE_SIZE - 10}, {FILE_SIZE + 1}\)"):
        store.read_ranges((files, [1]), [FILE_SIZE - 10], [FILE_SIZE + 1], out=bytearray(11))


PERMISSION_CHILD = r"""
import json, sys, lsio
locked, good = sys.argv[1:3]
r = lsio.read_batch([locked, good], [0, 0], [1, 1], on_error="return")
try:
    lsio.read_batch([locked, good], [0, 0], [1, 1])
    raised = None
except Exception as e:
    raised = [type(e).__name__, str(e)]
err = r[0]
print(json.dumps(dict(type=type(err).__name__, errno=getattr(err, "errno", None), message=str(err),
                      good=bytes(r[1]).hex(), ok=r.ok.tolist(), raised=raised)))
"""


def without_dac_override() -> None:
    """In the child before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so that root
    after exec gets EACCES from a file of mode 000 like anyone else."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP = 24
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_permission_error(tmp_path: Path, files: list[str]) -> None:
    """A file of mode 000 fails its range with PermissionError naming it; the neighbour is read. Root reads any
    file, so the check runs in a child without the capabilities that bypass file permissions."""
    d = tmp_path
    locked = write_file(d / "locked", b"secret")
    good = write_file(d / "good", b"public")
    os.chmod(locked, 0)
    os.chmod(good, 0o644)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", PERMISSION_CHILD, locked, good], env=env, capture_output=True,
                         preexec_fn=without_dac_override if os.geteuid() == 0 else None, text=True)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["type"] == "PermissionError" and r["errno"] == errno.EACCES and locked in r["message"]
    assert r["ok"] == [False, True] and bytes.fromhex(r["good"]) == b"p"
    assert r["raised"][0] == "PermissionError" and locked in r["raised"][1]


def test_compact_form_errors(store: lsio.Store, files: list[str]) -> None:
    with pytest.raises(ValueError, match=r"file_index\[1\] = 12 is out of range for 12 files"):
        store.read_batch((files, [0, 12]), [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"file_index\[0\] = -1"):
        store.read_batch((files, np.array([-1])), [0], [1])
    with pytest.raises(ValueError, match="file_index has 1 items but starts has 2"):
        store.read_batch((files, [0]), [0, 0], [1, 1])
    with pytest.raises(TypeError, match=r"files\[0\]"):
        store.read_batch(([3], [0]), [0], [1])
    # the compact form works for read_ranges and for_each too
    assert bytes(store.read_ranges((files, [4]), [0], [3])[0]) == pattern(FILE_SIZE, 4)[:3]
    seen: dict[int, bytes] = {}
    store.for_each((files, [5, 6]), [0, 1], [2, 3], lambda i, b: seen.__setitem__(i, bytes(b)))
    assert seen == {0: pattern(FILE_SIZE, 5)[:2], 1: pattern(FILE_SIZE, 6)[1:3]}
    # a tuple of two paths is still two paths, one per range
    r = store.read_batch((files[0], files[1]), [0, 0], [2, 2])
    assert [bytes(b) for b in r] == [pattern(FILE_SIZE, 0)[:2], pattern(FILE_SIZE, 1)[:2]]


def test_empty_batch(store: lsio.Store, files: list[str]) -> None:
    for out in (None, bytearray(0)):
        r = store.read_batch((files, np.zeros(0, np.int64)), np.zeros(0, np.int64), np.zeros(0, np.int64), out=out)
        assert len(r) == 0 and list(r) == [] and r.errors() == [] and r.nbytes == 0
        assert r.sizes.shape == (0,) and r.offsets.tolist() == [0] and r.to_numpy().shape == (0,)
    assert store.read_ranges([], [], [], out=bytearray(0)).tolist() == [0]


def test_read_ranges_list_unchanged(store: lsio.Store, files: list[str]) -> None:
    index, starts, ends = random_ranges(files, 300, seed=4)
    got = store.read_ranges([files[k] for k in index], starts, ends)
    assert isinstance(got, list) and [bytes(b) for b in got] == expected(files, index, starts, ends)
