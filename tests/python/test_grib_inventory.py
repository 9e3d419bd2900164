"""lsio.grib.index with the inventories beside the files (NOAA wgrib2 FILE.idx, ECMWF .index): the same index as
a walk, the walk really skipped, and stale or corrupt inventories refused ("require") or warned about and walked
("auto"), naming the inventory, the line and the offset."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import grib_fixtures as gf
import lsio
import lsio.grib


def _messages() -> list[bytes]:
    msgs = gf.cube(("t", "u"), (500, 850), (0, 6), nj=19, ni=36)
    msgs.insert(3, gf.multi_field(gf.message("u", 700, 0, nj=19, ni=36, seed=40),
                                  gf.message("v", 700, 0, nj=19, ni=36, seed=41)))  # fmt: skip
    msgs.append(gf.message("v", 850, 0, nj=19, ni=36, packing="grid_ccsds", seed=42))
    return msgs


def _offsets(msgs: list[bytes], gaps: int = 0) -> list[int]:
    out, at = [], 0
    for m in msgs:
        out.append(at)
        at += len(m) + gaps
    return out


def _write(tmp_path: Path, name: str, msgs: list[bytes], gap: bytes = b"") -> str:
    p = tmp_path / name
    p.write_bytes(gap.join(msgs))
    return str(p)


def _same(a: lsio.grib.Index, b: lsio.grib.Index) -> None:
    assert a.to_records() == b.to_records()


def test_wgrib2_idx_equals_walk(tmp_path: Path) -> None:
    msgs = _messages()
    p = _write(tmp_path, "gfs.f000", msgs)
    Path(p + ".idx").write_text(gf.wgrib2_idx(msgs, _offsets(msgs)))
    walked = lsio.grib.index(p, inventories="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inv = lsio.grib.index(p, inventories="require")
    assert len(inv) == len(msgs) + 1  # the multi-field message has two fields
    _same(inv, walked)
    np.testing.assert_array_equal(inv.read(), walked.read())


def test_ecmwf_index_equals_walk(tmp_path: Path) -> None:
    """ECMWF open data names the index after the stem: x.grib2 -> x.index; and FILE.index works too."""
    msgs = _messages()
    a = _write(tmp_path, "20240101000000-0h-oper-fc.grib2", msgs)
    Path(tmp_path / "20240101000000-0h-oper-fc.index").write_text(gf.ecmwf_index(msgs, _offsets(msgs)))
    b = _write(tmp_path, "b.grib2", msgs[:3])
    Path(b + ".index").write_text(gf.ecmwf_index(msgs[:3], _offsets(msgs[:3])))
    c = _write(tmp_path, "c.grib2", msgs[3:])  # no inventory: walked in auto mode
    walked = lsio.grib.index([a, b, c], inventories="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = lsio.grib.index([a, b, c])
    _same(got, walked)
    with pytest.raises(lsio.grib.GribInventoryError, match=r"c\.grib2: no inventory \(looked for .*c\.grib2\.idx"):
        lsio.grib.index([a, b, c], inventories="require")


def test_walk_is_skipped(tmp_path: Path) -> None:
    """Garbage between the messages: a walk refuses it (skip_garbage=False); with an ECMWF index (explicit
    lengths) those bytes are never read, so the index succeeds, equal to a tolerant walk."""
    msgs = _messages()
    gap = b"\0" * 100
    p = _write(tmp_path, "g.grib2", msgs, gap)
    Path(tmp_path / "g.index").write_text(gf.ecmwf_index(msgs, _offsets(msgs, len(gap))))
    with pytest.raises(lsio.DataLossError, match="not a GRIB message"):
        lsio.grib.index(p, inventories="ignore", skip_garbage=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = lsio.grib.index(p, inventories="require", skip_garbage=False)
    with pytest.warns(lsio.grib.GribWarning, match="skipped 100 bytes"):
        walked = lsio.grib.index(p, inventories="ignore")
    _same(got, walked)


def test_stale_wgrib2_idx(tmp_path: Path) -> None:
    msgs = _messages()
    p = _write(tmp_path, "x.grib2", msgs)
    offsets = _offsets(msgs)
    bad = list(offsets)
    bad[2] += 8  # line 3 points into a message
    Path(p + ".idx").write_text(gf.wgrib2_idx(msgs, bad))
    with pytest.raises(lsio.grib.GribInventoryError,
                       match=rf"x\.grib2\.idx: line 2: .*offset {offsets[1]}: section 0 gives a length of "
                             rf"{len(msgs[1])} bytes, the inventory {len(msgs[1]) + 8}"):  # fmt: skip
        lsio.grib.index(p, inventories="require")
    walked = lsio.grib.index(p, inventories="ignore")
    with pytest.warns(lsio.grib.GribWarning, match=r"x\.grib2\.idx: line 2: .*walking its messages instead"):
        got = lsio.grib.index(p)
    _same(got, walked)


def test_file_changed_after_inventory(tmp_path: Path) -> None:
    """A message appended after the inventory was written: the size no longer matches (both kinds)."""
    msgs = _messages()
    p = _write(tmp_path, "y.grib2", [*msgs, msgs[0]])
    Path(p + ".index").write_text(gf.ecmwf_index(msgs, _offsets(msgs)))
    end = sum(len(m) for m in msgs)
    with pytest.raises(lsio.grib.GribInventoryError,
                       match=rf"y\.grib2\.index: line {len(msgs)}: offset {end - len(msgs[-1])}: the inventory's "
                             rf"messages end at byte {end}, the file has {end + len(msgs[0])} bytes"):  # fmt: skip
        lsio.grib.index(p, inventories="require")
    Path(p + ".index").unlink()
    Path(p + ".idx").write_text(gf.wgrib2_idx(msgs, _offsets(msgs)))
    lines = gf.wgrib2_idx(msgs, _offsets(msgs)).count("\n")
    with pytest.raises(lsio.grib.GribInventoryError,
                       match=rf"y\.grib2\.idx: line {lines}: .*offset {end - len(msgs[-1])}: section 0 gives"):
        lsio.grib.index(p, inventories="require")
    # Shrunk: the inventory's third message starts at the end.
    Path(p).write_bytes(b"".join(msgs[:2]))
    with pytest.raises(lsio.grib.GribInventoryError,
                       match=rf"y\.grib2\.idx: line 3: offset {len(msgs[0]) + len(msgs[1])}: the file has only"):
        lsio.grib.index(p, inventories="require")


def test_not_an_inventory(tmp_path: Path) -> None:
    msgs = _messages()[:2]
    p = _write(tmp_path, "z.grib2", msgs)
    Path(p + ".idx").write_text("1:0:d=2024010100:TMP:850 mb:anl:\nthis is not an inventory\n")
    with pytest.raises(lsio.grib.GribInventoryError, match=r"z\.grib2\.idx: line 2: not a wgrib2 inventory line"):
        lsio.grib.index(p, inventories="require")
    with pytest.warns(lsio.grib.GribWarning, match=r"z\.grib2\.idx: line 2"):
        got = lsio.grib.index(p)
    _same(got, lsio.grib.index(p, inventories="ignore"))
    Path(p + ".idx").unlink()
    Path(p + ".index").write_text('{"_offset": 0}\n')
    with pytest.raises(lsio.grib.GribInventoryError, match=r"z\.grib2\.index: line 1: .*integer _offset and _length"):
        lsio.grib.index(p, inventories="require")
    Path(p + ".index").write_bytes(b"\x80\x81")
    with pytest.raises(lsio.grib.GribInventoryError, match=r"z\.grib2\.index: not a text file"):
        lsio.grib.index(p, inventories="require")
    with pytest.raises(ValueError, match="inventories must be"):
        lsio.grib.index(p, inventories="sometimes")  # type: ignore[arg-type]


def test_cli_inventories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lsio.cli import main

    msgs = _messages()[:3]
    p = _write(tmp_path, "w.grib2", msgs)
    out = tmp_path / "idx.json"
    assert main(["grib", "index", p, "-o", str(out), "--inventories", "require"]) == 1
    assert "w.grib2: no inventory" in capsys.readouterr().err
    Path(p + ".idx").write_text(gf.wgrib2_idx(msgs, _offsets(msgs)))
    assert main(["grib", "index", p, "-o", str(out), "--inventories", "require"]) == 0
    assert lsio.grib.Index.from_json(out).records == lsio.grib.index(p, inventories="ignore").records
