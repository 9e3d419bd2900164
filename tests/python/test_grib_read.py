"""Index.read: every packing decoded on the store's workers, equal to ecCodes' own decode (NaN where missing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import grib_fixtures as gf
import lsio
import lsio.grib

# grid_jpeg: JPEG 2000 (Debian's ecCodes through libopenjp2); grid_png: PNG (libpng).
PACKINGS = ["grid_simple", "grid_complex", "grid_complex_spatial_differencing", "grid_ccsds", "grid_ieee",
            "grid_jpeg", "grid_png"]  # fmt: skip
NP = len(PACKINGS)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("grib-read")
    msgs = [gf.message("t", 500 + 10 * i, 0, packing=p, seed=i) for i, p in enumerate(PACKINGS)]
    missing = np.zeros((181, 360), bool)
    missing[20:60, 100:200] = True
    missing[::7, ::5] = True
    msgs.append(gf.message("u", 850, 6, packing="grid_simple", seed=9, missing=missing))
    msgs.append(gf.message("v", 850, 6, packing="grid_ccsds", seed=10, missing=missing))
    msgs.append(gf.message("gh", 850, 6, packing="grid_jpeg", seed=11, missing=missing))  # (ecCodes cannot PNG-pack one)
    return gf.write(d / "mixed.grib2", msgs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_equal_eccodes(mixed: str, dtype: type) -> None:
    idx = lsio.grib.index(mixed)
    assert [r.packingType for r in idx][:NP] == PACKINGS
    assert [r.bitmapPresent for r in idx] == [0] * NP + [1, 1, 1]
    got = idx.read(dtype=dtype)
    assert got.shape == (NP + 3, 181, 360) and got.dtype == dtype
    ref = gf.decode(mixed)
    for i, r in enumerate(ref):
        np.testing.assert_array_equal(got[i].reshape(-1), r.astype(dtype))
    for i in range(NP, NP + 3):
        assert np.isnan(got[i]).sum() == np.isnan(ref[i]).sum() > 0


def test_selection_and_out(mixed: str) -> None:
    idx = lsio.grib.index(mixed)
    ref = gf.decode(mixed)
    out = np.empty((2, 181, 360), np.float64)
    got = idx.read([4, idx[1]], dtype=np.float64, out=out)
    assert got is out
    np.testing.assert_array_equal(out[0].reshape(-1), ref[4])
    np.testing.assert_array_equal(out[1].reshape(-1), ref[1])
    with pytest.raises(TypeError):
        idx.read(dtype=np.int32)


def test_many_files_one_batch(tmp_path: Path) -> None:
    paths = [gf.write(tmp_path / f"f{i}.grib2", [gf.message("t", 850, i, nj=19, ni=36, seed=i)]) for i in range(40)]
    idx = lsio.grib.index(paths)
    assert len(idx) == 40
    got = idx.read(dtype=np.float64)
    for i, p in enumerate(paths):
        np.testing.assert_array_equal(got[i].reshape(-1), gf.decode(p)[0])


def test_file_changed_after_index(tmp_path: Path) -> None:
    p = gf.write(tmp_path / "x.grib2", [gf.message(nj=19, ni=36)] * 2)
    idx = lsio.grib.index(p)
    Path(p).write_bytes(b"\0" * Path(p).stat().st_size)
    with pytest.raises(lsio.DataLossError, match=r"x.grib2: offset 0: no GRIB message here"):
        idx.read()


def test_multi_field_messages(tmp_path: Path) -> None:
    """Sections 4-7 repeated: every field indexed and decoded (kerchunk's scan_grib keeps only the first)."""
    u = gf.message("u", 850, 0, seed=1)
    v = gf.message("v", 850, 0, seed=2)
    missing = np.zeros((181, 360), bool)
    missing[:30] = True
    t = gf.message("t", 850, 0, seed=3, missing=missing, packing="grid_ccsds")
    multi = gf.multi_field(u, v, t)
    p = gf.write(tmp_path / "multi.grib2", [gf.message("gh", 500, 0, seed=4), multi])
    for probe in (65536, 256):  # the multi-field message is larger than the probe either way: read whole
        idx = lsio.grib.index(p, probe_bytes=probe)
        assert [(r.shortName, r.field, r.fields) for r in idx] == [("gh", 0, 0), ("u", 0, 3), ("v", 1, 3),
                                                                     ("t", 2, 3)]  # fmt: skip
        assert len({r.offset for r in idx[1:]}) == 1
        got = idx.read(dtype=np.float64)
        for i, m in enumerate([u, v, t]):
            ref = gf.write(tmp_path / f"ref{i}.grib2", [m])
            np.testing.assert_array_equal(got[1 + i].reshape(-1), gf.decode(ref)[0])
    assert np.isnan(got[3]).sum() == missing.sum()
    # ecCodes' own multi-field mode finds the same fields and values.
    import eccodes

    eccodes.codes_grib_multi_support_on()
    try:
        with open(p, "rb") as f:
            names, values = [], []
            while (h := eccodes.codes_grib_new_from_file(f)) is not None:
                names.append(eccodes.codes_get(h, "shortName"))
                values.append(eccodes.codes_get_values(h))
                eccodes.codes_release(h)
    finally:
        eccodes.codes_grib_multi_support_off()
    assert names == ["gh", "u", "v", "t"]
    for i in range(3):
        np.testing.assert_array_equal(got[i], values[i].reshape(181, 360))
    ds = lsio.grib.open_dataset(idx)
    assert set(ds.data_vars) == {"gh", "u", "v", "t"}
