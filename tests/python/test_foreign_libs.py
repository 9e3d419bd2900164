"""LSIO next to wheels that bundle their own libcurl, OpenSSL and libldap (the eccodes/eckit wheels, which cfgrib
imports): whichever is imported first, reading works and the process exits cleanly. Before _lsio was loaded with
RTLD_DEEPBIND, `import eccodes; import lsio` crashed at exit in libldap's destructor (exit status -11)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import importlib, os, tempfile
for m in {mods!r}:
    importlib.import_module(m)
import lsio
d = tempfile.mkdtemp()
s = lsio.open(d)
s.put("a.bin", b"hello")
assert bytes(s.read_ranges(["a.bin"], [0], [5])[0]) == b"hello"
print("ok")
"""


@pytest.mark.parametrize("mods", [["eccodes"], ["cfgrib"], ["eccodes", "lsio.grib"]])
def test_other_bundled_libraries_first_then_lsio(mods: list[str]) -> None:
    r = subprocess.run([sys.executable, "-c", SCRIPT.format(mods=mods)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-2000:])
