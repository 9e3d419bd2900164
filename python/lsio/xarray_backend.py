"""xarray backend ``engine="lsio"``: Zarr v2/v3 groups (sharded or not) opened as Datasets, read through LSIO.

    import xarray as xr
    ds = xr.open_dataset("/data/era5.zarr", engine="lsio")             # lazy: nothing read but metadata
    ds = xr.open_dataset("/data/era5.zarr", engine="lsio", chunks={})  # dask, one task per on-disk chunk

The Dataset matches ``xr.open_zarr(path, consolidated=False)``: dimensions from ``_ARRAY_DIMENSIONS`` (v2) or
``dimension_names`` (v3), the group's and arrays' attributes, the Zarr fill value as ``_FillValue`` (v2) or the
``_FillValue`` attribute xarray wrote (v3), as xarray's own Zarr backend decides (``use_zarr_fill_value_as_mask``).
CF decoding (masking, scaling, times, coordinates) is xarray's, with its ``decode_cf`` options passed through. Each
variable is a lazy :class:`LsioBackendArray`: an indexing of it is one LSIO read (xarray's outer indexing, the
orthogonal selection of ``lsio.zarr.Array.read``).

``filename_or_obj`` is a path, a URL ``lsio.open`` understands, an ``lsio.Store``, an ``lsio.zarr.Group`` or an
``lsio.zarr.ZarrStore``; ``group`` names a sub-group. The group's members come from its consolidated metadata when
it has some (unless ``consolidated=False``), else from listing the store. Sub-groups are not read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt
from xarray import Dataset, Variable
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore
from xarray.backends.store import StoreBackendEntrypoint
from xarray.core import indexing

import lsio

from . import zarr as _lz

__all__ = ["LsioBackendArray", "LsioBackendEntrypoint", "LsioDataStore"]

DIMENSION_KEY = "_ARRAY_DIMENSIONS"


class LsioBackendArray(BackendArray):
    """A lazy variable: xarray's outer indexing turned into one ``lsio.zarr.Array.read`` per access.

    Pickles as its lsio.zarr.Array does (store URL, options, path, mode), so dask workers reopen it lazily.
    """

    def __init__(self, array: _lz.Array) -> None:
        self.array = array
        self.shape: tuple[int, ...] = array.shape
        self.dtype: np.dtype[Any] = array.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> npt.NDArray[Any]:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)  # type: ignore[no-any-return]

    async def async_getitem(self, key: indexing.ExplicitIndexer) -> npt.NDArray[Any]:
        return await indexing.async_explicit_indexing_adapter(  # type: ignore[no-any-return]
            key, self.shape, indexing.IndexingSupport.OUTER, self._read_async
        )

    def _read(self, key: tuple[Any, ...]) -> npt.NDArray[Any]:
        """Slices (step > 0), integers and 1-d integer arrays per dimension: one orthogonal read."""
        return self.array.read(key)

    async def _read_async(self, key: tuple[Any, ...]) -> npt.NDArray[Any]:
        return await self.array.read_async(key)


# ---- opening the group --------------------------------------------------------------------------------------------


def _root(filename_or_obj: Any, store_options: Optional[Mapping[str, Any]]) -> tuple[lsio.Store, str]:
    """The LSIO store and the key prefix of the dataset's root group."""
    if isinstance(filename_or_obj, lsio.Store):
        return filename_or_obj, ""
    if isinstance(filename_or_obj, _lz.Group):
        return filename_or_obj.store, filename_or_obj.path
    lsio_store = getattr(filename_or_obj, "lsio_store", None)  # an lsio.zarr.ZarrStore (zarr-python not imported)
    if isinstance(lsio_store, lsio.Store):
        return lsio_store, ""
    if isinstance(filename_or_obj, (str, os.PathLike)):
        url = os.fspath(filename_or_obj)
        root = _lz._local_root(url)
        if root is not None:
            url = ("file://" if url.startswith("file://") else "") + os.path.abspath(root)
        return _lz._shared_store(url, dict(store_options or {})), ""
    raise TypeError(
        f"engine='lsio' opens a path, a URL, an lsio.Store, an lsio.zarr.Group or an lsio.zarr.ZarrStore, "
        f"not {type(filename_or_obj).__name__}"
    )


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _consolidated_arrays(group: _lz.Group) -> Optional[list[str]]:
    """The names of the group's arrays in its consolidated metadata (None when it has none)."""
    c = group.consolidated_metadata
    if c is None:
        return None
    if group.zarr_format == 3:
        meta = c.get("metadata") or {}
        return sorted(k for k, v in meta.items() if "/" not in k and isinstance(v, dict)
                      and v.get("node_type") == "array")
    return sorted(k.split("/")[0] for k in c if k.count("/") == 1 and k.endswith("/.zarray"))


def _listed_members(store: lsio.Store, path: str) -> list[str]:
    """The names of the prefixes directly below the group (candidate members: each is opened to find out)."""
    prefix = path + "/" if path else ""
    _, prefixes = store.list_dir(prefix)
    return [p[len(prefix):].rstrip("/") for p in prefixes]


def _arrays(store: lsio.Store, path: str, group: _lz.Group, consolidated: Optional[bool]) -> dict[str, _lz.Array]:
    names = _consolidated_arrays(group) if consolidated is not False else None
    if names is None:
        if consolidated:
            raise ValueError(f"group {path!r} has no consolidated metadata (consolidated=True)")
        names = _listed_members(store, path)
    arrays = {}
    for name in names:
        try:
            node = _lz.open(store, _join(path, name), mode="r")
        except FileNotFoundError:  # a prefix holding no node (an empty directory...)
            continue
        if isinstance(node, _lz.Array):
            arrays[name] = node
    return arrays


# ---- variables ----------------------------------------------------------------------------------------------------


def _dims_and_attrs(array: _lz.Array, name: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The variable's dimension names and its attributes (without the one that held the names)."""
    attrs = array.attrs
    names = array.dimension_names if array.zarr_format == 3 else None
    if names is not None and len(names) == array.ndim and all(isinstance(n, str) for n in names):
        return tuple(str(n) for n in names), attrs
    dims = attrs.pop(DIMENSION_KEY, None)
    if array.zarr_format == 3 and array.ndim and dims is None:
        raise KeyError(f"array {name!r} has no dimension_names, which xarray needs for its dimensions")
    if dims is None and array.ndim:
        raise KeyError(f"array {name!r} has no attribute {DIMENSION_KEY!r}, which xarray needs for its dimensions")
    dims = tuple(dims or ())
    if len(dims) != array.ndim:
        raise ValueError(f"array {name!r} has {array.ndim} dimensions but {DIMENSION_KEY} names {len(dims)}")
    return dims, attrs


def _v2_null_fill(store: lsio.Store, arrays: Mapping[str, _lz.Array]) -> set[str]:
    """The v2 arrays whose .zarray says ``"fill_value": null`` (lsio.zarr reads that as 0; xarray as no fill
    value): their .zarray documents, read in one batch."""
    names = [n for n, a in arrays.items() if a.zarr_format == 2]
    if not names:
        return set()
    docs = store.read_ranges([_join(arrays[n].path, ".zarray") for n in names], [0] * len(names))
    return {n for n, doc in zip(names, docs) if json.loads(bytes(doc)).get("fill_value") is None}


def _variable(array: _lz.Array, name: str, fill_as_mask: bool, null_fill: bool) -> Variable:
    dims, attrs = _dims_and_attrs(array, name)
    chunks = array.chunks
    encoding: dict[str, Any] = {
        "chunks": chunks,
        "preferred_chunks": dict(zip(dims, chunks)),
        "shards": array.shards,
    }
    fill = None if null_fill else array.fill_value
    if fill_as_mask:
        if fill is not None:
            attrs["_FillValue"] = fill
    else:
        if array.zarr_format == 3:
            encoding["fill_value"] = fill
        if "_FillValue" in attrs:
            from xarray.backends.zarr import FillValueCoder  # xarray's decoding of the attribute it writes

            attrs["_FillValue"] = FillValueCoder.decode(attrs["_FillValue"], array.dtype)
    data = indexing.LazilyIndexedArray(LsioBackendArray(array))
    return Variable(dims, data, attrs, encoding)


class LsioDataStore(AbstractDataStore):
    """One Zarr group's arrays and attributes, for xarray (read-only)."""

    def __init__(
        self, group: _lz.Group, arrays: Mapping[str, _lz.Array], fill_as_mask: bool, null_fill: Iterable[str] = ()
    ) -> None:
        self.group = group
        self.arrays = dict(arrays)
        self.fill_as_mask = fill_as_mask
        self.null_fill = set(null_fill)  # names of the arrays without a fill value

    @classmethod
    def open(
        cls,
        filename_or_obj: Any,
        *,
        group: Optional[str] = None,
        consolidated: Optional[bool] = None,
        use_zarr_fill_value_as_mask: Optional[bool] = None,
        store_options: Optional[Mapping[str, Any]] = None,
    ) -> LsioDataStore:
        store, root = _root(filename_or_obj, store_options)
        path = _join(root.rstrip("/"), (group or "").strip("/"))  # root may be absolute (the default store)
        zgroup = _lz.open_group(store, path, mode="r")
        arrays = _arrays(store, path, zgroup, consolidated)
        fill_as_mask = zgroup.zarr_format == 2 if use_zarr_fill_value_as_mask is None else use_zarr_fill_value_as_mask
        return cls(zgroup, arrays, fill_as_mask, _v2_null_fill(store, arrays))

    def get_variables(self) -> dict[str, Variable]:
        return {
            name: _variable(a, name, self.fill_as_mask, name in self.null_fill) for name, a in self.arrays.items()
        }

    def get_attrs(self) -> dict[str, Any]:
        return {k: v for k, v in self.group.attrs.items() if not k.lower().startswith("_nc")}

    def get_dimensions(self) -> dict[str, int]:
        dims: dict[str, int] = {}
        for name, a in self.arrays.items():
            dims.update(zip(_dims_and_attrs(a, name)[0], a.shape))
        return dims

    def get_encoding(self) -> dict[str, Any]:
        return {}


def _is_grib(filename_or_obj: Any) -> bool:
    from . import grib

    return grib.is_grib(filename_or_obj)


class LsioBackendEntrypoint(BackendEntrypoint):
    """``xr.open_dataset(path, engine="lsio")``: Zarr groups read through LSIO (see lsio.xarray_backend)."""

    description = "Open Zarr v2/v3 groups (sharded too) and GRIB2 files (lsio.grib) with LSIO's batched reads"
    open_dataset_parameters = (
        "filename_or_obj", "mask_and_scale", "decode_times", "concat_characters", "decode_coords",
        "drop_variables", "use_cftime", "decode_timedelta", "group", "consolidated",
        "use_zarr_fill_value_as_mask", "store_options",
    )  # fmt: skip

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Only LSIO objects: a '.zarr' path stays with xarray's own zarr engine unless engine='lsio' is given."""
        if isinstance(filename_or_obj, (lsio.Store, _lz.Group)):
            return True
        if _is_grib(filename_or_obj):  # GRIB2 files and lsio.grib.Index objects (lsio.grib)
            return True
        return isinstance(getattr(filename_or_obj, "lsio_store", None), lsio.Store)

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Union[str, os.PathLike[Any], Any],
        *,
        mask_and_scale: bool = True,
        decode_times: Any = True,
        concat_characters: bool = True,
        decode_coords: Any = True,
        drop_variables: Union[str, Iterable[str], None] = None,
        use_cftime: Optional[bool] = None,
        decode_timedelta: Any = None,
        group: Optional[str] = None,
        consolidated: Optional[bool] = None,
        use_zarr_fill_value_as_mask: Optional[bool] = None,
        store_options: Optional[Mapping[str, Any]] = None,
    ) -> Dataset:
        if _is_grib(filename_or_obj):
            from . import grib

            return grib.open_dataset(filename_or_obj, drop_variables=drop_variables)
        store = LsioDataStore.open(
            filename_or_obj,
            group=group,
            consolidated=consolidated,
            use_zarr_fill_value_as_mask=use_zarr_fill_value_as_mask,
            store_options=store_options,
        )
        return StoreBackendEntrypoint().open_dataset(
            store,
            mask_and_scale=mask_and_scale,
            decode_times=decode_times,
            concat_characters=concat_characters,
            decode_coords=decode_coords,
            drop_variables=drop_variables,
            use_cftime=use_cftime,
            decode_timedelta=decode_timedelta,
        )
