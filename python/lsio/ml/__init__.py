"""Training from Zarr (and GRIB, see lsio.ml.grib): random crops of one or several aligned arrays, batched and prefetched.

    import lsio.ml, lsio.zarr
    loader = lsio.ml.RandomCrops(
        sources={"sat": lsio.zarr.open("sat.zarr")},        # (time, channel, y, x)
        crop={"sat": {"time": 12, "y": 128, "x": 128}},      # whole extent for dims not named
        batch_size=32, seed=0, prefetch=4,
        normalize={"sat": (mean_per_channel, std_per_channel)}, dtype="float32")
    for batch in loader:                                     # batch["sat"]: (32, 12, C, 128, 128) float32
        ...

``lsio.ml.CropDataset`` (torch's IterableDataset, from ``lsio.ml.torch``) wraps a loader for
``torch.utils.data.DataLoader`` and ``lsio.ml.to_torch`` turns a numpy batch into tensors without copying; torch is
imported only when one of them is used.
"""

from __future__ import annotations

from typing import Any

from .align import Source, coordinate_values, nearest_index
from .loader import Batch, Projection, RandomCrops
from .sampler import StartSampler, epoch_rng

__all__ = ["Batch", "CropDataset", "GribSource", "Projection", "RandomCrops", "Source", "StartSampler", "coordinate_values",
           "epoch_rng", "nearest_index", "to_torch"]


def __getattr__(name: str) -> Any:
    if name == "GribSource":  # imports xarray: only when asked for
        from .grib import GribSource

        return GribSource
    if name in ("CropDataset", "to_torch"):
        from . import torch as _torch

        return getattr(_torch, name)
    raise AttributeError(f"module 'lsio.ml' has no attribute {name!r}")
