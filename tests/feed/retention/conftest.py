"""Fixtures for retention tests: a feed repository on disk and on S3 over HTTP, a test clock."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feed.core.config import FeedConfig
from feed.core.repository import Repository
from feed.retention.store import RetentionStore
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from storage import Storage
from storage.disk import DiskStorage
from storage.s3 import S3Storage, make_client
from tests.helpers.moto_server import create_bucket, moto_s3_endpoint

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class TestClock:
    """A clock tests move by hand; every reader sees the same time."""

    __test__ = False

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server on loopback for the session, stopped at its end."""
    with moto_s3_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(params=["disk", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A fresh store of each backend (S3: a new bucket on the moto server)."""
    if request.param == "disk":
        return DiskStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("moto_endpoint")
    return S3Storage(create_bucket(endpoint), "feed", client=make_client(endpoint))


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def repository(storage: Storage, clock: TestClock) -> Repository:
    return open_feed(storage, FeedConfig(clock=clock)).repository


@pytest.fixture
def store(storage: Storage, clock: TestClock) -> RetentionStore:
    return RetentionStore(storage, clock)


def push(
    repository: Repository,
    folder: Path,
    package_id: str,
    version: str,
    content: bytes = b"hello",
    mode: OverwriteMode = OverwriteMode.FAIL_IF_EXISTS,
) -> None:
    """Push a real zip package `{id}.{version}.zip` holding one file."""
    path = folder / f"{package_id}.{version}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app/readme.txt", content + version.encode())
    repository.add_package(path, path.name, mode)
    path.unlink()


def versions_of(repository: Repository, package_id: str) -> list[str]:
    """Return the versions a query shows, newest first."""
    return [r.version for r in repository.list_versions(package_id)]


def assert_servable(repository: Repository) -> None:
    """Every version a query shows can be downloaded whole."""
    for record, _ in repository.records_with_etags():
        with repository.open_download(record) as stream:
            assert len(stream.read()) == record.size, record.filename
