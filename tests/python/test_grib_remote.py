"""lsio.grib on http:// (nginx) and s3:// (moto), tests/servers/launch.py: the same index and values as from local
files."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import grib_fixtures as gf
import lsio.grib
from remote_servers import S3Bucket
from tests.servers.launch import Nginx

AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE")  # fmt: skip


def _files(root: Path) -> list[str]:
    root.mkdir(parents=True)
    (root / "sub").mkdir()
    return [gf.write(root / "a.grib2", gf.cube(("t",), (500, 850), (0,), nj=19, ni=36)),
            gf.write(root / "sub" / "b.grib2", [gf.message("u", 850, 6, nj=19, ni=36, packing="grid_ccsds")])]  # fmt: skip


def test_http(nginx_server: Nginx) -> None:
    d = f"grib-{uuid.uuid4().hex[:8]}"
    local = _files(Path(nginx_server.root) / d)
    urls = [nginx_server.url + d + "/a.grib2", nginx_server.url + d + "/sub/b.grib2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no inventories there: looked for (404), none found, no warning
        idx = lsio.grib.index(urls)
    ref = lsio.grib.index(local)
    assert idx.root == nginx_server.url + d + "/"
    assert [r.path for r in idx] == ["a.grib2", "a.grib2", "sub/b.grib2"]
    assert [(r.offset, r.shortName, r.level) for r in idx] == [(r.offset, r.shortName, r.level) for r in ref]
    np.testing.assert_array_equal(idx.read(), ref.read())


def test_s3(s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """index (walked, and from a wgrib2 .idx beside one file), read, open_dataset and to_zarr on s3:// URLs."""
    m = s3_bucket.server
    for v in AWS_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws
    monkeypatch.setenv("AWS_ENDPOINT_URL", m.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", m.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", m.secret_access_key)
    monkeypatch.setenv("AWS_REGION", m.region)
    local = _files(tmp_path / "src")
    keys = ["gfs/a.grib2", "gfs/sub/b.grib2"]
    for k, p in zip(keys, local):
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=k, Body=Path(p).read_bytes())
    urls = [f"s3://{s3_bucket.name}/{k}" for k in keys]
    ref = lsio.grib.index(local)
    walked = lsio.grib.index(urls, inventories="ignore")
    assert walked.root == f"s3://{s3_bucket.name}/gfs/"
    assert [r.path for r in walked] == ["a.grib2", "a.grib2", "sub/b.grib2"]
    assert [{**r, "path": ""} for r in walked.to_records()] == [{**r, "path": ""} for r in ref.to_records()]
    np.testing.assert_array_equal(walked.read(), ref.read())
    # A wgrib2 inventory beside a.grib2 (found through the S3 store; b.grib2 has none and is walked).
    msgs = gf.cube(("t",), (500, 850), (0,), nj=19, ni=36)
    idx_text = gf.wgrib2_idx(msgs, [0, len(msgs[0])])
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="gfs/a.grib2.idx", Body=idx_text.encode())
    with pytest.raises(lsio.grib.GribInventoryError, match=r"sub/b\.grib2: no inventory"):
        lsio.grib.index(urls, inventories="require")
    assert lsio.grib.index(urls[:1], inventories="require").to_records() == walked.to_records()[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idx = lsio.grib.index(urls)
    assert idx.to_records() == walked.to_records()
    # xarray, lazily over S3, equal to the local dataset; and a conversion written to the bucket.
    ds = lsio.grib.open_dataset(idx.select(shortName="t"))
    xr.testing.assert_identical(ds.load(), lsio.grib.open_dataset(ref.select(shortName="t")).load())
    lsio.grib.to_zarr(idx.select(shortName="t"), f"s3://{s3_bucket.name}/out.zarr", chunks={"isobaricInhPa": 1})
    got = lsio.zarr.open_array(f"s3://{s3_bucket.name}/out.zarr", "t", mode="r")[...]
    np.testing.assert_array_equal(got, ds["t"].values)
