"""lsio.grib on http:// (nginx, tests/servers/launch.py): the same index and values as from local files."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

import grib_fixtures as gf
import lsio.grib
from tests.servers.launch import Nginx


def _files(root: Path) -> list[str]:
    root.mkdir(parents=True)
    (root / "sub").mkdir()
    return [gf.write(root / "a.grib2", gf.cube(("t",), (500, 850), (0,), nj=19, ni=36)),
            gf.write(root / "sub" / "b.grib2", [gf.message("u", 850, 6, nj=19, ni=36, packing="grid_ccsds")])]  # fmt: skip


def test_http(nginx_server: Nginx) -> None:
    d = f"grib-{uuid.uuid4().hex[:8]}"
    local = _files(Path(nginx_server.root) / d)
    urls = [nginx_server.url + d + "/a.grib2", nginx_server.url + d + "/sub/b.grib2"]
    idx = lsio.grib.index(urls)
    ref = lsio.grib.index(local)
    assert idx.root == nginx_server.url + d + "/"
    assert [r.path for r in idx] == ["a.grib2", "a.grib2", "sub/b.grib2"]
    assert [(r.offset, r.shortName, r.level) for r in idx] == [(r.offset, r.shortName, r.level) for r in ref]
    np.testing.assert_array_equal(idx.read(), ref.read())

