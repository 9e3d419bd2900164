"""lsio.ml multi-source alignment: different time steps, coordinates from groups, projections, skip vs pad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lsio.ml
from ml_util import dataset



def make(tmp: Path, nwp_hours: int = 10) -> dict[str, lsio.zarr.Group]:
    rng = np.random.default_rng(0)
    sat_t = 5 * np.arange(96, dtype=np.int64)  # 8 hours of 5-minute images, CF "minutes since"
    minutes = {"time": {"units": "minutes since 2024-06-01T00:00"}}
    sat = dataset(tmp, "sat.zarr", rng.integers(0, 1000, (96, 2, 16, 20)).astype(np.uint16),
                  ("time", "channel", "y", "x"),
                  {"time": sat_t, "y": 100.0 + 2.0 * np.arange(16), "x": 500.0 + 2.0 * np.arange(20)},
                  chunks=(8, 2, 4, 4), shards=(16, 2, 8, 20), coord_attrs=minutes)
    # hourly NWP on a coarser grid in kilometres / 10 (the "projection"), time as CF "hours since" integers
    nwp = dataset(tmp, "nwp.zarr", rng.standard_normal((nwp_hours, 3, 10, 12)).astype(np.float32),
                  ("time", "variable", "y", "x"),
                  {"time": np.arange(nwp_hours, dtype=np.int64), "y": 9.05 + 0.4 * np.arange(10),
                   "x": 49.05 + 0.4 * np.arange(12)},
                  chunks=(2, 3, 5, 4), shards=(nwp_hours, 3, 10, 12), fill_value=np.nan,
                  coord_attrs={"time": {"units": "hours since 2024-06-01 00:00:00"}})
    pv = dataset(tmp, "pv.zarr", rng.random((96, 7)).astype(np.float32), ("time", "system"), {"time": sat_t},
                 chunks=(16, 7), shards=(48, 7), coord_attrs=minutes)
    return {"sat": sat, "nwp": nwp, "pv": pv}


def to_km10(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"y": c["y"] / 10.0, "x": c["x"] / 10.0}


def test_alignment_nearest_hour_projection_and_uniform_extra_dim(tmp_path: Path) -> None:
    g = make(tmp_path)
    calls = []

    def project(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        calls.append(len(c["x"]))
        return to_km10(c)

    loader = lsio.ml.RandomCrops(
        g, {"sat": {"time": 6, "y": 8, "x": 8}, "nwp": {"time": 2, "y": 4, "x": 4}, "pv": {"time": 12, "system": 1}},
        batch_size=16, samples_per_epoch=200, project={"nwp": project}, seed=2)
    sat_t = g["sat"]["time"][...]
    nwp = g["nwp"]["data"][...]
    pv = g["pv"]["data"][...]
    systems = set()
    for b in loader:
        for k in range(len(b["index"])):
            st, sn, sp = b["sat/start"][k], b["nwp/start"][k], b["pv/start"][k]
            centre_t = sat_t[st[0] + 3]
            centre_y, centre_x = 100.0 + 2.0 * (st[2] + 4), 500.0 + 2.0 * (st[3] + 4)
            hours = centre_t / 60.0
            assert sn[0] + 1 == int(np.ceil(hours - 0.5))  # nearest hour (ties: earlier), crop centred on it
            assert sn[2] + 2 == int(np.floor((centre_y / 10.0 - 9.05) / 0.4 + 0.5))
            assert sn[3] + 2 == int(np.floor((centre_x / 10.0 - 49.05) / 0.4 + 0.5))
            assert sp[0] == st[0] + 3 - 6  # same time axis: centre index shared
            systems.add(int(sp[1]))
            np.testing.assert_array_equal(b["nwp"][k], nwp[sn[0]:sn[0] + 2, :, sn[2]:sn[2] + 4, sn[3]:sn[3] + 4])
            np.testing.assert_array_equal(b["pv"][k], pv[sp[0]:sp[0] + 12, sp[1]:sp[1] + 1])
            assert (sp >= 0).all() and sp[0] + 12 <= 96  # skip: every crop inside
    assert systems == set(range(7))
    assert calls and all(n >= 1 for n in calls)


def test_previous_method(tmp_path: Path) -> None:
    g = make(tmp_path)
    loader = lsio.ml.RandomCrops(g, {"sat": {"time": 1}, "nwp": {"time": 1}}, batch_size=50, samples_per_epoch=100,
                                 method={"nwp": "previous"}, project={"nwp": lambda c: {}})
    sat_t = g["sat"]["time"][...]
    for b in loader:
        hours = sat_t[b["sat/start"][:, 0]] / 60.0
        np.testing.assert_array_equal(b["nwp/start"][:, 0], np.floor(hours).astype(int))


def test_skip_and_pad(tmp_path: Path) -> None:
    g = make(tmp_path, nwp_hours=4)  # NWP covers only the first 4 of the 8 hours
    crop = {"sat": {"time": 1, "y": 8, "x": 8}, "nwp": {"time": 1, "y": 4, "x": 4}}
    skip = lsio.ml.RandomCrops(g, crop, batch_size=32, samples_per_epoch=96, project={"nwp": to_km10})
    st = np.concatenate([b["nwp/start"] for b in skip])
    assert len(st) == 96 and (st[:, 0] >= 0).all() and (st[:, 0] < 4).all()
    pad = lsio.ml.RandomCrops(g, crop, batch_size=32, samples_per_epoch=96, project={"nwp": to_km10},
                              outside="pad")
    batches = list(pad)
    st = np.concatenate([b["nwp/start"] for b in batches])
    data = np.concatenate([b["nwp"] for b in batches])
    out = st[:, 0] >= 4
    assert out.any() and (~out).any()
    assert np.isnan(data[out]).all() and not np.isnan(data[~out]).any()
    assert st[:, 0].max() >= 5  # extrapolated with the hourly step, not clamped
    far = lsio.ml.RandomCrops(g, {"sat": {"time": 1}, "nwp": {"time": 1}}, batch_size=4,
                              project={"nwp": lambda c: {"time": c["time"] + 1e18}})
    with pytest.raises(ValueError, match="outside='pad'"):
        next(iter(far))


def test_source_coords_and_errors(tmp_path: Path) -> None:
    g = make(tmp_path)
    s = lsio.ml.Source(g["nwp"])
    assert s.dims == ("time", "variable", "y", "x") and set(s.coords) == {"time", "y", "x"}
    assert s.coords["time"][1] - s.coords["time"][0] == 3600e9
    arr = lsio.ml.Source(g["sat"]["data"])  # an array finds its coordinates next to it
    assert set(arr.coords) == {"time", "y", "x"}
    bare = lsio.ml.Source(g["sat"]["data"], find_coords=False)
    assert bare.coords == {}
    with pytest.raises(ValueError, match="has coordinates in source 'sat' but not in 'nwp'"):
        lsio.ml.RandomCrops({"sat": g["sat"], "nwp": lsio.ml.Source(g["nwp"]["data"], find_coords=False)},
                            {"sat": {"y": 4}, "nwp": {"y": 2}}, batch_size=2)
    with pytest.raises(ValueError, match="coords names dimension 'lat'"):
        lsio.ml.Source(g["sat"], coords={"lat": [1, 2]})
    with pytest.raises(ValueError, match="strictly monotonic"):
        lsio.ml.Source(g["pv"], coords={"system": [0, 1, 1, 2, 3, 4, 5]})


def test_nearest_index() -> None:
    c = np.array([0.0, 10.0, 20.0, 30.0])
    v = np.array([-16.0, -4.0, 0.0, 4.0, 5.0, 6.0, 29.0, 36.0, 44.0])
    assert lsio.ml.nearest_index(c, v).tolist() == [-2, 0, 0, 0, 0, 1, 3, 4, 4]
    assert lsio.ml.nearest_index(c, v, "previous").tolist() == [-2, -1, 0, 0, 0, 0, 2, 3, 4]
    assert lsio.ml.nearest_index(c[::-1], np.array([29.0, 1.0])).tolist() == [0, 3]
