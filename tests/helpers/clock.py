"""A clock tests move by hand, shared by every feed and retention fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class FixedClock:
    """A clock tests move by hand, so Published values and ages are exact."""

    def __init__(self, now: datetime = DEFAULT_START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move on by `seconds` and any timedelta keywords (`minutes=`, `days=`, ...)."""
        self.now += timedelta(seconds=seconds, **delta)
