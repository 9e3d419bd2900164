"""The xarray side of lsio.grib: a lazy Dataset over an Index, named and shaped like cfgrib's.

One variable per shortName. Its leading dimensions are number, time, step and the typeOfLevel name (e.g.
isobaricInhPa), each kept only when it has more than one value (else a scalar coordinate, as cfgrib does),
then latitude and longitude. Indexing a variable reads only the messages the selection needs, in one batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import numpy.typing as npt
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from .grib import Index, Record, _read_into

if TYPE_CHECKING:
    from . import Store

_STEP_SECONDS = {"s": 1, "m": 60, "h": 3600, "3h": 10800, "6h": 21600, "12h": 43200, "D": 86400}
# cfgrib's coordinate order; levels of these types are stored decreasing (pressure), others increasing.
_DECREASING_LEVELS = {"isobaricInhPa", "isobaricInPa"}
_LEVEL_ATTRS = {
    "isobaricInhPa": {"long_name": "pressure", "units": "hPa", "positive": "down", "standard_name": "air_pressure"},
}


def _time(r: Record) -> np.datetime64:
    d, t = r.dataDate, r.dataTime
    return np.datetime64(f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}T{t // 100:02d}:{t % 100:02d}", "ns")


def _step(r: Record) -> np.timedelta64:
    unit = _STEP_SECONDS.get(r.stepUnits, 3600)
    return np.timedelta64(r.step * unit, "s").astype("timedelta64[ns]")


class GribBackendArray(BackendArray):
    """One variable: ``table`` maps each leading index to a record (or -1: no message, read as NaN)."""

    def __init__(self, store: Store, records: Sequence[Record], table: npt.NDArray[np.int64],
                 grid: tuple[int, ...], dtype: np.dtype[Any]) -> None:  # fmt: skip
        self.store = store
        self.records = list(records)
        self.table = table
        self.grid = grid
        self.shape: tuple[int, ...] = (*table.shape, *grid)
        self.dtype: np.dtype[Any] = dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> npt.NDArray[Any]:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)  # type: ignore[no-any-return]

    def _read(self, key: tuple[Any, ...]) -> npt.NDArray[Any]:
        lead = self.table.ndim
        arrays: list[npt.NDArray[np.intp]] = []
        keep: list[bool] = []
        for k, n in zip(key[:lead], self.table.shape):
            a = np.arange(n)[k]
            keep.append(np.ndim(a) > 0)
            arrays.append(np.atleast_1d(a))
        ids = self.table[np.ix_(*arrays)] if lead else self.table.reshape(())
        flat = np.asarray(ids).reshape(-1)
        stride = int(np.prod(self.grid))
        out = np.full((flat.size, *self.grid), np.nan, dtype=self.dtype)
        wanted = np.unique(flat[flat >= 0])
        if wanted.size:
            buf = np.empty((wanted.size, *self.grid), dtype=self.dtype)
            _read_into(self.store, [self.records[i] for i in wanted], buf, self.dtype, stride, None)
            out[flat >= 0] = buf[np.searchsorted(wanted, flat[flat >= 0])]
        out = out.reshape(*(a.size for a in arrays), *self.grid)
        # Spatial keys (outer), then drop the integer-indexed leading dimensions.
        for d, k in enumerate(key[lead:]):
            axis = lead + d
            if isinstance(k, (int, np.integer)):
                out = np.take(out, [int(k)], axis=axis)
                keep.append(False)
            else:
                out = out[(slice(None),) * axis + (k,)]
                keep.append(True)
        return out.reshape([s for s, kp in zip(out.shape, keep) if kp])


def _grid_coords(r: Record) -> dict[str, xr.Variable]:
    if r.gridType != "regular_ll" or len(r.grid_shape) != 2:
        return {}
    lat = np.linspace(r.latitudeOfFirstGridPointInDegrees, r.latitudeOfLastGridPointInDegrees, r.Nj)
    lon_last = r.longitudeOfLastGridPointInDegrees
    if lon_last < r.longitudeOfFirstGridPointInDegrees:
        lon_last += 360.0
    lon = np.linspace(r.longitudeOfFirstGridPointInDegrees, lon_last, r.Ni)
    return {
        "latitude": xr.Variable(("latitude",), lat, {"units": "degrees_north", "standard_name": "latitude",
                                                     "long_name": "latitude"}),  # fmt: skip
        "longitude": xr.Variable(("longitude",), lon, {"units": "degrees_east", "standard_name": "longitude",
                                                       "long_name": "longitude"}),  # fmt: skip
    }


def build_dataset(idx: Index, dtype: np.dtype[Any], drop: set[str]) -> xr.Dataset:
    groups: dict[str, list[Record]] = {}
    for r in idx:
        if r.shortName not in drop:
            groups.setdefault(r.shortName, []).append(r)
    data_vars: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    for name, recs in groups.items():
        levels = {r.typeOfLevel for r in recs}
        if len(levels) > 1:
            raise ValueError(f"lsio.grib: variable {name!r} has several level types {sorted(levels)}; "
                             "select one with Index.select(typeOfLevel=...)")  # fmt: skip
        tol = levels.pop()
        grids = {(r.grid_shape, r.latitudeOfFirstGridPointInDegrees, r.longitudeOfFirstGridPointInDegrees,
                  r.latitudeOfLastGridPointInDegrees, r.longitudeOfLastGridPointInDegrees) for r in recs}  # fmt: skip
        if len(grids) > 1:
            raise ValueError(f"lsio.grib: variable {name!r} is on several grids")
        first = recs[0]
        keyfns: list[tuple[str, Any]] = []
        if any(r.number >= 0 for r in recs):
            keyfns.append(("number", lambda r: r.number))
        keyfns += [("time", _time), ("step", _step), (tol, lambda r: float(r.level))]
        values = []
        for dim, fn in keyfns:
            vals = sorted({fn(r) for r in recs}, reverse=dim in _DECREASING_LEVELS)
            values.append((dim, vals, {v: i for i, v in enumerate(vals)}))
        full_shape = tuple(len(v) for _, v, _ in values)
        table = np.full(full_shape, -1, dtype=np.int64)
        for i, r in enumerate(recs):
            pos = tuple(pos_of[fn(r)] for (_, _, pos_of), (_, fn) in zip(values, keyfns))
            if table[pos] < 0:
                table[pos] = i
        lead = [(dim, vals) for dim, vals, _ in values if len(vals) > 1]
        table = table.reshape([len(vals) for _, vals in lead])
        grid = first.grid_shape
        spatial = ("latitude", "longitude") if len(grid) == 2 else ("values",)
        dims = tuple(d for d, _ in lead) + spatial
        for dim, vals, _ in values:
            attrs = _LEVEL_ATTRS.get(dim, {})
            arr = np.asarray(vals)
            if dim in ("number",):
                arr = arr.astype(np.int64)
            coords[dim] = xr.Variable((dim,) if len(vals) > 1 else (), arr if len(vals) > 1 else arr[0], attrs)
        coords.update(_grid_coords(first))
        tdims = [d for d in ("time", "step") if d in dims]
        t = coords["time"].values
        s = coords["step"].values
        vt = (t[:, None] if t.ndim else t) + s if ("time" in tdims and "step" in tdims) else t + s
        coords["valid_time"] = xr.Variable(tuple(tdims), vt)
        attrs = {
            "GRIB_paramId": first.paramId, "GRIB_shortName": first.shortName, "GRIB_units": first.units,
            "GRIB_name": first.name, "GRIB_typeOfLevel": tol, "GRIB_gridType": first.gridType,
            "GRIB_Nx": first.Ni, "GRIB_Ny": first.Nj, "GRIB_numberOfPoints": first.numberOfPoints,
            "long_name": first.name, "units": first.units,
        }  # fmt: skip
        array = GribBackendArray(idx.store, recs, table, grid, dtype)
        data_vars[name] = xr.Variable(dims, indexing.LazilyIndexedArray(array), attrs)
    return xr.Dataset(data_vars, coords, attrs={"GRIB_edition": 2, "Conventions": "CF-1.7"})


# ---- conversion to Zarr ---------------------------------------------------------------------------------------------


def _unit(dims: tuple[str, ...], shape: tuple[int, ...], spec: Optional[Mapping[str, int]], lead: int,
          default_lead: int) -> tuple[int, ...]:  # fmt: skip
    """Chunk (or shard) shape from a per-dimension mapping: leading dims default_lead, spatial dims whole."""
    spec = spec or {}
    out = []
    for i, (d, n) in enumerate(zip(dims, shape)):
        v = spec.get(d, default_lead if i < lead else n)
        out.append(max(1, min(int(v), n)))
    return tuple(out)


def write_zarr(idx: Index, target: Any, *, chunks: Optional[Mapping[str, int]], shards: Optional[Mapping[str, int]],
               compressors: Optional[Sequence[Any]], dtype: np.dtype[Any], overwrite: bool) -> None:  # fmt: skip
    import json
    import os

    from xarray.conventions import cf_encoder

    import lsio

    from . import zarr as lz

    if isinstance(target, lsio.Store):
        store = target
    else:
        store = lsio.open(os.fspath(target))  # a file store creates its directories on the first put
    ds = build_dataset(idx, dtype, set())
    codecs = None
    if compressors is not None:
        codecs = [{"name": "bytes", "configuration": {"endian": "little"}}, *compressors]
    # Coordinates: CF-encoded by xarray (times as integers with units), one chunk each.
    coord_vars = {k: v.variable for k, v in ds.coords.items()}
    encoded, _ = cf_encoder(coord_vars, {})
    for name, var in encoded.items():
        data = np.asarray(var.values)
        arr = lz.create(store, data.shape, data.dtype, path=name, chunks=data.shape or None, codecs=codecs,
                        attributes={k: v for k, v in var.attrs.items() if k != "_FillValue"}, dimension_names=list(var.dims), overwrite=overwrite)  # fmt: skip
        arr[...] = data
    dim_coords = set(ds.dims)
    for name, da in ds.data_vars.items():
        var = da.variable
        lead = var.ndim - (2 if var.dims[-2:] == ("latitude", "longitude") else 1)
        inner = _unit(var.dims, var.shape, chunks, lead, 1)
        outer = None
        if shards is not None:  # unlisted dims: one chunk (leading) or whole, rounded up to whole chunks (spatial)
            outer = tuple(
                int(shards[d]) if d in shards else (c if i < lead else -(-n // c) * c)
                for i, (d, n, c) in enumerate(zip(var.dims, var.shape, inner))
            )
            if any(o % i for i, o in zip(inner, outer)):
                raise ValueError(f"lsio.grib.to_zarr: shards {outer} of {name!r} are not multiples of chunks {inner}")
        others = [c for c in ds.coords if c not in dim_coords and set(ds[c].dims) <= set(var.dims)]
        attrs = {k: v for k, v in var.attrs.items()}
        if others:
            attrs["coordinates"] = " ".join(sorted(others))
        arr = lz.create(store, var.shape, dtype, path=name, chunks=inner, shards=outer, codecs=codecs,
                        fill_value=float("nan"), attributes=attrs, dimension_names=list(var.dims),
                        overwrite=overwrite)  # fmt: skip
        # Stream: one write unit (shard, else chunk) of leading indices at a time, read in one batch of messages.
        unit = outer if outer is not None else inner
        ranges = [range(0, n, u) for n, u in zip(var.shape[:lead], unit[:lead])]
        for corner in itertools.product(*ranges):
            region = tuple(slice(c, min(c + u, n)) for c, u, n in zip(corner, unit, var.shape[:lead]))
            block = var[region].values
            arr[region] = block
    attrs_doc = {"zarr_format": 3, "node_type": "group", "attributes": dict(ds.attrs)}
    store.put("zarr.json", json.dumps(attrs_doc).encode())
