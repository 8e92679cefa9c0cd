"""Fixtures for feed tests: both storage backends, a fixed clock, an in-process feed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.backends import Backend, open_backend
from tests.helpers.feed_fixtures import (  # noqa: F401 (fixtures: clock, feed, disk_feed)
    clock_fixture,
    disk_feed_fixture,
    feed_fixture,
)


@pytest.fixture(params=["disk", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh storage on each backend in turn."""
    return open_backend(request.param, tmp_path, request)


@pytest.fixture
def disk_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh disk storage, for tests where the backend does not matter."""
    return open_backend("disk", tmp_path, request)


def stored_keys(storage: Any, prefix: str = "") -> list[str]:
    """Return every key in a storage (what a test checks for leftovers).

    The catalog's shards (index/catalog/) are indexes kept on purpose, not leftovers.
    """
    return [info.key for info in storage.list(prefix) if not info.key.startswith("index/catalog/")]
