"""Fixtures for retention tests: a feed repository and retention store on disk and on S3."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feed.core.config import FeedConfig
from feed.core.repository import Repository
from feed.retention.store import RetentionStore
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from storage import Storage
from tests.helpers.backends import open_backend
from tests.helpers.clock import FixedClock

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["disk", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A fresh store of each backend (S3: a fresh prefix of the session's bucket)."""
    return open_backend(request.param, tmp_path, request).storage


@pytest.fixture
def clock() -> FixedClock:
    """The feed tests' clock, started where the retention scenarios begin."""
    return FixedClock(START)


@pytest.fixture
def repository(storage: Storage, clock: FixedClock) -> Repository:
    return open_feed(storage, FeedConfig(clock=clock)).repository


@pytest.fixture
def store(storage: Storage, clock: FixedClock) -> RetentionStore:
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
