"""GRIB sources for RandomCrops: crops cut from decoded messages, read straight from the GRIB files.

    ds = lsio.grib.open_dataset(idx)                       # variables (step, isobaricInhPa, latitude, longitude)
    loader = lsio.ml.RandomCrops(sources={"nwp": ds, "sat": lsio.zarr.open_group("sat.zarr")},
                                 crop={"nwp": {"step": 2, "latitude": 64, "longitude": 64}, ...}, batch_size=16)

A GRIB message is one compressed 2-D field: any crop of it costs decoding the whole field (GRIB has no partial
decode). A batch therefore reads the messages its crops touch, each once however many crops share it, in one
LSIO batch decoded on the store's workers (in groups of at most ``max_bytes`` of decoded fields, so memory stays
bounded), and cuts the crops from the decoded fields. Nothing is cached between batches. For training that
revisits the same fields many times, convert once with :func:`lsio.grib.to_zarr` and crop the Zarr copy, which
reads only the chunks a crop touches.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import numpy.typing as npt

from lsio._lsio import CancelToken

from .align import FloatArray, Source, coordinate_values

if TYPE_CHECKING:
    import xarray

    from lsio.grib import Record

__all__ = ["GribSource", "is_grib_data"]

_DEFAULT_MAX_BYTES = 256 << 20


def _backend_array(var: Any) -> Any:
    """The GribBackendArray under an xarray variable opened by lsio.grib, or None (untouched selections only)."""
    from lsio._grib_xarray import GribBackendArray

    data = getattr(var, "_data", None)
    while data is not None and not isinstance(data, GribBackendArray):
        key = getattr(data, "key", None)
        if key is not None and not all(isinstance(k, slice) and k == slice(None) for k in key.tuple):
            return None  # a lazily indexed selection (ds.isel(...)): not the whole variable
        data = getattr(data, "array", None)
    return data


def is_grib_data(data: Any) -> bool:
    """True for an xarray Dataset/DataArray whose data variables are GRIB messages opened by lsio.grib."""
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        return False
    if isinstance(data, xr.DataArray):
        return _backend_array(data.variable) is not None
    if isinstance(data, xr.Dataset):
        return any(_backend_array(v.variable) is not None for v in data.data_vars.values())
    return False


class _GribCrops:
    """The array side of a GribSource: shape, dtype and read_crops over the messages of one or more variables."""

    def __init__(self, root: Optional[str], store: Any, records: list[Record], table: npt.NDArray[np.int64],
                 grid: tuple[int, ...], dtype: np.dtype[Any], path: str, max_bytes: int) -> None:  # fmt: skip
        self.root = root
        self._store = store
        self.records = records
        self.table = table  # leading index -> record (-1: no message, read as NaN)
        self.grid = grid
        self.dtype = dtype
        self.path = path
        self.max_bytes = max_bytes
        self.shape: tuple[int, ...] = (*table.shape, *grid)
        self.ndim = len(self.shape)

    @property
    def store(self) -> Any:
        if self._store is None:  # unpickled: reopen the files' root in this process, on first use
            from lsio.grib import _store_for

            assert self.root is not None
            self._store = _store_for(self.root)
        return self._store

    def __getstate__(self) -> dict[str, Any]:
        if self.root is None:
            raise pickle.PicklingError("a GRIB source indexed on a caller's store does not pickle (no root to "
                                       "reopen); index the files by path or URL")  # fmt: skip
        state = dict(self.__dict__)
        state["_store"] = None
        return state

    def read_crops(self, starts: npt.NDArray[np.int64], box: Sequence[int], *, out: npt.NDArray[Any],
                   dtype: Any = None, channel_dim: int = 0, scale: Union[float, Sequence[float]] = 1.0,
                   offset: Union[float, Sequence[float]] = 0.0, cancel: Optional[CancelToken] = None) -> None:  # fmt: skip
        """Fills out[i] with the box at starts[i] (elements outside the array, and missing messages: NaN, then
        scaled like data). The messages all crops touch are decoded once each, one LSIO batch per group."""
        from lsio.grib import _read_into

        lead = self.table.ndim
        n = starts.shape[0]
        out[...] = np.nan
        # Per crop: the part of its box inside the array, along each dimension (lo, hi in array indices).
        shape = np.asarray(self.shape, dtype=np.int64)
        lo = np.clip(starts, 0, shape)
        hi = np.clip(starts + np.asarray(box, dtype=np.int64), 0, shape)
        needed: dict[int, list[tuple[int, tuple[int, ...]]]] = {}  # record -> [(crop, leading index in the box)]
        for i in range(n):
            if np.any(hi[i] <= lo[i]):
                continue
            for pos in itertools.product(*(range(lo[i, d], hi[i, d]) for d in range(lead))):
                rec = int(self.table[pos]) if lead else int(self.table.reshape(()))
                if rec >= 0:
                    needed.setdefault(rec, []).append((i, tuple(p - int(starts[i, d]) for d, p in enumerate(pos))))
        field_points = int(np.prod(self.grid))
        decode_dtype = out.dtype if out.dtype in (np.dtype(np.float32), np.dtype(np.float64)) else self.dtype
        per_group = max(1, self.max_bytes // max(1, field_points * decode_dtype.itemsize))
        ids = sorted(needed)
        buf: Optional[npt.NDArray[Any]] = None
        for g in range(0, len(ids), per_group):
            if cancel is not None and cancel.cancelled:
                from lsio import CancelledError

                raise CancelledError("lsio.ml: GRIB crops cancelled")
            group = ids[g : g + per_group]
            if buf is None or buf.shape[0] < len(group):
                buf = np.empty((len(group), *self.grid), dtype=decode_dtype)
            _read_into(self.store, [self.records[r] for r in group], buf, decode_dtype, field_points, None)
            for row, rec in enumerate(group):
                field = buf[row]
                for i, rel in needed[rec]:
                    src = tuple(slice(int(lo[i, lead + k]), int(hi[i, lead + k])) for k in range(len(self.grid)))
                    dst = tuple(slice(int(lo[i, lead + k] - starts[i, lead + k]),
                                      int(hi[i, lead + k] - starts[i, lead + k])) for k in range(len(self.grid)))  # fmt: skip
                    out[(i, *rel, *dst)] = field[src]
        if np.ndim(scale) != 0 or np.ndim(offset) != 0 or scale != 1.0 or offset != 0.0:
            # x * scale + offset in float64, rounded once (as the Zarr reader does), one crop at a time.
            view = [1] * (out.ndim - 1)
            view[channel_dim] = -1
            sc = np.asarray(scale, dtype=np.float64)
            of = np.asarray(offset, dtype=np.float64)
            sc = sc.reshape(view) if sc.ndim else sc
            of = of.reshape(view) if of.ndim else of
            for i in range(n):
                out[i] = out[i].astype(np.float64) * sc + of


class GribSource(Source):
    """One or more variables of a GRIB dataset (``lsio.grib.open_dataset``) as a RandomCrops source.

    ``data``: the Dataset (all its data variables, or ``variables``) or one DataArray, untouched by selections.
    Several variables must share their dimensions and shape; they are stacked along a new leading dimension
    named ``"variable"`` (a channel dimension: do not crop it to normalize per variable). Dimension coordinates
    (time, step, levels, latitude and longitude of regular grids) align sources like a Zarr group's coordinates;
    y/x and values dimensions align by index. ``max_bytes`` bounds the decoded fields a batch holds at a time.
    Pickles as the files' root plus the index records (reopened on first use in the new process).
    """

    def __init__(self, data: Union[xarray.Dataset, xarray.DataArray], *, variables: Optional[Sequence[str]] = None,
                 max_bytes: int = _DEFAULT_MAX_BYTES) -> None:  # fmt: skip
        import xarray as xr

        if isinstance(data, xr.DataArray):
            if variables is not None:
                raise ValueError("variables= is for a Dataset; this source is a DataArray")
            names = [str(data.name)]
            vars_ = [data]
            coords_from: Any = data
        elif isinstance(data, xr.Dataset):
            names = [str(v) for v in (variables if variables is not None else data.data_vars)]
            missing = [v for v in names if v not in data.data_vars]
            if missing or not names:
                raise ValueError(f"variables {missing or names} are not data variables of the dataset "
                                 f"({list(data.data_vars)})")  # fmt: skip
            vars_ = [data[v] for v in names]
            coords_from = data
        else:
            raise TypeError(f"a GRIB source is an xarray Dataset or DataArray from lsio.grib, not {type(data)}")
        arrays = []
        for name, v in zip(names, vars_):
            a = _backend_array(v.variable)
            if a is None:
                raise ValueError(f"variable {name!r} is not a whole GRIB variable opened by lsio.grib.open_dataset "
                                 "(select with crops, not with isel/sel on the dataset)")  # fmt: skip
            arrays.append(a)
        first = vars_[0]
        for name, v, a in zip(names, vars_, arrays):
            if v.dims != first.dims or a.shape != arrays[0].shape or a.store is not arrays[0].store:
                raise ValueError(f"variables {names} must share dimensions, shape and files to be stacked; "
                                 f"{name!r} has {v.dims} {a.shape}, {names[0]!r} {first.dims} {arrays[0].shape}")
        if len({a.dtype for a in arrays}) != 1:
            raise ValueError(f"variables {names} differ in dtype")
        records: list[Record] = []
        tables = []
        for a in arrays:
            t = a.table.copy()
            t[t >= 0] += len(records)
            records.extend(a.records)
            tables.append(t)
        stacked = len(names) > 1
        table = np.stack(tables) if stacked else tables[0]
        dims = (("variable",) if stacked else ()) + tuple(str(d) for d in first.dims)
        if len(set(dims)) != len(dims):
            raise ValueError(f"dimension names must differ, not {dims}")
        path = f"{arrays[0].root or ''}:{'+'.join(names)}"
        self.array = _GribCrops(getattr(arrays[0], "root", None), arrays[0].store, records, table,  # type: ignore[assignment]
                                arrays[0].grid, arrays[0].dtype, path, int(max_bytes))  # fmt: skip
        self.dims = dims
        self.variables = names
        self.coords: dict[str, FloatArray] = {}
        for d in first.dims:
            if d in coords_from.coords and coords_from[d].dims == (d,):
                c = coordinate_values(coords_from[d].values)
                if c.size < 2 or np.all(np.diff(c) > 0) or np.all(np.diff(c) < 0):
                    self.coords[str(d)] = c

    def __repr__(self) -> str:
        return f"<lsio.ml.GribSource {self.variables} dims={self.dims} shape={self.shape} coords={sorted(self.coords)}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"array": self.array, "dims": self.dims, "coords": self.coords, "variables": self.variables}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
