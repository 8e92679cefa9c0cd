"""The retention lease: one job deletes at a time, in any number of feed processes.

A lease record with an expiry: create-if-absent, or compare-and-swap over an expired one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from feed.core.errors import PackageConflict
from feed.core.jsonrecords import JsonRecords, json_codec
from feed.core.records import iso_utc
from storage import Storage

LEASE_KEY = "retention/lease.json"
DEFAULT_LEASE = timedelta(minutes=10)

Clock = Callable[[], datetime]


class LeaseHeld(PackageConflict):
    """Another retention job holds the lease (a conflict: try again later)."""


class LeaseLost(PackageConflict):
    """Our lease expired or another job took it; this job stops deleting."""


class Lease:
    """A lease record with an expiry: create-if-absent, or compare-and-swap over an expired one."""

    def __init__(
        self,
        storage: Storage,
        owner: str,
        clock: Clock,
        duration: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._records = JsonRecords(storage, json_codec())
        self.owner = owner
        self.clock = clock
        self.duration = duration
        self.etag: str | None = None
        self.expires: datetime | None = None

    def acquire(self) -> None:
        """Take the lease or raise LeaseHeld naming its holder and expiry."""
        expires = self.clock() + self.duration
        document = self._document(expires)
        etag = self._records.create(LEASE_KEY, document)
        self.etag = etag if etag is not None else self._take_over(document)
        self.expires = expires

    def _take_over(self, document: dict[str, str]) -> str:
        """Replace an expired lease by compare-and-swap; a second taker loses the swap."""
        taken = LeaseHeld("another retention job took the lease first; try again later")
        current = self._records.read(LEASE_KEY)
        if current is None:
            raise taken
        holder = current.value
        if datetime.fromisoformat(holder["expires"]) > self.clock():
            raise LeaseHeld(
                f"another retention job ({holder['owner']}) holds the lease until "
                f"{holder['expires']}; try again later"
            )
        etag = self._records.replace(LEASE_KEY, document, current.etag)
        if etag is None:
            raise taken
        return etag

    def renew_if_due(self) -> None:
        """Extend the lease when half of it is used; raise LeaseLost when someone took it."""
        if self.expires is None or self.etag is None:
            raise LeaseLost("the retention lease was never taken")
        now = self.clock()
        if now >= self.expires:
            raise LeaseLost(
                f"the retention lease of {self.owner} expired at {iso_utc(self.expires)}"
            )
        if self.expires - now > self.duration / 2:
            return
        expires = now + self.duration
        etag = self._records.replace(LEASE_KEY, self._document(expires), self.etag)
        if etag is None:
            raise LeaseLost(f"the retention lease of {self.owner} was taken over")
        self.etag, self.expires = etag, expires

    def release(self) -> None:
        """Give the lease back if it is still ours (quietly do nothing otherwise)."""
        if self.etag is None:
            return
        self._records.delete(LEASE_KEY, self.etag)
        self.etag = None

    def _document(self, expires: datetime) -> dict[str, str]:
        """Return the lease record: who holds it and until when."""
        return {"owner": self.owner, "expires": iso_utc(expires)}
