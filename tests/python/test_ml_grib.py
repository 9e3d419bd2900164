"""lsio.ml.RandomCrops over GRIB (lsio.grib.open_dataset): crops equal the numpy array's and the Zarr copy's."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.utils.data
import xarray as xr

import grib_fixtures as gf
import lsio.grib
import lsio.ml
import lsio.zarr
from ml_util import dataset

CROP = {"step": 2, "latitude": 8, "longitude": 16}


@pytest.fixture(scope="module")
def grib(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("ml-grib")
    return gf.write(d / "nwp.grib2", gf.cube(("t", "u"), (500, 850, 1000), (0, 6, 12), nj=46, ni=90))


def crops_of(full: np.ndarray, starts: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
    return np.stack([full[tuple(slice(s, s + b) for s, b in zip(st, box))] for st in starts])


def test_crops_equal_numpy(grib: str) -> None:
    ds = lsio.grib.open_dataset(grib)
    loader = lsio.ml.RandomCrops({"nwp": ds}, {"nwp": CROP}, batch_size=5, samples_per_epoch=13, seed=3)
    src = loader.sources["nwp"].source
    assert isinstance(src, lsio.ml.GribSource)
    assert src.dims == ("variable", "step", "isobaricInhPa", "latitude", "longitude")
    full = np.stack([ds["t"].values, ds["u"].values])
    box = (2, 2, 3, 8, 16)
    n = 0
    for b in loader:
        assert b["nwp"].shape == (len(b["index"]), *box) and b["nwp"].dtype == np.float32
        np.testing.assert_array_equal(b["nwp"], crops_of(full, b["nwp/start"], box))
        n += len(b["index"])
    assert n == 13
    # Reproducible from the seed; bounded decode groups (one message per LSIO batch) give the same crops.
    again = lsio.ml.RandomCrops({"nwp": lsio.ml.GribSource(ds, max_bytes=1)}, {"nwp": CROP}, batch_size=5,
                                samples_per_epoch=13, seed=3)  # fmt: skip
    for x, y in zip(lsio.ml.RandomCrops({"nwp": ds}, {"nwp": CROP}, batch_size=5, samples_per_epoch=13, seed=3),
                    again):  # fmt: skip
        np.testing.assert_array_equal(x["nwp"], y["nwp"])


def test_crops_equal_zarr_conversion(grib: str, tmp_path: Path) -> None:
    idx = lsio.grib.index(grib)
    lsio.grib.to_zarr(idx, tmp_path / "nwp.zarr", chunks={"latitude": 16, "longitude": 32})
    ds = lsio.grib.open_dataset(idx)
    zsrc = lsio.ml.Source(lsio.zarr.open_group(str(tmp_path / "nwp.zarr"), mode="r"), variable="u")
    gsrc = lsio.ml.GribSource(ds, variables=["u"])
    assert zsrc.dims == gsrc.dims and zsrc.shape == gsrc.shape
    kw = dict(batch_size=4, samples_per_epoch=10, seed=7, normalize=(270.0, 10.0))
    z = list(lsio.ml.RandomCrops({"nwp": zsrc}, {"nwp": CROP}, **kw))  # type: ignore[arg-type]
    g = list(lsio.ml.RandomCrops({"nwp": gsrc}, {"nwp": CROP}, **kw))  # type: ignore[arg-type]
    assert len(z) == len(g) == 3
    for a, b in zip(z, g):
        np.testing.assert_array_equal(a["nwp/start"], b["nwp/start"])
        np.testing.assert_array_equal(a["nwp"], b["nwp"])


def test_multi_source_with_zarr(grib: str, tmp_path: Path) -> None:
    ds = lsio.grib.open_dataset(grib)
    lat, lon = ds["latitude"].values, ds["longitude"].values
    sat = np.random.default_rng(0).normal(size=(lat.size, lon.size)).astype(np.float32)
    g = dataset(tmp_path, "sat.zarr", sat, ("latitude", "longitude"), {"latitude": lat, "longitude": lon},
                chunks=(8, 8), shards=(16, 32))  # fmt: skip
    loader = lsio.ml.RandomCrops({"nwp": ds, "sat": g}, {"nwp": CROP, "sat": {"latitude": 4, "longitude": 4}},
                                 batch_size=4, samples_per_epoch=9, seed=1, normalize={"nwp": ([280.0, 0.0], 5.0)},
                                 channel_dim={"nwp": "variable"})  # fmt: skip
    full = np.stack([ds["t"].values, ds["u"].values]).astype(np.float64)
    full = (full - np.array([280.0, 0.0])[:, None, None, None, None]) / 5.0
    for b in loader:
        np.testing.assert_allclose(b["nwp"], crops_of(full, b["nwp/start"], (2, 2, 3, 8, 16)), rtol=1e-5)
        np.testing.assert_array_equal(b["sat"], crops_of(sat, b["sat/start"], (4, 4)))
        # Same grid: the sat crop is centred where the nwp crop is.
        np.testing.assert_array_equal(b["sat/start"] + 2, b["nwp/start"][:, 3:] + np.array([4, 8]))


def test_source_through_xarray_engine(grib: str) -> None:
    from lsio.xarray_backend import LsioBackendEntrypoint

    ds = xr.open_dataset(grib, engine=LsioBackendEntrypoint)  # xarray wraps the lazy arrays once more
    ours = list(lsio.ml.RandomCrops({"nwp": ds["t"]}, {"nwp": CROP}, batch_size=4, samples_per_epoch=6, seed=2))
    full = ds["t"].values
    for b in ours:
        np.testing.assert_array_equal(b["nwp"], crops_of(full, b["nwp/start"], (2, 3, 8, 16)))


def test_read_crops_pads_outside_with_nan(grib: str) -> None:
    ds = lsio.grib.open_dataset(grib)
    src = lsio.ml.GribSource(ds, variables=["t"])
    full = ds["t"].values
    padded = np.full((6, 6, 60, 112), np.nan, dtype=np.float32)
    padded[1:4, 1:4, 2:48, 3:93] = full
    starts = np.array([[-1, -1, -2, -3], [1, 0, 40, 80], [3, 3, 0, 0]], dtype=np.int64)  # last: wholly outside
    box = (2, 2, 8, 16)
    out = np.empty((3, *box), dtype=np.float32)
    src.array.read_crops(starts, box, out=out)
    np.testing.assert_array_equal(out, crops_of(padded, starts + np.array([1, 1, 2, 3]), box))
    assert np.isnan(out[2]).all()


def test_errors(grib: str) -> None:
    ds = lsio.grib.open_dataset(grib)
    with pytest.raises(ValueError, match="not a whole GRIB variable"):
        lsio.ml.GribSource(ds.isel(step=slice(0, 2)))
    with pytest.raises(ValueError, match="not data variables"):
        lsio.ml.GribSource(ds, variables=["nope"])
    with pytest.raises(ValueError, match="not data variables"):
        lsio.ml.GribSource(xr.Dataset())
    with pytest.raises(TypeError, match="xarray Dataset or DataArray"):
        lsio.ml.GribSource(np.zeros(3))  # type: ignore[arg-type]


def test_torch_dataloader_workers(grib: str) -> None:
    def make() -> lsio.ml.RandomCrops:
        return lsio.ml.RandomCrops({"nwp": lsio.grib.open_dataset(grib)}, {"nwp": CROP}, batch_size=3,
                                   samples_per_epoch=11, seed=5, to="torch")  # fmt: skip

    loader = make()
    copy = pickle.loads(pickle.dumps(loader))
    assert copy.sources["nwp"].source.array._store is None  # reopened lazily in the new process
    dl = torch.utils.data.DataLoader(lsio.ml.CropDataset(loader), batch_size=None, num_workers=2)
    got = list(dl)
    single = list(make())
    assert len(got) == len(single) == 4
    for x, y in zip(got, single):
        np.testing.assert_array_equal(x["index"].numpy(), y["index"].numpy())
        np.testing.assert_array_equal(x["nwp"].numpy(), y["nwp"].numpy())
