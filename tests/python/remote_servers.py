"""pytest fixtures of the remote-store test servers (tests/servers/launch.py), imported by conftest.py.

Session-scoped, started on first use, stopped at the end of the session; a missing server fails the test (never a
skip):
  moto_server   launch.Moto: endpoint, access_key_id, secret_access_key, region, bucket, credentials,
                client(service="s3", credentials=None), session_credentials(), create_bucket(), delete_bucket(), env()
  nginx_server  launch.Nginx: url ("http://127.0.0.1:PORT/"), norange_url (url + "norange/": Range ignored),
                root (the served directory: write test files there), env()
  fault_server  launch.FaultServer: url, url_for(mode, key), root (files served; PUT objects live in memory),
                stats(), requests_for(mode, key), reset(), env()
Function-scoped:
  s3_bucket     S3Bucket: a new empty bucket on moto_server for one test (name, client, url), deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.servers.launch import FaultServer, Moto, Nginx


@dataclass
class S3Bucket:
    name: str
    server: Moto
    client: Any  # a boto3 S3 client with the server's user credentials

    @property
    def url(self) -> str:
        """Path-style URL of the bucket, ending in "/"."""
        return f"{self.server.endpoint}/{self.name}/"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    with Moto() as server:
        yield server


@pytest.fixture(scope="session")
def nginx_server() -> Iterator[Nginx]:
    with Nginx() as server:
        yield server


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def s3_bucket(moto_server: Moto) -> Iterator[S3Bucket]:
    name = f"lsio-{uuid.uuid4().hex[:20]}"
    moto_server.create_bucket(name)
    yield S3Bucket(name, moto_server, moto_server.client())
    moto_server.delete_bucket(name)
