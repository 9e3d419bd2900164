"""dask arrays over lsio.zarr arrays: one task per block, each task one LSIO read.

    import lsio.zarr
    d = lsio.zarr.open("/data/era5.zarr/t2m").to_dask()    # blocks = the shard grid (or the chunk grid)
    d.mean().compute()                                     # threads, processes or a dask.distributed cluster

The graph has a layer holding the lsio.zarr.Array once (dask ships it to a worker once; it pickles as
(store URL, options, path, mode) and reopens lazily in the worker's process), and a Blockwise layer of one task
per block calling ``Array.read`` on its region: no getter, lock or fancy-indexing layer in between. Blockwise, not
a plain task dict, so that dask fuses each read with what the next operation does to that block (``mean_chunk``,
an elementwise op...): half the tasks, and no block held in worker memory between two tasks. On a 2-process
LocalCluster, the mean of a 4 GiB float32 array in 256 zstd blocks took 2.30-2.53 s with a plain task per read
and 1.77-2.06 s fused, against 3.87-4.47 s for dask on zarr-python (whose from_array layer is Blockwise too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import dask.array

    from .zarr import Array

__all__ = ["from_array", "read_block"]

Chunks = Union[None, int, str, Sequence[Any]]


def read_block(array: Array, region: tuple[slice, ...]) -> npt.NDArray[Any]:
    """One dask task: the block ``region`` of ``array``, read in one LSIO batch."""
    return array.read(region)


def _default_block_shape(array: Array) -> tuple[int, ...]:
    """The shard shape of a sharded array, else its chunk shape."""
    shards = array.shards
    return shards if shards is not None else array.chunks


def _token(array: Array, chunks: tuple[tuple[int, ...], ...]) -> str:
    """A name for the graph: the array's address, description and metadata, and the blocks."""
    from dask.base import tokenize

    store = array.store
    where: tuple[Any, ...] = (store.url, array.path)
    if store.url.startswith("memory://"):
        where += (id(store),)  # each memory:// store is its own data
    return tokenize(where, array.shape, array.dtype.str, array.metadata, chunks)


def from_array(array: Array, chunks: Chunks = None, *, name: Optional[str] = None) -> dask.array.Array:
    """A dask array reading ``array``, one task per block, each task one ``array.read`` (one LSIO batch).

    ``chunks``: None for the array's shard grid (its chunk grid when unsharded), else anything
    ``dask.array.normalize_chunks`` takes (a block shape, -1 for a whole dimension, explicit sizes per dimension,
    "auto"...). ``name`` overrides the graph's name (by default a token of the array's address, metadata and
    blocks). Arrays on a memory:// store work with the threaded and synchronous schedulers only (they do not
    pickle).
    """
    import dask.array as da
    from dask.array.core import graph_from_arraylike

    shape, dtype = array.shape, array.dtype
    wanted = _default_block_shape(array) if chunks is None else chunks
    normalized = da.core.normalize_chunks(wanted, shape, dtype=dtype)
    name = name or f"lsio-read-{_token(array, normalized)}"
    # read_block takes no asarray/lock keywords, so dask calls it as read_block(array, region): exactly one read.
    graph = graph_from_arraylike(array, normalized, shape, name, getitem=read_block, dtype=dtype, inline_array=False)
    return da.Array(graph, name, chunks=normalized, dtype=dtype, meta=np.empty((0,) * len(shape), dtype=dtype))
