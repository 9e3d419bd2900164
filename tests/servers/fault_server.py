"""An HTTP/1.1 object server with injectable faults, for the tests of LSIO's remote stores.

Raw asyncio streams (not aiohttp): the faults need byte-level control of bodies and connection resets.

    python -m tests.servers.fault_server --root DIR --port 0      # prints "READY <port>" once listening

Objects are the files under --root plus objects PUT into memory (memory wins over disk; DELETE removes both).
A request names a fault mode in its first path segment and the object key in the rest:

    GET|HEAD|PUT|DELETE /<mode>[:N][:per-key][:delay=S]/<key>

mode         behaviour while the fault is active
ok           none
500          500 InternalError (S3 XML)
503          503 SlowDown (S3 XML)
503ra        503 SlowDown plus "Retry-After: 1"
err200       200 whose body is an S3 <Error><Code>InternalError</Code> document
404 / 403    404 NoSuchKey / 403 AccessDenied (S3 XML)
reset-headers  status line and headers, then a TCP RST (SO_LINGER 0, close)
reset-body   headers and the first half of the body, then a TCP RST            (GET only)
short        Content-Length of the whole body, the first half sent, then a FIN  (GET only)
slow-first-byte  sleeps S seconds before the status line (S: ":delay=S" or "?delay=S", default 2)
trickle      the body at one byte per S seconds (default 1)                    (GET only)
wrong-range  206 whose Content-Range (and bytes) are off by one from those asked (GET/HEAD)
ignore-range 200 with the whole object, Range ignored                          (GET/HEAD)
etag-change  every response has a new ETag; a request with If-Match gets 412   (GET/HEAD)
latency:N    N milliseconds before every response (always active; default 20)
close-after:N  the server closes the connection, without "Connection: close", after every N-th
             request on it (always active; default 1)

":N" (other modes): only the first N requests for each (method, mode segment, key, Range header) are faulted,
then the server behaves normally; without it the fault is permanent. ":per-key" counts per (method, mode segment,
key) whatever the Range (for resume tests: a resumed request asks for other bytes). Faults that are not listed
for a method leave that method alone. A faulted PUT stores nothing.

Normal behaviour (as S3): Range "bytes=a-b", "bytes=a-", "bytes=-n" -> 206 with Content-Range; unsatisfiable -> 416
with "Content-Range: bytes */size"; several ranges or an invalid Range -> 200 whole object; If-Match mismatch ->
412. ETag: quoted md5 for objects in memory, quoted "size-mtime_ns" (hex) for files.

GET /_stats -> JSON {"counts": {"<mode segment>/<key>": n}, "requests": [{seq, conn, conn_seq, method, mode, key,
range, if_match, status, fault}, ...]}; POST /_reset clears counts, requests and fault counters (not objects).
Malformed requests get 400 and a closed connection; idle connections are closed after --idle-timeout s (60).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import email.utils
import fcntl
import hashlib
import http
import itertools
import json
import os
import signal
import socket
import struct
import sys
import termios
import time
import traceback
from pathlib import Path
from typing import Optional, Union
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1 << 30
CHUNK_BYTES = 256 * 1024
FLUSH_TIMEOUT = 5.0

STATUS_FAULTS: dict[str, tuple[int, str, str]] = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "503ra": (503, "SlowDown", "Please reduce your request rate."),
    "err200": (200, "InternalError", "We encountered an internal error. Please try again."),
    "404": (404, "NoSuchKey", "The specified key does not exist."),
    "403": (403, "AccessDenied", "Access Denied"),
}
BODY_FAULTS = {"reset-body", "short", "trickle"}  # GET only
READ_FAULTS = {"wrong-range", "ignore-range", "etag-change"}  # GET and HEAD
TIMING_MODES = {"slow-first-byte", "latency", "close-after"}
MODES = {"ok", "reset-headers"} | set(STATUS_FAULTS) | BODY_FAULTS | READ_FAULTS | TIMING_MODES


def is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


class BadRequest(Exception):
    """The request cannot be framed: answer 400 and close the connection."""


class ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


# ----------------------------------------------------------------------------------------------- requests


@dataclasses.dataclass
class Request:
    method: str
    path: str  # still percent-encoded
    query: dict[str, list[str]]
    version: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def wants_close(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        return self.version == "HTTP/1.0" or "close" in tokens


def parse_head(head: bytes) -> Request:
    lines = head.lstrip(b"\r\n").decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper():
        raise BadRequest(f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadRequest(f"unsupported version {version[:20]!r}")
    url = urlsplit(target)
    if not url.path.startswith("/"):
        raise BadRequest(f"bad target {target[:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:100]!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return Request(method, url.path, parse_qs(url.query), version, headers)


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle: float) -> Optional[Request]:
    """The next request on a connection, or None when the client closed it or stayed idle too long."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle)
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise BadRequest("incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    except (asyncio.TimeoutError, ConnectionError):
        return None
    req = parse_head(head)
    req.body = await read_body(reader, writer, req, idle)
    return req


async def read_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: Request, idle: float) -> bytes:
    encoding = req.headers.get("transfer-encoding")
    length = req.headers.get("content-length")
    if encoding is None and length is None:
        return b""
    if encoding is not None and encoding.lower() != "chunked":
        raise BadRequest(f"unsupported Transfer-Encoding {encoding[:40]!r}")
    if encoding is None and (length is None or not is_number(length) or int(length) > MAX_BODY_BYTES):
        raise BadRequest(f"bad Content-Length {str(length)[:40]!r}")
    if req.headers.get("expect", "").lower() == "100-continue" and (encoding or length != "0"):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        if encoding is not None:
            return await asyncio.wait_for(read_chunked(reader), idle)
        return await asyncio.wait_for(reader.readexactly(int(str(length))), idle)
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        raise ClientGone() from None
    except asyncio.LimitOverrunError:
        raise BadRequest("chunk header too large") from None


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise BadRequest(f"bad chunk size {line[:20]!r}") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        chunk = await reader.readexactly(size + 2)
        if not chunk.endswith(b"\r\n") or len(body) + size > MAX_BODY_BYTES:
            raise BadRequest("bad chunk")
        body += chunk[:-2]


# ------------------------------------------------------------------------------------------------ objects


@dataclasses.dataclass(frozen=True)
class Obj:
    size: int
    etag: str
    mtime: float
    data: Optional[bytes] = None  # an object in memory
    path: Optional[Path] = None  # a file under the root

    def read(self, offset: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + length]
        assert self.path is not None
        with open(self.path, "rb") as f:
            return os.pread(f.fileno(), length, offset)


class Store:
    """Files under a root directory, overlaid by objects PUT into memory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.memory: dict[str, Obj] = {}

    def file(self, key: str) -> Optional[Path]:
        """The file of a key, if the key names a regular file under the root."""
        try:
            path = (self.root / key).resolve()
            ok = path.is_relative_to(self.root) and path.is_file()
        except (OSError, ValueError):
            return None
        return path if ok else None

    def get(self, key: str) -> Optional[Obj]:
        if key in self.memory:
            return self.memory[key]
        path = self.file(key)
        if path is None:
            return None
        st = path.stat()
        return Obj(st.st_size, f'"{st.st_size:x}-{st.st_mtime_ns:x}"', st.st_mtime, path=path)

    def put(self, key: str, data: bytes) -> Obj:
        obj = Obj(len(data), f'"{hashlib.md5(data).hexdigest()}"', time.time(), data=data)
        self.memory[key] = obj
        return obj

    def delete(self, key: str) -> None:
        self.memory.pop(key, None)
        path = self.file(key)
        if path is not None:
            path.unlink(missing_ok=True)


# -------------------------------------------------------------------------------------------------- modes


@dataclasses.dataclass(frozen=True)
class Mode:
    segment: str  # as written in the path, e.g. "503:2"
    name: str
    number: Optional[int] = None  # fault count, or the parameter of latency / close-after
    per_key: bool = False
    delay: Optional[float] = None


def parse_mode(segment: str) -> Mode:
    name, *parts = segment.split(":")
    if name not in MODES:
        raise ValueError(f"unknown fault mode {name!r}; modes: {', '.join(sorted(MODES))}")
    number: Optional[int] = None
    per_key = False
    delay: Optional[float] = None
    for part in parts:
        if is_number(part) and number is None:
            number = int(part)
        elif part == "per-key":
            per_key = True
        elif part.startswith("delay="):
            delay = float(part[len("delay=") :])
            if not 0 <= delay <= 3600:
                raise ValueError(f"delay out of range in {segment!r}")
        else:
            raise ValueError(f"bad part {part!r} in mode {segment!r} (want N, per-key or delay=S)")
    return Mode(segment, name, number, per_key, delay)


# ------------------------------------------------------------------------------------------------ replies


@dataclasses.dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    obj: Optional[Obj] = None  # when set, the body is obj[start : start + length]
    start: int = 0
    length: int = 0
    action: str = "send"  # send, reset-headers, reset-body, short, trickle
    interval: float = 1.0  # trickle: seconds per byte
    close: bool = False  # close the connection after this reply
    announce_close: bool = True  # say "Connection: close" when closing

    def body_size(self) -> int:
        return self.length if self.obj is not None else len(self.body)

    def read(self, offset: int, n: int) -> bytes:
        if self.obj is not None:
            return self.obj.read(self.start + offset, min(n, self.length - offset))
        return self.body[offset : offset + n]


def http_date(t: float) -> str:
    return email.utils.formatdate(t, usegmt=True)


def s3_error(status: int, code: str, message: str, key: str, extra: Optional[list[tuple[str, str]]] = None) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message><Key>{escape(key)}</Key>"
        f"<RequestId>{os.urandom(8).hex().upper()}</RequestId></Error>"
    ).encode()
    return Reply(status, [("Content-Type", "application/xml"), *(extra or [])], body)


def object_headers(obj: Obj, etag: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/octet-stream"),
        ("Accept-Ranges", "bytes"),
        ("ETag", etag),
        ("Last-Modified", http_date(obj.mtime)),
    ]


def parse_range(value: Optional[str], size: int) -> Union[None, str, tuple[int, int]]:
    """(first, last) of a single satisfiable range, "unsatisfiable", or None (no, several or invalid ranges)."""
    if value is None:
        return None
    unit, eq, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or not eq or "," in spec:
        return None
    first_s, dash, last_s = (s.strip() for s in spec.partition("-"))
    if not dash or not (first_s or last_s) or any(s and not is_number(s) for s in (first_s, last_s)):
        return None
    if not first_s:  # bytes=-n: the last n bytes
        n = int(last_s)
        return "unsatisfiable" if n == 0 or size == 0 else (max(0, size - n), size - 1)
    first = int(first_s)
    if last_s and int(last_s) < first:
        return None
    if first >= size:
        return "unsatisfiable"
    return first, min(int(last_s), size - 1) if last_s else size - 1


def wrong_range(first: int, last: int, size: int) -> tuple[int, int]:
    """Other bytes than [first, last]: shifted one byte up, else down, else one byte shorter (same for size 1)."""
    if last + 1 < size:
        return first + 1, last + 1
    if first > 0:
        return first - 1, last - 1
    return first, max(first, last - 1)


def ranged_reply(req: Request, obj: Obj, etag: str, mode: Mode, active: bool, key: str) -> Reply:
    headers = object_headers(obj, etag)
    use_range = not (active and mode.name == "ignore-range")
    rng = parse_range(req.headers.get("range"), obj.size) if use_range else None
    if rng == "unsatisfiable":
        return s3_error(416, "InvalidRange", "The requested range is not satisfiable", key,
                        [("Content-Range", f"bytes */{obj.size}")])
    if active and mode.name == "wrong-range" and obj.size > 0:
        first, last = rng if isinstance(rng, tuple) else (0, obj.size - 1)
        first, last = wrong_range(first, last, obj.size)
        return Reply(206, [*headers, ("Content-Range", f"bytes {first}-{last}/{obj.size}")],
                     obj=obj, start=first, length=last - first + 1)
    if isinstance(rng, tuple):
        first, last = rng
        return Reply(206, [*headers, ("Content-Range", f"bytes {first}-{last}/{obj.size}")],
                     obj=obj, start=first, length=last - first + 1)
    return Reply(200, headers, obj=obj, start=0, length=obj.size)


def if_match_fails(header: Optional[str], etag: str) -> bool:
    if header is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" not in tags and etag not in tags


# ------------------------------------------------------------------------------------------------- server


@dataclasses.dataclass
class Connection:
    id: int
    requests: int = 0


class FaultServer:
    def __init__(self, root: Path, idle_timeout: float = 60.0) -> None:
        self.store = Store(root)
        self.idle_timeout = idle_timeout
        self.fault_counts: dict[tuple[str, str, str, str], int] = {}
        self.counts: dict[str, int] = {}
        self.requests: list[dict[str, object]] = []
        self.in_progress = 0  # object requests between arrival and the end of their delay
        self.etag_serial = itertools.count(1)
        self.conn_ids = itertools.count(1)

    # -- connections

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(next(self.conn_ids))
        try:
            while True:
                try:
                    req = await read_request(reader, writer, self.idle_timeout)
                except BadRequest as e:
                    reply = s3_error(400, "BadRequest", str(e), "")
                    reply.close = True
                    await self.send(writer, None, reply)
                    break
                if req is None:
                    break
                conn.requests += 1
                if not await self.handle(req, conn, writer):
                    return  # the connection was closed or reset by a fault
        except (ClientGone, ConnectionError, asyncio.TimeoutError):  # incl. a client that stopped reading
            writer.transport.abort()
            return
        except Exception:  # never let one connection take the server down
            traceback.print_exc(file=sys.stderr)
            writer.transport.abort()
            return
        writer.close()

    async def handle(self, req: Request, conn: Connection, writer: asyncio.StreamWriter) -> bool:
        """Answers one request; False when the connection is gone afterwards."""
        if req.path in ("/_stats", "/_reset"):
            reply = self.control(req)
        else:
            reply = await self.object_request(req, conn)
        if req.wants_close():
            reply.close = True
        return await self.send(writer, req, reply)

    def control(self, req: Request) -> Reply:
        if req.path == "/_stats" and req.method == "GET":
            body = json.dumps({"counts": self.counts, "requests": self.requests}, indent=1).encode()
            return Reply(200, [("Content-Type", "application/json")], body)
        if req.path == "/_reset" and req.method == "POST":
            self.fault_counts.clear()
            self.counts.clear()
            self.requests.clear()
            return Reply(200, [("Content-Type", "application/json")], b'{"reset": true}')
        return s3_error(405, "MethodNotAllowed", f"{req.method} {req.path} is not allowed", "")

    async def object_request(self, req: Request, conn: Connection) -> Reply:
        segment, _, raw_key = req.path[1:].partition("/")
        key = unquote(raw_key)
        try:
            mode = parse_mode(unquote(segment))
        except ValueError as e:
            return s3_error(400, "InvalidArgument", str(e), key)
        if not key:
            return s3_error(400, "InvalidArgument", "no object key after the mode segment", key)
        active = self.count(req, mode, key)
        self.in_progress += 1
        concurrent = self.in_progress  # object requests being answered now, this one included
        try:
            if mode.name == "latency":
                await asyncio.sleep((20 if mode.number is None else mode.number) / 1000)
            if active and mode.name == "slow-first-byte":
                await asyncio.sleep(self.delay(req, mode, 2.0))
        finally:
            self.in_progress -= 1
        reply = self.object_reply(req, mode, active, key)
        if mode.name == "close-after" and conn.requests % max(1, mode.number or 1) == 0:
            reply.close, reply.announce_close = True, False
        self.record(req, conn, mode, key, reply.status, active and mode.name != "ok", concurrent)
        return reply

    def count(self, req: Request, mode: Mode, key: str) -> bool:
        """Counts the request; True while its fault is active."""
        name = f"{mode.segment}/{key}"
        self.counts[name] = self.counts.get(name, 0) + 1
        if mode.name in ("latency", "close-after"):
            return True
        scope = "*" if mode.per_key else req.headers.get("range", "")
        counter = (req.method, mode.segment, key, scope)
        n = self.fault_counts[counter] = self.fault_counts.get(counter, 0) + 1
        return mode.number is None or n <= mode.number

    def record(self, req: Request, conn: Connection, mode: Mode, key: str, status: int, fault: bool,
               concurrent: int) -> None:
        self.requests.append({
            "seq": len(self.requests) + 1, "conn": conn.id, "conn_seq": conn.requests, "method": req.method,
            "mode": mode.segment, "key": key, "range": req.headers.get("range"),
            "if_match": req.headers.get("if-match"), "status": status, "fault": fault, "concurrent": concurrent,
        })

    @staticmethod
    def delay(req: Request, mode: Mode, default: float) -> float:
        if mode.delay is not None:
            return mode.delay
        try:
            return min(3600.0, max(0.0, float(req.query["delay"][0])))
        except (KeyError, ValueError):
            return default

    def object_reply(self, req: Request, mode: Mode, active: bool, key: str) -> Reply:
        if active and mode.name in STATUS_FAULTS:
            status, code, message = STATUS_FAULTS[mode.name]
            return s3_error(status, code, message, key, [("Retry-After", "1")] if mode.name == "503ra" else [])
        resets = active and mode.name == "reset-headers"
        if req.method == "PUT":
            etag = self.store.put(key, req.body).etag if not resets else '"0"'
            return Reply(200, [("ETag", etag)], action="reset-headers" if resets else "send")
        if req.method == "DELETE":
            if not resets:
                self.store.delete(key)
            return Reply(204, [], action="reset-headers" if resets else "send")
        if req.method not in ("GET", "HEAD"):
            return s3_error(501, "NotImplemented", f"{req.method} is not implemented", key)
        reply = self.read_reply(req, mode, active, key)
        if resets:
            reply.action = "reset-headers"
        elif active and mode.name in BODY_FAULTS and req.method == "GET" and reply.status in (200, 206):
            reply.action = mode.name
            reply.interval = self.delay(req, mode, 1.0)
        return reply

    def read_reply(self, req: Request, mode: Mode, active: bool, key: str) -> Reply:
        obj = self.store.get(key)
        if obj is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.", key)
        etag = obj.etag
        changed = active and mode.name == "etag-change"
        if changed:
            etag = f'"{etag.strip(chr(34))}-{next(self.etag_serial)}"'
        if (changed and "if-match" in req.headers) or if_match_fails(req.headers.get("if-match"), etag):
            return s3_error(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold", key)
        return ranged_reply(req, obj, etag, mode, active, key)

    # -- writing

    async def send(self, writer: asyncio.StreamWriter, req: Optional[Request], reply: Reply) -> bool:
        """Writes a reply as its action says; False when the connection is closed afterwards."""
        size = reply.body_size()
        advertised = max(size, 1) if reply.action == "short" else size
        headers = [("Date", http_date(time.time())), ("Server", "lsio-fault-server"), *reply.headers]
        if reply.status != 204:
            headers.append(("Content-Length", str(advertised)))
        if reply.close and reply.announce_close:
            headers.append(("Connection", "close"))
        status_line = f"HTTP/1.1 {reply.status} {http.HTTPStatus(reply.status).phrase}\r\n"
        writer.write((status_line + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1"))
        with_body = req is None or req.method != "HEAD"
        if reply.action == "reset-headers":
            await self.reset(writer)
            return False
        if reply.action in ("reset-body", "short"):
            await self.write_body(writer, reply, size // 2)
            if reply.action == "reset-body":
                await self.reset(writer)
            else:
                await self.flushed(writer)
                writer.close()
            return False
        if reply.action == "trickle":
            for offset in range(size):
                if offset:
                    await asyncio.sleep(reply.interval)
                writer.write(reply.read(offset, 1))
                await self.drain(writer)
        elif with_body:
            await self.write_body(writer, reply, size)
        await self.drain(writer)
        if reply.close:
            writer.close()
            return False
        return True

    async def write_body(self, writer: asyncio.StreamWriter, reply: Reply, n: int) -> None:
        for offset in range(0, n, CHUNK_BYTES):
            writer.write(reply.read(offset, min(CHUNK_BYTES, n - offset)))
            await self.drain(writer)

    async def drain(self, writer: asyncio.StreamWriter) -> None:
        await asyncio.wait_for(writer.drain(), self.idle_timeout)

    async def flushed(self, writer: asyncio.StreamWriter) -> None:
        """Waits (bounded) until the client's kernel has acknowledged every byte written so far."""
        await self.drain(writer)
        sock = writer.get_extra_info("socket")
        deadline = time.monotonic() + FLUSH_TIMEOUT
        while time.monotonic() < deadline:
            unsent = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if writer.transport.get_write_buffer_size() == 0 and unsent == 0:
                return
            await asyncio.sleep(0.005)

    async def reset(self, writer: asyncio.StreamWriter) -> None:
        """Sends what was written, then a TCP RST: SO_LINGER 0 and close."""
        await self.flushed(writer)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


# --------------------------------------------------------------------------------------------------- main


async def serve(root: Path, host: str, port: int, idle_timeout: float) -> None:
    server = FaultServer(root, idle_timeout)
    listener = await asyncio.start_server(server.serve_connection, host, port, limit=MAX_HEAD_BYTES)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {listener.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    listener.close()


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="directory whose files are served")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed as READY <port>)")
    parser.add_argument("--idle-timeout", type=float, default=60.0, help="seconds before an idle connection closes")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")
    asyncio.run(serve(args.root, args.host, args.port, args.idle_timeout))


if __name__ == "__main__":
    main()
