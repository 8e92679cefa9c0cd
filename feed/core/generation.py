"""The feed's change marker: `index/generation.json`, rewritten after every record change.

Caches of read answers key on its etag, so one stat validates them in any process.
"""

from __future__ import annotations

import secrets

from feed.core.errors import PackageConflict
from feed.core.jsonrecords import CAS_ATTEMPTS, RAW, JsonRecords
from storage import Storage

GENERATION_KEY = "index/generation.json"


class GenerationMarker:
    """Read and bump the marker; it is created by the first reader only."""

    def __init__(self, storage: Storage) -> None:
        self._records = JsonRecords(storage, RAW)

    def current(self) -> str:
        """Return a token that changes after every push, overwrite, delete and (un)listing.

        The marker is created by the first reader, so feeds nobody caches never get one.
        """
        for _ in range(CAS_ATTEMPTS):
            etag = self._records.etag(GENERATION_KEY)  # a HEAD: cheaper than a read
            if etag is None:
                etag = self._records.create(GENERATION_KEY, _token())
            if etag is not None:
                return etag
        raise PackageConflict("the feed's generation marker kept changing; try again")

    def bump(self) -> None:
        """Rewrite the marker, if a reader made one, after a record changed.

        Compare-and-swap without retries: losing the race means another writer rewrote it
        after our change, which invalidates caches just as well.
        """
        found = self._records.read(GENERATION_KEY)
        if found is not None:
            self._records.replace(GENERATION_KEY, _token(), found.etag)


def _token() -> bytes:
    """Return fresh contents for the marker (its etag is what matters)."""
    return secrets.token_hex(8).encode("ascii")
