"""Sources with named dimensions and 1-D coordinates, and nearest-index lookup for aligning several sources.

A :class:`Source` is one Zarr array plus, per dimension, its name and (optionally) its coordinate values. Opened
from a group, xarray-style: the data variable is the group's array that is not a coordinate, and a dimension's
coordinates are the 1-D array named after it (CF time units such as ``"minutes since 2020-01-01"`` are decoded to
datetimes). Coordinates are compared as float64; datetimes as float64 nanoseconds since 1970.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

import lsio.zarr

__all__ = ["Source", "as_source", "coordinate_values", "nearest_index"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_CF_UNITS = re.compile(r"^\s*(nanoseconds|microseconds|milliseconds|seconds|minutes|hours|days)\s+since\s+(.+?)\s*$")
_CF_CODES = {"nanoseconds": "ns", "microseconds": "us", "milliseconds": "ms", "seconds": "s", "minutes": "m",
             "hours": "h", "days": "D"}


def coordinate_values(values: npt.ArrayLike, attrs: Optional[Mapping[str, Any]] = None) -> FloatArray:
    """1-D coordinates as float64: numbers as they are, datetime64 as nanoseconds since 1970, numbers with CF
    ``units`` "<unit> since <date>" decoded to datetimes first."""
    v = np.asarray(values)
    if v.ndim != 1:
        raise ValueError(f"coordinates must be 1-D, not shape {v.shape}")
    units = attrs.get("units") if attrs else None
    if isinstance(units, str) and np.issubdtype(v.dtype, np.number):
        m = _CF_UNITS.match(units)
        if m is not None:
            epoch = np.datetime64(m.group(2).replace(" ", "T").rstrip("Z"), "ns")
            step = np.timedelta64(1, _CF_CODES[m.group(1)]).astype("timedelta64[ns]").astype(np.int64)
            return (epoch.astype(np.int64) + v.astype(np.float64) * step).astype(np.float64)
    if np.issubdtype(v.dtype, np.datetime64):
        return v.astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    if np.issubdtype(v.dtype, np.timedelta64):
        return v.astype("timedelta64[ns]").astype(np.int64).astype(np.float64)
    if not np.issubdtype(v.dtype, np.number) or np.issubdtype(v.dtype, np.complexfloating):
        raise ValueError(f"coordinates must be numbers or datetimes, not {v.dtype}")
    return v.astype(np.float64)


def as_coordinate_query(values: npt.ArrayLike) -> FloatArray:
    """Values to look up (e.g. a projection's output) in the same float64 scale as :func:`coordinate_values`."""
    v = np.asarray(values)
    if np.issubdtype(v.dtype, np.datetime64):
        return v.astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    return v.astype(np.float64)


def nearest_index(coord: FloatArray, values: FloatArray, method: str = "nearest") -> IntArray:
    """Index of each value in a monotonic 1-D ``coord``: ``"nearest"`` (ties: the lower index) or ``"previous"``
    (the last coordinate <= value). Values outside the coordinates' range extrapolate with the edge step, giving
    indices < 0 or >= len(coord), so crops around them fall outside the source (to be skipped or padded)."""
    if method not in ("nearest", "previous"):
        raise ValueError(f"method must be 'nearest' or 'previous', not {method!r}")
    c = np.asarray(coord, dtype=np.float64)
    n = c.size
    v = np.asarray(values, dtype=np.float64)
    if n == 0:
        raise ValueError("empty coordinates")
    if n >= 2 and c[-1] < c[0]:  # decreasing (e.g. latitude): mirror
        return (n - 1 - nearest_index(c[::-1], v, "nearest" if method == "nearest" else "previous")).astype(np.int64)
    if method == "nearest":
        pos = np.searchsorted(c, v, side="left")
        lo = np.clip(pos - 1, 0, n - 1)
        hi = np.clip(pos, 0, n - 1)
        idx = np.where(np.abs(v - c[lo]) <= np.abs(c[hi] - v), lo, hi).astype(np.int64)
        rounding = lambda x: np.floor(x + 0.5)  # noqa: E731
    else:
        idx = (np.searchsorted(c, v, side="right") - 1).astype(np.int64)
        rounding = np.floor
    if n >= 2:
        first, last = c[1] - c[0], c[-1] - c[-2]
        below, above = v < c[0], v > c[-1]
        if below.any() and first > 0:
            idx[below] = rounding((v[below] - c[0]) / first).astype(np.int64)
        if above.any() and last > 0:
            idx[above] = (n - 1 + rounding((v[above] - c[-1]) / last)).astype(np.int64)
    else:
        idx = np.where(v == c[0], 0, np.where(v < c[0], -1, 1)).astype(np.int64)
    return idx


# ---- sources ----------------------------------------------------------------------------------------------------


class Source:
    """One Zarr array with dimension names and optional 1-D coordinates per dimension.

    ``data``: an :class:`lsio.zarr.Array`, or a :class:`lsio.zarr.Group` holding one data variable plus coordinate
    arrays (``variable`` picks the variable when there are several). ``dims`` overrides the array's dimension names
    (else ``dimension_names``, else the ``_ARRAY_DIMENSIONS`` attribute, else ``dim_0, dim_1, ...``). ``coords``
    maps dimension names to 1-D coordinate values (numbers or datetime64) and overrides those found in the group.
    A Source given an Array also looks for coordinate arrays next to it (in its parent group) when ``find_coords``.

    Sources pickle: the array travels as its address and is reopened read-only, lazily (on first use, on a store of
    the unpickling process), like a pickled :class:`lsio.zarr.Array`; the coordinates travel as values.
    """

    def __init__(
        self,
        data: Union[lsio.zarr.Array, lsio.zarr.Group],
        *,
        variable: Optional[str] = None,
        dims: Optional[Sequence[str]] = None,
        coords: Optional[Mapping[str, npt.ArrayLike]] = None,
        find_coords: bool = True,
    ) -> None:
        group: Optional[lsio.zarr.Group] = None
        if isinstance(data, lsio.zarr.Group):
            group = data
            array = _data_variable(data, variable)
        elif isinstance(data, lsio.zarr.Array):
            if variable is not None:
                raise ValueError("variable= is for groups; this source is an array")
            array = data
            if find_coords:
                group = _parent_group(array)
        else:
            raise TypeError(f"a source must be an lsio.zarr.Array or Group (or lsio.ml.Source), not {type(data)}")
        self.array: lsio.zarr.Array = array
        self.dims: tuple[str, ...] = _dims_of(array, dims)
        self.coords: dict[str, FloatArray] = {}
        if group is not None:
            for i, d in enumerate(self.dims):
                node = group.get(d) if d in group else None
                if isinstance(node, lsio.zarr.Array) and node.ndim == 1 and node.shape[0] == array.shape[i] \
                        and node.path != array.path:
                    self.coords[d] = coordinate_values(node[...], node.attrs)
        for d, values in (coords or {}).items():
            if d not in self.dims:
                raise ValueError(f"coords names dimension {d!r}, not one of {self.dims}")
            c = coordinate_values(values)
            if c.shape[0] != array.shape[self.dims.index(d)]:
                raise ValueError(f"coords[{d!r}] has {c.shape[0]} values, the array {array.shape[self.dims.index(d)]}"
                                 f" along {d!r}")
            self.coords[d] = c
        for d, c in self.coords.items():
            if c.size >= 2:
                step = np.diff(c)
                if not (np.all(step > 0) or np.all(step < 0)):
                    raise ValueError(f"coordinates of {d!r} must be strictly monotonic")

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    def axis(self, dim: str) -> int:
        return self.dims.index(dim)

    def __repr__(self) -> str:
        return f"<lsio.ml.Source {self.array.path!r} dims={self.dims} shape={self.shape} coords={sorted(self.coords)}>"

    def __getstate__(self) -> dict[str, Any]:
        # Pickling the array raises pickle.PicklingError for a memory:// store (its data lives in this process).
        return {"array": self.array._view(read_only=True), "dims": self.dims, "coords": self.coords}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.array = state["array"]
        self.dims = state["dims"]
        self.coords = state["coords"]


def as_source(data: Any) -> Source:
    """A Source for a Zarr array or group, or a GribSource for an xarray Dataset/DataArray from lsio.grib."""
    if isinstance(data, Source):
        return data
    if type(data).__module__.startswith("xarray"):
        from .grib import GribSource

        return GribSource(data)
    return Source(data)


def _dims_of(array: lsio.zarr.Array, dims: Optional[Sequence[str]]) -> tuple[str, ...]:
    if dims is not None:
        names: Sequence[Any] = tuple(dims)
        if len(names) != array.ndim:
            raise ValueError(f"dims {tuple(names)} must name each of the array's {array.ndim} dimensions")
    else:
        names = array.dimension_names or array.attrs.get("_ARRAY_DIMENSIONS") or ()  # type: ignore[assignment]
        if len(names) != array.ndim:
            names = ()
        names = tuple(n if n else f"dim_{i}" for i, n in enumerate(names)) or tuple(
            f"dim_{i}" for i in range(array.ndim))
    if len(set(names)) != len(names):
        raise ValueError(f"dimension names must differ, not {tuple(names)}")
    return tuple(str(n) for n in names)


def _data_variable(group: lsio.zarr.Group, variable: Optional[str]) -> lsio.zarr.Array:
    if variable is not None:
        if variable not in group:
            raise ValueError(f"group has no array {variable!r}; its arrays: {group.array_keys()}")
        node = group[variable]
        if not isinstance(node, lsio.zarr.Array):
            raise ValueError(f"{variable!r} is a group, not an array")
        return node
    arrays = group.arrays()
    candidates = [name for name, a in arrays if not (a.ndim == 1 and _dims_of(a, None) == (name,))]
    if len(candidates) != 1:
        raise ValueError(f"cannot tell the group's data variable among {candidates or [n for n, _ in arrays]}; "
                         "pass Source(group, variable=...)")
    node = group[candidates[0]]
    assert isinstance(node, lsio.zarr.Array)
    return node


def _parent_group(array: lsio.zarr.Array) -> Optional[lsio.zarr.Group]:
    path = array.path.rstrip("/")
    if "/" not in path:
        return None
    parent = path.rsplit("/", 1)[0]
    try:
        return lsio.zarr.open_group(array.store, parent, mode="r")
    except Exception:  # noqa: BLE001 - no group there: the array has no coordinates
        return None
