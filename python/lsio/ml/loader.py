"""RandomCrops: random crops of one or several aligned Zarr sources, read in batches with background prefetch."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

import lsio.zarr
from lsio._lsio import CancelToken

from .align import FloatArray, Source, as_coordinate_query, as_source, nearest_index
from .sampler import StartSampler, batch_count, epoch_rng, shard_batches

__all__ = ["RandomCrops", "Batch", "Projection"]

Batch = dict[str, Any]
"""One batch: ``batch[name]`` (batch, *crop) per source, ``batch[name + "/start"]`` (batch, ndim) int64 index of
each crop's first element in that source (may be < 0 or past the end when padded), ``batch["index"]`` (batch,)
int64 sample numbers within the epoch."""

Projection = Callable[[dict[str, FloatArray]], Mapping[str, npt.ArrayLike]]
SourceLike = Union[Source, lsio.zarr.Array, lsio.zarr.Group, Any]  # Any: an xarray Dataset/DataArray from lsio.grib
Number = Union[float, Sequence[float], npt.NDArray[Any]]

_MAX_SKIP_ROUNDS = 64


class _Recycler:
    """Output arrays handed out before, reused once nobody else refers to them.

    A fresh 100 MB batch array costs the kernel a page fault and a zeroed page per 4 KiB on first touch (~10% of
    the loader's CPU). An array whose only references are this list's is free: the consumer dropped the batch
    (numpy views, torch.from_numpy and memoryviews all hold a reference, so a batch still in use is never
    reused). At most ``keep`` arrays are remembered, so a consumer that keeps every batch costs nothing extra.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.arrays: list[npt.NDArray[Any]] = []

    def __getstate__(self) -> dict[str, Any]:
        return {"keep": self.keep}  # a pickled loader (DataLoader workers) starts with no arrays

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["keep"])  # type: ignore[misc]

    def empty(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
        for i, a in enumerate(self.arrays):
            # References: the list, `a`, and getrefcount's argument.
            if sys.getrefcount(a) <= 3 and a.shape == shape and a.dtype == dtype:
                return a
        out = np.empty(shape, dtype=dtype)
        self.arrays.append(out)
        if len(self.arrays) > self.keep:
            self.arrays.pop(0)
        return out


@dataclass
class _Plan:
    """One epoch: per source, the (n, ndim) starts of every sample, in sample order."""

    epoch: int
    starts: dict[str, npt.NDArray[np.int64]]

    @property
    def samples(self) -> int:
        return int(next(iter(self.starts.values())).shape[0])


class _Prepared:
    """One source with its crop box and conversion, checked once."""

    def __init__(self, name: str, source: Source, crop: Mapping[str, int], dtype: Any,
                 normalize: Optional[tuple[Number, Number]], channel: Optional[str]) -> None:
        self.name = name
        self.source = source
        shape = source.shape
        for d, size in crop.items():
            if d not in source.dims:
                raise ValueError(f"crop of source {name!r} names dimension {d!r}; its dimensions are {source.dims}")
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"crop of source {name!r} along {d!r} must be a positive integer, not {size!r}")
            if size > shape[source.axis(d)]:
                raise ValueError(f"crop of source {name!r} along {d!r} is {size}, larger than the array's extent "
                                 f"{shape[source.axis(d)]}")
        self.cropped = tuple(i for i, d in enumerate(source.dims) if d in crop)
        self.box = tuple(int(crop[d]) if d in crop else shape[i] for i, d in enumerate(source.dims))
        native = source.array.dtype
        self.scale: Union[float, list[float]] = 1.0
        self.offset: Union[float, list[float]] = 0.0
        self.channel_dim = 0
        if normalize is not None:
            mean = np.asarray(normalize[0], dtype=np.float64)
            std = np.asarray(normalize[1], dtype=np.float64)
            if mean.ndim > 1 or std.ndim > 1:
                raise ValueError(f"normalize of source {name!r}: mean and std must be numbers or 1-D")
            if (std == 0).any() or not np.all(np.isfinite(std)) or not np.all(np.isfinite(mean)):
                raise ValueError(f"normalize of source {name!r}: std must be non-zero and both finite")
            if mean.ndim == 1 or std.ndim == 1:
                if channel is None:
                    channel = "channel" if "channel" in source.dims else None
                if channel is None:
                    raise ValueError(f"normalize of source {name!r} has per-channel values but the source has no "
                                     f"dimension named 'channel' (dims {source.dims}); pass channel_dim=")
                if channel not in source.dims:
                    raise ValueError(f"channel_dim {channel!r} of source {name!r} is not one of {source.dims}")
                axis = source.axis(channel)
                if self.box[axis] != shape[axis]:
                    raise ValueError(f"source {name!r}: per-channel normalize needs the whole {channel!r} dimension "
                                     f"in each crop (do not crop it)")
                n = shape[axis]
                mean, std = np.broadcast_to(mean, (n,)) if mean.ndim == 0 else mean, \
                    np.broadcast_to(std, (n,)) if std.ndim == 0 else std
                if mean.shape != (n,) or std.shape != (n,):
                    raise ValueError(f"normalize of source {name!r}: {n} channels along {channel!r}, but mean has "
                                     f"{mean.size} and std {std.size} values")
                self.channel_dim = axis
                self.scale = (1.0 / std).tolist()
                self.offset = (-mean / std).tolist()
            else:
                self.scale = float(1.0 / std)
                self.offset = float(-mean / std)
        if dtype is None:
            self.dtype = np.dtype(np.float32) if normalize is not None else native
        else:
            self.dtype = np.dtype(dtype)
        self.convert = normalize is not None or self.dtype != native
        if self.convert and self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"source {name!r}: dtype must be float32 or float64 to convert or normalize, "
                             f"not {self.dtype} (the array's is {native})")

    def read(self, starts: npt.NDArray[np.int64], out: npt.NDArray[Any], cancel: Optional[CancelToken] = None) -> None:
        arr = self.source.array
        if self.convert:
            arr.read_crops(starts, self.box, out=out, dtype=self.dtype, channel_dim=self.channel_dim,
                           scale=self.scale, offset=self.offset, cancel=cancel)
        else:
            arr.read_crops(starts, self.box, out=out, cancel=cancel)


def _per_source(value: Any, names: Sequence[str], what: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"{what} names unknown source(s) {unknown}; the sources are {list(names)}")
        return {n: value.get(n) for n in names}
    return {n: value for n in names}


class RandomCrops:
    """Random crops of Zarr arrays, batched, read ahead in a background thread.

    ``sources``: name -> :class:`lsio.zarr.Array`, :class:`lsio.zarr.Group` (data variable + coordinate arrays),
    :class:`lsio.ml.Source`, or an xarray Dataset/DataArray from :func:`lsio.grib.open_dataset` (see
    :class:`lsio.ml.GribSource`: crops cut from whole decoded messages). ``crop``: name -> {dimension name: size}; dimensions not named are read whole.

    Sampling: each sample draws a crop start of the ``anchor`` source (default: the first) uniformly over its valid
    region, or from ``starts`` (an (m, k) array of valid starts along its cropped dimensions, in dimension order) or
    ``weights`` (one weight per valid start, shape extent - crop + 1 along the cropped dimensions). Other sources are
    aligned: the anchor crop's centre has coordinate values along each cropped dimension; ``project[name]`` (optional)
    maps those ({dim: values of all samples}) to the source's own coordinates (entries it does not return pass
    through by name), and each source is cropped around the index whose coordinate is nearest (``method="previous"``:
    the last one not after it) along each of its cropped dimensions. A cropped dimension the anchor lacks is drawn
    uniformly. Dimensions without coordinates align by index. ``outside="skip"`` drops samples whose crops reach
    outside any source (redrawing to keep ``samples_per_epoch``); ``"pad"`` keeps them, out-of-range elements read as
    the array's fill value (converted by ``normalize`` like data: ``fill * scale + offset``).

    Conversion happens while each chunk is placed into the batch (no second pass): ``normalize[name] = (mean, std)``
    (numbers, or one per index along ``channel_dim``, default the dimension named "channel", which must not be
    cropped) gives ``(x - mean) / std``; ``dtype`` (one for all or per source) defaults to the array's dtype, float32
    when normalizing.

    Epochs: ``samples_per_epoch`` (or ``batches_per_epoch``) samples, default the list's length for ``starts``, else
    the number of crops that tile the anchor (about one pass). Everything random comes from ``seed`` and the epoch:
    the same seed gives the same batches, each epoch differs. Each ``iter()`` runs epoch :attr:`epoch` and then
    advances it; :meth:`set_epoch` chooses the next one. ``drop_last`` drops a final short batch.

    Sharding: batches ``b`` with ``b % (world_size * num_workers) == rank * num_workers + worker`` belong to a shard
    (see :meth:`shard`); ``len()`` is this shard's batch count. All shards compute the same epoch plan from the seed,
    so they never duplicate samples and together read exactly the single-process epoch.

    Batches are dicts (see :data:`Batch`); ``to="torch"`` gives torch tensors (allocated by torch, pinned when
    ``pin_memory`` (default: torch.cuda.is_available()), and filled in place: no copy). ``prefetch`` batches are read
    ahead by a background thread (0: read in the consumer's thread); breaking out of the loop stops and joins it; an
    error while reading is raised in the consumer. Each source's crops of a batch are read in ONE engine batch.

    Pickling (DataLoader workers, ProcessPoolExecutor, dask): a loader pickles when its projections do and its arrays
    live in file stores (memory:// arrays raise pickle.PicklingError). Unpickling opens no file and starts no thread;
    each array reopens, read-only, on the first batch read in the new process.
    """

    def __init__(
        self,
        sources: Mapping[str, SourceLike],
        crop: Mapping[str, Mapping[str, int]],
        *,
        batch_size: int,
        seed: int = 0,
        prefetch: int = 2,
        normalize: Optional[Mapping[str, tuple[Number, Number]]] = None,
        dtype: Any = None,
        channel_dim: Union[None, str, Mapping[str, str]] = None,
        samples_per_epoch: Optional[int] = None,
        batches_per_epoch: Optional[int] = None,
        drop_last: bool = False,
        starts: Optional[npt.ArrayLike] = None,
        weights: Optional[npt.ArrayLike] = None,
        anchor: Optional[str] = None,
        project: Optional[Mapping[str, Projection]] = None,
        method: Union[Literal["nearest", "previous"], Mapping[str, str]] = "nearest",
        outside: Literal["skip", "pad"] = "skip",
        to: Literal["numpy", "torch"] = "numpy",
        pin_memory: Optional[bool] = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not isinstance(sources, Mapping) or not sources:
            raise ValueError("sources must be a non-empty mapping of name -> array")
        names = list(sources)
        for n in names:
            if not isinstance(n, str) or not n or "/" in n or n == "index":
                raise ValueError(f"source names must be non-empty strings without '/' and not 'index', not {n!r}")
        if not isinstance(crop, Mapping):
            raise ValueError("crop must map source names to {dimension: size}")
        crops = _per_source(crop, names, "crop")
        norms = _per_source(normalize or {}, names, "normalize")
        dtypes = _per_source(dtype, names, "dtype")
        channels = _per_source(channel_dim, names, "channel_dim")
        self.methods: dict[str, str] = _per_source(method, names, "method")
        for n, m in self.methods.items():
            if m is None:
                self.methods[n] = "nearest"
            elif m not in ("nearest", "previous"):
                raise ValueError(f"method of source {n!r} must be 'nearest' or 'previous', not {m!r}")
        self.project: dict[str, Optional[Projection]] = _per_source(project or {}, names, "project")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        if outside not in ("skip", "pad"):
            raise ValueError(f"outside must be 'skip' or 'pad', not {outside!r}")
        if to not in ("numpy", "torch"):
            raise ValueError(f"to must be 'numpy' or 'torch', not {to!r}")
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0, not {prefetch}")
        if samples_per_epoch is not None and batches_per_epoch is not None:
            raise ValueError("give samples_per_epoch or batches_per_epoch, not both")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} must be in 0..world_size-1 (world_size {world_size})")
        self.anchor = names[0] if anchor is None else anchor
        if self.anchor not in names:
            raise ValueError(f"anchor {self.anchor!r} is not one of the sources {names}")
        self.sources: dict[str, _Prepared] = {}
        for n in names:
            c = crops[n] or {}
            if not isinstance(c, Mapping):
                raise ValueError(f"crop[{n!r}] must map dimension names to sizes, not {c!r}")
            self.sources[n] = _Prepared(n, as_source(sources[n]), c, dtypes[n], norms[n], channels[n])
        a = self.sources[self.anchor]
        self.sampler = StartSampler([a.source.shape[i] for i in a.cropped], [a.box[i] for i in a.cropped],
                                    starts=starts, weights=weights, names=[a.source.dims[i] for i in a.cropped])
        self._check_alignment()
        if batches_per_epoch is not None:
            samples_per_epoch = batches_per_epoch * batch_size
        self.samples_per_epoch = self.sampler.default_count() if samples_per_epoch is None else int(samples_per_epoch)
        if self.samples_per_epoch < 1:
            raise ValueError(f"samples_per_epoch must be positive, not {self.samples_per_epoch}")
        self.batch_size = batch_size
        self.seed = int(seed)
        self.prefetch = int(prefetch)
        self.drop_last = bool(drop_last)
        self.outside = outside
        self.to = to
        self.pin_memory = pin_memory
        self.rank, self.world_size = rank, world_size
        self.worker, self.num_workers = 0, 1
        self.epoch = 0
        # Per source: the batch being read, the one the consumer holds, the one it just dropped. More would only
        # keep memory (100 MB a batch in the benchmark) for the rare consumer slower than the loader.
        self._recycler = _Recycler(keep=3 * len(self.sources))

    # ---- configuration ----

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next ``iter()`` runs (then it advances by one)."""
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, not {epoch}")
        self.epoch = int(epoch)

    def shard(self, worker: int, num_workers: int) -> None:
        """Makes this loader read only its share of each epoch: DataLoader worker ``worker`` of ``num_workers``
        (within this loader's rank of world_size)."""
        if num_workers < 1 or not 0 <= worker < num_workers:
            raise ValueError(f"worker {worker} must be in 0..num_workers-1 (num_workers {num_workers})")
        self.worker, self.num_workers = worker, num_workers

    @property
    def batches_per_epoch(self) -> int:
        """Batches in an epoch over all shards."""
        return batch_count(self.samples_per_epoch, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        return len(self._my_batches())

    def _my_batches(self) -> range:
        shards = self.world_size * self.num_workers
        return shard_batches(self.batches_per_epoch, self.rank * self.num_workers + self.worker, shards)

    def __repr__(self) -> str:
        crops = {n: dict(zip(p.source.dims, p.box)) for n, p in self.sources.items()}
        return (f"<lsio.ml.RandomCrops {crops} batch_size={self.batch_size} samples_per_epoch="
                f"{self.samples_per_epoch} epoch={self.epoch}>")

    # ---- planning ----

    def _check_alignment(self) -> None:
        a = self.sources[self.anchor]
        for n, p in self.sources.items():
            if n == self.anchor or self.project[n] is not None:
                continue
            for i in p.cropped:
                d = p.source.dims[i]
                if d in a.source.dims and a.source.dims.index(d) in a.cropped and \
                        (d in p.source.coords) != (d in a.source.coords):
                    have, lack = (n, self.anchor) if d in p.source.coords else (self.anchor, n)
                    raise ValueError(f"dimension {d!r} has coordinates in source {have!r} but not in {lack!r}; "
                                     "give both coordinates (Source(..., coords=)) or neither (align by index)")

    def _anchor_coords(self, starts: npt.NDArray[np.int64]) -> dict[str, FloatArray]:
        a = self.sources[self.anchor]
        out: dict[str, FloatArray] = {}
        for i in a.cropped:
            d = a.source.dims[i]
            centre = starts[:, i] + a.box[i] // 2
            c = a.source.coords.get(d)
            out[d] = c[centre] if c is not None else centre.astype(np.float64)
        return out

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[dict[str, npt.NDArray[np.int64]],
                                                               npt.NDArray[np.bool_]]:
        a = self.sources[self.anchor]
        drawn = self.sampler.draw(rng, n)
        anchor = np.zeros((n, len(a.box)), dtype=np.int64)
        anchor[:, list(a.cropped)] = drawn
        result = {self.anchor: anchor}
        inside = np.ones(n, dtype=bool)
        centre = self._anchor_coords(anchor) if len(self.sources) > 1 else {}
        for name, p in self.sources.items():
            if name == self.anchor:
                continue
            values = dict(centre)
            fn = self.project[name]
            if fn is not None:
                projected = fn(dict(centre))
                if not isinstance(projected, Mapping):
                    raise TypeError(f"project[{name!r}] must return a mapping of dimension name -> values")
                for d, v in projected.items():
                    q = as_coordinate_query(v)
                    if q.shape != (n,):
                        raise ValueError(f"project[{name!r}] returned {q.shape} values for {d!r}, expected ({n},)")
                    values[d] = q
            st = np.zeros((n, len(p.box)), dtype=np.int64)
            shape = p.source.shape
            for i in p.cropped:
                d = p.source.dims[i]
                if d in values:
                    c = p.source.coords.get(d)
                    coord = c if c is not None else np.arange(shape[i], dtype=np.float64)
                    st[:, i] = nearest_index(coord, values[d], self.methods[name]) - p.box[i] // 2
                else:
                    st[:, i] = rng.integers(0, shape[i] - p.box[i] + 1, size=n)
            box = np.asarray(p.box, dtype=np.int64)
            inside &= np.all((st >= 0) & (st + box <= np.asarray(shape, dtype=np.int64)), axis=1)
            result[name] = st
        return result, inside

    def plan(self, epoch: Optional[int] = None) -> _Plan:
        """The whole epoch's starts per source (all shards), deterministic in (seed, epoch)."""
        epoch = self.epoch if epoch is None else int(epoch)
        rng = epoch_rng(self.seed, epoch)
        want = self.samples_per_epoch
        starts, inside = self._draw(rng, want)
        if self.outside == "pad" or inside.all():
            return _Plan(epoch, starts)
        parts = [{k: v[inside] for k, v in starts.items()}]
        have = int(inside.sum())
        for _ in range(_MAX_SKIP_ROUNDS):
            if have >= want:
                break
            more, ok = self._draw(rng, max(want - have, 16) * 2)
            parts.append({k: v[ok] for k, v in more.items()})
            have += int(ok.sum())
        if have < want:
            raise ValueError(f"only {have} of {want} samples have crops inside every source after "
                             f"{_MAX_SKIP_ROUNDS} redraws: the sources barely overlap; check their coordinates and "
                             "projections, or use outside='pad'")
        return _Plan(epoch, {k: np.concatenate([p[k] for p in parts])[:want] for k in starts})

    # ---- reading ----

    def _pin(self) -> bool:
        if self.pin_memory is not None:
            return self.pin_memory
        import torch

        return bool(torch.cuda.is_available())

    def read_batch(self, plan: _Plan, b: int, cancel: Optional[CancelToken] = None) -> Batch:
        """Batch ``b`` of an epoch plan. ``cancel`` stops its reads (lsio.CancelledError)."""
        lo = b * self.batch_size
        hi = min(lo + self.batch_size, plan.samples)
        batch: Batch = {}
        if self.to == "torch":
            import torch

            pin = self._pin()
            for name, p in self.sources.items():
                st = np.ascontiguousarray(plan.starts[name][lo:hi])
                t = torch.empty((hi - lo, *p.box), dtype=_torch_dtype(p.dtype), pin_memory=pin)
                p.read(st, t.numpy(), cancel)
                batch[name] = t
                batch[f"{name}/start"] = torch.from_numpy(st)
            batch["index"] = torch.arange(lo, hi, dtype=torch.int64)
            return batch
        for name, p in self.sources.items():
            st = np.ascontiguousarray(plan.starts[name][lo:hi])
            out = self._recycler.empty((hi - lo, *p.box), np.dtype(p.dtype))
            p.read(st, out, cancel)
            batch[name] = out
            batch[f"{name}/start"] = st
        batch["index"] = np.arange(lo, hi, dtype=np.int64)
        return batch

    def __iter__(self) -> Iterator[Batch]:
        return self._iterate()

    def _iterate(self) -> Iterator[Batch]:
        plan = self.plan()
        self.epoch = plan.epoch + 1
        mine = self._my_batches()
        if self.prefetch == 0:
            for b in mine:
                yield self.read_batch(plan, b)
            return
        q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        # Cancels the prefetch thread's read when the consumer stops (Ctrl-C, break, an error): the thread
        # then ends within one drain instead of finishing its batch.
        token = CancelToken()
        thread = threading.Thread(target=self._produce, args=(plan, mine, q, stop, token), daemon=True,
                                  name=f"lsio.ml prefetch (epoch {plan.epoch})")
        thread.start()
        try:
            while True:
                kind, item = q.get()
                if kind == "batch":
                    yield item
                elif kind == "error":
                    raise item
                else:
                    return
        finally:
            stop.set()
            token.cancel("the consumer stopped iterating")
            while thread.is_alive():
                try:
                    while True:
                        q.get_nowait()
                except queue.Empty:
                    pass
                thread.join(timeout=0.05)

    def _produce(
        self, plan: _Plan, mine: range, q: queue.Queue[tuple[str, Any]], stop: threading.Event, token: CancelToken
    ) -> None:
        def put(item: tuple[str, Any]) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for b in mine:
                if stop.is_set() or not put(("batch", self.read_batch(plan, b, token))):
                    return
            put(("done", None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            if not stop.is_set():
                put(("error", e))


def _torch_dtype(dtype: np.dtype[Any]) -> Any:
    import torch

    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype
