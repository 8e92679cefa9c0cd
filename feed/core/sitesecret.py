"""The feed's session-signing secret: random, made once, stored in the feed's storage.

Every feed process (gunicorn workers, other hosts on the same bucket) must sign and check
the web page's session cookies with the same secret, so it lives beside the data: the
first process to need it creates `site/session-secret.json` with create-if-absent, and
every other process reads the winner's. Whoever can read the storage can forge a
session; they can already read every key hash and package, so nothing new is exposed.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime

from feed.core.jsonrecords import JsonRecords, json_codec
from feed.core.records import iso_utc
from storage import Storage

SECRET_KEY = "site/session-secret.json"
SECRET_BYTES = 32


class SiteSecret:
    """Hand out the feed-wide secret, reading (or creating) it once per process."""

    def __init__(self, storage: Storage, clock: Callable[[], datetime]) -> None:
        self._records = JsonRecords(storage, json_codec())
        self._clock = clock
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def session_key(self) -> bytes:
        """Return the secret that signs session cookies, the same in every feed process."""
        with self._lock:
            if self._value is None:
                self._value = self._load()
            return self._value

    def _load(self) -> bytes:
        """Read the stored secret, or store a new one; a lost creation race reads the winner's."""
        found = self._records.read(SECRET_KEY)
        if found is None:
            document = {
                "secret": secrets.token_hex(SECRET_BYTES),
                "created": iso_utc(self._clock()),
            }
            if self._records.create(SECRET_KEY, document) is not None:
                return bytes.fromhex(document["secret"])
            found = self._records.read(SECRET_KEY)
            if found is None:
                raise RuntimeError(f"{SECRET_KEY} was created by another process, then vanished")
        return bytes.fromhex(found.value["secret"])
