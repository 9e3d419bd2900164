"""Runs a child process and returns its output with its own resource usage."""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcResult:
    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    cpu_user: float
    cpu_sys: float
    peak_rss_kib: int  # of the child and its waited-for descendants (wait4)

    def tail(self, lines: int = 6) -> str:
        """The last lines of stderr (or stdout), for an error message."""
        text = self.stderr.strip() or self.stdout.strip()
        return " | ".join(text.splitlines()[-lines:])


def run(cmd: list[str], timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None) -> ProcResult:
    """Runs `cmd`, waiting with wait4 so the rusage is this child's alone.

    The child is killed (its whole process group) after `timeout` seconds;
    that is reported as returncode -9 with a note on stderr.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        status, usage, timed_out = _wait(proc, timeout)
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if timed_out:
            stderr += f"\nkilled after {timeout:.0f} s timeout"
        return ProcResult(
            returncode=os.waitstatus_to_exitcode(status),
            stdout=out.read().decode(errors="replace"),
            stderr=stderr,
            wall_seconds=wall,
            cpu_user=usage.ru_utime,
            cpu_sys=usage.ru_stime,
            peak_rss_kib=usage.ru_maxrss,
        )


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, resource.struct_rusage, bool]:
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from waiting again
            return status, usage, False
        if time.monotonic() > deadline:
            os.killpg(proc.pid, 9)
            pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, usage, True
        time.sleep(0.01)
