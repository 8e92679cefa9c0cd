"""Feed fixtures shared by tests/feed and tests/nuget: a clock and in-process feeds.

Each conftest imports these (named `*_fixture`, so `feed` stays free as a parameter name)
and defines its own `backend` and `disk_backend`; pytest resolves those per test
directory, so the same fixtures serve both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.clock import FixedClock
from tests.helpers.feed_server import RunningFeed, running_feed


@pytest.fixture(name="clock")
def clock_fixture() -> FixedClock:
    """A clock tests move by hand, so Published values are exact."""
    return FixedClock()


@pytest.fixture(name="feed")
def feed_fixture(backend: Any, clock: FixedClock) -> Iterator[RunningFeed]:
    """An in-process feed over each backend."""
    with running_feed(backend.storage, clock=clock) as running:
        yield running


@pytest.fixture(name="disk_feed")
def disk_feed_fixture(disk_backend: Any, clock: FixedClock) -> Iterator[RunningFeed]:
    """An in-process feed over disk storage (where the backend does not matter)."""
    with running_feed(disk_backend.storage, clock=clock) as running:
        yield running
