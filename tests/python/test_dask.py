"""lsio.zarr.Array.to_dask (lsio.dask): one task per block, each one LSIO read, on dask's schedulers.

What is checked: the default blocks are the shard grid (sharded) or the chunk grid, other chunkings follow
dask.array.normalize_chunks; the graph holds the array once plus exactly one task per block, a Blockwise
layer that dask fuses with the next per-block step (mean_chunk, elementwise ops); values equal numpy
(blocks, slices, sum, mean, std) on the synchronous and threaded schedulers, for v2, v3 and v3 sharded arrays with
missing chunks (read as the fill value); and on a dask.distributed LocalCluster of 2 worker processes (started and
closed here, bounded timeouts): the sum of an lsio array and the mean of an xarray variable opened with
engine="lsio" and chunks={} equal numpy, the workers having reopened the arrays from their pickled addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import lsio
import lsio.zarr
from lsio.xarray_backend import LsioBackendEntrypoint

SHAPE = (37, 29, 16)
LAYOUTS: dict[str, dict[str, Any]] = {
    "v2": {"zarr_format": 2, "chunks": (8, 10, 16)},
    "v3": {"zarr_format": 3, "chunks": (8, 10, 16)},
    "v3-sharded": {"zarr_format": 3, "chunks": (4, 5, 8), "shards": (8, 10, 16)},
}
CLUSTER_TIMEOUT = 120  # seconds: start, each computation, close


def _make(root: Path, layout: str, dtype: str = "int32") -> tuple[lsio.zarr.Array, np.ndarray]:
    """An array with its first blocks never written (missing: the fill value)."""
    rng = np.random.default_rng(3)
    ref = rng.integers(-(10**6), 10**6, SHAPE).astype(dtype)
    a = lsio.zarr.create(str(root), shape=SHAPE, dtype=dtype, fill_value=5, **LAYOUTS[layout])
    ref[:8, :10] = 5
    a[8:] = ref[8:]
    a[:8, 10:] = ref[:8, 10:]
    return a, ref


@pytest.fixture(params=list(LAYOUTS))
def array(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[lsio.zarr.Array, np.ndarray]:
    return _make(tmp_path / "a.zarr", str(request.param))


def test_default_blocks_and_one_task_each(array: tuple[lsio.zarr.Array, np.ndarray]) -> None:
    a, ref = array
    d = a.to_dask()
    block = a.shards or a.chunks
    assert d.chunks == da.core.normalize_chunks(block, SHAPE)
    assert d.dtype == a.dtype and d.shape == SHAPE
    graph = dict(d.__dask_graph__())
    assert len(graph) == d.npartitions + 1  # the array once, one read per block
    with dask.config.set(scheduler="sync"):
        for index in np.ndindex(*d.numblocks):
            region = tuple(slice(sum(c[:i]), sum(c[: i + 1])) for c, i in zip(d.chunks, index))
            np.testing.assert_array_equal(d.blocks[index].compute(), ref[region])
        np.testing.assert_array_equal(d.compute(), ref)


@pytest.mark.parametrize("chunks", [(5, -1, 7), 11, ((30, 7), (29,), (1, 15)), "auto"])
def test_other_chunks(array: tuple[lsio.zarr.Array, np.ndarray], chunks: Any) -> None:
    a, ref = array
    d = a.to_dask(chunks)
    assert d.chunks == da.core.normalize_chunks(chunks, SHAPE, dtype=a.dtype)
    np.testing.assert_array_equal(d.compute(scheduler="threads"), ref)
    np.testing.assert_array_equal(d[3:30:4, 7, ::3].compute(scheduler="threads"), ref[3:30:4, 7, ::3])


def test_reductions_on_threads(array: tuple[lsio.zarr.Array, np.ndarray]) -> None:
    a, ref = array
    d = a.to_dask()
    with dask.config.set(scheduler="threads"):
        assert int(d.sum(dtype="int64").compute()) == int(ref.sum(dtype="int64"))
        assert float(d.mean().compute()) == pytest.approx(float(ref.mean()), rel=1e-12)
        assert float(d.std().compute()) == pytest.approx(float(ref.std()), rel=1e-9)
        np.testing.assert_array_equal(d.max(axis=(0, 2)).compute(), ref.max(axis=(0, 2)))


def test_reads_fuse_with_the_next_blockwise_step(array: tuple[lsio.zarr.Array, np.ndarray]) -> None:
    """The read layer is Blockwise: after optimisation each read is inside the task of the op on its block."""
    a, ref = array
    d = a.to_dask()
    (plus,) = dask.optimize(d + 1)
    keys = list(dict(plus.__dask_graph__()))
    assert not any(isinstance(k, tuple) and k[0] == d.name for k in keys), "a read was left as its own task"
    assert sum(isinstance(k, tuple) for k in keys) == d.npartitions
    np.testing.assert_array_equal(plus.compute(scheduler="sync"), ref + 1)


def test_names_are_deterministic(tmp_path: Path) -> None:
    a, _ = _make(tmp_path / "a.zarr", "v3")
    b, _ = _make(tmp_path / "b.zarr", "v3")
    assert a.to_dask().name == lsio.zarr.open_array(str(tmp_path / "a.zarr")).to_dask().name
    assert a.to_dask().name != b.to_dask().name
    assert a.to_dask().name != a.to_dask((4, 4, 4)).name
    assert a.to_dask(name="mine").name == "mine"


def test_memory_store_on_threads() -> None:
    a = lsio.zarr.create(lsio.open("memory://"), shape=(20, 6), dtype="float32", chunks=(3, 4))
    ref = np.arange(120, dtype="float32").reshape(20, 6)
    a[...] = ref
    assert float(a.to_dask().mean().compute(scheduler="threads")) == pytest.approx(float(ref.mean()))


# ---- dask.distributed ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, timeout=CLUSTER_TIMEOUT
    )
    try:
        with Client(cluster, timeout=CLUSTER_TIMEOUT) as c:
            c.wait_for_workers(2, timeout=CLUSTER_TIMEOUT)
            yield c
    finally:
        cluster.close(timeout=CLUSTER_TIMEOUT)


def test_sum_on_local_cluster(client: Any, tmp_path: Path) -> None:
    a, ref = _make(tmp_path / "s.zarr", "v3-sharded", dtype="int64")
    d = a.to_dask((8, 29, 16))
    total = client.compute(d.sum()).result(timeout=CLUSTER_TIMEOUT)
    assert int(total) == int(ref.sum())
    # each worker process reads blocks (the array reopened there from its pickled address)
    workers = sorted(client.scheduler_info()["workers"])
    assert len(workers) == 2
    blocks = list(d.to_delayed().ravel())
    futures = [client.compute(b, workers=[workers[i % 2]]) for i, b in enumerate(blocks)]
    parts = [f.result(timeout=CLUSTER_TIMEOUT) for f in futures]
    np.testing.assert_array_equal(np.concatenate(parts), ref)
    assert {w for ws in client.who_has(futures).values() for w in ws} == set(workers)


def test_xarray_chunks_on_local_cluster(client: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(16, 12, 10))
    values[2, 3, 4] = np.nan
    xr.Dataset({"v": (("t", "y", "x"), values)}).to_zarr(
        tmp_path / "x.zarr", mode="w", zarr_format=3, consolidated=False, encoding={"v": {"chunks": (4, 6, 10)}}
    )
    ds = xr.open_dataset(tmp_path / "x.zarr", engine=LsioBackendEntrypoint, chunks={})
    assert ds["v"].chunks == ((4, 4, 4, 4), (6, 6), (10,))
    mean = client.compute(ds["v"].mean().data).result(timeout=CLUSTER_TIMEOUT)
    assert float(mean) == pytest.approx(float(np.nanmean(values)), rel=1e-12)
