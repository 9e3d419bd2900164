"""Zarr through remote stores: arrays written by zarr-python into nginx's root and into moto, read with lsio.zarr
(whole, slices, read_crops) and compared with numpy; RandomCrops over s3 and http arrays; group members on s3."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import zarr

import lsio
import lsio.ml
import lsio.zarr
from remote_servers import S3Bucket
from tests.servers.launch import Nginx

T = 60.0
KINDS = ["v3", "v3-sharded", "v2"]


def write_zarr(store: Any, path: str, kind: str, data: np.ndarray) -> None:
    if kind == "v2":
        z = zarr.create_array(store, name=path, shape=data.shape, dtype=data.dtype, chunks=(5, 7), zarr_format=2)
    elif kind == "v3":
        z = zarr.create_array(store, name=path, shape=data.shape, dtype=data.dtype, chunks=(5, 7))
    else:
        z = zarr.create_array(store, name=path, shape=data.shape, dtype=data.dtype, chunks=(5, 7), shards=(10, 14))
    z[...] = data


def data_for(kind: str) -> np.ndarray:
    return np.random.default_rng(len(kind)).integers(0, 60000, (23, 31)).astype(np.uint16)


def check(a: lsio.zarr.Array, data: np.ndarray) -> None:
    assert a.shape == data.shape and a.dtype == data.dtype
    np.testing.assert_array_equal(a[...], data)
    np.testing.assert_array_equal(a[3:17, 5:29], data[3:17, 5:29])
    np.testing.assert_array_equal(a[-1, ::3], data[-1, ::3])
    starts = np.array([[0, 0], [10, 20], [18, 26]])
    crops = a.read_crops(starts, (5, 5))
    for k, (y, x) in enumerate(starts):
        np.testing.assert_array_equal(crops[k], data[y:y + 5, x:x + 5])


def s3_store(bucket: S3Bucket) -> lsio.Store:
    m = bucket.server
    return lsio.open(f"s3://{bucket.name}/", endpoint=m.endpoint, region=m.region, access_key_id=m.access_key_id,
                     secret_access_key=m.secret_access_key, backoff_initial=0.01, backoff_max=0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_http_arrays(nginx_server: Nginx, kind: str) -> None:
    data = data_for(kind)
    write_zarr(str(nginx_server.root / "z" / f"{kind}.zarr"), "", kind, data)
    web = lsio.open(nginx_server.url + "z/")
    check(lsio.zarr.open_array(web, f"{kind}.zarr", mode="r"), data)
    check(lsio.zarr.open_array(nginx_server.url + f"z/{kind}.zarr", mode="r"), data)


def test_s3_arrays_and_group(s3_bucket: S3Bucket) -> None:
    s = s3_store(s3_bucket)
    datas = {}
    for kind in KINDS:
        datas[kind] = data_for(kind)
        # Written with lsio.zarr into the S3 store (zarr-python through s3fs is optional here).
        if kind == "v2":
            a = lsio.zarr.create(s, shape=datas[kind].shape, dtype=datas[kind].dtype, path=f"g/{kind}",
                                 chunks=(5, 7), zarr_format=2)
        else:
            a = lsio.zarr.create(s, shape=datas[kind].shape, dtype=datas[kind].dtype, path=f"g/{kind}",
                                 chunks=(5, 7), shards=(10, 14) if kind == "v3-sharded" else None)
        a[...] = datas[kind]
    s.put("g/zarr.json", b'{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    s.put("g/sub/zarr.json", b'{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    s.put("g/not-a-node/readme.txt", b"x")
    for kind in KINDS:
        check(lsio.zarr.open_array(s, f"g/{kind}", mode="r"), datas[kind])
    g = lsio.zarr.open_group(s, "g", mode="r")
    assert sorted(g) == sorted([*KINDS, "sub"])
    assert sorted(g.group_keys()) == ["sub"]
    check(g["v3-sharded"], datas["v3-sharded"])


@pytest.mark.parametrize("where", ["s3", "http"])
def test_random_crops(where: str, s3_bucket: S3Bucket, nginx_server: Nginx, tmp_path: Any) -> None:
    data = np.random.default_rng(3).integers(0, 4000, (12, 3, 24, 32)).astype(np.uint16)
    if where == "s3":
        store = s3_store(s3_bucket)
        path = "sat.zarr"
    else:
        store = lsio.open(nginx_server.url + "ml/")
        path = "sat.zarr"
        store_local = str(nginx_server.root / "ml")
    target = store if where == "s3" else lsio.open(store_local)
    a = lsio.zarr.create(target, shape=data.shape, dtype=data.dtype, path=path, chunks=(2, 3, 4, 4),
                         shards=(4, 3, 8, 8), dimension_names=("time", "channel", "y", "x"), overwrite=True)
    a[...] = data
    remote = lsio.zarr.open_array(store, path, mode="r")
    loader = lsio.ml.RandomCrops({"sat": remote}, {"sat": {"time": 3, "y": 5, "x": 7}}, batch_size=4,
                                 samples_per_epoch=12, seed=1)
    n = 0
    for b in loader:
        for k, (t, _, y, x) in enumerate(b["sat/start"]):
            np.testing.assert_array_equal(b["sat"][k], data[t:t + 3, :, y:y + 5, x:x + 7])
            n += 1
    assert n == 12
