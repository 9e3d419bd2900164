"""lsio.zarr.copy: copy, rechunk and convert Zarr arrays within a memory budget.

The plan is rechunker's: in one pass, the destination is cut into slabs made of whole destination shards (chunks
when unsharded) that fit the budget, aligned to the source chunks when they fit too; when they do not and source
chunks would be decoded three times or more, two passes through an intermediate array (plan_copy). Each slab is read
with one LSIO read (one batch, on the store's workers) and written with the array writer, which encodes every
shard on the workers and stores it whole and atomically (Store.put). The next slab is read while the current one
is written. Everything goes through lsio.Store: nothing here touches the file system.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Optional, Union

import numpy as np

from ._lsio import CancelToken
from ._pipeline import ReadAhead, present

# (bytes done, bytes total) after each slab.
Progress = Callable[[int, int], None]

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 1000**2, "mib": 1 << 20,
          "g": 1 << 30, "gb": 1000**3, "gib": 1 << 30, "t": 1 << 40, "tb": 1000**4, "tib": 1 << 40}  # fmt: skip


def parse_bytes(value: Union[int, str]) -> int:
    """'4GiB', '512 MB', '1e9' or an int: a byte count (ValueError otherwise)."""
    if isinstance(value, (int, np.integer)):
        n = int(value)
    else:
        m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"not a byte size: {value!r} (e.g. 4GiB, 512MB, 1000000)")
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n <= 0:
        raise ValueError(f"byte size must be positive, not {value!r}")
    return n


def codec_list(compressors: Any, zarr_format: int, itemsize: int) -> Any:
    """The ``codecs`` argument of lsio.zarr.create for v3-style ``compressors`` ([{"name", "configuration"}], a
    name, or None/[] for no compression), for the destination's format."""
    if compressors is None:
        items: list[Any] = []
    elif isinstance(compressors, (str, Mapping)):
        items = [compressors]
    else:
        items = list(compressors)
    items = [{"name": c} if isinstance(c, str) else dict(c) for c in items]
    if zarr_format == 3:
        bytes_codec: dict[str, Any] = {"name": "bytes"}
        if itemsize > 1:
            bytes_codec["configuration"] = {"endian": "little"}
        return [bytes_codec, *items]
    if len(items) > 1:
        raise ValueError("zarr_format=2 takes at most one compressor")
    if not items:
        return []
    c = items[0]
    if "id" in c:
        return [c]
    return [{"id": c["name"], **c.get("configuration", {})}]


def _units(shape: Sequence[int], unit: Sequence[int]) -> list[int]:
    return [max(1, -(-s // u)) if s else 0 for s, u in zip(shape, unit)]


def plan_slabs(
    shape: Sequence[int], unit: Sequence[int], itemsize: int, budget: int, src_chunks: Optional[Sequence[int]] = None
) -> list[int]:
    """Write units per slab along each dimension, within ``budget`` bytes.

    First, trailing dimensions first, slabs are made to cover whole source chunks (the least common multiple of
    the write unit and the source chunk) so that every source chunk is read and decoded once; then they grow,
    trailing dimensions first, in multiples of that alignment, as far as the budget goes."""
    nd = len(shape)
    counts = _units(shape, unit)
    per = [1] * nd
    unit_bytes = itemsize * math.prod(min(u, s) for u, s in zip(unit, shape)) if nd else itemsize
    if unit_bytes > budget:
        raise ValueError(
            f"max_memory is too small: one destination chunk of {unit_bytes} bytes does not fit a third of it "
            f"({budget} bytes); raise max_memory or use smaller chunks"
        )
    size = unit_bytes
    if src_chunks is not None:
        for d in range(nd - 1, -1, -1):
            align = min(counts[d], math.lcm(unit[d], src_chunks[d]) // unit[d]) if counts[d] else 1
            if size * align > budget:
                break
            per[d] = align
            size *= align
    for d in range(nd - 1, -1, -1):
        base = size // per[d]
        k = min(counts[d], budget // base)
        if k > per[d]:
            k = min(counts[d], k // per[d] * per[d])
            per[d] = k
            size = base * k
    return per


def slabs(shape: Sequence[int], unit: Sequence[int], per: Sequence[int]) -> Iterator[tuple[tuple[slice, ...], list[list[int]]]]:
    """(selection, grid coordinates of the write units inside) of each slab, in C order."""
    counts = _units(shape, unit)
    if any(c == 0 for c in counts):
        return
    steps = [range(0, c, p) for c, p in zip(counts, per)]
    for first in itertools.product(*steps):
        sel = tuple(
            slice(f * u, min((f + p) * u, s)) for f, p, u, s in zip(first, per, unit, shape)
        )
        coords = [
            list(c)
            for c in itertools.product(*(range(f, min(f + p, n)) for f, p, n in zip(first, per, counts)))
        ]
        yield sel, coords


# ---- the plan: one pass, or two through an intermediate array (rechunker's algorithm) --------------------------

# Two passes when one pass would decode the source this many times over (or more). The intermediate costs a write
# and a read of the whole array, uncompressed; each extra decode of a compressed source costs its read plus its
# decode. Measured by CPU time (user + sys, page cache hot) on a 128 MiB float32 array, zstd chunks (16, 512, 512)
# to (128, 64, 64) zstd 1: amplification 2 one pass cheaper (0.8 s against 1.0 s), 4 about even (two passes a
# little cheaper), 8 two passes clearly cheaper (0.7-0.9 s against 1.3-1.4 s). Amplifications come in powers of 2
# for power-of-2 chunks: 3 splits 2 (one pass) from 4 (two).
TWO_STAGE_MIN_AMPLIFICATION = 3.0
# Intermediate chunks up to this size are preferred (then the fewest chunks): big enough that a chunk costs its
# bytes, not its open/put, small enough that each slab holds many, encoded and stored on all workers at once.
INTERMEDIATE_CHUNK_CAP = 16 << 20


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a copy runs. ``per``: destination write units per slab of the (last) pass. Two passes when
    ``intermediate`` (its chunk shape) is set: ``per1`` intermediate chunks per slab of the first pass (source ->
    intermediate). ``amplification``: bytes of source chunks decoded over the array's bytes (1.0: each source
    chunk decoded once); ``single_amplification``: the one-pass plan's, for comparison."""

    per: list[int]
    intermediate: Optional[tuple[int, ...]] = None
    per1: Optional[list[int]] = None
    amplification: float = 1.0
    single_amplification: float = 1.0


def read_amplification(shape: Sequence[int], slab: Sequence[int], src_chunks: Sequence[int]) -> float:
    """Bytes of source chunks decoded (clipped to the array) over the array's bytes, when the array is read in
    slabs of shape ``slab`` (a grid from the origin) from chunks ``src_chunks``: every slab decodes each chunk it
    touches whole."""
    amp = 1.0
    for n, e, s in zip(shape, slab, src_chunks):
        if n == 0:
            continue
        touched = 0
        for start in range(0, n, e):
            stop = min(start + e, n)
            touched += min(-(-stop // s) * s, n) - start // s * s
        amp *= touched / n
    return amp


def _slab_shape(shape: Sequence[int], unit: Sequence[int], per: Sequence[int]) -> list[int]:
    return [min(p * u, n) if n else 1 for p, u, n in zip(per, unit, shape)]


def _divisors(n: int) -> set[int]:
    out = set()
    for k in range(1, math.isqrt(n) + 1):
        if n % k == 0:
            out.update((k, n // k))
    return out


def _candidates(n: int, a: int, b: int) -> list[int]:
    """Intermediate chunk lengths along one dimension of length n, source chunk a, destination unit b: the
    divisors of either (one of the slabs stays the chunk itself), their doublings up to their lcm, and the lcm's
    doublings up to the whole dimension; at most _MAX_CANDIDATES of them, spread geometrically (a, b, their lcm
    and n always kept) so that the search stays small."""
    a, b = min(a, n), min(b, n)
    lcm = math.lcm(a, b)
    keep = {a, b, min(lcm, n), n}
    out = _divisors(a) | _divisors(b) | keep
    for k in (a, b, lcm):
        while k < min(lcm, n) or (k == lcm and k < n):
            out.add(k)
            k *= 2
    ordered = sorted(c for c in out if 1 <= c <= n)
    if len(ordered) > _MAX_CANDIDATES:
        step = math.log(n) / (_MAX_CANDIDATES - len(keep)) if n > 1 else 1.0
        picked = set(keep)
        last = -1.0
        for c in ordered:
            if math.log(c) >= last + step:
                picked.add(c)
                last = math.log(c)
        ordered = sorted(picked)
    return ordered


_MAX_CANDIDATES = 24


def plan_intermediate(shape: Sequence[int], src_chunks: Sequence[int], unit: Sequence[int], itemsize: int,
                      budget: int) -> Optional[tuple[int, ...]]:  # fmt: skip
    """Rechunker's intermediate: chunks I such that a slab of whole source chunks and whole I-chunks (first pass)
    and a slab of whole I-chunks and whole destination units (second pass) each fit ``budget``, so every source
    chunk and every intermediate chunk is read once. Of those, chunks up to INTERMEDIATE_CHUNK_CAP bytes, then the
    fewest chunks, then chunks contiguous in the second pass's slab (read without a copy), then the smallest
    slabs. None when there are none (a source chunk or destination unit alone does
    not fit)."""
    nd = len(shape)
    if nd == 0 or 0 in shape:
        return None
    cands = [_candidates(n, a, b) for n, a, b in zip(shape, src_chunks, unit)]
    best: Optional[tuple[tuple[int, int, bool, int], tuple[int, ...]]] = None

    def factor(d: int, c: int, other: int) -> int:  # what dimension d multiplies an aligned slab by
        n = shape[d]
        return min(max(1, -(-n // c)), math.lcm(c, other) // c) * min(c, n)

    # Depth-first over the dimensions, last first, pruning on the partial sizes of both slabs (each factor >= 1).
    def search(d: int, chosen: list[int], s1: int, s2: int) -> None:
        nonlocal best
        if d < 0:
            chunk = list(reversed(chosen))
            nbytes = itemsize * math.prod(chunk)
            count = math.prod(-(-n // c) for n, c in zip(shape, chunk))
            head = (max(0, nbytes - INTERMEDIATE_CHUNK_CAP), count)
            if best is not None and head > best[0][:2]:
                return
            slab2 = _slab_shape(shape, unit, plan_slabs(shape, unit, itemsize, budget, chunk))  # as the pass runs
            key = (*head, not _contiguous(chunk, slab2), max(s1, s2))
            if best is None or key < best[0]:
                best = (key, tuple(chunk))
            return
        for c in cands[d]:
            f1 = s1 * factor(d, c, src_chunks[d])
            f2 = s2 * factor(d, unit[d], c)
            if f1 <= budget and f2 <= budget:
                search(d - 1, [*chosen, c], f1, f2)

    search(nd - 1, [], itemsize, itemsize)
    return None if best is None else best[1]


def _contiguous(block: Sequence[int], within: Sequence[int]) -> bool:
    """Whether a C-order block is one contiguous run of a C-order array ``within`` (ones, then one partial
    dimension, then whole ones): a second-pass read then lands each intermediate chunk straight in the slab."""
    d = len(block)
    while d > 0 and block[d - 1] == within[d - 1]:
        d -= 1
    return all(b == 1 for b in block[: max(0, d - 1)])


def plan_copy(shape: Sequence[int], src_chunks: Sequence[int], unit: Sequence[int], itemsize: int, budget: int,
              two_stage: Optional[bool] = None) -> Plan:  # fmt: skip
    """The copy's plan: one pass in slabs of whole destination units (aligned to the source chunks when the
    budget allows), or, when that pass would decode the source TWO_STAGE_MIN_AMPLIFICATION times over or more and
    an intermediate chunking reads everything once (``two_stage=None``), or when asked (``two_stage=True``), two
    passes through an intermediate array (plan_intermediate)."""
    per = plan_slabs(shape, unit, itemsize, budget, src_chunks)
    single = read_amplification(shape, _slab_shape(shape, unit, per), src_chunks) if shape else 1.0
    if two_stage is False or (two_stage is None and single < TWO_STAGE_MIN_AMPLIFICATION):
        return Plan(per, amplification=single, single_amplification=single)
    inter = plan_intermediate(shape, src_chunks, unit, itemsize, budget)
    if inter is None:
        if two_stage:
            raise ValueError(f"two_stage=True: no intermediate chunking fits a third of max_memory ({budget} bytes) "
                             f"with whole source chunks {tuple(src_chunks)} and destination units {tuple(unit)}")  # fmt: skip
        return Plan(per, amplification=single, single_amplification=single)
    per1 = plan_slabs(shape, inter, itemsize, budget, src_chunks)
    per2 = plan_slabs(shape, unit, itemsize, budget, inter)
    amp = read_amplification(shape, _slab_shape(shape, inter, per1), src_chunks)
    return Plan(per2, inter, per1, amp, single)


def copy(
    src: Any,
    dst: Any,
    *,
    path: str = "",
    chunks: Optional[Sequence[int]] = None,
    shards: Union[Sequence[int], None, Literal["keep"]] = "keep",
    compressors: Any = "keep",
    zarr_format: Optional[int] = None,
    fill_value: Any = "keep",
    max_memory: Union[int, str] = "4GiB",
    overwrite: bool = False,
    resume: bool = False,
    progress: Optional[Progress] = None,
    cancel: Optional[CancelToken] = None,
    temp_store: Any = None,
    two_stage: Optional[bool] = None,
) -> Any:
    """Copies ``src`` (an lsio.zarr.Array, or a URL/path of one) into a new array at ``path`` of ``dst`` (a local
    path, URL or lsio.Store), with other chunks, shards, codecs or Zarr format, and returns it (open for writing).

    ``chunks`` (inner chunks when sharded) defaults to the source's; ``shards`` to the source's ("keep"; None: not
    sharded); ``compressors`` (v3 style: ``[{"name": "zstd", "configuration": {"level": 3}}]``, [] or None for
    none) to zstd level 3 ("keep" is zstd too: source codecs are not carried over); ``zarr_format`` to the
    source's; attributes and dimension names are copied. Memory: slabs of whole destination shards of at most a
    third of ``max_memory`` (one being written, the next being read), made to cover whole source chunks when
    that fits. When it does not, and one pass would decode each source chunk three times or more (slabs cut it), the
    copy goes through an intermediate uncompressed array (``two_stage=None``: chosen so; True: always; False:
    never): source -> intermediate in slabs of whole source chunks and whole intermediate chunks, then
    intermediate -> destination in slabs of whole intermediate chunks and whole destination shards, so every
    chunk is decoded once (rechunker's plan; lsio._copy.plan_copy). It lives where staged shards do (below) and
    is removed after success and after failure; ``progress`` then counts the bytes of both passes (total: twice
    the array), and a resumed copy redoes the first pass for the destination shards still missing. When one
    destination shard does not fit,
    each shard is staged in an intermediate sharded array (under ``temp_store``, a Store, path or URL; default: a
    hidden prefix inside the destination), written there in pieces of whole inner chunks that fit, then moved to
    the destination as one object (so the destination only ever holds whole shards); the intermediate is removed
    after success and after failure. ValueError when one inner chunk (or, unsharded, one chunk) does not fit.
    An existing destination is refused (FileExistsError) unless ``overwrite=True`` (everything under the
    destination is deleted first) or ``resume=True`` (the destination must match: slabs whose shards are all
    stored are skipped; shards are stored atomically, so a stored shard is complete). ``progress(done, total)``
    is called with bytes at the start and after each slab. Ctrl-C, or ``cancel``, stops after the reads in flight
    drained; the shards written so far stay (each whole) and ``resume=True`` continues. Until the copy completes the destination's
    metadata is kept under hidden names (``zarr.json.lsio-pending``; v2 ``.zarray``/``.zattrs`` likewise), so a
    copy stopped by an error, a full disk (OSError ENOSPC naming the key) or Ctrl-C is no Zarr array to any reader.
    """
    from . import zarr as lz

    if overwrite and resume:
        raise ValueError("overwrite and resume exclude each other")
    a = src if isinstance(src, lz.Array) else lz.open_array(src, mode="r")
    fmt = a.zarr_format if zarr_format is None else int(zarr_format)
    out_chunks = tuple(a.chunks) if chunks is None else tuple(int(c) for c in chunks)
    if shards == "keep":
        out_shards = a.shards if chunks is None and fmt == 3 else None
    else:
        out_shards = None if shards is None else tuple(int(s) for s in shards)
    if fmt == 2 and out_shards is not None:
        raise ValueError("zarr_format=2 arrays cannot be sharded")
    if out_shards is not None and any(s % c for s, c in zip(out_shards, out_chunks)):
        raise ValueError(f"shards {out_shards} must be multiples of chunks {out_chunks}")
    if compressors == "keep":
        compressors = [{"name": "zstd", "configuration": {"level": 3}}]
    codecs = codec_list(compressors, fmt, a.itemsize)
    fill = a.fill_value if fill_value == "keep" else fill_value
    budget = parse_bytes(max_memory) // 3
    unit = out_shards if out_shards is not None else out_chunks
    staged = out_shards is not None and _unit_bytes(a.shape, out_shards, a.itemsize) > budget
    per_inner: Optional[list[int]] = None
    if staged:  # one shard per slab, staged in pieces of whole inner chunks
        assert out_shards is not None
        if two_stage:
            raise ValueError("two_stage=True: one destination shard does not fit a third of max_memory")
        per_inner = plan_slabs(out_shards, out_chunks, a.itemsize, budget)
        plan = Plan([1] * len(unit))
    else:
        plan = plan_copy(a.shape, a.chunks, unit, a.itemsize, budget, two_stage)

    location = lz._locate(dst, path)
    exists = _exists(location)
    if exists and not (overwrite or resume):
        raise FileExistsError(f"destination {location.path or '/'} already holds a Zarr node (overwrite replaces it; resume continues a stopped copy)")
    if resume and exists:
        _move_metadata(location, hide=False)  # a stopped copy's metadata waits hidden: shown to open it
        out = lz.open_array(location.store, location.path)
        want = (tuple(a.shape), a.dtype, out_chunks, out_shards, fmt)
        have = (tuple(out.shape), out.dtype, tuple(out.chunks), out.shards, out.zarr_format)
        if want != have:
            _move_metadata(location, hide=True)
            raise ValueError(f"cannot resume: destination has (shape, dtype, chunks, shards, format) {have}, the copy needs {want}")
    else:
        if exists:
            _remove_tree(location)
        out = lz.create(
            location.store,
            a.shape,
            a.dtype,
            path=location.path,
            chunks=out_chunks,
            shards=out_shards,
            codecs=codecs,
            fill_value=fill,
            zarr_format=fmt,  # type: ignore[arg-type]
            attributes=a.attrs,
            dimension_names=a.dimension_names if fmt == 3 else None,
        )
    # Until the last shard is stored the metadata waits under hidden names: a copy stopped by an error, a full
    # disk or Ctrl-C is no Zarr array to any reader (rather than one whose missing shards read as the fill value).
    _move_metadata(location, hide=True)
    try:
        _copy_data(a, out, location, unit, plan, per_inner, out_shards, out_chunks, resume and exists,
                   progress, cancel, temp_store)  # fmt: skip
    except BaseException as e:
        if hasattr(e, "add_note"):  # Python 3.11+
            e.add_note(f"lsio.zarr.copy: {location.path or '/'} is incomplete (its metadata is kept as "
                       f"*{_PENDING} until the copy finishes); copy again with resume=True to continue")  # fmt: skip
        raise
    _move_metadata(location, hide=False)
    return out


def _copy_data(
    a: Any,
    out: Any,
    location: Any,
    unit: Sequence[int],
    plan: Plan,
    per_inner: Optional[list[int]],
    out_shards: Optional[tuple[int, ...]],
    out_chunks: tuple[int, ...],
    resume: bool,
    progress: Optional[Progress],
    cancel: Optional[CancelToken],
    temp_store: Any,
) -> None:
    """Writes the data of the copy into ``out``: slab after slab, staged shard after shard, or in two passes."""
    min_size = 0
    if out_shards is not None:
        min_size = 16 * math.prod(s // c for s, c in zip(out_shards, out_chunks)) + 4
    token = cancel if cancel is not None else CancelToken()
    if resume:
        _remove_stale_intermediates(location)
    plan2 = list(slabs(a.shape, unit, plan.per))
    todo = [(sel, coords) for sel, coords in plan2 if not (resume and present(out, coords, min_size, unit))]
    skipped = a.nbytes - sum(_nbytes(sel, a.itemsize) for sel, _ in todo) if a.shape else 0
    todo1: list[tuple[slice, ...]] = []
    if plan.intermediate is not None and a.shape:
        assert plan.per1 is not None
        todo1 = _first_pass_slabs(a.shape, plan.intermediate, plan.per1, [sel for sel, _ in todo])
        skipped += a.nbytes - sum(_nbytes(sel, a.itemsize) for sel in todo1)
    passes = 2 if plan.intermediate is not None else 1
    tally = _Tally(skipped, passes * a.nbytes, progress)
    if not a.shape:  # 0-d: one element
        out[()] = a[()]
        tally.add(a.nbytes * passes)
        return
    if per_inner is not None:
        _staged_copy(a, out, todo, per_inner, tally, token, temp_store, location)
        return
    if plan.intermediate is None:
        _stream(a, out, [sel for sel, _ in todo], token, tally)
        return
    if not todo:
        return
    from . import zarr as lz

    tmp_location = _temp_location(location, temp_store)
    try:
        tmp = lz.create(tmp_location.store, a.shape, a.dtype, path=tmp_location.path, chunks=plan.intermediate,
                        codecs=codec_list(None, 3, a.itemsize), fill_value=a.fill_value, zarr_format=3)  # fmt: skip
        _stream(a, tmp, todo1, token, tally)  # source -> intermediate: each source chunk decoded once
        _stream(tmp, out, [sel for sel, _ in todo], token, tally)  # intermediate -> destination
    finally:
        _remove_tree(tmp_location)


class _Tally:
    """Bytes done (over both passes of a two-pass copy) and the progress callback, called once at the start."""

    def __init__(self, done: int, total: int, progress: Optional[Progress]) -> None:
        self.done, self.total, self.progress = done, total, progress
        if progress is not None:
            progress(done, total)

    def add(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)


def _stream(src: Any, dst: Any, sels: list[tuple[slice, ...]], token: CancelToken, tally: _Tally) -> None:
    """Copies each selection from ``src`` to ``dst`` (one read, one write), reading the next while one is
    written; an error or Ctrl-C cancels the read in flight (ReadAhead). The slabs alternate between two buffers
    allocated once: a fresh slab per read would have the kernel zero every page of it again (as much memory
    traffic as the decode's output)."""
    itemsize = src.itemsize
    buffers = _SlabBuffers(max((_nbytes(sel, 1) for sel in sels), default=0), src.dtype)

    def read(item: tuple[int, tuple[slice, ...]]) -> Any:
        i, sel = item
        return src.read(sel, out=buffers.view(i % 2, [s.stop - s.start for s in sel]), cancel=token)

    with ReadAhead(list(enumerate(sels)), read, token, "lsio-copy-read") as stream:
        for (_, sel), data in stream:
            _write(dst, sel, data, token)
            del data
            tally.add(_nbytes(sel, itemsize))


class _SlabBuffers:
    """Two flat buffers of ``elements`` each, allocated on first use; view(k, shape) is the front of buffer k as a
    C-contiguous array of that shape. ReadAhead reads slab i + 1 while slab i is written, and starts reading slab
    i + 2 only after slab i's write returned: slab i uses buffer i % 2."""

    def __init__(self, elements: int, dtype: Any) -> None:
        self._elements, self._dtype = elements, dtype
        self._flat: list[Optional[np.ndarray]] = [None, None]

    def view(self, k: int, shape: Sequence[int]) -> np.ndarray:
        flat = self._flat[k]
        if flat is None:
            flat = self._flat[k] = np.empty(self._elements, self._dtype)
        return flat[: math.prod(shape)].reshape(shape)


def _first_pass_slabs(shape: Sequence[int], inter: Sequence[int], per1: Sequence[int],
                      needed: list[tuple[slice, ...]]) -> list[tuple[slice, ...]]:  # fmt: skip
    """The first pass's slabs (C order) that overlap a second-pass slab still to write: all of them for a fresh
    copy; on resume only those the remaining destination shards need (the intermediate does not outlive a copy,
    so the first pass is redone for them)."""
    step = [p * c for p, c in zip(per1, inter)]
    wanted: set[tuple[int, ...]] = set()
    for sel in needed:
        ranges = [range(s.start // e, -(-s.stop // e)) for s, e in zip(sel, step)]
        wanted.update(itertools.product(*ranges))
    out = []
    for sel, _ in slabs(shape, inter, per1):
        if tuple(s.start // e for s, e in zip(sel, step)) in wanted:
            out.append(sel)
    return out


def _temp_location(location: Any, temp_store: Any) -> Any:
    """Where an intermediate array goes: under ``temp_store``, else a hidden prefix inside the destination."""
    from . import zarr as lz

    name = f"{_TMP_PREFIX}{uuid.uuid4().hex[:12]}"
    if temp_store is None:
        return lz._locate(location.store, _join(location.path, "." + name))
    return lz._locate(temp_store, name)


def _remove_stale_intermediates(location: Any) -> None:
    """Deletes intermediates a killed copy (no chance to clean up) left inside the destination."""
    prefix = f"{location.path}/" if location.path else ""
    paths = [p for p, _ in location.store.list(prefix + "." + _TMP_PREFIX)]
    if paths:
        location.store.remove(paths)


_TMP_PREFIX = "lsio-copy-tmp-"


def _unit_bytes(shape: Sequence[int], unit: Sequence[int], itemsize: int) -> int:
    return itemsize * math.prod(min(u, s) for u, s in zip(unit, shape))


def _staged_copy(
    a: Any,
    out: Any,
    todo: list[tuple[tuple[slice, ...], list[list[int]]]],
    per_inner: list[int],
    tally: _Tally,
    token: CancelToken,
    temp_store: Any,
    location: Any,
) -> None:
    """Copies each destination shard that does not fit the budget through an intermediate array of the same
    layout: the shard is written there in pieces (slabs of ``per_inner`` inner chunks; the writer keeps the inner
    chunks already stored in the shard and adds the new ones), then its bytes are put at the destination key in
    one atomic put and the intermediate shard is deleted. Peak memory: one piece (numpy) plus, in the writer, the
    encoded shard twice (the stored one and its rewrite with the piece added), so compressed shards cost less. The
    destination never holds a partial shard, so resume's "stored means complete" stays true."""
    from . import zarr as lz

    tmp_location = _temp_location(location, temp_store)
    core = out._core
    tmp = lz.create(tmp_location.store, a.shape, a.dtype, path=tmp_location.path, chunks=out.chunks,
                    shards=out.shards, codecs=_inner_codecs(out), fill_value=out.fill_value,
                    zarr_format=3)  # fmt: skip
    try:
        for shard_sel, coords in todo:  # one shard each (a unit that does not fit is its own slab)
            inner = [c.stop - c.start for c in shard_sel]
            origin = [c.start for c in shard_sel]
            for piece, _ in slabs(inner, out.chunks, per_inner):
                sel = tuple(slice(o + p.start, o + p.stop) for o, p in zip(origin, piece))
                _write(tmp, sel, a.read(sel, cancel=token), token)
                tally.add(_nbytes(sel, a.itemsize))
            key = core.chunk_key(coords[0])
            tmp_key = tmp._core.chunk_key(coords[0])
            got = tmp_location.store.read_ranges([tmp_key], [0], on_error="return")[0]
            if isinstance(got, FileNotFoundError):
                continue  # every inner chunk is the fill value: no shard, as the writer does
            if isinstance(got, BaseException):
                raise got
            out.store.put(key, got)
            del got
            tmp_location.store.remove([tmp_key])
    finally:
        _remove_tree(tmp_location)


def _inner_codecs(out: Any) -> Any:
    """The destination's inner codec list (its sharding codec's), for an intermediate array of the same layout."""
    return out.metadata["codecs"][0]["configuration"]["codecs"]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _nbytes(sel: tuple[slice, ...], itemsize: int) -> int:
    return itemsize * math.prod(s.stop - s.start for s in sel)


def _write(out: Any, sel: tuple[slice, ...], data: np.ndarray, token: CancelToken) -> None:
    items = [(s.start, s.stop, 1) for s in sel]
    out._core.write(items, np.ascontiguousarray(data), cancel=token)


_PENDING = ".lsio-pending"
_METADATA = ("zarr.json", ".zarray", ".zattrs")


def _exists(location: Any) -> bool:
    """Whether a Zarr node, or a stopped copy (its metadata hidden), is at the destination."""
    prefix = f"{location.path}/" if location.path else ""
    names = ("zarr.json", ".zarray", ".zgroup", "zarr.json" + _PENDING, ".zarray" + _PENDING)
    return any(isinstance(n, int) for n in location.store.sizes([prefix + f for f in names], on_error="return"))


def _move_metadata(location: Any, hide: bool) -> None:
    """Renames the array's metadata documents to their hidden names (hide) or back, through the store: put the
    new name, then remove the old (a crash in between leaves both, and the copy is resumed or redone)."""
    prefix = f"{location.path}/" if location.path else ""
    store = location.store
    names = [(prefix + m, prefix + m + _PENDING) for m in _METADATA]
    moves = [(shown, hidden) if hide else (hidden, shown) for shown, hidden in names]
    sizes = store.sizes([frm for frm, _ in moves], on_error="return")
    for (frm, to), size in zip(moves, sizes):
        if isinstance(size, int):
            store.put(to, store.read_ranges([frm], [0])[0])
            store.remove([frm])


def _remove_tree(location: Any) -> None:
    """Deletes every object under the destination (through the store), so no old chunk survives the copy."""
    prefix = f"{location.path}/" if location.path else ""
    paths = [p for p, _ in location.store.list(prefix)]
    if paths:
        location.store.remove(paths)


__all__ = ["copy", "parse_bytes"]
