"""The xarray side of lsio.grib: a lazy Dataset over an Index, named and shaped like cfgrib's.

One variable per shortName. Its leading dimensions are number, time, step and the typeOfLevel name (e.g.
isobaricInhPa), each kept only when it has more than one value (else a scalar coordinate, as cfgrib does),
then latitude and longitude. Indexing a variable reads only the messages the selection needs, in one batch.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import numpy.typing as npt
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from . import _lsio
from .grib import GribWarning, Index, Record, _read_into

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
                 grid: tuple[int, ...], dtype: np.dtype[Any], root: Optional[str] = None) -> None:  # fmt: skip
        self.store = store
        self.root = root  # the index's root (reopened by a pickled lsio.ml.GribSource), None for a caller's store
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


# cfgrib's geometry rules (cfgrib/dataset.py build_geography_coordinates): 1-D latitude/longitude dimensions for
# regular grids, y/x dimensions with 2-D latitude/longitude for these projected/rotated grids, else one "values"
# dimension with 1-D latitude/longitude when ecCodes has them (none for spherical harmonics, lambert_bf, ...).
_DIMENSION_GRIDS = {"regular_ll", "regular_gg"}
_2D_GRIDS = {"rotated_ll", "rotated_gg", "lambert", "lambert_azimuthal_equal_area", "albers", "polar_stereographic"}
_LAT_ATTRS = {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"}
_LON_ATTRS = {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"}


def _geometry(r: Record) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(spatial dims, shape) of a record's field, as cfgrib shapes it."""
    two_d = r.Ni > 0 and r.Nj > 0 and r.Ni * r.Nj == r.numberOfPoints
    if r.gridType in _DIMENSION_GRIDS and two_d:
        return ("latitude", "longitude"), (r.Nj, r.Ni)
    if r.gridType in _2D_GRIDS and two_d:
        return ("y", "x"), (r.Nj, r.Ni)
    return ("values",), (r.numberOfPoints,)


def _grid_key(r: Record) -> tuple[Any, ...]:
    """What tells two grids apart in the index (the records do not carry section 3 itself)."""
    return (r.gridType, r.numberOfPoints, r.Ni, r.Nj, r.latitudeOfFirstGridPointInDegrees,
            r.longitudeOfFirstGridPointInDegrees, r.latitudeOfLastGridPointInDegrees,
            r.longitudeOfLastGridPointInDegrees, r.iDirectionIncrementInDegrees, r.jDirectionIncrementInDegrees,
            r.iScansNegatively, r.jScansPositively)  # fmt: skip


def _regular_ll_coords(r: Record) -> dict[str, xr.Variable]:
    """regular_ll from the section 3 numbers (no read); equal to ecCodes' distinctLatitudes/Longitudes."""
    lat = np.linspace(r.latitudeOfFirstGridPointInDegrees, r.latitudeOfLastGridPointInDegrees, r.Nj)
    lon_last = r.longitudeOfLastGridPointInDegrees
    if lon_last < r.longitudeOfFirstGridPointInDegrees:
        lon_last += 360.0
    lon = np.linspace(r.longitudeOfFirstGridPointInDegrees, lon_last, r.Ni)
    return {"latitude": xr.Variable(("latitude",), lat, _LAT_ATTRS),
            "longitude": xr.Variable(("longitude",), lon, _LON_ATTRS)}  # fmt: skip


def grid_coordinates(store: Store, records: Sequence[Record]) -> dict[tuple[Any, ...], dict[str, xr.Variable]]:
    """latitude/longitude coordinate variables per distinct grid of ``records`` (by :func:`_grid_key`).

    regular_ll comes from the index's numbers; every other grid from ecCodes (one message per distinct grid, read
    and handed to ecCodes in one batch on the store's workers). A grid ecCodes has no coordinates for gets none
    (a GribWarning naming the file, offset and gridType), as cfgrib does.
    """
    out: dict[tuple[Any, ...], dict[str, xr.Variable]] = {}
    todo: dict[tuple[Any, ...], Record] = {}
    for r in records:
        key = _grid_key(r)
        if key in out or key in todo:
            continue
        if r.gridType == "regular_ll" and _geometry(r)[0] == ("latitude", "longitude"):
            out[key] = _regular_ll_coords(r)
        else:
            todo[key] = r
    if not todo:
        return out
    reps = list(todo.values())
    got = _lsio.grib_coordinates(store, [r.path for r in reps], [r.offset for r in reps],
                                 [r.length for r in reps], [r.field for r in reps], [r.fields for r in reps])  # fmt: skip
    for key, r, g in zip(todo, reps, got):
        if isinstance(g, str):
            warnings.warn(g, GribWarning, stacklevel=3)
            out[key] = {}
            continue
        _, distinct, lat_bytes, lon_bytes = g
        lat = np.frombuffer(lat_bytes, dtype=np.float64).copy()
        lon = np.frombuffer(lon_bytes, dtype=np.float64).copy()
        dims, shape = _geometry(r)
        if distinct and dims == ("latitude", "longitude") and (lat.size, lon.size) == shape:
            lat_attrs = {**_LAT_ATTRS, "stored_direction": "decreasing"} if lat[0] > lat[-1] else _LAT_ATTRS
            out[key] = {"latitude": xr.Variable(("latitude",), lat, lat_attrs),
                        "longitude": xr.Variable(("longitude",), lon, _LON_ATTRS)}  # fmt: skip
        elif not distinct and lat.size == lon.size == int(np.prod(shape)):
            out[key] = {"latitude": xr.Variable(dims, lat.reshape(shape), _LAT_ATTRS),
                        "longitude": xr.Variable(dims, lon.reshape(shape), _LON_ATTRS)}  # fmt: skip
        else:
            raise ValueError(f"lsio.grib: GRIB {r.path}: offset {r.offset}: ecCodes gives {lat.size} latitudes and "
                             f"{lon.size} longitudes for a {r.gridType} grid of shape {shape}")
    return out


def build_dataset(idx: Index, dtype: np.dtype[Any], drop: set[str]) -> xr.Dataset:
    groups: dict[str, list[Record]] = {}
    for r in idx:
        if r.shortName not in drop:
            groups.setdefault(r.shortName, []).append(r)
    data_vars: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    geo = grid_coordinates(idx.store, [recs[0] for recs in groups.values()])
    for name, recs in groups.items():
        levels = {r.typeOfLevel for r in recs}
        if len(levels) > 1:
            raise ValueError(f"lsio.grib: variable {name!r} has several level types {sorted(levels)}; "
                             "select one with Index.select(typeOfLevel=...)")  # fmt: skip
        tol = levels.pop()
        grids = {_grid_key(r) for r in recs}
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
        spatial, grid = _geometry(first)
        dims = tuple(d for d, _ in lead) + spatial
        for dim, vals, _ in values:
            attrs = _LEVEL_ATTRS.get(dim, {})
            arr = np.asarray(vals)
            if dim in ("number",):
                arr = arr.astype(np.int64)
            coords[dim] = xr.Variable((dim,) if len(vals) > 1 else (), arr if len(vals) > 1 else arr[0], attrs)
        coords.update(geo[_grid_key(first)])
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
        array = GribBackendArray(idx.store, recs, table, grid, dtype, idx.root)
        data_vars[name] = xr.Variable(dims, indexing.LazilyIndexedArray(array), attrs)
    return xr.Dataset(data_vars, coords, attrs={"GRIB_edition": 2, "Conventions": "CF-1.7"})


# ---- conversion to Zarr ---------------------------------------------------------------------------------------------


def _resumed(store: Any, name: str, shape: tuple[int, ...], dtype: np.dtype[Any], inner: tuple[int, ...],
             outer: Optional[tuple[int, ...]]) -> Any:  # fmt: skip
    """The array a stopped conversion left at ``name`` (None when there is none); ValueError when it is not the
    array this conversion makes (another shape, dtype, chunks or shards)."""
    from . import zarr as lz
    from ._copy import _exists

    location = lz._locate(store, name)
    if not _exists(location):
        return None
    arr = lz.open_array(store, name)
    have = (tuple(arr.shape), np.dtype(arr.dtype), tuple(arr.chunks), arr.shards)
    want = (tuple(shape), np.dtype(dtype), tuple(inner), outer)
    if have != want:
        raise ValueError(f"lsio.grib.to_zarr: cannot resume: {name!r} has (shape, dtype, chunks, shards) {have}, "
                         f"the conversion makes {want}")  # fmt: skip
    return arr


Corner = tuple[int, ...]
Region = tuple[slice, ...]


def _runs(shape: tuple[int, ...], lead: int, unit: tuple[int, ...], budget: int, itemsize: int,
          stored: Optional[Any]) -> list[tuple[Optional[Region], list[Corner]]]:  # fmt: skip
    """The write units (shard, else chunk) of the leading dimensions to convert, grouped into runs along the last
    leading dimension: consecutive units still to write, together at most ``budget`` bytes decoded (at least one
    unit). Each run is one region: its messages are read and decoded in one batch, on all of the store's workers,
    and the Zarr writer encodes its chunks on all workers too. ``stored(corner)``: units already written, listed
    with region None (skipped, but still reported to ``progress``)."""
    if lead == 0:
        return [(None if stored is not None and stored(()) else (), [()])]
    field = itemsize * int(np.prod(shape[lead:], dtype=np.int64))
    out: list[tuple[Optional[Region], list[Corner]]] = []
    ranges = [range(0, n, u) for n, u in zip(shape[:lead - 1], unit[:lead - 1])]
    n_last, u_last = shape[lead - 1], unit[lead - 1]
    for head in itertools.product(*ranges):
        outer = tuple(slice(c, min(c + u, n)) for c, u, n in zip(head, unit, shape))
        per_step = field * int(np.prod([r.stop - r.start for r in outer], dtype=np.int64))
        run: list[Corner] = []
        for c in range(0, n_last, u_last):
            corner = (*head, c)
            if stored is not None and stored(corner):
                if run:
                    out.append(_region(outer, run, u_last, n_last))
                    run = []
                out.append((None, [corner]))
                continue
            if run and (c + u_last - run[0][-1]) * per_step > budget:
                out.append(_region(outer, run, u_last, n_last))
                run = []
            run.append(corner)
        if run:
            out.append(_region(outer, run, u_last, n_last))
    return out


def _region(outer: Region, run: list[Corner], u_last: int, n_last: int) -> tuple[Region, list[Corner]]:
    return (*outer, slice(run[0][-1], min(run[-1][-1] + u_last, n_last))), run


def _stream(runs: list[tuple[Optional[Region], list[Corner]]], read: Any, arr: Any, name: str,
            progress: Optional[Any]) -> None:  # fmt: skip
    """Writes each run while the next one is read and decoded on a helper thread (the store's workers decode). On
    an error or Ctrl-C the pending read is waited for (a GRIB decode takes no cancel token) before it goes on."""
    from ._pipeline import ReadAhead

    todo = [r for r, _ in runs if r is not None]
    with ReadAhead(todo, read, name="lsio-grib-read") as stream:
        blocks = iter(stream)
        for region, corners in runs:
            if region is not None:
                _, block = next(blocks)
                arr[region] = block
                del block
            if progress is not None:
                for corner in corners:
                    progress(name, corner)


def _stored(arr: Any, corner: tuple[int, ...], unit: tuple[int, ...], shape: tuple[int, ...],
            inner: tuple[int, ...], outer: Optional[tuple[int, ...]]) -> bool:  # fmt: skip
    """Whether every write unit of the region at ``corner`` is stored and verified (lsio.zarr.copy's resume test:
    shards are stored atomically; one that is there, at least as big as its index, whose index checks out and one
    of whose elements decodes, is complete)."""
    import math

    from ._pipeline import present

    lead = len(corner)
    grid = [[c // u] for c, u in zip(corner, unit[:lead])]
    grid += [list(range(-(-n // u))) for n, u in zip(shape[lead:], unit[lead:])]
    coords = [list(c) for c in itertools.product(*grid)]
    min_size = 0 if outer is None else 16 * math.prod(o // i for o, i in zip(outer, inner)) + 4
    return bool(present(arr, coords, min_size, unit))


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
               compressors: Optional[Sequence[Any]], dtype: np.dtype[Any], overwrite: bool, resume: bool = False,
               progress: Optional[Any] = None, max_memory: int = 1 << 30) -> None:  # fmt: skip
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
    budget = max(1, max_memory // 2)  # a run being written and the next one being read and decoded
    codecs = None
    if compressors is not None:
        codecs = [{"name": "bytes", "configuration": {"endian": "little"}}, *compressors]
    # Coordinates: CF-encoded by xarray (times as integers with units), one chunk each.
    coord_vars = {k: v.variable for k, v in ds.coords.items()}
    encoded, _ = cf_encoder(coord_vars, {})
    for name, var in encoded.items():
        data = np.asarray(var.values)
        arr = lz.create(store, data.shape, data.dtype, path=name, chunks=data.shape or None, codecs=codecs,
                        attributes={k: v for k, v in var.attrs.items() if k != "_FillValue"}, dimension_names=list(var.dims), overwrite=overwrite or resume)  # fmt: skip
        arr[...] = data
    dim_coords = set(ds.dims)
    for name, da in ds.data_vars.items():
        var = da.variable
        lead = var.ndim - (2 if var.dims[-2:] in (("latitude", "longitude"), ("y", "x")) else 1)
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
        arr = _resumed(store, name, var.shape, dtype, inner, outer) if resume else None
        if arr is None:
            arr = lz.create(store, var.shape, dtype, path=name, chunks=inner, shards=outer, codecs=codecs,
                            fill_value=float("nan"), attributes=attrs, dimension_names=list(var.dims),
                            overwrite=overwrite or resume)  # fmt: skip
        unit = outer if outer is not None else inner
        runs = _runs(var.shape, lead, unit, budget, np.dtype(dtype).itemsize,
                     (lambda c: _stored(arr, c, unit, var.shape, inner, outer)) if resume else None)  # fmt: skip
        _stream(runs, lambda region: var[region].values, arr, name, progress)
    attrs_doc = {"zarr_format": 3, "node_type": "group", "attributes": dict(ds.attrs)}
    store.put("zarr.json", json.dumps(attrs_doc).encode())
