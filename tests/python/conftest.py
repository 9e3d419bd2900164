"""Fixtures shared by the lsio Python tests.

lsio (and its compiled core) is imported at module level on purpose: when the
extension cannot be imported, every test fails instead of being skipped.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import tempfile
from pathlib import Path
from typing import Optional

import pytest

import lsio
import lsio._lsio  # noqa: F401  (the compiled module itself must import)

from util import open_store

# The test servers of the remote stores (session-scoped moto_server, nginx_server, fault_server; s3_bucket).
from remote_servers import fault_server, moto_server, nginx_server, s3_bucket  # noqa: F401

ENGINES = ["uring", "posix"]

# A tuned profile of the developer's (~/.config/lsio/tune.json) must not change the stores the tests open:
# point lsio at a profile file that does not exist (test_tune.py sets its own per test).
os.environ["LSIO_TUNE_PROFILE"] = os.path.join(tempfile.mkdtemp(prefix="lsio-test-"), "no-profile.json")


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def store(engine: str) -> lsio.Store:
    """A store with root "" (paths used as given), shared by the tests of one engine."""
    return open_store("", engine)


@pytest.fixture
def rooted(tmp_path: Path, engine: str) -> lsio.Store:
    """A store rooted at tmp_path: its keys are paths relative to tmp_path."""
    return open_store(str(tmp_path), engine)


ASYNC_TEST_TIMEOUT = 120  # seconds


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Optional[bool]:
    """Runs ``async def`` tests (zarr's StoreTests has them) in a new event loop each, without pytest-asyncio.

    Async fixtures are not supported: test classes override them with plain ones.
    """
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), ASYNC_TEST_TIMEOUT))
    return True
