"""Grids other than regular lat/lon: lsio.grib.open_dataset gives cfgrib's dimensions and coordinates.

Regular Gaussian: latitude/longitude dimensions (the Gaussian latitudes); reduced Gaussian: one "values" dimension
with 1-D latitude/longitude; rotated lat/lon, polar stereographic and Lambert: y/x with 2-D latitude/longitude;
spherical harmonics (no coordinates in ecCodes): "values" without latitude/longitude. All compared with cfgrib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import grib_fixtures as gf
import lsio
import lsio.grib
from test_grib_xarray import assert_like_cfgrib, cfgrib

EXPECTED_DIMS = {
    "regular_gg": ("step", "isobaricInhPa", "latitude", "longitude"),
    "reduced_gg": ("step", "isobaricInhPa", "values"),
    "rotated_ll": ("step", "isobaricInhPa", "y", "x"),
    "polar_stereographic": ("step", "isobaricInhPa", "y", "x"),
    "lambert": ("step", "isobaricInhPa", "y", "x"),
    "sh": ("step", "isobaricInhPa", "values"),
}


def grid_file(d: Path, grid: str) -> str:
    msgs = [gf.grid_message(grid, s, lv, st, seed=i) for i, (s, st, lv) in
            enumerate((s, st, lv) for s in ("t", "u") for st in (0, 6) for lv in (500, 850))]  # fmt: skip
    return gf.write(d / f"{grid}.grib2", msgs)


@pytest.mark.parametrize("grid", sorted(EXPECTED_DIMS))
def test_grid_like_cfgrib(tmp_path: Path, grid: str) -> None:
    p = grid_file(tmp_path, grid)
    if grid == "sh":
        with pytest.warns(lsio.grib.GribWarning, match=r"sh\.grib2: offset 0: .*gridType=sh"):
            ours = lsio.grib.open_dataset(p)
    else:
        ours = lsio.grib.open_dataset(p)
    ref = cfgrib(p)
    assert ours["t"].dims == EXPECTED_DIMS[grid]
    assert_like_cfgrib(ours, ref)
    for c in ("latitude", "longitude"):
        assert (c in ours.coords) == (grid != "sh")
    # A lazy selection reads only what it needs, and agrees with cfgrib's.
    spatial = ours["t"].dims[2:]
    sel = {spatial[0]: slice(3, 9)}
    np.testing.assert_array_equal(ours["u"].isel(step=1, isobaricInhPa=0, **sel).values,
                                  ref["u"].isel(step=1, isobaricInhPa=0, **sel).values)  # fmt: skip


def test_gaussian_latitudes_are_ecCodes(tmp_path: Path) -> None:
    p = grid_file(tmp_path, "regular_gg")
    lat = lsio.grib.open_dataset(p)["latitude"].values
    assert lat.size == 64 and lat[0] == pytest.approx(87.8637988)  # N32 Gaussian, not equally spaced
    assert not np.allclose(np.diff(lat), np.diff(lat)[0])


def test_coordinates_once_per_distinct_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two variables x two levels on one rotated grid: ecCodes computes the coordinates from one message."""
    p = grid_file(tmp_path, "rotated_ll")
    calls: list[int] = []
    real = lsio._lsio.grib_coordinates

    def counting(store, paths, *args, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(paths))
        return real(store, paths, *args, **kw)

    monkeypatch.setattr(lsio._lsio, "grib_coordinates", counting)
    ours = lsio.grib.open_dataset(p)
    assert calls == [1]
    assert ours["t"].dims == ("step", "isobaricInhPa", "y", "x")
    xr.testing.assert_allclose(ours.latitude, cfgrib(p).latitude)


@pytest.mark.parametrize("grid", ["rotated_ll", "reduced_gg"])
def test_to_zarr_keeps_the_geometry(tmp_path: Path, grid: str) -> None:
    p = grid_file(tmp_path, grid)
    lsio.grib.to_zarr(p, tmp_path / "out.zarr")
    ref = lsio.grib.open_dataset(p)
    z = xr.open_zarr(tmp_path / "out.zarr", consolidated=False)
    for name in ref.variables:
        assert z[name].dims == ref[name].dims, name
        np.testing.assert_array_equal(z[name].values, ref[name].values)
