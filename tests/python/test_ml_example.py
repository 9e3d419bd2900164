"""examples/train_tiny.py runs end to end with tiny settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_tiny.py"


def test_train_tiny_runs(tmp_path: Path) -> None:
    env = dict(os.environ)
    out = subprocess.run([sys.executable, str(EXAMPLE), "--steps", "3", "--batch-size", "4", "--workdir",
                          str(tmp_path)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "created" in out.stdout and "step    2  loss" in out.stdout and "samples/s" in out.stdout
    assert (tmp_path / "tiny.zarr" / "sat" / "zarr.json").exists()
