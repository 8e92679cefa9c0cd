"""A clock tests move by hand, shared by the feed and NuGet fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FixedClock:
    """A clock tests move by hand, so Published values are exact."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)
