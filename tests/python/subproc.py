"""Test code run in a child Python process under a hard timeout: a hang or a crash fails one test, never the run.

The child is ``python -c PRELUDE + code args...`` with this process's environment (so it imports the same lsio,
which it checks) plus this directory on PYTHONPATH (so it can import util). It reports to the test with
``emit(key=value, ...)``: one ``@@{json}`` line on stdout, parsed back by :func:`records`. The child runs in its
own session, so that on a timeout the whole process group goes (pool workers, forked children...).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Optional

import pytest

import lsio
from util import open_store

TESTS_DIR = str(Path(__file__).resolve().parent)

PRELUDE = """\
import json as _json, os as _os, sys as _sys
def emit(**record):
    print("@@" + _json.dumps(record), flush=True)
import lsio
if _os.path.realpath(lsio.__file__) != _os.environ["LSIO_TEST_LSIO_FILE"]:
    raise SystemExit(f"the child imported {lsio.__file__}, the tests run {_os.environ['LSIO_TEST_LSIO_FILE']}")
"""


def require_engine(engine: str) -> None:
    """Skips the test (as util.open_store does) when this engine cannot run here (io_uring not allowed)."""
    open_store("", engine)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [TESTS_DIR, env.get("PYTHONPATH", "")] if p)
    env["PYTHONFAULTHANDLER"] = "1"  # a crash prints the Python stacks
    env["LSIO_TEST_LSIO_FILE"] = os.path.realpath(lsio.__file__)
    return env


def command(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args]


def records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line[2:]) for line in output.splitlines() if line.startswith("@@")]


def merged(output: str) -> dict[str, Any]:
    """All the child's records merged into one dict (later keys win)."""
    out: dict[str, Any] = {}
    for r in records(output):
        out.update(r)
    return out


def describe_exit(returncode: Optional[int]) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child's own group (start_new_session)
    except ProcessLookupError:
        pass


def run_python(code: str, *args: str, timeout: float = 120) -> str:
    """Runs code in a child process; returns its output (stdout and stderr). Fails the test if the child fails,
    crashes or runs longer than timeout seconds."""
    __tracebackhide__ = True
    proc = subprocess.Popen(command(code, *args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=child_env(), start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, _ = proc.communicate()
        pytest.fail(f"the child process hung: still running after {timeout} s (killed)\n--- its output:\n{tail(out)}")
    if proc.returncode != 0:
        pytest.fail(f"the child process failed: {describe_exit(proc.returncode)}\n--- its output:\n{tail(out)}")
    return out


class Child:
    """A child process whose records are read while it runs (Child.wait_for), for tests that act on it midway."""

    def __init__(self, code: str, *args: str) -> None:
        self.start = time.monotonic()
        self.proc = subprocess.Popen(command(code, *args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=child_env(), start_new_session=True)
        self.lines: list[str] = []
        self._records: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("@@"):
                self._records.put(json.loads(line[2:]))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def fail(self, why: str) -> None:
        __tracebackhide__ = True
        kill_group(self.proc)
        self.proc.wait()
        self._reader.join(5)
        pytest.fail(f"{why} ({describe_exit(self.proc.returncode)})\n--- the child's output:\n{tail(self.output)}")

    def wait_for(self, key: str, timeout: float) -> dict[str, Any]:
        """The next record that has `key` (records without it are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no {key!r} from the child within {timeout} s")
            try:
                r = self._records.get(timeout=min(left, 0.05))
            except queue.Empty:
                if self.proc.poll() is not None and self._records.empty():
                    self._reader.join(5)
                    if self._records.empty():
                        self.fail(f"the child ended before reporting {key!r}")
                continue
            if key in r:
                return r

    def finish(self, timeout: float) -> dict[str, Any]:
        """Waits for the child to exit 0 and returns all its records merged (later keys win)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"the child hung: still running {timeout} s later")
        self._reader.join(10)
        if self.proc.returncode != 0:
            self.fail("the child process failed")
        return merged(self.output)
