"""The training-loader contestants: each yields batches (batch, time, channel, y, x) float32, normalised per channel.

Every contestant but ``lsio RandomCrops`` reads the same seeded crop starts
(batches, batch_size, 4); RandomCrops draws its own with the same distribution
(uniform over the valid starts, seed 0).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .mldata import CROP

F32 = npt.NDArray[np.float32]
Starts = npt.NDArray[np.int64]

CONTESTANTS = [
    "lsio RandomCrops",
    "lsio read_crops",
    "tensorstore",
    "zarr-python+zarrs",
    "torch DataLoader(2) zarr-python",
]
REFERENCE = ("lsio RandomCrops", "lsio read_crops")  # LSIO's rate: the first of these that ran


@dataclass(frozen=True)
class Norm:
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def apply(self, batch: npt.NDArray[Any]) -> F32:
        """uint16 (b, t, c, y, x) -> float32 (x - mean[c]) / std[c], in numpy (what the peers' users do)."""
        out = batch.astype(np.float32)
        shape = (1, 1, -1, 1, 1) if out.ndim == 5 else (1, -1, 1, 1)
        out -= np.asarray(self.mean, dtype=np.float32).reshape(shape)
        out *= (1.0 / np.asarray(self.std, dtype=np.float32)).reshape(shape)
        return out


def _crop_slices(s: npt.NDArray[np.int64]) -> tuple[slice, ...]:
    return tuple(slice(int(a), int(a) + n) for a, n in zip(s, CROP))


# ---- LSIO ---------------------------------------------------------------------------------------------------------


def lsio_random_crops(path: str, starts: Starts, norm: Norm) -> Iterator[F32]:
    import lsio.ml
    import lsio.zarr

    loader = lsio.ml.RandomCrops(
        sources={"sat": lsio.zarr.open(path)},
        crop={"sat": {"time": CROP[0], "y": CROP[2], "x": CROP[3]}},
        batch_size=starts.shape[1], seed=0, prefetch=4,
        normalize={"sat": (list(norm.mean), list(norm.std))}, dtype="float32",
        batches_per_epoch=starts.shape[0] + 8,  # one epoch covers the run: no restart of the prefetch thread
    )
    while True:  # however long an epoch is, the benchmark takes as many batches as it needs
        for batch in loader:
            yield batch["sat"]


def lsio_read_crops(path: str, starts: Starts, norm: Norm) -> Iterator[F32]:
    import lsio.zarr

    arr = lsio.zarr.open(path)
    scale = [1.0 / s for s in norm.std]
    offset = [-m / s for m, s in zip(norm.mean, norm.std)]
    for batch in starts:
        yield arr.read_crops(batch, CROP, dtype="float32", channel_dim=1, scale=scale, offset=offset)


# ---- peers --------------------------------------------------------------------------------------------------------


def tensorstore_loader(path: str, starts: Starts, norm: Norm) -> Iterator[F32]:
    """ocf-data-sampler style: one read per crop, all issued at once, then stack, cast and normalise in numpy."""
    import tensorstore as ts

    ctx = ts.Context({"data_copy_concurrency": {"limit": 2}, "file_io_concurrency": {"limit": 4}})
    arr = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}, context=ctx).result()
    for batch in starts:
        futures = [arr[_crop_slices(s)].read() for s in batch]
        yield norm.apply(np.stack([f.result() for f in futures]))


def zarrs_loader(path: str, starts: Starts, norm: Norm) -> Iterator[F32]:
    """zarr-python with the zarrs (Rust) codec pipeline, one read per crop, then stack, cast, normalise."""
    import zarr

    zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"})
    arr = zarr.open_array(path, mode="r")
    for batch in starts:
        yield norm.apply(np.stack([arr[_crop_slices(s)] for s in batch]))


class ZarrCrops:
    """A map-style torch Dataset: item i is crop i (flattened over batches) read with zarr-python, normalised.

    The array is opened lazily in each worker process (zarr's event loop thread does not survive a fork)."""

    def __init__(self, path: str, starts: Starts, norm: Norm) -> None:
        self.path = path
        self.starts = starts.reshape(-1, starts.shape[-1])
        self.norm = norm
        self._arr: Any = None
        self._pid = -1

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def __getitem__(self, i: int) -> F32:
        if self._pid != os.getpid():
            import zarr

            self._arr = zarr.open_array(self.path, mode="r")
            self._pid = os.getpid()
        return self.norm.apply(self._arr[_crop_slices(self.starts[i])])


def torch_loader(path: str, starts: Starts, norm: Norm) -> Iterator[F32]:
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    loader = DataLoader(ZarrCrops(path, starts, norm), batch_size=starts.shape[1], num_workers=2, shuffle=False)
    for batch in loader:
        yield batch.numpy()


LOADERS: dict[str, Callable[[str, Starts, Norm], Iterator[F32]]] = {
    "lsio RandomCrops": lsio_random_crops,
    "lsio read_crops": lsio_read_crops,
    "tensorstore": tensorstore_loader,
    "zarr-python+zarrs": zarrs_loader,
    "torch DataLoader(2) zarr-python": torch_loader,
}


def shares_starts(contestant: str) -> bool:
    """False for the loader that draws its own crops (its output cannot be compared with the others')."""
    return contestant != "lsio RandomCrops"
