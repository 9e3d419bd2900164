"""Crop start positions: uniform over the valid region, from a user list, or from a weight map; epoch plans.

Everything random about an epoch comes from ONE ``numpy.random.Generator`` seeded with ``(seed, epoch)``, so every
process and thread that knows the seed and the epoch computes the same plan; DataLoader workers and distributed ranks
then take disjoint slices of it (``shard_batches``) instead of drawing with their own seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional

import numpy as np
import numpy.typing as npt

__all__ = ["StartSampler", "epoch_rng", "shard_batches", "batch_count"]

IntArray = npt.NDArray[np.int64]


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch: the same for every worker and rank, different for every (seed, epoch)."""
    if seed < 0 or epoch < 0:
        raise ValueError(f"seed and epoch must be non-negative, not seed={seed} epoch={epoch}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch)]))


class StartSampler:
    """Draws crop starts along some dimensions of one array (the "sampled" dimensions).

    ``extent[k]`` is the array's length and ``box[k]`` the crop's along sampled dimension ``k``; a start ``s`` is
    valid when ``0 <= s <= extent - box``. Exactly one of three modes:

    - uniform (default): each valid start equally likely, drawn with replacement;
    - ``starts``: an (m, k) integer array of valid starts (k = number of sampled dimensions, in the array's dimension
      order); each draw picks one row uniformly, with replacement;
    - ``weights``: a non-negative array with one entry per valid start, shape ``extent - box + 1``; a start is drawn
      with probability proportional to its weight (zero weights are never drawn).
    """

    def __init__(
        self,
        extent: Sequence[int],
        box: Sequence[int],
        *,
        starts: Optional[npt.ArrayLike] = None,
        weights: Optional[npt.ArrayLike] = None,
        names: Optional[Sequence[str]] = None,
    ) -> None:
        self.extent = tuple(int(e) for e in extent)
        self.box = tuple(int(b) for b in box)
        self.names = tuple(names) if names is not None else tuple(f"dim_{i}" for i in range(len(self.extent)))
        for name, e, b in zip(self.names, self.extent, self.box):
            if b < 1:
                raise ValueError(f"crop along {name!r} must be at least 1, not {b}")
            if b > e:
                raise ValueError(f"crop along {name!r} is {b}, larger than the array's extent {e}")
        self.valid = tuple(e - b + 1 for e, b in zip(self.extent, self.box))
        if starts is not None and weights is not None:
            raise ValueError("give starts or weights, not both")
        self.starts: Optional[IntArray] = None
        self._p: Optional[npt.NDArray[np.float64]] = None
        k = len(self.extent)
        if starts is not None:
            st = np.asarray(starts)
            if st.ndim == 1 and k == 1:
                st = st[:, None]
            if st.ndim != 2 or st.shape[1] != k or st.shape[0] == 0:
                raise ValueError(f"starts must have shape (m, {k}) with m >= 1 (one column per cropped dimension "
                                 f"{self.names}), not {st.shape}")
            if not np.issubdtype(st.dtype, np.integer):
                raise ValueError(f"starts must be integers, not {st.dtype}")
            st = st.astype(np.int64)
            bad = (st < 0) | (st >= np.asarray(self.valid, dtype=np.int64))
            if bad.any():
                row = int(np.argwhere(bad.any(axis=1))[0, 0])
                raise ValueError(f"starts[{row}] = {st[row].tolist()} is outside the valid starts "
                                 f"0..{[v - 1 for v in self.valid]} along {self.names}")
            self.starts = st
        elif weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != self.valid:
                raise ValueError(f"weights must have one entry per valid start, shape {self.valid} along "
                                 f"{self.names} (extent - crop + 1), not {w.shape}")
            if not np.all(np.isfinite(w)) or (w < 0).any():
                raise ValueError("weights must be finite and non-negative")
            total = float(w.sum())
            if total <= 0:
                raise ValueError("weights are all zero")
            self._p = (w / total).ravel()

    @property
    def mode(self) -> str:
        return "starts" if self.starts is not None else "weights" if self._p is not None else "uniform"

    def default_count(self) -> int:
        """Samples in an epoch when the user gives no count: the list's length, else the number of crops that
        tile the sampled dimensions (about one pass over the data)."""
        if self.starts is not None:
            return int(self.starts.shape[0])
        return int(math.prod(math.ceil(e / b) for e, b in zip(self.extent, self.box)))

    def draw(self, rng: np.random.Generator, n: int) -> IntArray:
        """(n, k) starts."""
        k = len(self.extent)
        if self.starts is not None:
            return self.starts[rng.integers(0, self.starts.shape[0], size=n)]
        if self._p is not None:
            flat = rng.choice(self._p.size, size=n, p=self._p)
            return np.stack(np.unravel_index(flat, self.valid), axis=1).astype(np.int64).reshape(n, k)
        return rng.integers(0, np.asarray(self.valid, dtype=np.int64), size=(n, k), dtype=np.int64)


def batch_count(samples: int, batch_size: int, drop_last: bool) -> int:
    return samples // batch_size if drop_last else -(-samples // batch_size)


def shard_batches(n_batches: int, shard: int, shards: int) -> range:
    """The batches one shard (rank x DataLoader worker) reads: ``shard, shard + shards, ...``.

    With ``torch.utils.data.DataLoader``, which takes one item from each worker in turn, this reproduces the
    single-process order exactly.
    """
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    return range(shard, n_batches, shards)

