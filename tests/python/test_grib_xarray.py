"""lsio.grib.open_dataset and xarray.open_dataset(engine="lsio") on GRIB2, compared with cfgrib."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import grib_fixtures as gf
import lsio
import lsio.grib
from lsio.xarray_backend import LsioBackendEntrypoint

# engine="lsio" when the package is installed (entry point); the class itself in the scratch test setup.
ENGINE = "lsio" if "lsio" in xr.backends.list_engines() else LsioBackendEntrypoint


def cfgrib(path: str) -> xr.Dataset:
    return xr.open_dataset(path, engine="cfgrib", indexpath="")


def assert_like_cfgrib(ours: xr.Dataset, ref: xr.Dataset) -> None:
    assert set(ours.data_vars) == set(ref.data_vars)
    assert set(ours.coords) == set(ref.coords), (set(ours.coords), set(ref.coords))
    for name in ours.coords:
        assert ours[name].dims == ref[name].dims, name
        assert ours[name].dtype == ref[name].dtype, name
        np.testing.assert_allclose(ours[name].values.astype(float) if ours[name].dtype.kind == "f" else 0,
                                   ref[name].values.astype(float) if ref[name].dtype.kind == "f" else 0)  # fmt: skip
        if ours[name].dtype.kind in "mMi":
            np.testing.assert_array_equal(ours[name].values, ref[name].values)
    for name in ours.data_vars:
        assert ours[name].dims == ref[name].dims, name
        assert ours[name].dtype == ref[name].dtype, name
        np.testing.assert_array_equal(ours[name].values, ref[name].values)  # NaN-aware


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("grib-xr")
    return gf.write(d / "cube.grib2", gf.cube(("t", "u"), (500, 850, 1000), (0, 6), nj=91, ni=180))


def test_cube_like_cfgrib(cube: str) -> None:
    ours = lsio.grib.open_dataset(cube)
    assert_like_cfgrib(ours, cfgrib(cube))
    assert ours["t"].dims == ("step", "isobaricInhPa", "latitude", "longitude")


def test_lazy_selection(cube: str) -> None:
    ours = lsio.grib.open_dataset(cube)
    ref = cfgrib(cube)
    a = ours["t"].sel(isobaricInhPa=850).isel(latitude=slice(10, 20), longitude=[1, 5, 7])
    b = ref["t"].sel(isobaricInhPa=850).isel(latitude=slice(10, 20), longitude=[1, 5, 7])
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(ours["u"][1, 2, 3, 4].values, ref["u"][1, 2, 3, 4].values)


def test_xarray_example_grib() -> None:
    if gf.XARRAY_EXAMPLE is None:
        pytest.skip("xarray's example.grib is not installed")
    ours = lsio.grib.open_dataset(gf.XARRAY_EXAMPLE)
    assert_like_cfgrib(ours, cfgrib(gf.XARRAY_EXAMPLE))
    assert ours["z"].dims == ("number", "time", "isobaricInhPa", "latitude", "longitude")


def test_bitmap_like_cfgrib(tmp_path: Path) -> None:
    missing = np.zeros((181, 360), bool)
    missing[40:90, 10:300] = True
    p = gf.write(tmp_path / "bm.grib2", [gf.message("t", 850, 0, missing=missing, packing="grid_ccsds")])
    ours = lsio.grib.open_dataset(p)
    assert_like_cfgrib(ours, cfgrib(p))
    assert int(np.isnan(ours["t"].values).sum()) == int(missing.sum())


@pytest.mark.parametrize("packing", ["grid_jpeg", "grid_png"])
def test_jpeg_png_like_cfgrib(tmp_path: Path, packing: str) -> None:
    """JPEG 2000 and PNG packed cubes: the same dataset as cfgrib's, values equal to ecCodes' decode."""
    p = gf.write(tmp_path / f"{packing}.grib2", gf.cube(("t", "u"), (500, 850), (0, 6), packing=packing, nj=46, ni=90))
    ours = lsio.grib.open_dataset(p)
    assert {r.packingType for r in lsio.grib.index(p)} == {packing}
    assert_like_cfgrib(ours, cfgrib(p))


def test_engine_lsio(cube: str) -> None:
    ours = xr.open_dataset(cube, engine=ENGINE)
    assert_like_cfgrib(ours, cfgrib(cube))
    assert "t" not in xr.open_dataset(cube, engine=ENGINE, drop_variables=["t"]).data_vars
    assert LsioBackendEntrypoint().guess_can_open(cube)
    assert LsioBackendEntrypoint().guess_can_open(lsio.grib.index(cube))


@pytest.mark.parametrize("sharded", [False, True])
def test_to_zarr(cube: str, tmp_path: Path, sharded: bool) -> None:
    out = tmp_path / "cube.zarr"
    idx = lsio.grib.index(cube)
    if sharded:
        lsio.grib.to_zarr(idx, out, chunks={"isobaricInhPa": 1, "latitude": 50, "longitude": 90},
                          shards={"step": 1, "isobaricInhPa": 3},
                          compressors=[{"name": "zstd", "configuration": {"level": 3}}])  # fmt: skip
    else:
        lsio.grib.to_zarr(cube, out)
    ref = lsio.grib.open_dataset(idx)
    z = xr.open_zarr(out, consolidated=False)
    assert set(z.data_vars) == set(ref.data_vars)
    assert set(z.coords) == set(ref.coords)
    for name in ref.variables:
        assert z[name].dims == ref[name].dims, name
        np.testing.assert_array_equal(z[name].values, ref[name].values)
    a = __import__("lsio.zarr").zarr.open_array(str(out), "t", mode="r")
    if sharded:
        assert a.shards == (1, 3, 100, 180) and a.chunks == (1, 1, 50, 90)
    np.testing.assert_array_equal(a[...], ref["t"].values)
