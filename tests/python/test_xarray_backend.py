"""The xarray backend engine="lsio" (lsio.xarray_backend) against xarray's own Zarr backend.

Datasets are written by xarray's to_zarr (v2, v3, v3 sharded; several variables over several chunks, a dimension
coordinate of each kind, a non-dimension coordinate, times, a scaled and masked int16 variable, float with NaN,
ints and bools, group and variable attributes) and opened with both engines: the Datasets are identical
(xr.testing.assert_identical) with CF decoding on, off, and masking off; chunks={} gives dask arrays with the
on-disk chunking of xr.open_zarr; lazy outer indexing equals numpy; consolidated metadata, sub-groups and
LSIO objects (lsio.Store, lsio.zarr.Group, lsio.zarr.ZarrStore) open too.

The entry point: pyproject.toml declares `lsio = "lsio.xarray_backend:LsioBackendEntrypoint"` under
[project.entry-points."xarray.backends"] (checked always). Whether it is registered can only be seen when the lsio
being tested is the installed distribution: then the check runs; otherwise it is skipped, unless LSIO_INSTALLED=1
says the package was installed (as `make test-python` does), in which case it fails.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import lsio
import lsio.zarr
from lsio.xarray_backend import LsioBackendEntrypoint
from lsio.zarr_store import ZarrStore

ENGINE = LsioBackendEntrypoint  # the class: the scratch test setup has no installed entry point
REPO = Path(__file__).resolve().parents[2]

FORMATS = {"v2": (2, False), "v3": (3, False), "v3-sharded": (3, True)}


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(7)
    nt, ny, nx = 12, 9, 10
    temp = rng.normal(280, 5, (nt, ny, nx)).astype("float32")
    temp[0, 0, :3] = np.nan
    temp[5, 4, 4] = np.nan
    precip = rng.gamma(1.0, 2.0, (nt, ny, nx))
    precip[3] = np.nan
    return xr.Dataset(
        {
            "temp": (("time", "y", "x"), temp, {"units": "K", "long_name": "air temperature"}),
            "precip": (("time", "y", "x"), precip, {"units": "mm"}),
            "count": (("y", "x"), rng.integers(-1000, 1000, (ny, nx)).astype("int32")),
            "flags": (("x",), rng.integers(0, 2, nx).astype(bool)),
            "level": ((), np.int64(850), {"positive": "down"}),
            "scaled": (("time",), np.linspace(0, 10, nt)),
        },
        coords={
            "time": pd.date_range("2001-01-01", periods=nt, freq="6h"),
            "y": np.linspace(-40.0, 40.0, ny),
            "x": np.arange(nx, dtype="int16") * 5,
            "lat": (("y", "x"), rng.normal(size=(ny, nx))),
        },
        attrs={"title": "lsio backend test", "version": 3, "tags": ["a", "b"], "scale": 0.25},
    )


def _write(ds: xr.Dataset, path: Path, fmt: str, **kwargs: Any) -> Path:
    zarr_format, sharded = FORMATS[fmt]
    encoding: dict[str, dict[str, Any]] = {
        "temp": {"chunks": (4, 3, 5)},
        "precip": {"chunks": (5, 9, 4)},
        "count": {"chunks": (4, 4)},
        "scaled": {"chunks": (5,), "dtype": "int16", "scale_factor": 0.01, "_FillValue": -999},
    }
    if sharded:
        encoding["temp"]["shards"] = (8, 6, 10)
        encoding["count"]["shards"] = (8, 8)
    ds = ds.copy()
    ds["scaled"][2] = np.nan  # written as the _FillValue, read back as NaN
    ds.to_zarr(path, mode="w", zarr_format=zarr_format, encoding=encoding, **kwargs)
    return path


@pytest.fixture(scope="module", params=list(FORMATS))
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    fmt = str(request.param)
    return fmt, _write(_dataset(), tmp_path_factory.mktemp(fmt) / "ds.zarr", fmt, consolidated=False)


@pytest.mark.parametrize(
    "options",
    [{}, {"decode_cf": False}, {"mask_and_scale": False}, {"decode_times": False}, {"drop_variables": ["precip"]}],
    ids=["default", "no-decode-cf", "no-mask", "no-times", "drop"],
)
def test_identical_to_open_zarr(written: tuple[str, Path], options: dict[str, Any]) -> None:
    _, path = written
    ours = xr.open_dataset(path, engine=ENGINE, **options)
    theirs = xr.open_zarr(path, consolidated=False, **options)
    xr.testing.assert_identical(ours, theirs)
    assert not any(isinstance(v.data, dask.array.Array) for v in ours.variables.values())  # numpy when loaded


def test_decoded_values(written: tuple[str, Path]) -> None:
    _, path = written
    ds = xr.open_dataset(path, engine=ENGINE)
    ref = _dataset()
    np.testing.assert_array_equal(ds["temp"].values, ref["temp"].values)  # NaNs included
    np.testing.assert_array_equal(ds["count"].values, ref["count"].values)
    assert ds["scaled"].dtype == np.float64 and np.isnan(ds["scaled"].values[2])
    assert ds.attrs == ref.attrs
    assert set(ds.coords) == {"time", "y", "x", "lat"}


def test_lazy_outer_indexing(written: tuple[str, Path]) -> None:
    _, path = written
    ds = xr.open_dataset(path, engine=ENGINE)
    ref = _dataset()
    sel = {"time": [7, 0, 11, 3], "y": slice(1, 8, 3), "x": 4}
    np.testing.assert_array_equal(ds["temp"].isel(sel).values, ref["temp"].isel(sel).values)
    sel2 = {"time": slice(None, None, -2), "x": np.array([9, 2, 2])}
    np.testing.assert_array_equal(ds["precip"].isel(sel2).values, ref["precip"].isel(sel2).values)
    assert float(ds["level"]) == 850


def test_chunks_follow_the_disk(written: tuple[str, Path]) -> None:
    _, path = written
    ours = xr.open_dataset(path, engine=ENGINE, chunks={})
    theirs = xr.open_zarr(path, consolidated=False, chunks={})
    for name in ["temp", "precip", "count", "scaled"]:
        assert isinstance(ours[name].data, dask.array.Array)
        assert ours[name].chunks == theirs[name].chunks
    assert ours["temp"].chunks == ((4, 4, 4), (3, 3, 3), (5, 5))
    xr.testing.assert_identical(ours.compute(), theirs.compute())
    assert float(ours["temp"].mean().compute()) == pytest.approx(float(np.nanmean(_dataset()["temp"].values)), rel=1e-6)


@pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning")
def test_consolidated_and_groups(tmp_path: Path) -> None:
    ds = _dataset()
    for fmt in FORMATS:
        path = _write(ds, tmp_path / f"{fmt}.zarr", fmt, consolidated=True)
        xr.testing.assert_identical(xr.open_dataset(path, engine=ENGINE), xr.open_zarr(path, consolidated=True))
        sub = ds[["temp"]].assign_attrs(kind="sub")
        sub.to_zarr(path, group="inner/g", mode="w", zarr_format=FORMATS[fmt][0], consolidated=False)
        xr.testing.assert_identical(
            xr.open_dataset(path, engine=ENGINE, group="inner/g"),
            xr.open_zarr(path, group="inner/g", consolidated=False),
        )
        # the root's consolidated metadata predates the sub-group; listing the store does not care
        xr.testing.assert_identical(
            xr.open_dataset(path, engine=ENGINE, consolidated=False), xr.open_zarr(path, consolidated=False)
        )


def test_lsio_objects_open(written: tuple[str, Path]) -> None:
    _, path = written
    theirs = xr.open_zarr(path, consolidated=False)
    store = lsio.open(str(path))
    for obj in [store, lsio.zarr.open_group(str(path)), ZarrStore(store)]:
        assert LsioBackendEntrypoint().guess_can_open(obj)
        xr.testing.assert_identical(xr.open_dataset(obj, engine=ENGINE), theirs)  # type: ignore[arg-type]
    assert not LsioBackendEntrypoint().guess_can_open(str(path))  # .zarr paths stay with engine="zarr"


def test_memory_store(tmp_path: Path) -> None:
    # a dataset written by xarray through lsio.zarr.ZarrStore onto memory://, read by the lsio engine
    ds = _dataset()
    zstore = ZarrStore("memory://")
    ds.to_zarr(zstore, mode="w", zarr_format=3, consolidated=False)  # type: ignore[arg-type]
    xr.testing.assert_identical(
        xr.open_dataset(zstore.lsio_store, engine=ENGINE),
        xr.open_zarr(zstore, consolidated=False),  # type: ignore[arg-type]
    )


def test_missing_dimension_names_are_an_error(tmp_path: Path) -> None:
    lsio.zarr.create(str(tmp_path / "g"), shape=(3,), dtype="f4", path="a")
    lsio.zarr.create(str(tmp_path / "g"), shape=(), dtype="f4", path="s")  # 0-d: no names needed
    (tmp_path / "g" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    with pytest.raises(KeyError, match="dimension_names"):
        xr.open_dataset(tmp_path / "g", engine=ENGINE)


# ---- the entry point ----------------------------------------------------------------------------------------------


def test_entry_point_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    value = project["entry-points"]["xarray.backends"]["lsio"]
    module, _, attr = value.partition(":")
    assert getattr(importlib.import_module(module), attr) is LsioBackendEntrypoint


def test_entry_point_registered(tmp_path: Path) -> None:
    try:
        dist = distribution("lsio")
        installed = Path(str(dist.locate_file("lsio"))).resolve() == Path(lsio.__file__).resolve().parent
    except PackageNotFoundError:
        installed = False
    if not installed:
        if os.environ.get("LSIO_INSTALLED") == "1":
            pytest.fail(f"LSIO_INSTALLED=1 but the lsio imported ({lsio.__file__}) is not an installed distribution")
        pytest.skip("the lsio being tested is not the installed distribution (set LSIO_INSTALLED=1 to require it)")
    names = {ep.name: ep.value for ep in dist.entry_points if ep.group == "xarray.backends"}
    assert names.get("lsio") == "lsio.xarray_backend:LsioBackendEntrypoint", names
    assert "lsio" in xr.backends.list_engines()
    path = _write(_dataset(), tmp_path / "ds.zarr", "v3", consolidated=False)
    xr.testing.assert_identical(xr.open_dataset(path, engine="lsio"), xr.open_zarr(path, consolidated=False))
