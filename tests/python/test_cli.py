"""The lsio command, run as a subprocess (python -m lsio.cli): output, --json, exit codes, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsio.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def array(tmp_path: Path) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((24, 10, 12)).astype(np.float32)
    data[3, 4, 5] = np.nan
    path = str(tmp_path / "t.zarr")
    z = zarr.create_array(path, shape=data.shape, chunks=(4, 5, 12), dtype="float32", fill_value=np.nan,
                          attributes={"units": "K"})  # fmt: skip
    z[:20] = data[:20]
    return path, z[...]


def test_info(array: tuple[str, np.ndarray], tmp_path: Path) -> None:
    path, ref = array
    r = run("info", path)
    assert r.returncode == 0, r.stderr
    assert "(24, 10, 12)" in r.stdout.replace("[", "(").replace("]", ")") and "float32" in r.stdout
    j = json.loads(run("info", path, "--json").stdout)
    assert j["shape"] == [24, 10, 12] and j["chunks"] == [4, 5, 12] and j["shards"] is None
    assert j["dtype"] == "float32" and j["fill_value"] is None and j["attributes"] == {"units": "K"}
    g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    g.create_array("x", shape=(2,), dtype="int8")
    j = json.loads(run("info", str(tmp_path / "g.zarr"), "--json").stdout)
    assert j["node_type"] == "group" and j["members"] == {"x": "array"}


def test_stats(array: tuple[str, np.ndarray]) -> None:
    path, ref = array
    r = run("stats", path, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["nan_count"] == int(np.isnan(ref).sum()) == 1 + 4 * 120
    assert j["count"] == int((~np.isnan(ref)).sum())
    assert j["mean"] is None  # NaN without --skipna
    j = json.loads(run("stats", path, "--json", "--skipna").stdout)
    assert j["mean"] == pytest.approx(float(np.nanmean(ref, dtype=np.float64)), rel=1e-12)
    assert j["std"] == pytest.approx(float(np.nanstd(ref.astype(np.float64))), rel=1e-9)
    assert j["min"] == float(np.nanmin(ref)) and j["max"] == float(np.nanmax(ref))
    j = json.loads(run("stats", path, "--axis", "1,2", "--skipna", "--json").stdout)
    assert j["shape"] == [24] and len(j["mean"]) == 24
    assert j["mean"][20] is None  # all-NaN plane (missing chunks, fill NaN)
    np.testing.assert_allclose(j["mean"][:20], np.nanmean(ref[:20], axis=(1, 2), dtype=np.float64), rtol=1e-9)
    r = run("stats", path)
    assert r.returncode == 0 and "nan_count" in r.stdout and "mean" in r.stdout


def test_copy(array: tuple[str, np.ndarray], tmp_path: Path) -> None:
    path, ref = array
    dst = str(tmp_path / "c.zarr")
    r = run("copy", path, dst, "--chunks", "2,10,12", "--shards", "8,10,12", "--codec", "zstd:3", "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["chunks"] == [2, 10, 12] and j["shards"] == [8, 10, 12]
    np.testing.assert_array_equal(zarr.open_array(dst, mode="r")[...], ref)
    r = run("copy", path, dst)
    assert r.returncode == 1
    assert r.stderr.startswith("lsio: error:") and "overwrite" in r.stderr and r.stderr.count("\n") == 1
    r = run("copy", path, dst, "--codec", "none", "--format", "2", "--overwrite")
    assert r.returncode == 0, r.stderr
    z = zarr.open_array(dst, mode="r")
    assert z.metadata.zarr_format == 2
    np.testing.assert_array_equal(z[...], ref)


def test_copy_staged_through_temp_store(array: tuple[str, np.ndarray], tmp_path: Path) -> None:
    """Shards of 3840 bytes with --max-memory 6KiB (a third: 2 KiB): staged in --temp-store, removed after."""
    path, ref = array
    dst, scratch = str(tmp_path / "s.zarr"), tmp_path / "scratch"
    r = run("copy", path, dst, "--chunks", "2,10,12", "--shards", "8,10,12", "--max-memory", "6KiB",
            "--temp-store", str(scratch))  # fmt: skip
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(zarr.open_array(dst, mode="r")[...], ref)
    assert [p for p in scratch.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["copy", "a"],
        ["copy", "a", "b", "--chunks", "x,y"],
        ["copy", "a", "b", "--codec", "lzma"],
        ["copy", "a", "b", "--overwrite", "--resume"],
        ["stats", "a", "--axis", "one"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    r = run(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "usage:" in r.stderr


def test_errors_exit_1_with_one_line(tmp_path: Path, array: tuple[str, np.ndarray]) -> None:
    for args in (["info", str(tmp_path / "missing.zarr")], ["stats", str(tmp_path / "missing.zarr")]):
        r = run(*args)
        assert r.returncode == 1, r.stderr
        assert r.stderr.startswith("lsio: error:") and r.stderr.count("\n") == 1, r.stderr
        assert "missing.zarr" in r.stderr
    path, _ = array
    r = run("copy", path, str(tmp_path / "x.zarr"), "--chunks", "2,2")
    assert r.returncode == 2 and "3 dimensions" in r.stderr


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.standard_normal((64, 512, 512)).astype(np.float32)  # 64 MiB
    src = str(tmp_path / "big.zarr")
    z = zarr.create_array(src, shape=data.shape, chunks=(1, 512, 512), dtype="float32", compressors=None)
    z[...] = data
    dst = str(tmp_path / "out.zarr")
    args = [sys.executable, "-m", "lsio.cli", "copy", src, dst, "--chunks", "1,512,512", "--shards", "1,512,512",
            "--codec", "gzip:9", "--max-memory", "3MiB"]  # fmt: skip
    # A test run started in the background of a non-interactive shell inherits SIGINT ignored, and so would the
    # child (Python keeps an ignored SIGINT ignored): give it the default disposition, as a terminal would.
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 60
    shards = Path(dst) / "c"
    while time.monotonic() < deadline and not (shards.exists() and any(shards.rglob("*"))):
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert err.strip().splitlines()[-1] == "lsio: interrupted"
    assert "Traceback" not in err
    done = sum(1 for f in shards.rglob("*") if f.is_file())
    assert 0 < done < 64
    r = subprocess.run(args + ["--resume", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(zarr.open_array(dst, mode="r")[...], data)


def test_console_script_is_declared() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'lsio = "lsio.cli:main"' in text
    env: dict[str, Any] = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", "import lsio.cli, sys; sys.exit(lsio.cli.main(['info', '--help']))"],
                       capture_output=True, text=True, env=env)  # fmt: skip
    assert r.returncode == 0 and "usage: lsio info" in r.stdout
