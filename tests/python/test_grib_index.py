"""lsio.grib.index: keys without decoding, portable JSON, and clear errors on bad input (file and offset)."""

from __future__ import annotations

import shutil
from pathlib import Path

import eccodes
import numpy as np
import pytest

import grib_fixtures as gf
import lsio
import lsio.grib


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("grib")
    a = gf.write(d / "a.grib2", gf.cube(("t", "u"), (500, 850), (0, 6)))
    (d / "sub").mkdir()
    b = gf.write(d / "sub" / "b.grib2", gf.cube(("t",), (1000,), (12,), "grid_ccsds"))
    return [a, b]


def ecc_keys(path: str) -> list[dict[str, object]]:
    out = []
    with open(path, "rb") as f:
        while (h := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                out.append({k: eccodes.codes_get(h, k) for k in ("shortName", "typeOfLevel", "level", "dataDate",
                            "dataTime", "step", "Ni", "Nj", "packingType", "numberOfDataPoints", "bitmapPresent",
                            "validityDate", "validityTime")})  # fmt: skip
                out[-1]["offset"] = eccodes.codes_get(h, "offset")
                out[-1]["totalLength"] = eccodes.codes_get(h, "totalLength")
            finally:
                eccodes.codes_release(h)
    return out


def test_keys_match_eccodes(files: list[str]) -> None:
    idx = lsio.grib.index(files)
    assert len(idx) == 8 + 1
    expected = ecc_keys(files[0]) + ecc_keys(files[1])
    for r, e in zip(idx, expected):
        assert (r.shortName, r.typeOfLevel, r.level, r.dataDate, r.dataTime, r.step) == (
            e["shortName"], e["typeOfLevel"], e["level"], e["dataDate"], e["dataTime"], e["step"])  # fmt: skip
        assert (r.Ni, r.Nj, r.packingType, r.numberOfPoints, r.bitmapPresent) == (
            e["Ni"], e["Nj"], e["packingType"], e["numberOfDataPoints"], e["bitmapPresent"])  # fmt: skip
        assert (r.offset, r.length, r.validityDate, r.validityTime) == (
            e["offset"], e["totalLength"], e["validityDate"], e["validityTime"])  # fmt: skip
    assert [r.path for r in idx][-1] == "sub/b.grib2"
    assert idx.root == str(Path(files[0]).parent)
    # Headers only (small probe): the same records.
    small = lsio.grib.index(files, probe_bytes=512)
    assert [(r.offset, r.shortName, r.level, r.packingType) for r in small] == [
        (r.offset, r.shortName, r.level, r.packingType) for r in idx]  # fmt: skip


def test_json_survives_moving_the_files(files: list[str], tmp_path: Path) -> None:
    idx = lsio.grib.index(files)
    src = Path(files[0]).parent
    dst = tmp_path / "moved"
    idx.to_json(src / "idx.json")  # beside the data: paths relative to the JSON file's directory
    shutil.copytree(src, dst)
    (src / "idx.json").unlink()
    again = lsio.grib.Index.from_json(dst / "idx.json")
    assert again.records == idx.records
    assert again.root == str(dst)
    assert np.array_equal(again.read(), idx.read())
    # An explicit root, and the JSON kept elsewhere.
    idx.to_json(tmp_path / "elsewhere.json", root=str(src))
    other = lsio.grib.Index.from_json(tmp_path / "elsewhere.json", root=str(dst))
    assert other.records == idx.records and other.root == str(dst)


def test_select(files: list[str]) -> None:
    idx = lsio.grib.index(files)
    sel = idx.select(shortName="t", level=[500, 1000])
    assert [(r.shortName, r.level) for r in sel] == [("t", 500), ("t", 500), ("t", 1000)]
    assert idx.to_records()[0]["shortName"] == "t"


def _msg() -> bytes:
    return gf.message(nj=19, ni=36, seed=3)


def test_bad_input(tmp_path: Path) -> None:
    m = _msg()
    (tmp_path / "trunc.grib2").write_bytes(m + m[: len(m) // 2])
    wrong = bytearray(m + m)
    wrong[len(m) + 15] -= 8
    (tmp_path / "wrong.grib2").write_bytes(bytes(wrong))
    (tmp_path / "garbage.grib2").write_bytes(m + b"x" * 100 + m)
    (tmp_path / "text.grib2").write_bytes(b"hello, this is not GRIB\n" * 10)
    with pytest.raises(lsio.DataLossError, match=rf"trunc.grib2: offset {len(m)}: truncated message"):
        lsio.grib.index(tmp_path / "trunc.grib2")
    with pytest.raises(lsio.DataLossError, match=rf"wrong.grib2: offset {len(m)}: wrong length in section 0"):
        lsio.grib.index(tmp_path / "wrong.grib2")
    with pytest.warns(lsio.grib.GribWarning, match=rf"garbage.grib2: offset {len(m)}: skipped 100 bytes"):
        idx = lsio.grib.index(tmp_path / "garbage.grib2")
    assert [r.offset for r in idx] == [0, len(m) + 100]
    assert np.array_equal(idx.read()[0], idx.read()[1])
    with pytest.raises(lsio.DataLossError, match=rf"garbage.grib2: offset {len(m)}: bytes that are not a GRIB"):
        lsio.grib.index(tmp_path / "garbage.grib2", skip_garbage=False)
    with pytest.raises(lsio.DataLossError, match=r"text.grib2: offset 0: not a GRIB file"):
        lsio.grib.index(tmp_path / "text.grib2")
    with pytest.raises(FileNotFoundError, match=r"missing.grib2"):
        lsio.grib.index(tmp_path / "missing.grib2")


def test_memory_store() -> None:
    s = lsio.open("memory://")
    m = _msg()
    s.put("x/a.grib2", m + m)
    idx = lsio.grib.index(["x/a.grib2"], store=s)
    assert len(idx) == 2 and idx.root is None
    assert idx.read().shape == (2, 19, 36)


def test_validity_across_days(tmp_path: Path) -> None:
    p = gf.write(tmp_path / "v.grib2", [gf.message(step=30, date=20241231, time=1800, nj=19, ni=36),
                                        gf.message(step=24 * 60, date=20240228, time=600, nj=19, ni=36)])  # fmt: skip
    idx = lsio.grib.index(p)
    e = ecc_keys(p)
    assert [(r.validityDate, r.validityTime) for r in idx] == [(20250102, 0), (20240428, 600)]
    assert [(r.validityDate, r.validityTime) for r in idx] == [(x["validityDate"], x["validityTime"]) for x in e]


def test_cli(files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lsio.cli import main

    out = tmp_path / "idx.json"
    assert main(["grib", "index", *files, "-o", str(out), "--root", str(Path(files[0]).parent)]) == 0
    assert "9 messages in 2 files" in capsys.readouterr().out
    assert lsio.grib.Index.from_json(out).records == lsio.grib.index(files).records
    assert main(["grib", "index", str(tmp_path / "nope.grib2"), "-o", str(out)]) == 1
    assert "nope.grib2" in capsys.readouterr().err
    z = tmp_path / "c.zarr"
    assert main(["grib2zarr", files[1], "-o", str(z), "--zstd", "3"]) == 0
    from lsio import zarr as lz

    assert lz.open_array(str(z), "t", mode="r").shape == (181, 360)
