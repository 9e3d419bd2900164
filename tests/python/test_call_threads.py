"""Blocking calls (Zarr reads) run on reused call threads, not on a new thread each.

A Zarr read runs its C++ work on another thread so that the Python thread can answer Ctrl-C and timeouts
(test_interrupt.py). Starting that thread per call cost about as much as a small read itself; finished call
threads now wait for the next call. Checked by thread ids: Linux hands out increasing ids, so a thread per call
would move the next new thread's id past 400 reads' worth. Reads from several Python threads at once still run
concurrently (each in-flight call gets its own thread) and return the right bytes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import lsio.zarr

READS = 400


def _new_thread_id() -> int:
    got: list[int] = []
    t = threading.Thread(target=lambda: got.append(threading.get_native_id()))
    t.start()
    t.join()
    return got[0]


def _array(tmp_path: Path) -> tuple[lsio.zarr.Array, np.ndarray]:
    ref = np.arange(64 * 32, dtype=np.int32).reshape(64, 32)
    a = lsio.zarr.create(str(tmp_path / "a.zarr"), shape=ref.shape, dtype="int32", chunks=(8, 32))
    a[...] = ref
    return lsio.zarr.open_array(str(tmp_path / "a.zarr"), mode="r"), ref


def test_a_loop_of_reads_reuses_its_call_thread(tmp_path: Path) -> None:
    a, ref = _array(tmp_path)
    np.testing.assert_array_equal(a[0], ref[0])  # the store's workers and a call thread exist
    before = _new_thread_id()
    for i in range(READS):
        np.testing.assert_array_equal(a[i % 64], ref[i % 64])
    after = _new_thread_id()
    # Other processes on the machine may take ids meanwhile: allow them a quarter of the reads.
    assert after - before < READS // 4, f"{after - before} thread ids used by {READS} reads"


def test_concurrent_reads_from_many_threads(tmp_path: Path) -> None:
    a, ref = _array(tmp_path)

    def rows(start: int) -> None:
        for i in range(start, start + 64):
            np.testing.assert_array_equal(a[i % 64, 3:29], ref[i % 64, 3:29])

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(rows, range(0, 8 * 64, 64)))
