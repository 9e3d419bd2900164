"""Self-tests of the remote-store test servers (tests/servers): the fault modes, nginx, moto's signature checks,
start/stop and the launch.py CLI. Only the standard library and boto3 here: nothing of lsio."""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest
from botocore.exceptions import ClientError

from remote_servers import S3Bucket
from tests.servers.launch import Credentials, FaultServer, Moto, Nginx, ServerError, port_open

LAUNCH = Path(__file__).resolve().parents[1] / "servers" / "launch.py"
SIZE = 1000


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class Obj(NamedTuple):
    key: str
    data: bytes


def request(port: int, method: str, path: str, headers: Optional[dict[str, str]] = None,
            body: Any = None, **kwargs: Any) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {}, **kwargs)
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def get(port: int, path: str, rng: Optional[str] = None, **headers: str) -> Response:
    if rng is not None:
        headers["Range"] = rng
    return request(port, "GET", path, {k.replace("_", "-"): v for k, v in headers.items()})


class Raw:
    """A raw HTTP/1.1 connection: to see exactly what a server sends, resets and closes included."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, method: str, path: str, headers: Optional[dict[str, str]] = None) -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def read_all(self) -> tuple[bytes, Optional[BaseException]]:
        """Everything until EOF, and the error that ended it (None for a clean EOF)."""
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError as e:
                return self.buf, e
            if not chunk:
                return self.buf, None
            self.buf += chunk

    def response(self) -> Response:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            assert chunk, f"EOF before the end of the head: {self.buf!r}"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, headers = parse_head(head)
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "EOF in the body"
            self.buf += chunk
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status, headers, body)

    def at_eof(self) -> bool:
        return self.buf == b"" and self.sock.recv(1) == b""


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def split_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no complete head in {data[:300]!r}"
    return (*parse_head(head), body)


def content_range(value: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", value)
    assert m is not None, value
    return int(m[1]), int(m[2]), int(m[3])


def make_obj(root: Path, size: int = SIZE) -> Obj:
    key = f"dir/obj-{uuid.uuid4().hex[:10]}.bin"
    data = random.Random(key).randbytes(size)
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_bytes(data)
    return Obj(key, data)


@pytest.fixture
def obj(fault_server: FaultServer) -> Obj:
    """A new file of SIZE random bytes on the fault server (a new key: fresh fault counters)."""
    return make_obj(fault_server.root)


# --------------------------------------------------------------------------------------------- fault server


def test_ranges_as_s3(fault_server: FaultServer, obj: Obj) -> None:
    port, path, data = fault_server.port, f"/ok/{obj.key}", obj.data
    r = get(port, path, "bytes=10-19")
    assert (r.status, r.body, r.headers["content-range"], r.headers["content-length"]) == (
        206, data[10:20], "bytes 10-19/1000", "10")
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', r.headers["etag"])
    assert email.utils.parsedate_to_datetime(r.headers["last-modified"]) is not None
    for rng, first, last in [("bytes=990-", 990, 999), ("bytes=-5", 995, 999), ("bytes=995-5000", 995, 999),
                             ("bytes=-5000", 0, 999), ("bytes=999-999", 999, 999)]:
        r = get(port, path, rng)
        assert (r.status, r.body, r.headers["content-range"]) == (206, data[first : last + 1],
                                                                  f"bytes {first}-{last}/1000"), rng
    for rng in [None, "bytes=0-1,5-6", "bytes=5-2", "bytes=x-", "items=0-1"]:  # whole object, as S3
        r = get(port, path, rng)
        assert (r.status, r.body, "content-range" in r.headers) == (200, data, False), rng
    for rng in ["bytes=1000-", "bytes=1000-1005", "bytes=-0"]:
        r = get(port, path, rng)
        assert (r.status, r.headers["content-range"]) == (416, "bytes */1000"), rng
        assert b"<Code>InvalidRange</Code>" in r.body
    etag = get(port, path).headers["etag"]
    assert get(port, path, "bytes=0-3", If_Match=etag).body == data[:4]
    assert get(port, path, "bytes=0-3", If_Match="*").status == 206
    r = get(port, path, "bytes=0-3", If_Match='"other"')
    assert r.status == 412 and b"<Code>PreconditionFailed</Code>" in r.body
    assert get(port, "/ok/no/such/key").status == 404


def test_keep_alive(fault_server: FaultServer, obj: Obj) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fault_server.port, timeout=30)
    for i in range(3):
        conn.request("GET", f"/ok/{obj.key}", headers={"Range": f"bytes={i}-{i}"})
        assert conn.getresponse().read() == obj.data[i : i + 1]
    conn.close()
    seen = fault_server.requests_for("ok", obj.key)
    assert len({r["conn"] for r in seen}) == 1 and [r["conn_seq"] for r in seen] == [1, 2, 3]


@pytest.mark.parametrize("mode, status, code", [
    ("500", 500, "InternalError"), ("503", 503, "SlowDown"), ("503ra", 503, "SlowDown"),
    ("err200", 200, "InternalError"), ("404", 404, "NoSuchKey"), ("403", 403, "AccessDenied")])
def test_status_faults(fault_server: FaultServer, obj: Obj, mode: str, status: int, code: str) -> None:
    for _ in range(2):  # permanent without ":N"
        r = get(fault_server.port, f"/{mode}/{obj.key}", "bytes=0-9")
        assert (r.status, r.headers["content-type"]) == (status, "application/xml")
        assert f"<Error><Code>{code}</Code>".encode() in r.body
        assert r.headers.get("retry-after") == ("1" if mode == "503ra" else None)


def test_fault_count_then_ok(fault_server: FaultServer, obj: Obj) -> None:
    path = f"/503:2/{obj.key}"
    statuses = [get(fault_server.port, path, "bytes=100-199") for _ in range(4)]
    assert [r.status for r in statuses] == [503, 503, 206, 206]
    assert statuses[2].body == obj.data[100:200]
    assert get(fault_server.port, path, "bytes=0-9").status == 503  # counted per Range
    assert get(fault_server.port, path).status == 503
    assert request(fault_server.port, "HEAD", path).status == 503  # and per method
    seen = fault_server.requests_for("503:2", obj.key)
    assert [r["range"] for r in seen[:4]] == ["bytes=100-199"] * 4
    assert [r["fault"] for r in seen[:4]] == [True, True, False, False]
    assert fault_server.stats()["counts"][f"503:2/{obj.key}"] == 7
    per_key = f"/500:1:per-key/{obj.key}"
    assert [get(fault_server.port, per_key, f"bytes={i}-{i}").status for i in range(3)] == [500, 206, 206]


def test_reset_headers(fault_server: FaultServer, obj: Obj) -> None:
    raw = Raw(fault_server.port)
    raw.send("GET", f"/reset-headers/{obj.key}", {"Range": "bytes=0-99"})
    data, error = raw.read_all()
    status, headers, body = split_response(data)
    assert (status, headers["content-length"], body) == (206, "100", b"")
    assert isinstance(error, ConnectionResetError)


@pytest.mark.parametrize("size", [SIZE, 4 << 20])
def test_reset_body_sends_half_then_rst(fault_server: FaultServer, size: int) -> None:
    o = make_obj(fault_server.root, size)
    raw = Raw(fault_server.port)
    raw.send("GET", f"/reset-body/{o.key}")
    data, error = raw.read_all()
    status, headers, body = split_response(data)
    assert (status, int(headers["content-length"])) == (200, size)
    assert body == o.data[: size // 2]
    assert isinstance(error, ConnectionResetError)


def test_reset_body_then_resume(fault_server: FaultServer, obj: Obj) -> None:
    """The resume a client does: Range from the first missing byte, If-Match with the ETag it saw."""
    path = f"/reset-body:1:per-key/{obj.key}"
    raw = Raw(fault_server.port)
    raw.send("GET", path, {"Range": "bytes=0-999"})
    status, headers, body = split_response(raw.read_all()[0])
    r = get(fault_server.port, path, f"bytes={len(body)}-999", If_Match=headers["etag"])
    assert (r.status, body + r.body) == (206, obj.data)
    seen = fault_server.requests_for("reset-body:1:per-key", obj.key)
    assert [(s["range"], s["if_match"], s["fault"]) for s in seen] == [
        ("bytes=0-999", None, True), ("bytes=500-999", headers["etag"], False)]


def test_short(fault_server: FaultServer, obj: Obj) -> None:
    raw = Raw(fault_server.port)
    raw.send("GET", f"/short/{obj.key}", {"Range": "bytes=0-399"})
    data, error = raw.read_all()
    status, headers, body = split_response(data)
    assert (status, headers["content-length"], body, error) == (206, "400", obj.data[:200], None)


def test_slow_first_byte(fault_server: FaultServer, obj: Obj) -> None:
    for path, at_least in [(f"/slow-first-byte:1/{obj.key}", 2.0), (f"/slow-first-byte/{obj.key}?delay=0.5", 0.5),
                           (f"/slow-first-byte:delay=0.3/{obj.key}", 0.3)]:
        start = time.monotonic()
        r = get(fault_server.port, path, "bytes=0-9")
        assert r.body == obj.data[:10] and time.monotonic() - start >= at_least, path
    start = time.monotonic()
    assert get(fault_server.port, f"/slow-first-byte:1/{obj.key}", "bytes=0-9").body == obj.data[:10]
    assert time.monotonic() - start < 1.5  # only the first one is slow


def test_trickle(fault_server: FaultServer, obj: Obj) -> None:
    start = time.monotonic()
    r = get(fault_server.port, f"/trickle/{obj.key}", "bytes=0-1")
    assert r.body == obj.data[:2] and time.monotonic() - start >= 0.95  # one byte per second
    start = time.monotonic()
    r = get(fault_server.port, f"/trickle:delay=0.1/{obj.key}", "bytes=0-4")
    assert r.body == obj.data[:5] and 0.39 <= time.monotonic() - start < 5


def test_wrong_range(fault_server: FaultServer, obj: Obj) -> None:
    for rng, asked in [("bytes=10-19", (10, 19)), ("bytes=990-999", (990, 999)), (None, (0, 999))]:
        r = get(fault_server.port, f"/wrong-range/{obj.key}", rng)
        first, last, size = content_range(r.headers["content-range"])
        assert r.status == 206 and size == SIZE and (first, last) != asked, rng
        assert r.body == obj.data[first : last + 1]


def test_ignore_range(fault_server: FaultServer, obj: Obj) -> None:
    r = get(fault_server.port, f"/ignore-range/{obj.key}", "bytes=10-19")
    assert (r.status, r.body, "content-range" in r.headers) == (200, obj.data, False)


def test_etag_change(fault_server: FaultServer, obj: Obj) -> None:
    path = f"/etag-change/{obj.key}"
    first, second = (get(fault_server.port, path, "bytes=0-9") for _ in range(2))
    assert first.body == second.body == obj.data[:10] and first.headers["etag"] != second.headers["etag"]
    assert get(fault_server.port, path, "bytes=10-19", If_Match=second.headers["etag"]).status == 412


def test_close_after(fault_server: FaultServer, obj: Obj) -> None:
    raw = Raw(fault_server.port)
    for i in range(2):
        raw.send("GET", f"/close-after:2/{obj.key}", {"Range": f"bytes={i}-{i}"})
        r = raw.response()
        assert (r.status, r.body, "connection" in r.headers) == (206, obj.data[i : i + 1], False)
    assert raw.at_eof()  # closed after the 2nd request, without "Connection: close"


def test_latency(fault_server: FaultServer, obj: Obj) -> None:
    for mode, seconds in [("latency:20", 0.02), ("latency:300", 0.3), ("latency", 0.02)]:
        start = time.monotonic()
        assert get(fault_server.port, f"/{mode}/{obj.key}", "bytes=0-0").body == obj.data[:1]
        assert time.monotonic() - start >= seconds, mode


def test_put_head_delete(fault_server: FaultServer) -> None:
    port, data = fault_server.port, b"hello, object" * 1000
    r = request(port, "PUT", "/ok/mem/a", {"Expect": "100-continue"}, data)
    assert (r.status, r.headers["etag"]) == (200, f'"{hashlib.md5(data).hexdigest()}"')
    r = get(port, "/ok/mem/a", "bytes=7-12")
    assert (r.status, r.body, r.headers["etag"]) == (206, data[7:13], f'"{hashlib.md5(data).hexdigest()}"')
    r = request(port, "HEAD", "/ok/mem/a")
    assert (r.status, r.headers["content-length"], r.body) == (200, str(len(data)), b"")
    assert request(port, "PUT", "/ok/mem/b", body=iter([b"chunk", b"ed"]), encode_chunked=True).status == 200
    assert get(port, "/ok/mem/b").body == b"chunked"
    assert request(port, "PUT", "/500/mem/c", body=b"x").status == 500
    assert get(port, "/ok/mem/c").status == 404  # a faulted PUT stores nothing
    assert request(port, "DELETE", "/ok/mem/a").status == 204
    assert get(port, "/ok/mem/a").status == 404
    (fault_server.root / "on-disk").write_bytes(b"x")
    assert request(port, "DELETE", "/ok/on-disk").status == 204
    assert not (fault_server.root / "on-disk").exists()


def test_bad_requests(fault_server: FaultServer, obj: Obj) -> None:
    for junk in [b"garbage\r\n\r\n", b"GET /ok/x HTTP/1.1\r\nno colon\r\n\r\n", b"GET /ok/x HTTP/9\r\n\r\n",
                 b"PUT /ok/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"\xff\xfe\r\n\r\n"]:
        raw = Raw(fault_server.port)
        raw.sock.sendall(junk)
        data, error = raw.read_all()  # 400, then the server closes the connection
        assert (split_response(data)[0], error) == (400, None), junk
    assert get(fault_server.port, f"/nosuchmode/{obj.key}").status == 400
    assert get(fault_server.port, "/ok/").status == 400
    assert get(fault_server.port, "/503:x/k").status == 400
    assert get(fault_server.port, f"/ok/{obj.key}").body == obj.data  # still serving


def test_stats_and_reset(fault_server: FaultServer, obj: Obj) -> None:
    etag = get(fault_server.port, f"/ok/{obj.key}").headers["etag"]
    get(fault_server.port, f"/500:1/{obj.key}", "bytes=5-9", If_Match=etag)
    get(fault_server.port, f"/500:1/{obj.key}", "bytes=5-9", If_Match=etag)
    seen = fault_server.requests_for("500:1", obj.key)
    assert [(r["method"], r["range"], r["if_match"], r["status"]) for r in seen] == [
        ("GET", "bytes=5-9", etag, 500), ("GET", "bytes=5-9", etag, 206)]
    fault_server.reset()
    assert fault_server.stats() == {"counts": {}, "requests": []}
    assert get(fault_server.port, f"/500:1/{obj.key}", "bytes=5-9").status == 500  # counting starts again


def test_fault_server_idle_timeout_and_stop(tmp_path: Path) -> None:
    with FaultServer(tmp_path, idle_timeout=1) as server:
        raw = Raw(server.port)
        start = time.monotonic()
        assert raw.at_eof() and 0.9 <= time.monotonic() - start < 10  # an idle connection is closed
        port, pid, run_dir = server.port, server.pid, server.tmp
        assert port_open(port)
    assert_stopped(port, pid, [run_dir])
    assert tmp_path.is_dir()  # a given root is kept


def assert_stopped(port: int, pid: int, dirs: list[Path]) -> None:
    assert not port_open(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not any(d.exists() for d in dirs)


# --------------------------------------------------------------------------------------------------- nginx


def test_nginx_ranges(nginx_server: Nginx) -> None:
    o = make_obj(nginx_server.root)
    port, path = nginx_server.port, f"/{o.key}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for first, last in [(10, 19), (0, 999), (990, 999)]:
        conn.request("GET", path, headers={"Range": f"bytes={first}-{last}"})
        r = conn.getresponse()
        assert (r.status, r.read(), r.getheader("content-range")) == (206, o.data[first : last + 1],
                                                                      f"bytes {first}-{last}/1000")
    sock = conn.sock
    conn.request("GET", path, headers={"Range": "bytes=-10"})
    assert conn.getresponse().read() == o.data[-10:] and conn.sock is sock  # one keep-alive connection
    conn.close()
    r = get(port, path, "bytes=1000-")
    assert (r.status, r.headers["content-range"]) == (416, "bytes */1000")
    etag = get(port, path).headers["etag"]
    assert get(port, path, "bytes=0-3", If_Match=etag).status == 206
    assert get(port, path, "bytes=0-3", If_Match='"other"').status == 412
    r = get(port, f"/norange/{o.key}", "bytes=10-19")  # the server that ignores Range
    assert (r.status, r.body, "content-range" in r.headers) == (200, o.data, False)
    assert nginx_server.norange_url.endswith("/norange/") and nginx_server.url.endswith("/")


# ---------------------------------------------------------------------------------------------------- moto


def error_code(call: Any, **kwargs: Any) -> Optional[str]:
    try:
        call(**kwargs)
    except ClientError as e:
        return str(e.response["Error"]["Code"])
    return None


def test_moto_checks_signatures(moto_server: Moto) -> None:
    s3 = moto_server.client()
    s3.put_object(Bucket=moto_server.bucket, Key="sig/a", Body=b"0123456789")
    r = s3.get_object(Bucket=moto_server.bucket, Key="sig/a", Range="bytes=2-4")
    assert (r["Body"].read(), r["ContentRange"]) == (b"234", "bytes 2-4/10")
    wrong = moto_server.client(credentials=Credentials(moto_server.access_key_id, "wrong-secret"))
    assert error_code(wrong.get_object, Bucket=moto_server.bucket, Key="sig/a") == "SignatureDoesNotMatch"
    unknown = moto_server.client(credentials=Credentials("AKIAUNKNOWNUNKNOWN00", "x"))
    assert error_code(unknown.get_object, Bucket=moto_server.bucket, Key="sig/a") == "InvalidAccessKeyId"
    assert request(moto_server.port, "GET", f"/{moto_server.bucket}/sig/a").status == 403  # unsigned


def test_moto_session_token(moto_server: Moto) -> None:
    session = moto_server.session_credentials()
    assert session.access_key_id.startswith("ASIA") and session.session_token
    s3 = moto_server.client(credentials=session)
    s3.put_object(Bucket=moto_server.bucket, Key="token/a", Body=b"abc")
    assert s3.get_object(Bucket=moto_server.bucket, Key="token/a")["Body"].read() == b"abc"
    bad_token = moto_server.client(credentials=session._replace(session_token="not-the-token"))
    assert error_code(bad_token.get_object, Bucket=moto_server.bucket, Key="token/a") == "InvalidToken"
    no_token = moto_server.client(credentials=session._replace(session_token=None))
    assert error_code(no_token.get_object, Bucket=moto_server.bucket, Key="token/a") == "InvalidAccessKeyId"


def test_s3_bucket_is_fresh(s3_bucket: S3Bucket, moto_server: Moto) -> None:
    assert s3_bucket.name != moto_server.bucket
    assert s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)["KeyCount"] == 0
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="x", Body=b"1")
    assert s3_bucket.url == f"{moto_server.endpoint}/{s3_bucket.name}/"
    moto_server.create_bucket("lsio-delete-me")
    moto_server.client().put_object(Bucket="lsio-delete-me", Key="k", Body=b"1")
    moto_server.delete_bucket("lsio-delete-me")
    assert error_code(moto_server.client().head_bucket, Bucket="lsio-delete-me") == "404"


# ---------------------------------------------------------------------------------------------- lifecycle


def test_nginx_and_moto_stop() -> None:
    for server_type in (Nginx, Moto):
        with server_type() as server:
            port, pid, dirs = server.port, server.pid, [server.tmp]
            assert port_open(port)
            if isinstance(server, Nginx):
                dirs.append(server.root)  # a temporary root is removed too
        assert_stopped(port, pid, dirs)


def test_missing_binary_fails_loudly() -> None:
    with pytest.raises(ServerError, match=r"nginx not found.*make deps.*nginx-light"):
        Nginx(binary="/nonexistent/nginx").start()
    with pytest.raises(ServerError, match=r"moto_server not found.*make deps"):
        Moto(binary="/nonexistent/moto_server").start()


CHILD = """
import json, os, sys, urllib.request, boto3
env = {k: v for k, v in os.environ.items() if k.startswith("LSIO_TEST_")}
print(json.dumps(env), flush=True)
open(os.path.join(env["LSIO_TEST_HTTP_DIR"], "f"), "wb").write(b"nginx file")
assert urllib.request.urlopen(env["LSIO_TEST_HTTP_URL"] + "f").read() == b"nginx file"
open(os.path.join(env["LSIO_TEST_FAULT_DIR"], "f"), "wb").write(b"fault file")
assert urllib.request.urlopen(env["LSIO_TEST_FAULT_URL"] + "ok/f").read() == b"fault file"
s3 = boto3.client("s3", endpoint_url=env["LSIO_TEST_S3_ENDPOINT"], region_name=env["LSIO_TEST_S3_REGION"],
                  aws_access_key_id=env["LSIO_TEST_S3_KEY"], aws_secret_access_key=env["LSIO_TEST_S3_SECRET"])
s3.put_object(Bucket=env["LSIO_TEST_S3_BUCKET"], Key="k", Body=b"s3")
sys.exit(7)
"""


def test_launch_cli_runs_command_and_stops() -> None:
    out = subprocess.run([sys.executable, str(LAUNCH), "--moto", "--nginx", "--fault", "--", sys.executable,
                          "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 7, out.stderr  # COMMAND's code
    env = json.loads(out.stdout.splitlines()[0])
    assert set(env) >= {"LSIO_TEST_S3_ENDPOINT", "LSIO_TEST_S3_KEY", "LSIO_TEST_S3_SECRET", "LSIO_TEST_S3_REGION",
                        "LSIO_TEST_S3_BUCKET", "LSIO_TEST_HTTP_URL", "LSIO_TEST_HTTP_DIR", "LSIO_TEST_FAULT_URL",
                        "LSIO_TEST_FAULT_DIR", "LSIO_TEST_S3_SESSION_TOKEN"}
    for url in (env["LSIO_TEST_S3_ENDPOINT"], env["LSIO_TEST_HTTP_URL"], env["LSIO_TEST_FAULT_URL"]):
        assert not port_open(int(url.split(":")[2].strip("/")))
    assert not Path(env["LSIO_TEST_HTTP_DIR"]).exists() and not Path(env["LSIO_TEST_FAULT_DIR"]).exists()


def test_launch_cli_sigterm_stops_everything() -> None:
    child = "import os, time; print(os.environ['LSIO_TEST_FAULT_URL'], os.getpid(), flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, str(LAUNCH), "--fault", "--", sys.executable, "-c", child],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url, pid = proc.stdout.readline().split()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert not port_open(int(url.split(":")[2].strip("/")))
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
