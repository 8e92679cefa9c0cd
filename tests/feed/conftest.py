"""Fixtures for feed tests: both storage backends, a fixed clock, an in-process feed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.feed_fixtures import (  # noqa: F401 (fixtures: clock, feed, disk_feed)
    clock_fixture,
    disk_feed_fixture,
    feed_fixture,
)
from tests.helpers.moto_server import create_bucket, moto_s3_endpoint


@dataclass
class Backend:
    """One storage for a test: its location string and an open Storage."""

    name: str
    location: str
    storage: Any
    env: dict[str, str] | None = None


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One moto S3 server on loopback for the session, stopped at the end."""
    with moto_s3_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3_shared(s3_endpoint: str) -> tuple[str, Any]:
    """One bucket and one boto3 client for the session; each test gets its own prefix."""
    from storage.s3 import S3Storage

    bucket = create_bucket(s3_endpoint)
    return bucket, S3Storage(bucket, endpoint_url=s3_endpoint).client


def _backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Backend:
    """Open a fresh disk directory or a fresh prefix of the session's S3 bucket."""
    from storage import open_storage

    if name == "disk":
        location = str(tmp_path / "store")
        return Backend("disk", location, open_storage(location))
    from storage.s3 import S3Storage
    from tests.helpers.moto_server import s3_environment

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket, client = request.getfixturevalue("s3_shared")
    prefix = f"feed-{uuid.uuid4().hex[:12]}"
    storage = S3Storage(bucket, prefix, endpoint_url=endpoint, client=client)
    return Backend("s3", f"s3://{bucket}/{prefix}", storage, s3_environment(endpoint))


@pytest.fixture(params=["disk", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh storage on each backend in turn."""
    return _backend(request.param, tmp_path, request)


@pytest.fixture
def disk_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh disk storage, for tests where the backend does not matter."""
    return _backend("disk", tmp_path, request)


def stored_keys(storage: Any, prefix: str = "") -> list[str]:
    """Return every key in a storage (what a test checks for leftovers)."""
    return [info.key for info in storage.list(prefix)]
