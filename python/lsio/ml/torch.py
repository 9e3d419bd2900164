"""PyTorch wrapper: an ``IterableDataset`` of batches from :class:`lsio.ml.RandomCrops` (imports torch)."""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Iterator
from typing import Any, Optional

import torch
import torch.utils.data

from .loader import Batch, RandomCrops

__all__ = ["CropDataset", "to_torch"]

# Loaders inherited through fork() by DataLoader workers: their stores' threads do not exist in the child, so they
# must never be destroyed there (joining those threads could hang); the worker reopens the arrays instead.
_inherited: list[Any] = []


class CropDataset(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    """Batches of a :class:`RandomCrops` as torch tensors, for ``DataLoader(dataset, batch_size=None, ...)``.

    Each DataLoader worker reads its share of every epoch (batches ``worker::num_workers`` within this rank's share,
    see :meth:`RandomCrops.shard`), reopening the arrays in its process; the DataLoader, taking one batch from each
    worker in turn, yields exactly the single-process epoch in the same order, without duplicates. Call
    :meth:`set_epoch` before each epoch (like ``DistributedSampler``), as workers start from a copy of this dataset
    (with ``persistent_workers=True`` each worker advances its own epoch by one per pass, which stays consistent).
    Tensors are pinned only in the main process (``pin_memory`` is the loader's); in workers use the DataLoader's own
    ``pin_memory=True``. With ``num_workers=0`` the native loader's prefetch thread does the work, usually fastest.
    """

    def __init__(self, loader: RandomCrops) -> None:
        super().__init__()
        self.loader = copy.copy(loader)
        self.loader.to = "torch"
        self._pid = os.getpid()

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        info = torch.utils.data.get_worker_info()
        if info is None:
            return self.loader.batches_per_epoch if self.loader.world_size == 1 else len(self.loader)
        return len(self._worker_loader(info))

    def _worker_loader(self, info: Any) -> RandomCrops:
        loader = self.loader
        if os.getpid() != self._pid:
            _inherited.append(loader)
            loader = pickle.loads(pickle.dumps(loader))  # fresh stores in this process
            self.loader = loader
            self._pid = os.getpid()
        loader.pin_memory = False
        loader.shard(info.id, info.num_workers)
        return loader

    def __iter__(self) -> Iterator[Batch]:
        info = torch.utils.data.get_worker_info()
        loader = self.loader if info is None else self._worker_loader(info)
        return iter(loader)


def to_torch(batch: Batch, device: Optional[torch.device] = None, non_blocking: bool = True) -> Batch:
    """Converts a numpy batch to tensors without copying (``torch.from_numpy``), then moves it to ``device``."""
    out: Batch = {}
    for k, v in batch.items():
        t = torch.from_numpy(v) if not isinstance(v, torch.Tensor) else v
        out[k] = t.to(device, non_blocking=non_blocking) if device is not None else t
    return out
