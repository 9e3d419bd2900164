"""Compiled core of lsio (nanobind). Use the lsio package; this stub types it."""

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Optional, SupportsIndex, TypedDict, Union, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer as BufferLike
from typing_extensions import TypeAlias

PathLike: TypeAlias = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
# One path for every request, or one path per request.
Paths: TypeAlias = Union[PathLike, Sequence[PathLike]]
Ints: TypeAlias = Union[Sequence[SupportsIndex], npt.NDArray[np.integer[Any]]]
# Paths, or the compact form (files, file_index): range i reads files[file_index[i]].
BatchPaths: TypeAlias = Union[Paths, tuple[Sequence[PathLike], Ints]]
# None (or -1) means "to the end of the file".
OptionalInts: TypeAlias = Union[Sequence[Optional[SupportsIndex]], npt.NDArray[np.integer[Any]], None]
OnError: TypeAlias = Literal["raise", "return"]
Engine: TypeAlias = Literal["auto", "uring", "posix"]
# A C-contiguous buffer (numpy arrays are listed: their stubs lack __buffer__ before 3.12).
ReadableBuffer: TypeAlias = Union[BufferLike, npt.NDArray[Any]]
# A writable, C-contiguous buffer (numpy array, bytearray, memoryview...).
WritableBuffer: TypeAlias = Union[bytearray, memoryview, npt.NDArray[Any], BufferLike]

class LsioError(OSError):
    """An I/O error reported by lsio (an OSError; errno is set when the system gave one)."""

class OutOfRangeError(LsioError):
    """A byte range reaches past the end of its file."""

class DataLossError(LsioError):
    """Corrupt or truncated data."""

class CancelledError(LsioError):
    """The call was cancelled (an lsio.CancelToken, a closed store)."""

class CancelToken:
    """Cancels the calls it is passed to (cancel=token), from any thread."""

    def __init__(self) -> None: ...
    def cancel(self, reason: str = "cancelled by CancelToken.cancel()") -> None: ...
    @property
    def cancelled(self) -> bool: ...

class ChangedError(LsioError):
    """A file or object was replaced or modified by another writer while it was read."""

class Buffer:
    """Bytes read by lsio: a read-only buffer (zero-copy with memoryview, numpy.frombuffer, ...)."""

    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...

class BatchResult:
    """The ranges of one read batch (Store.read_batch): r[i] is a zero-copy read-only Buffer
    (or, for a failed range with on_error='return', its exception); sizes, offsets and ok
    are numpy arrays. Views stay valid after the result (and the store) are gone."""

    def __len__(self) -> int: ...
    def __getitem__(self, i: int) -> Union[Buffer, Exception]: ...
    def __iter__(self) -> Iterator[Union[Buffer, Exception]]: ...
    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Bytes of each range (0 for a failed range)."""
    @property
    def offsets(self) -> npt.NDArray[np.int64]:
        """Where each range starts in to_numpy() (and in out=), n + 1 values."""
    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        """True for each range that was read."""
    @property
    def nbytes(self) -> int:
        """Total bytes of the ranges (the size of to_numpy())."""
    @property
    def flat(self) -> bool:
        """True when every range lies in one buffer (out=): to_numpy() is then a view, not a copy."""
    def error(self, i: int) -> Optional[Exception]:
        """The exception of range i (naming its path and range), or None."""
    def errors(self) -> list[tuple[int, Exception]]:
        """(index, exception) of every failed range."""
    def to_numpy(self) -> npt.NDArray[np.uint8]:
        """All ranges back to back as one read-only uint8 array: a view when flat, else a copy."""

class Store:
    """Batched reads and writes of byte ranges of many files (see lsio.open)."""

    @property
    def engine(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def options(self) -> dict[str, Any]:
        """The keyword options the store was opened with (engine, workers, ...)."""
    @property
    def option_sources(self) -> dict[str, str]:
        """Where each setting came from: 'explicit', 'default', 'profile <key> (<file>)' or 'preset <name>'."""
    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as lsio.open(url, **options); memory:// stores refuse (TypeError)."""
    async def read_ranges_async(
        self,
        paths: Paths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        on_error: OnError = "raise",
        coalesce_gap: int | None = None,
        direct: bool = False,
    ) -> list[Union[Buffer, Exception]]:
        """read_ranges for asyncio: the batch runs on the workers; cancelling the task cancels it."""
    def submit_read(
        self,
        paths: BatchPaths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        coalesce_gap: int | None = None,
        direct: bool = False,
        max_request_bytes: int = 0,
    ) -> PendingRead:
        """Starts a read_ranges batch and returns at once."""
    @overload
    def read_ranges(
        self,
        paths: BatchPaths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        on_error: Literal["raise"] = "raise",
        coalesce_gap: int | None = None,
        direct: bool = False,
        timeout: Optional[float] = None,
        max_request_bytes: int = 0,
        out: None = None,
    ) -> list[Buffer]:
        """One read-only Buffer per range [starts[i], ends[i]) of paths[i], in request order."""
    @overload
    def read_ranges(
        self,
        paths: BatchPaths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        on_error: OnError,
        coalesce_gap: int | None = None,
        direct: bool = False,
        timeout: Optional[float] = None,
        max_request_bytes: int = 0,
        out: None = None,
    ) -> list[Union[Buffer, Exception]]: ...
    @overload
    def read_ranges(
        self,
        paths: BatchPaths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        on_error: Literal["raise"] = "raise",
        coalesce_gap: int | None = None,
        direct: bool = False,
        timeout: Optional[float] = None,
        max_request_bytes: int = 0,
        out: WritableBuffer,
    ) -> npt.NDArray[np.int64]:
        """Every range read into out back to back; the n + 1 offsets where each starts."""
    def read_batch(
        self,
        paths: BatchPaths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        out: Optional[WritableBuffer] = None,
        on_error: OnError = "raise",
        coalesce_gap: int | None = None,
        direct: bool = False,
        timeout: Optional[float] = None,
        max_request_bytes: int = 0,
    ) -> BatchResult:
        """The ranges of one batch as one BatchResult; with out=, read back to back into that buffer."""
    @overload
    def read_into(
        self,
        paths: Paths,
        starts: Ints,
        outs: Sequence[WritableBuffer],
        *,
        on_error: Literal["raise"] = "raise",
        direct: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        """Reads len(outs[i]) bytes (its size in bytes) at starts[i] into each writable buffer."""
    @overload
    def read_into(
        self,
        paths: Paths,
        starts: Ints,
        outs: Sequence[WritableBuffer],
        *,
        on_error: OnError,
        direct: bool = False,
        timeout: Optional[float] = None,
    ) -> Optional[list[Optional[Exception]]]: ...
    @overload
    def sizes(self, paths: Paths, *, on_error: Literal["raise"] = "raise") -> list[int]:
        """The size in bytes of each path (a single path counts as a list of one)."""
    @overload
    def sizes(self, paths: Paths, *, on_error: OnError) -> list[Union[int, Exception]]: ...
    @overload
    def remove(self, paths: Paths, *, on_error: Literal["raise"] = "raise") -> None:
        """Deletes each path; a path that does not exist is not an error."""
    @overload
    def remove(self, paths: Paths, *, on_error: OnError) -> Optional[list[Optional[Exception]]]: ...
    def allocate(self, nbytes: int) -> npt.NDArray[np.uint8]:
        """A writable, 4096-aligned uint8 array of nbytes to fill in: recycled, already faulted-in memory from a file
        store's buffer pool (returned to it when the array and its views are dropped); other stores allocate."""
    def cache_stats(self) -> Optional[dict[str, int]]:
        """The RAM cache's counters, or None: capacity_bytes, and bytes, entries, hits, misses, inserts, evictions
        over every kind and per kind with the prefixes raw_, decoded_ (Zarr inner chunks) and version_ (stat)."""
    def list(self, prefix: str = "") -> list[tuple[str, int]]:
        """(path, size) of every object whose path starts with prefix, sorted by path."""
    def list_dir(self, prefix: str = "") -> tuple[list[tuple[str, int]], list[str]]:
        """(objects, prefixes) directly below prefix: (path, size) pairs and 'sub/dir/' prefixes."""
    @overload
    def write(
        self,
        paths: Paths,
        offsets: Ints,
        datas: Sequence[ReadableBuffer],
        *,
        on_error: Literal["raise"] = "raise",
    ) -> None:
        """Writes datas[i] at offsets[i] of paths[i], creating files as needed."""
    @overload
    def write(
        self, paths: Paths, offsets: Ints, datas: Sequence[ReadableBuffer], *, on_error: OnError
    ) -> Optional[list[Optional[Exception]]]: ...
    def put(self, path: PathLike, data: ReadableBuffer, *, fsync: bool = False) -> None:
        """Replaces path atomically with data (readers see the old or the new file, never a mix)."""
    def for_each(
        self,
        paths: BatchPaths,
        starts: Ints,
        ends: OptionalInts,
        fn: Callable[[int, Union[Buffer, Exception]], object],
        *,
        coalesce_gap: int | None = None,
        direct: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        """Calls fn(index, Buffer | exception) for each range as its read completes.

        fn runs on the store's worker threads, holding the GIL, in completion
        order. An exception raised by fn cancels the rest of the batch and is
        re-raised. fn must not use this same store (RuntimeError); use another.
        """

class PendingRead:
    """A running read_ranges batch (Store.submit_read)."""

    def done(self) -> bool: ...
    def cancel(self) -> None:
        """Stops issuing reads; wait() returns once the reads in the kernel drained."""
    def wait(self, timeout: Optional[float] = None) -> None:
        """Waits (Ctrl-C and timeout cancel the batch and raise)."""
    def result(self, on_error: OnError = "raise") -> list[Union[Buffer, Exception]]:
        """The buffers in request order; once, when done."""
    def add_done_callback(self, fn: Callable[[], object]) -> None:
        """Calls fn() once the batch is done, from the thread that finished it."""
    @property
    def requests_total(self) -> int: ...
    @property
    def requests_done(self) -> int: ...
    @property
    def bytes_read(self) -> int: ...

def open(
    url: str = "",
    *,
    engine: Engine = "auto",
    workers: int = 0,
    queue_depth: int = 128,
    max_open_files: int = 0,
    cache_bytes: int = 0,
    cache_revalidate_after: float = 0.0,
    remote: dict[str, Any] = ...,
    direct_threshold: int = 8388608,
    inline_reads: bool = True,
    sources: dict[str, str] = ...,
) -> Store:
    """Opens a store by URL (see lsio.open)."""

# ---- Zarr (zarr.cc); use lsio.zarr, which builds on these. ----

# One item per dimension: a (start, stop, step) slice with 0 <= start <= stop and step > 0, or the indices
# (non-negative, in bounds, any order, repeats allowed) as a sequence or a 1-d integer array.
ZarrDimSelection: TypeAlias = Union[tuple[int, int, int], Ints]

class ZarrArray:
    """A Zarr v2 or v3 array on an lsio.Store (see lsio.zarr.Array)."""

    @property
    def path(self) -> str:
        """The array's prefix in its store."""
    @property
    def zarr_format(self) -> int: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def chunks(self) -> tuple[int, ...]:
        """The chunk shape (inner chunks for a sharded array)."""
    @property
    def shards(self) -> Optional[tuple[int, ...]]:
        """The shard shape, or None when the array is not sharded."""
    @property
    def dtype(self) -> str:
        """The numpy typestr of the decoded elements (native little-endian, e.g. '<u2')."""
    @property
    def itemsize(self) -> int: ...
    @property
    def fill_value(self) -> bytes:
        """One element of the fill value, little-endian bytes."""
    @property
    def attributes_json(self) -> str: ...
    @property
    def metadata_json(self) -> str:
        """zarr.json (v3) or .zarray with the .zattrs attributes under "attributes" (v2)."""
    @property
    def dimension_names(self) -> Optional[list[Optional[str]]]: ...
    def read_crops(
        self,
        starts: Any,
        shape: Sequence[int],
        out: Any,
        out_dtype: str = "",
        channel_dim: int = 0,
        scale: Sequence[float] = (1.0,),
        offset: Sequence[float] = (0.0,),
        *,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> None:
        """Reads crops (flat int64 starts, one per dimension per crop; parts outside the array read as the fill
        value) into a C-contiguous buffer, crop after crop, in one batch. out_dtype 'float32'/'float64' converts
        while placing: out = x * scale[c] + offset[c], c the index along channel_dim. GIL released."""
    def read(
        self,
        selection: Sequence[ZarrDimSelection],
        out: WritableBuffer,
        *,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> None:
        """Reads a selection into a writable C-contiguous buffer of exactly its size (C order, native endian).

        The GIL is released while reading. ValueError for a selection outside the array or a buffer of the
        wrong size; lsio.DataLossError for corrupt chunks; both name the key.
        """
    def write(
        self,
        selection: Sequence[ZarrDimSelection],
        src: ReadableBuffer,
        *,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> None:
        """Writes a C-contiguous buffer holding the selection's elements (C order, native endian); GIL released."""
    def chunk_key(self, coords: Sequence[int]) -> str:
        """The store key of the chunk (shard, when sharded) at these chunk grid coordinates."""
    def reduce(
        self,
        selection: Sequence[ZarrDimSelection],
        axes: Sequence[int],
        *,
        timeout: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
    ) -> ZarrReduceResult:
        """Reduces a selection of slices over axes in one streamed pass (chunks decoded and folded on the
        workers that read them); raw native-endian buffers, one entry per output element. GIL released."""

class ZarrReduceResult(TypedDict):
    shape: tuple[int, ...]  # the kept dimensions
    count: bytes  # uint64: non-NaN elements
    nan_count: bytes  # uint64
    sum: bytes  # float64 (compensated)
    mean: bytes  # float64
    m2: bytes  # float64: sum of squared deviations from the mean
    int_sum_hi: bytes  # int64; integer and bool arrays only (else empty)
    int_sum_lo: bytes  # uint64
    min: bytes  # the array's dtype
    max: bytes

class ZarrGroupInfo(TypedDict):
    zarr_format: int
    attributes: str  # JSON text
    consolidated: Optional[str]  # JSON text: v3 "consolidated_metadata", v2 .zmetadata "metadata"; or None

def zarr_open(store: Store, path: str) -> ZarrArray:
    """Opens the Zarr array at path (zarr.json, else .zarray); FileNotFoundError when there is none."""

def zarr_create(
    store: Store, path: str, metadata_json: str, attributes_json: str = "", overwrite: bool = False
) -> ZarrArray:
    """Creates an array from its zarr.json (v3) or .zarray (v2; attributes_json is the .zattrs text) document."""

def zarr_open_node(store: Store, path: str) -> Union[ZarrArray, ZarrGroupInfo]:
    """The array, or a description of the group, at path."""

# ---- GRIB2 (python/src/grib.cc; the friendly API is lsio.grib) ----

HAS_GRIB: bool

def grib_scan(
    store: Store,
    paths: Sequence[str],
    *,
    skip_garbage: bool = True,
    probe_bytes: int = 65536,
    timeout: Optional[float] = None,
) -> tuple[dict[str, list[Any]], list[str]]:
    """Indexes the GRIB2 messages of `paths` (store paths) without decoding values: (columns, warnings)."""

def grib_scan_spans(
    store: Store,
    paths: Sequence[str],
    offsets: Sequence[int],
    lengths: Sequence[int],
    *,
    probe_bytes: int = 65536,
    timeout: Optional[float] = None,
) -> tuple[dict[str, list[Any]], list[str], list[Optional[Exception]]]:
    """Indexes the messages at known (path, offset, length) spans (from inventories), all in one batch:
    (columns, warnings, errors), errors[i] None or the exception of span i."""

def grib_read(
    store: Store,
    paths: Sequence[str],
    offsets: Sequence[int],
    lengths: Sequence[int],
    points: Sequence[int],
    field: Sequence[int],
    fields: Sequence[int],
    out: WritableBuffer,
    *,
    dtype: Literal["float32", "float64"],
    stride: int,
    timeout: Optional[float] = None,
) -> None:
    """Decodes message i into out[i * stride:] (float32 or float64; missing values NaN) on the store's workers."""

def grib_coordinates(
    store: Store,
    paths: Sequence[str],
    offsets: Sequence[int],
    lengths: Sequence[int],
    field: Sequence[int],
    fields: Sequence[int],
    *,
    timeout: Optional[float] = None,
) -> list[Union[tuple[str, bool, bytes, bytes], str]]:
    """Per message: (gridType, distinct, latitudes, longitudes) as float64 bytes, or a str when ecCodes has no
    coordinates for the grid (one batch on the store's workers)."""
