"""Start and stop the servers of LSIO's remote-store tests on 127.0.0.1: our fault server, nginx and moto (S3).

From Python (tests/python/remote_servers.py has the pytest fixtures):

    with FaultServer(root) as f, Nginx(root) as n, Moto() as m:
        f.url, n.url, m.endpoint, m.access_key_id, m.secret_access_key, m.region, m.bucket

From a shell (the C++ tests run under ctest this way):

    python tests/servers/launch.py [--moto] [--nginx [DIR]] [--fault [DIR]] -- COMMAND...

starts the servers, runs COMMAND with LSIO_TEST_* variables describing them (see the env() methods), stops the
servers (also on failure, Ctrl-C or SIGTERM) and exits with COMMAND's code. Without COMMAND it prints the variables
and serves until Ctrl-C. A missing DIR is a temporary directory, removed at the end.

Each server runs as a subprocess in its own session, killed by the kernel if the process that started it dies
(PR_SET_PDEATHSIG); stop() sends SIGTERM, then SIGKILL after 5 s, and removes the server's temporary directories.
A missing server binary raises ServerError with an install hint: the tests never skip for want of a server.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Optional, TypeVar, Union

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0
DEPS_HINT = "run `make deps`"

PathLike = Union[str, "os.PathLike[str]"]
S = TypeVar("S", bound="Server")

try:
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def terminate(proc: "subprocess.Popen[Any]") -> None:
    """Stops a child that still runs: SIGTERM, then SIGKILL after STOP_TIMEOUT seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ServerError(RuntimeError):
    """A test server is missing, would not start or is misconfigured."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def http_status(port: int, path: str = "/", method: str = "GET", timeout: float = 2.0) -> Optional[int]:
    """The status of one request, or None when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _child_setup(parent: int) -> None:
    """Runs in the child before exec: SIGTERM when the parent dies; exit if it is already gone."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


class Server:
    """One server subprocess on 127.0.0.1: start() (or `with`) waits until it answers, stop() ends it."""

    name = "server"
    startup_timeout = 20.0

    def __init__(self) -> None:
        self.host = HOST
        self.port = 0
        self.pid = 0  # of the last process started (kept after stop, for tests)
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.tmp = Path()  # the run directory: logs, config; removed by stop()
        self._owned: list[Path] = []

    def __enter__(self: S) -> S:
        self.start()
        return self

    def __exit__(self, kind: Optional[type[BaseException]], value: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.stop()

    # -- what subclasses define

    def _prepare(self) -> None:
        """Before the first start: find the binary, make directories."""

    def _choose_port(self) -> int:
        return free_port()

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _ready(self) -> bool:
        return http_status(self.port) is not None

    def _setup(self) -> None:
        """Once it answers: create users, buckets..."""

    def _logs(self) -> list[Path]:
        return [self.tmp / "stderr.log", self.tmp / "stdout.log"]

    def env(self) -> dict[str, str]:
        """The LSIO_TEST_* variables describing this server."""
        return {}

    # -- lifecycle

    def start(self) -> None:
        if self.proc is not None:
            raise ServerError(f"{self.name} is already running")
        self.tmp = self._mkdtemp("run")
        try:
            self._prepare()
            for attempt in range(3):
                self.port = self._choose_port()
                if self._spawn():
                    break
                if attempt == 2 or "in use" not in self._log_text():  # else another process took the port
                    assert self.proc is not None
                    raise ServerError(self._failure(f"exited with code {self.proc.returncode}"))
            self._setup()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            terminate(proc)
        for path in self._owned:
            shutil.rmtree(path, ignore_errors=True)
        self._owned.clear()

    def _spawn(self) -> bool:
        """Starts the process; True once it answers, False if it exited first."""
        command = self._command()
        with open(self.tmp / "stdout.log", "wb") as out, open(self.tmp / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self._env(), cwd=self.tmp,
                start_new_session=True, preexec_fn=lambda parent=os.getpid(): _child_setup(parent))
        self.pid = self.proc.pid
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.05)
        raise ServerError(self._failure(f"did not answer within {self.startup_timeout:.0f} s"))

    def _mkdtemp(self, what: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"lsio-{self.name.replace(' ', '-')}-{what}-"))
        self._owned.append(path)
        return path

    def _log_text(self) -> str:
        texts = []
        for path in self._logs():
            with contextlib.suppress(OSError):
                texts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(texts)

    def _failure(self, what: str) -> str:
        command = " ".join(self._command_for_message())
        return f"{self.name} on {HOST}:{self.port} {what}\ncommand: {command}\n{self._log_text()}"

    def _command_for_message(self) -> list[str]:
        return self.proc.args if self.proc is not None and isinstance(self.proc.args, list) else []


def _root_dir(server: Server, root: Optional[PathLike], what: str) -> Path:
    """The given directory (made if missing), or a temporary one owned (and removed) by the server."""
    if root is None:
        return server._mkdtemp(what)
    path = Path(root).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------- fault server


class FaultServer(Server):
    """tests/servers/fault_server.py serving `root` (a temporary directory if None); see its docstring for modes.

    url: "http://127.0.0.1:PORT/"; url_for(mode, key) = url + mode + "/" + key; stats(), reset().
    """

    name = "fault server"

    def __init__(self, root: Optional[PathLike] = None, idle_timeout: float = 60.0) -> None:
        super().__init__()
        self._root_arg = root
        self.root = Path()
        self.idle_timeout = idle_timeout

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def url_for(self, mode: str, key: str) -> str:
        return f"{self.url}{mode}/{key}"

    def env(self) -> dict[str, str]:
        return {"LSIO_TEST_FAULT_URL": self.url, "LSIO_TEST_FAULT_DIR": str(self.root)}

    def _prepare(self) -> None:
        self.root = _root_dir(self, self._root_arg, "root")

    def _choose_port(self) -> int:
        return 0  # the server picks one and prints "READY <port>"

    def _command(self) -> list[str]:
        return [sys.executable, str(HERE / "fault_server.py"), "--root", str(self.root), "--port", "0",
                "--idle-timeout", str(self.idle_timeout)]

    def _ready(self) -> bool:
        match = re.search(rb"READY (\d+)\n", (self.tmp / "stdout.log").read_bytes())
        if match is not None:
            self.port = int(match[1])
        return match is not None

    def _control(self, method: str, path: str) -> Any:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise ServerError(f"{method} {path}: {response.status} {body[:200]!r}")
            return json.loads(body)
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        """{"counts": {"<mode>/<key>": n}, "requests": [{seq, conn, conn_seq, method, mode, key, range, if_match,
        status, fault, concurrent}]} since the start or the last reset(); `concurrent`: the object requests in progress
        when this one arrived (itself included), while the latency or slow-first-byte delays run."""
        result: dict[str, Any] = self._control("GET", "/_stats")
        return result

    def requests_for(self, mode: str, key: str) -> list[dict[str, Any]]:
        return [r for r in self.stats()["requests"] if r["mode"] == mode and r["key"] == key]

    def reset(self) -> None:
        """Clears the counts, the request log and the fault counters ("503:2" fails twice again)."""
        self._control("POST", "/_reset")


# -------------------------------------------------------------------------------------------------- nginx


def find_nginx() -> Path:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if os.access(p, os.X_OK)),
                                          None)
    if found is None:
        raise ServerError(f"nginx not found: {DEPS_HINT} (apt-get install nginx-light)")
    return Path(found)


class Nginx(Server):
    """nginx (from tests/servers/nginx.conf.in) serving `root` (a temporary directory if None).

    url: "http://127.0.0.1:PORT/" (ranges as nginx answers them); norange_url: url + "norange/", the same files
    with `max_ranges 0` (Range ignored: 200 with the whole file).
    """

    name = "nginx"

    def __init__(self, root: Optional[PathLike] = None, binary: Optional[PathLike] = None) -> None:
        super().__init__()
        self._root_arg = root
        self.root = Path()
        self.binary = Path(binary) if binary is not None else None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def norange_url(self) -> str:
        return f"{self.url}norange/"

    def env(self) -> dict[str, str]:
        return {"LSIO_TEST_HTTP_URL": self.url, "LSIO_TEST_HTTP_DIR": str(self.root),
                "LSIO_TEST_HTTP_NORANGE_URL": self.norange_url}

    def _prepare(self) -> None:
        if self.binary is None:
            self.binary = find_nginx()
        elif not os.access(self.binary, os.X_OK):
            raise ServerError(f"nginx not found at {self.binary}: {DEPS_HINT} (apt-get install nginx-light)")
        self.root = _root_dir(self, self._root_arg, "root")

    def _command(self) -> list[str]:
        values = {
            "USER": "user root;" if os.geteuid() == 0 else "",
            "TMP": str(self.tmp),
            "ROOT": str(self.root),
            "PORT": str(self.port),
        }
        config = (HERE / "nginx.conf.in").read_text()
        for name, value in values.items():
            config = config.replace(f"@{name}@", value)
        unknown = re.search(r"@[A-Z]+@", config)
        if unknown is not None:
            raise ServerError(f"nginx.conf.in has an unknown placeholder {unknown[0]}")
        (self.tmp / "nginx.conf").write_text(config)
        return [str(self.binary), "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf")]

    def _logs(self) -> list[Path]:
        return [*super()._logs(), self.tmp / "error.log"]


# --------------------------------------------------------------------------------------------------- moto


class Credentials(NamedTuple):
    access_key_id: str
    secret_access_key: str
    session_token: Optional[str] = None


# The requests moto serves without checking signatures (INITIAL_NO_AUTH_ACTION_COUNT): the IAM calls of
# Moto._setup that run before any access key exists. Every later request must carry a valid SigV4 signature.
UNSIGNED_SETUP_CALLS = 5


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class Moto(Server):
    """moto_server (S3, IAM, STS) with SigV4 signature checks on, a user allowed s3:* and a bucket.

    endpoint "http://127.0.0.1:PORT", access_key_id, secret_access_key, region, bucket; client(); session_credentials()
    for temporary credentials with a session token (sts assume_role; moto checks the token).
    """

    name = "moto"
    startup_timeout = 30.0  # imports all of moto: slow on a loaded machine
    region = "us-east-1"
    user_name = "lsio-test"
    role_name = "lsio-test-role"

    def __init__(self, bucket: str = "lsio-test", binary: Optional[PathLike] = None) -> None:
        super().__init__()
        self.bucket = bucket
        self.binary = Path(binary) if binary is not None else Path(sys.executable).parent / "moto_server"
        self.access_key_id = ""
        self.secret_access_key = ""
        self.role_arn = ""

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_key_id, self.secret_access_key)

    def env(self) -> dict[str, str]:
        session = self.session_credentials()
        return {
            "LSIO_TEST_S3_ENDPOINT": self.endpoint, "LSIO_TEST_S3_REGION": self.region,
            "LSIO_TEST_S3_BUCKET": self.bucket, "LSIO_TEST_S3_KEY": self.access_key_id,
            "LSIO_TEST_S3_SECRET": self.secret_access_key, "LSIO_TEST_S3_SESSION_KEY": session.access_key_id,
            "LSIO_TEST_S3_SESSION_SECRET": session.secret_access_key,
            "LSIO_TEST_S3_SESSION_TOKEN": str(session.session_token),
        }

    def client(self, service: str = "s3", credentials: Optional[Credentials] = None) -> Any:
        """A boto3 client of this server (no retries), by default with the user's credentials."""
        import boto3
        from botocore.config import Config

        creds = credentials or self.credentials
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key, aws_session_token=creds.session_token,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=60))

    def session_credentials(self) -> Credentials:
        """New temporary credentials (sts assume_role of a role allowed s3:*), checked by moto with their token."""
        sts = self.client("sts")
        c = sts.assume_role(RoleArn=self.role_arn, RoleSessionName="lsio-test", DurationSeconds=43200)["Credentials"]
        return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def delete_bucket(self, name: str) -> None:
        """Deletes a bucket with its objects and multipart uploads."""
        s3 = self.client()
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=name)

    def _prepare(self) -> None:
        if not os.access(self.binary, os.X_OK):
            raise ServerError(f"moto_server not found at {self.binary}: {DEPS_HINT} (pip install 'moto[server]' "
                              f"into .venv) and run this with .venv/bin/python")

    def _command(self) -> list[str]:
        return [str(self.binary), "-H", HOST, "-p", str(self.port)]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(UNSIGNED_SETUP_CALLS)}

    def _ready(self) -> bool:
        return http_status(self.port, "/moto-api/") is not None

    def _setup(self) -> None:
        iam = self.client("iam", Credentials("unsigned-setup", "unsigned-setup"))
        # The UNSIGNED_SETUP_CALLS calls, in this order; moto checks signatures from the next request on.
        user_arn = iam.create_user(UserName=self.user_name)["User"]["Arn"]
        iam.put_user_policy(UserName=self.user_name, PolicyName="s3", PolicyDocument=_policy(
            [{"Effect": "Allow", "Action": ["s3:*", "sts:AssumeRole"], "Resource": "*"}]))
        key = iam.create_access_key(UserName=self.user_name)["AccessKey"]
        self.role_arn = iam.create_role(RoleName=self.role_name, AssumeRolePolicyDocument=_policy(
            [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]))["Role"]["Arn"]
        iam.put_role_policy(RoleName=self.role_name, PolicyName="s3", PolicyDocument=_policy(
            [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]))
        self.access_key_id, self.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]
        self.create_bucket(self.bucket)
        self._check_signatures()

    def _check_signatures(self) -> None:
        """Raises unless moto rejects a wrong secret with SignatureDoesNotMatch."""
        from botocore.exceptions import ClientError

        wrong = self.client(credentials=Credentials(self.access_key_id, self.secret_access_key + "x"))
        try:
            wrong.list_objects_v2(Bucket=self.bucket)
        except ClientError as e:
            if e.response["Error"]["Code"] == "SignatureDoesNotMatch":
                return
            raise ServerError(f"moto answered a wrong secret with {e.response['Error']}") from e
        raise ServerError("moto accepted a wrong secret: its signature checks are off (INITIAL_NO_AUTH_ACTION_COUNT)")


# ---------------------------------------------------------------------------------------------------- CLI


def _run(command: list[str], env: dict[str, str]) -> int:
    """Runs COMMAND; on an exception (Ctrl-C, SIGTERM) stops it (SIGTERM, SIGKILL after 5 s) and re-raises."""
    proc = subprocess.Popen(command, env=env)
    try:
        code = proc.wait()
    except BaseException:
        terminate(proc)
        raise
    return 128 - code if code < 0 else code


def _serve_forever(env: dict[str, str]) -> int:
    for name, value in sorted(env.items()):
        if name.startswith("LSIO_TEST_"):
            print(f"export {name}='{value}'", flush=True)
    print("serving; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: Optional[list[str]] = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    split = args_list.index("--") if "--" in args_list else len(args_list)
    options, command = args_list[:split], args_list[split + 1 :]
    parser = argparse.ArgumentParser(description="Run COMMAND with LSIO's test servers (see the module docstring).",
                                     usage="%(prog)s [--moto] [--nginx [DIR]] [--fault [DIR]] -- COMMAND...")
    parser.add_argument("--moto", action="store_true", help="moto S3 server (LSIO_TEST_S3_*)")
    parser.add_argument("--nginx", nargs="?", const="", metavar="DIR", help="nginx serving DIR (LSIO_TEST_HTTP_*)")
    parser.add_argument("--fault", nargs="?", const="", metavar="DIR", help="fault server on DIR (LSIO_TEST_FAULT_*)")
    args = parser.parse_args(options)
    signal.signal(signal.SIGTERM, _on_sigterm)
    env = dict(os.environ)
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1", "localhost"]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    servers: list[Server] = []
    if args.moto:
        servers.append(Moto())
    if args.nginx is not None:
        servers.append(Nginx(args.nginx or None))
    if args.fault is not None:
        servers.append(FaultServer(args.fault or None))
    try:
        with contextlib.ExitStack() as stack:  # stops the servers in reverse order, whatever happens
            for server in servers:
                env.update(stack.enter_context(server).env())
            return _run(command, env) if command else _serve_forever(env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
