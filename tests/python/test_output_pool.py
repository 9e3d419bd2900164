"""Outputs of Zarr reads come from the store's buffer pool (lsio.Store.allocate): a dropped result's memory is
reused by the next read, one still held never is, and the values are the same as with fresh memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lsio
import lsio.zarr

SHAPE = (8, 256, 512)  # uint16: 2 MiB, above the size from which outputs are pooled


def test_allocate_is_aligned_writable_uint8(tmp_path: Path) -> None:
    store = lsio.open(str(tmp_path))
    buf = store.allocate(3 << 20)
    assert buf.dtype == np.uint8 and buf.shape == (3 << 20,)
    assert buf.flags.writeable and buf.ctypes.data % 4096 == 0
    buf[:] = 7
    assert int(buf.sum()) == 7 * (3 << 20)


def test_allocate_on_a_memory_store() -> None:
    buf = lsio.open("memory://").allocate(1 << 20)
    buf[-1] = 1
    assert buf.flags.writeable and buf[-1] == 1


@pytest.mark.parametrize("codecs", [None, [{"name": "bytes", "configuration": {"endian": "little"}}]])
def test_reads_reuse_only_dropped_outputs(tmp_path: Path, engine: str, codecs: object) -> None:
    store = lsio.open(str(tmp_path), engine=engine)
    a = lsio.zarr.create(store, path="a", shape=SHAPE, dtype="uint16", chunks=(2, 128, 128), codecs=codecs)
    data = np.random.default_rng(3).integers(0, 60000, SHAPE).astype(np.uint16)
    a[...] = data

    first = a[...]
    held = first.ctypes.data
    second = a[...]  # a second full read while the first is held
    assert second.ctypes.data != held
    np.testing.assert_array_equal(first, data)  # not overwritten by the second read
    np.testing.assert_array_equal(second, data)

    del first
    third = a[...]
    assert third.ctypes.data == held, "the dropped output's memory should be reused"
    np.testing.assert_array_equal(third, data)
    np.testing.assert_array_equal(second, data)

    crops = a.read_crops(np.array([[0, 0, 0], [1, 100, 200], [4, 128, 384]]), (4, 128, 128))
    for c, (t, y, x) in zip(crops, [(0, 0, 0), (1, 100, 200), (4, 128, 384)]):
        np.testing.assert_array_equal(c, data[t : t + 4, y : y + 128, x : x + 128])
    view = third[2]
    del third
    fourth = a[...]  # `view` still holds the third output: its memory is not handed out
    assert fourth.ctypes.data != view.ctypes.data - 2 * 256 * 512 * 2
    np.testing.assert_array_equal(view, data[2])
    np.testing.assert_array_equal(fourth, data)


def test_small_outputs_and_moved_axes(tmp_path: Path) -> None:
    a = lsio.zarr.create(tmp_path / "b.zarr", shape=SHAPE, dtype="float32", chunks=(4, 64, 64))
    data = np.random.default_rng(4).random(SHAPE, dtype=np.float32)
    a[...] = data
    np.testing.assert_array_equal(a[1, :3, :5], data[1, :3, :5])  # below the pooled size: plain numpy
    idx = np.array([5, 1, 300])
    np.testing.assert_array_equal(a[:, :, idx], data[:, :, idx])  # an index array moves axes: a copy
    np.testing.assert_array_equal(a.get_orthogonal_selection((slice(None), idx % 256, idx)), data[:, idx % 256][:, :, idx])
