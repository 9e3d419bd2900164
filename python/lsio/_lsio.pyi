"""Compiled core of lsio (nanobind). Use the lsio package; this stub types it."""

import os
from collections.abc import Callable, Sequence
from typing import Any, Literal, Optional, SupportsIndex, Union, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer as BufferLike
from typing_extensions import TypeAlias

PathLike: TypeAlias = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
# One path for every request, or one path per request.
Paths: TypeAlias = Union[PathLike, Sequence[PathLike]]
Ints: TypeAlias = Union[Sequence[SupportsIndex], npt.NDArray[np.integer[Any]]]
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

class Buffer:
    """Bytes read by lsio: a read-only buffer (zero-copy with memoryview, numpy.frombuffer, ...)."""

    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...

class Store:
    """Batched reads and writes of byte ranges of many files (see lsio.open)."""

    @property
    def engine(self) -> str: ...
    @property
    def url(self) -> str: ...
    @overload
    def read_ranges(
        self,
        paths: Paths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        on_error: Literal["raise"] = "raise",
        coalesce_gap: int = 0,
        direct: bool = False,
    ) -> list[Buffer]:
        """One read-only Buffer per range [starts[i], ends[i]) of paths[i], in request order."""
    @overload
    def read_ranges(
        self,
        paths: Paths,
        starts: Ints,
        ends: OptionalInts = None,
        *,
        on_error: OnError,
        coalesce_gap: int = 0,
        direct: bool = False,
    ) -> list[Union[Buffer, Exception]]: ...
    @overload
    def read_into(
        self,
        paths: Paths,
        starts: Ints,
        outs: Sequence[WritableBuffer],
        *,
        on_error: Literal["raise"] = "raise",
        direct: bool = False,
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
    ) -> Optional[list[Optional[Exception]]]: ...
    @overload
    def sizes(self, paths: Paths, *, on_error: Literal["raise"] = "raise") -> list[int]:
        """The size in bytes of each path (a single path counts as a list of one)."""
    @overload
    def sizes(self, paths: Paths, *, on_error: OnError) -> list[Union[int, Exception]]: ...
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
        paths: Paths,
        starts: Ints,
        ends: OptionalInts,
        fn: Callable[[int, Union[Buffer, Exception]], object],
        *,
        coalesce_gap: int = 0,
        direct: bool = False,
    ) -> None:
        """Calls fn(index, Buffer | exception) for each range as its read completes.

        fn runs on the store's worker threads, holding the GIL, in completion
        order. An exception raised by fn cancels the rest of the batch and is
        re-raised. fn must not use this same store (RuntimeError); use another.
        """

def open(
    url: str = "",
    *,
    engine: Engine = "auto",
    workers: int = 0,
    queue_depth: int = 128,
    max_open_files: int = 0,
) -> Store:
    """Opens a store by URL (see lsio.open)."""
