"""lsio's S3 store against moto (SigV4 signatures checked): put/get/list/list_dir, multipart put, delete, sizes,
awkward keys, credentials (wrong secret, session token, anonymous, AWS_* variables), secrets never shown, and a
store pickled into a spawned process."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pickle
import random
from typing import Any

import pytest

import lsio
from remote_servers import S3Bucket
from tests.servers.launch import Moto

FAST = {"backoff_initial": 0.01, "backoff_max": 0.05}
T = 60.0
SENTINEL_SECRET = "SENTINELsecret0123456789abcdefSENTINEL"
SENTINEL_TOKEN = "SENTINELtoken0123456789SENTINEL"
AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE")


def options(server: Moto, **extra: Any) -> dict[str, Any]:
    return {"endpoint": server.endpoint, "region": server.region, "access_key_id": server.access_key_id,
            "secret_access_key": server.secret_access_key, **FAST, **extra}


def open_s3(bucket: S3Bucket, prefix: str = "", **extra: Any) -> lsio.Store:
    return lsio.open(f"s3://{bucket.name}/{prefix}", **options(bucket.server, **extra))


def test_put_get_ranges_sizes(s3_bucket: S3Bucket) -> None:
    s = open_s3(s3_bucket, "pre")
    data = random.Random(1).randbytes(300_000)
    s.put("d/a.bin", data)
    s.put("empty.bin", b"")
    assert s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="pre/d/a.bin")["Body"].read() == data
    bufs = s.read_ranges(["d/a.bin"] * 5 + ["empty.bin"], [0, 1000, -100, 299_990, 0, 0],
                         [10, 250_000, None, None, None, None], timeout=T)
    assert [bytes(b) for b in bufs] == [data[:10], data[1000:250_000], data[-100:], data[299_990:], data, b""]
    assert list(s.sizes(["d/a.bin", "empty.bin"])) == [300_000, 0]
    with pytest.raises(lsio.OutOfRangeError, match="300000"):
        s.read_ranges("d/a.bin", [299_000], [300_001], timeout=T)


def test_list_and_list_dir(s3_bucket: S3Bucket) -> None:
    s = open_s3(s3_bucket, "root")
    keys = [f"k{i:02d}.bin" for i in range(20)] + [f"sub/{c}/x{i}" for c in "ab" for i in range(5)]
    for i, k in enumerate(keys):
        s.put(k, bytes(i))
    # An object outside the store's prefix is not listed.
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="rootless.bin", Body=b"x")
    assert sorted(s.list("")) == sorted((k, i) for i, k in enumerate(keys))
    assert sorted(s.list("sub/a/")) == [(f"sub/a/x{i}", 20 + i) for i in range(5)]
    files, dirs = s.list_dir("")
    assert sorted(files) == sorted((k, i) for i, k in enumerate(keys[:20]))
    assert dirs == ["sub/"]
    files, dirs = s.list_dir("sub/")
    assert files == [] and sorted(dirs) == ["sub/a/", "sub/b/"]
    assert s.list("nothing/") == []


def test_multipart_put(s3_bucket: S3Bucket) -> None:
    mib = 1 << 20
    s = open_s3(s3_bucket, multipart_threshold=5 * mib, multipart_part_size=5 * mib)
    data = random.Random(2).randbytes(12 * mib)
    s.put("big.bin", data)
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="big.bin")
    assert head["ContentLength"] == 12 * mib
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 2 MiB
    (whole,) = s.read_ranges("big.bin", [0], [None], timeout=T)
    assert bytes(whole) == data
    starts = [0, 5 * mib - 7, 10 * mib + 3, -1000]
    ends = [100, 5 * mib + 7, 12 * mib, None]
    bufs = s.read_ranges(["big.bin"] * 4, starts, ends, timeout=T)
    assert [bytes(b) for b in bufs] == [data[0:100], data[5 * mib - 7:5 * mib + 7], data[10 * mib + 3:], data[-1000:]]
    assert list(s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads", [])) == []


def test_remove(s3_bucket: S3Bucket) -> None:
    s = open_s3(s3_bucket, "p/")
    s.put("a", b"1")
    s.put("b", b"22")
    s.remove(["a"])
    assert s.list("") == [("b", 2)]
    with pytest.raises(FileNotFoundError, match="a"):
        s.read_ranges("a", [0], [1], timeout=T)


AWKWARD = ["with space.bin", "plus+sign.bin", "per%25cent%.bin", "ünïcødé/日本.bin", "double//slash.bin",
           "a b/+/c%20d", "tilde~and=equals&amp;.bin"]


def test_awkward_keys_round_trip(s3_bucket: S3Bucket) -> None:
    s = open_s3(s3_bucket, "k")
    for i, k in enumerate(AWKWARD):
        s.put(k, k.encode() * (i + 1))
    listed = dict(s.list(""))
    assert listed == {k: len(k.encode()) * (i + 1) for i, k in enumerate(AWKWARD)}
    bufs = s.read_ranges(AWKWARD, [0] * len(AWKWARD), [None] * len(AWKWARD), timeout=T)
    assert [bytes(b) for b in bufs] == [k.encode() * (i + 1) for i, k in enumerate(AWKWARD)]
    assert list(s.sizes(AWKWARD)) == [len(k.encode()) * (i + 1) for i, k in enumerate(AWKWARD)]
    # The keys are exactly these for other clients too.
    got = {o["Key"] for o in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)["Contents"]}
    assert got == {"k" + k if k.startswith("/") else "k/" + k for k in AWKWARD}
    files, dirs = s.list_dir("double/")
    assert files == [] and dirs == ["double//"]
    assert s.list("double//") == [("double//slash.bin", len(b"double//slash.bin") * 5)]


def test_wrong_secret_is_permission_error(s3_bucket: S3Bucket) -> None:
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="x", Body=b"x")
    s = open_s3(s3_bucket, secret_access_key=SENTINEL_SECRET)
    for call in (lambda: s.read_ranges("x", [0], [1], timeout=T), lambda: s.list(""), lambda: s.put("y", b"y")):
        with pytest.raises(PermissionError, match="SignatureDoesNotMatch") as e:
            call()
        assert SENTINEL_SECRET not in str(e.value)


def test_session_token(s3_bucket: S3Bucket, moto_server: Moto) -> None:
    c = moto_server.session_credentials()
    kw = {"endpoint": moto_server.endpoint, "region": moto_server.region, "access_key_id": c.access_key_id,
          "secret_access_key": c.secret_access_key, **FAST}
    s = lsio.open(f"s3://{s3_bucket.name}/", session_token=c.session_token, **kw)
    s.put("t.bin", b"token")
    assert bytes(s.read_ranges("t.bin", [0], [None], timeout=T)[0]) == b"token"
    assert s.list("") == [("t.bin", 5)]
    bad = lsio.open(f"s3://{s3_bucket.name}/", session_token=SENTINEL_TOKEN, **kw)
    with pytest.raises(PermissionError, match="InvalidToken") as e:  # S3 says 400 InvalidToken: still a PermissionError
        bad.read_ranges("t.bin", [0], [None], timeout=T)
    assert SENTINEL_TOKEN not in str(e.value)
    without = lsio.open(f"s3://{s3_bucket.name}/", **kw)
    with pytest.raises(PermissionError):
        without.read_ranges("t.bin", [0], [None], timeout=T)


def test_anonymous_against_signed_server(s3_bucket: S3Bucket, moto_server: Moto) -> None:
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="x", Body=b"x")
    s = lsio.open(f"s3://{s3_bucket.name}/", endpoint=moto_server.endpoint, region=moto_server.region,
                  anonymous=True, **FAST)
    with pytest.raises(PermissionError, match="(?i)anonymous|unsigned"):
        s.read_ranges("x", [0], [1], timeout=T)


def test_aws_environment_variables(s3_bucket: S3Bucket, moto_server: Moto, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Any) -> None:
    for v in AWS_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.secret_access_key)
    monkeypatch.setenv("AWS_REGION", moto_server.region)
    s = lsio.open(f"s3://{s3_bucket.name}/env")
    s.put("e.bin", b"from env")
    assert bytes(s.read_ranges("e.bin", [0], [None], timeout=T)[0]) == b"from env"
    assert s.list("") == [("e.bin", 8)]
    assert moto_server.secret_access_key not in repr(s) + repr(s.options)
    # And lsio.zarr by URL uses them too.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SENTINEL_SECRET)
    with pytest.raises(PermissionError, match="SignatureDoesNotMatch") as e:
        lsio.open(f"s3://{s3_bucket.name}/env", **FAST).read_ranges("e.bin", [0], [None], timeout=T)
    assert SENTINEL_SECRET not in str(e.value)


def test_secrets_never_appear(s3_bucket: S3Bucket, moto_server: Moto, capfd: pytest.CaptureFixture[str]) -> None:
    kw = {"endpoint": moto_server.endpoint, "region": moto_server.region,
          "access_key_id": moto_server.access_key_id, "secret_access_key": SENTINEL_SECRET,
          "session_token": SENTINEL_TOKEN, **FAST}
    s = lsio.open(f"s3://{s3_bucket.name}/", **kw)
    texts = [repr(s), str(s), repr(s.options), str(s.options)]
    assert s.options["secret_access_key"] == "***" and s.options["session_token"] == "***"
    calls = [
        lambda: s.read_ranges("x", [0], [1], timeout=T),
        lambda: s.read_ranges(["x", "y"], [0, 5], [1, None], timeout=T),
        lambda: s.sizes(["x"]),
        lambda: s.list(""),
        lambda: s.list_dir(""),
        lambda: s.put("x", b"x"),
        lambda: s.put("big", b"x" * (9 << 20)),
        lambda: s.remove(["x"]),
        lambda: lsio.open(f"s3://{s3_bucket.name}/", **kw).read_into("x", [0], [bytearray(1)]),
        # 404 with the right credentials but the sentinel token: still 403; a real 404:
        lambda: lsio.open(f"s3://{s3_bucket.name}/", **{**kw, "secret_access_key": moto_server.secret_access_key,
                                                         "session_token": None}).read_ranges("nope", [0], [1]),
        # A bad endpoint.
        lambda: lsio.open(f"s3://{s3_bucket.name}/", **{**kw, "endpoint": "http://127.0.0.1:1", "max_attempts": 1}
                          ).read_ranges("x", [0], [1], timeout=T),
        lambda: lsio.open(f"s3://{s3_bucket.name}/", **{**kw, "endpoint": "not a url"}),
    ]
    kinds = set()
    for call in calls:
        try:
            call()
        except Exception as e:  # noqa: BLE001 - every error's text is checked
            kinds.add(type(e))
            texts += [str(e), repr(e), repr(e.args)]
        else:
            pytest.fail("expected an error")
    assert PermissionError in kinds and FileNotFoundError in kinds
    out, err = capfd.readouterr()
    texts += [out, err]
    for t in texts:
        assert SENTINEL_SECRET not in t and SENTINEL_TOKEN not in t, t
    # Nor any part of a real signature's key material: the real secret never shows either.
    real = lsio.open(f"s3://{s3_bucket.name}/", **options(moto_server))
    assert moto_server.secret_access_key not in repr(real) + str(real.options)


def _read_in_child(store: lsio.Store, key: str) -> tuple[int, bytes]:
    return os.getpid(), bytes(store.read_ranges(key, [0], [None], timeout=T)[0])


def test_pickled_store_reads_in_spawned_process(s3_bucket: S3Bucket) -> None:
    s = open_s3(s3_bucket, "pk")
    data = random.Random(3).randbytes(10_000)
    s.put("p.bin", data)
    again = pickle.loads(pickle.dumps(s))
    assert bytes(again.read_ranges("p.bin", [0], [None], timeout=T)[0]) == data
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        pid, got = pool.submit(_read_in_child, s, "p.bin").result(timeout=T)
    assert pid != os.getpid() and got == data
