"""Compiled core of lsio (nanobind). Use the lsio package; this stub types it."""

import os
from collections.abc import Callable, Sequence
from typing import Literal, Optional, Union, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer as BufferLike
from typing_extensions import TypeAlias

PathLike: TypeAlias = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
# One path for every request, or one path per request.
Paths: TypeAlias = Union[PathLike, Sequence[PathLike]]
Ints: TypeAlias = Union[Sequence[int], npt.NDArray[np.integer]]
# None (or -1) means "to the end of the file".
OptionalInts: TypeAlias = Union[Sequence[Optional[int]], npt.NDArray[np.integer], None]
OnError: TypeAlias = Literal["raise", "return"]
Engine: TypeAlias = Literal["auto", "uring", "posix"]
# A writable, C-contiguous buffer (numpy array, bytearray, memoryview...).
WritableBuffer: TypeAlias = BufferLike

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
    ) -> list[Buffer]: ...
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
    ) -> None: ...
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
    def sizes(self, paths: Paths, *, on_error: Literal["raise"] = "raise") -> list[int]: ...
    @overload
    def sizes(self, paths: Paths, *, on_error: OnError) -> list[Union[int, Exception]]: ...
    @overload
    def write(
        self,
        paths: Paths,
        offsets: Ints,
        datas: Sequence[BufferLike],
        *,
        on_error: Literal["raise"] = "raise",
    ) -> None: ...
    @overload
    def write(
        self, paths: Paths, offsets: Ints, datas: Sequence[BufferLike], *, on_error: OnError
    ) -> Optional[list[Optional[Exception]]]: ...
    def put(self, path: PathLike, data: BufferLike, *, fsync: bool = False) -> None: ...
    def for_each(
        self,
        paths: Paths,
        starts: Ints,
        ends: OptionalInts,
        fn: Callable[[int, Union[Buffer, Exception]], object],
        *,
        coalesce_gap: int = 0,
        direct: bool = False,
    ) -> None: ...

def open(
    url: str = "",
    *,
    engine: Engine = "auto",
    workers: int = 0,
    queue_depth: int = 128,
    max_open_files: int = 0,
) -> Store: ...
