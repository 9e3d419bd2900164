"""lsio.grib.to_zarr(resume=True): a conversion stopped after some shards continues, skips the shards already
stored whole (same files, not rewritten), rewrites a torn one, and ends equal to a clean conversion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import grib_fixtures as gf
import lsio
import lsio.grib
import lsio.zarr

CHUNKS = {"isobaricInhPa": 1, "latitude": 10, "longitude": 18}
SHARDS = {"step": 1, "isobaricInhPa": 2}


class Stop(Exception):
    pass


def _shards(root: Path) -> dict[str, os.stat_result]:
    """The stored shards of the data variables t and u."""
    return {str(p.relative_to(root)): p.stat() for p in root.rglob("*")
            if p.is_file() and str(p.relative_to(root)).startswith(("t/c/", "u/c/"))}  # fmt: skip


def _same_group(a: Path, b: Path) -> None:
    """Every node's metadata and every array's values equal (NaN-aware)."""
    metas = sorted(str(p.relative_to(a)) for p in a.rglob("zarr.json"))
    assert metas == sorted(str(p.relative_to(b)) for p in b.rglob("zarr.json"))
    for m in metas:
        ja, jb = json.loads((a / m).read_text()), json.loads((b / m).read_text())
        assert ja == jb, m
        if ja["node_type"] == "array":
            name = str(Path(m).parent)
            np.testing.assert_array_equal(lsio.zarr.open_array(str(a), name, mode="r")[...],
                                          lsio.zarr.open_array(str(b), name, mode="r")[...])  # fmt: skip


def test_resume_after_stop(tmp_path: Path) -> None:
    p = gf.write(tmp_path / "c.grib2", gf.cube(("t", "u"), (500, 700, 850, 1000), (0, 6, 12), nj=19, ni=36))
    idx = lsio.grib.index(p)
    kw = {"chunks": CHUNKS, "shards": SHARDS, "compressors": [{"name": "zstd", "configuration": {"level": 1}}]}
    clean = tmp_path / "clean.zarr"
    lsio.grib.to_zarr(idx, clean, **kw)  # type: ignore[arg-type]

    out = tmp_path / "out.zarr"
    units: list[tuple[str, tuple[int, ...]]] = []

    def stop_after_5(name: str, corner: tuple[int, ...]) -> None:
        units.append((name, corner))
        if len(units) == 5:
            raise Stop  # as if the process were killed after its 5th write unit

    with pytest.raises(Stop):
        lsio.grib.to_zarr(idx, out, progress=stop_after_5, **kw)  # type: ignore[arg-type]
    assert not (out / "zarr.json").exists()  # the group is written last: the conversion is visibly incomplete
    before = _shards(out)
    # One shard per unit (latitude and longitude whole); the unit that stopped it was written with the rest of its
    # run (the level pairs of one step are read, decoded and written together).
    assert 5 <= len(before) < 12
    with pytest.raises(ValueError, match="already exists"):  # neither overwrite nor resume
        lsio.grib.to_zarr(idx, out, **kw)  # type: ignore[arg-type]
    # A torn shard (as a non-atomic writer could leave): shorter than its index, so it is written again.
    torn = sorted(before)[0]
    (out / torn).write_bytes(b"xx")
    resumed: list[tuple[str, tuple[int, ...]]] = []
    lsio.grib.to_zarr(idx, out, resume=True, progress=lambda n, c: resumed.append((n, c)), **kw)  # type: ignore[arg-type]
    assert len(resumed) == 2 * 3 * 2  # every unit of t and u (3 steps x 2 level pairs) seen once
    after = _shards(out)
    for k, st in before.items():  # skipped: the very same files
        if k != torn:
            assert (after[k].st_ino, after[k].st_mtime_ns) == (st.st_ino, st.st_mtime_ns), k
    assert after[torn].st_size > 2
    _same_group(out, clean)


def test_resume_refuses_another_layout(tmp_path: Path) -> None:
    p = gf.write(tmp_path / "c.grib2", gf.cube(("t",), (500, 850), (0, 6), nj=19, ni=36))
    out = tmp_path / "out.zarr"
    lsio.grib.to_zarr(p, out, chunks={"isobaricInhPa": 1})
    with pytest.raises(ValueError, match=r"cannot resume: 't' has .* the conversion makes"):
        lsio.grib.to_zarr(p, out, chunks={"isobaricInhPa": 2}, resume=True)
    with pytest.raises(ValueError, match="exclude each other"):
        lsio.grib.to_zarr(p, out, overwrite=True, resume=True)
    lsio.grib.to_zarr(p, out, chunks={"isobaricInhPa": 1}, resume=True)  # complete already: nothing to redo
    clean = tmp_path / "clean.zarr"
    lsio.grib.to_zarr(p, clean, chunks={"isobaricInhPa": 1})
    _same_group(out, clean)


def test_cli_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lsio.cli import main

    p = gf.write(tmp_path / "c.grib2", gf.cube(("t",), (500, 850), (0, 6), nj=19, ni=36))
    out, clean = tmp_path / "out.zarr", tmp_path / "clean.zarr"
    with pytest.raises(Stop):
        lsio.grib.to_zarr(p, out, chunks={"isobaricInhPa": 1}, progress=lambda n, c: (_ for _ in ()).throw(Stop()))
    assert main(["grib2zarr", p, "-o", str(out), "--chunks", "isobaricInhPa=1", "--resume"]) == 0
    assert main(["grib2zarr", p, "-o", str(clean), "--chunks", "isobaricInhPa=1"]) == 0
    _same_group(out, clean)
    with pytest.raises(SystemExit):  # argparse: not both
        main(["grib2zarr", p, "-o", str(out), "--resume", "--overwrite"])
    capsys.readouterr()


def test_resume_after_sigkill(tmp_path: Path) -> None:
    """A conversion process killed (SIGKILL, no cleanup) after its 4th write unit, then resumed here."""
    import signal
    import subprocess

    from subproc import Child, kill_group

    p = gf.write(tmp_path / "c.grib2", gf.cube(("t", "u"), (500, 850), (0, 6, 12), nj=19, ni=36))
    out, clean = tmp_path / "out.zarr", tmp_path / "clean.zarr"
    kw = {"chunks": {"isobaricInhPa": 1}, "shards": {"step": 1, "isobaricInhPa": 2}}
    child = Child("""
        import os, signal, sys
        import lsio.grib
        units = []
        def progress(name, corner):
            units.append(corner)
            if len(units) == 4:
                os.kill(os.getpid(), signal.SIGKILL)
        lsio.grib.to_zarr(sys.argv[1], sys.argv[2], chunks={"isobaricInhPa": 1},
                          shards={"step": 1, "isobaricInhPa": 2}, progress=progress)
    """, p, str(out))
    try:
        rc = child.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        kill_group(child.proc)
        pytest.fail(f"the conversion child hung\n{child.output}")
    assert rc == -signal.SIGKILL, child.output
    assert len(_shards(out)) == 4 and not (out / "zarr.json").exists()
    lsio.grib.to_zarr(p, out, resume=True, **kw)  # type: ignore[arg-type]
    lsio.grib.to_zarr(p, clean, **kw)  # type: ignore[arg-type]
    _same_group(out, clean)


def test_runs_within_max_memory_write_the_same(tmp_path: Path) -> None:
    """A tiny max_memory writes one unit per batch, the default groups a step's levels: the same arrays."""
    p = gf.write(tmp_path / "c.grib2", gf.cube(("t",), (500, 700, 850, 1000), (0, 6), nj=19, ni=36))
    kw = {"chunks": CHUNKS, "compressors": [{"name": "zstd", "configuration": {"level": 1}}]}
    seen: list[tuple[str, tuple[int, ...]]] = []
    lsio.grib.to_zarr(p, tmp_path / "a.zarr", max_memory=1, progress=lambda n, c: seen.append((n, c)), **kw)  # type: ignore[arg-type]
    lsio.grib.to_zarr(p, tmp_path / "b.zarr", **kw)  # type: ignore[arg-type]
    assert seen == [("t", (s, lv)) for s in range(2) for lv in range(4)]
    _same_group(tmp_path / "a.zarr", tmp_path / "b.zarr")
    np.testing.assert_array_equal(lsio.zarr.open_array(str(tmp_path / "a.zarr"), "t", mode="r")[...],
                                  lsio.grib.open_dataset(p)["t"].values)  # fmt: skip
