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
    peak_rss_kib: int  # largest RSS of the child or any of its waited-for descendants

    def tail(self, lines: int = 6) -> str:
        """The last lines of stderr (or stdout), for an error message."""
        text = self.stderr.strip() or self.stdout.strip()
        return " | ".join(text.splitlines()[-lines:])


GNU_TIME = "/usr/bin/time"


def run(cmd: list[str], timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None) -> ProcResult:
    """Runs `cmd` and returns its output, CPU time and peak RSS.

    A child's ru_maxrss starts at the RSS of the process that forked it (Linux
    carries the old image's high-water mark across exec), so a big parent
    would inflate every child. When GNU time is installed, it forks the
    command from its own tiny image and reports the command's clean rusage;
    otherwise the child is waited for directly (wait4) and the peak RSS may
    include this process's. The child is killed (its whole process group)
    after `timeout` seconds: returncode -9 and a note on stderr.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r", suffix=".time") as timing:
        wrapped = [GNU_TIME, "-f", "%U %S %M", "-o", timing.name, *cmd] if os.access(GNU_TIME, os.X_OK) else cmd
        start = time.monotonic()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        status, usage, timed_out = _wait(proc, timeout)
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if timed_out:
            stderr += f"\nkilled after {timeout:.0f} s timeout"
        user, sys_, rss = usage.ru_utime, usage.ru_stime, usage.ru_maxrss
        if wrapped is not cmd and not timed_out:
            user, sys_, rss = _gnu_time_fields(timing.read(), (user, sys_, rss))
        return ProcResult(
            returncode=os.waitstatus_to_exitcode(status),
            stdout=out.read().decode(errors="replace"),
            stderr=stderr,
            wall_seconds=wall,
            cpu_user=user,
            cpu_sys=sys_,
            peak_rss_kib=int(rss),
        )


def _gnu_time_fields(text: str, fallback: tuple[float, float, int]) -> tuple[float, float, int]:
    """Parses the last line of `time -f "%U %S %M"` ("Command exited..." may precede it)."""
    try:
        user, sys_, rss = text.strip().splitlines()[-1].split()
        return float(user), float(sys_), int(rss)
    except (ValueError, IndexError):
        return fallback


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
