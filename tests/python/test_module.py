"""The package itself: import, version, exception types, engine selection."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import lsio
from util import open_store


def test_compiled_module_imports() -> None:
    from lsio import _lsio

    assert _lsio.Store is lsio.Store
    assert _lsio.Buffer is lsio.Buffer


def test_version() -> None:
    assert isinstance(lsio.__version__, str) and lsio.__version__


def test_exception_hierarchy() -> None:
    assert issubclass(lsio.LsioError, OSError)
    assert issubclass(lsio.OutOfRangeError, lsio.LsioError)
    assert issubclass(lsio.DataLossError, lsio.LsioError)
    assert lsio.LsioError.__module__ == "lsio"


def test_engine_of_default_store() -> None:
    assert lsio.engine().split()[0] in ("uring", "posix")
    assert lsio.engine() == lsio.default_store().engine


def test_open_engines(engine: str) -> None:
    store = open_store("", engine)
    assert store.engine.startswith(engine)
    assert store.url == ""
    assert engine in repr(store)


def test_open_rejects_unknown_engine() -> None:
    with pytest.raises(ValueError, match="engine"):
        lsio.open("", engine="spdk")  # type: ignore[arg-type]


def test_open_rejects_unknown_scheme() -> None:
    with pytest.raises(Exception, match="ftp://"):
        lsio.open("ftp://host/x")


def run_python(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_lsio_engine_env_selects_posix() -> None:
    assert run_python("import lsio; print(lsio.engine())", LSIO_ENGINE="posix").startswith("posix")


def test_explicit_engine_overrides_env() -> None:
    code = "import lsio; print(lsio.open('', engine='posix').engine)"
    assert run_python(code, LSIO_ENGINE="uring").startswith("posix")


def test_bad_lsio_engine_env_is_an_error() -> None:
    code = "import lsio\ntry:\n    lsio.engine()\nexcept ValueError as e:\n    print('ValueError', e)"
    assert "LSIO_ENGINE" in run_python(code, LSIO_ENGINE="bogus")
