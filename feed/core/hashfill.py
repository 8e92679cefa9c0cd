"""Hashes only some dialects need, computed after the push instead of on its path.

A raw push commits its record with SHA-256 (the blob's name, checked against what the
client declared) and leaves SHA-1 (Octopus's `Hash`) and SHA-512 (NuGet's) empty:
hashing them on the request path cost more CPU than receiving and writing the package.
A thread of the pushing process fills them in right after the commit; every read of a
record goes through `complete`, so a reader that comes first computes them itself.
Either way the record is updated by compare-and-swap, only while it still names the
same blob, and no answer ever shows an empty hash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from feed.core.errors import PackageConflict
from feed.core.jsonrecords import JsonRecords
from feed.core.records import PackageRecord
from feed.core.uploads import digest_stream
from storage import Storage
from storage.errors import ObjectNotFound, StorageError

log = logging.getLogger("feed.hashes")

LATE_DIGESTS = ("sha1", "sha512")


def hashes_pending(record: PackageRecord) -> bool:
    """Whether the record still lacks the hashes a raw push leaves for later."""
    return not record.sha1 or not record.sha512


class HashFiller:
    """Fills a record's late hashes once per blob in this process, readers waiting on it."""

    def __init__(
        self,
        storage: Storage,
        records: JsonRecords[PackageRecord],
        record_key: Callable[[PackageRecord], str],
        committed: Callable[[str], None],
    ) -> None:
        self._storage = storage
        self._records = records
        self._record_key = record_key
        self._committed = committed
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def complete(self, record: PackageRecord) -> PackageRecord:
        """Return `record` with every hash, computing and storing the late ones if missing."""
        if not hashes_pending(record):
            return record
        with self._guard:
            lock = self._locks.setdefault(record.blob, threading.Lock())
        try:
            with lock:  # a second reader here waits for the first one's result
                return self._fill(record)
        finally:
            with self._guard:
                if not lock.locked():
                    self._locks.pop(record.blob, None)

    def start(self, record: PackageRecord) -> None:
        """Fill the late hashes on a thread of their own (right after a raw push)."""
        if hashes_pending(record):
            threading.Thread(
                target=self._quietly, args=(record,), name="octopack-late-hashes", daemon=True
            ).start()

    def _quietly(self, record: PackageRecord) -> None:
        try:
            self.complete(record)
        except Exception as exc:  # noqa: BLE001 - the next reader computes them instead
            log.warning("late hashes of %s %s: %s", record.id, record.version, exc)

    def _fill(self, record: PackageRecord) -> PackageRecord:
        key = self._record_key(record)
        found = self._records.read(key)
        if found is not None and found.value.blob == record.blob:
            if not hashes_pending(found.value):
                return found.value  # another process or thread was first
        try:
            sha1, sha512 = self._digests(record.blob)
        except ObjectNotFound:
            now = self._records.read(key)
            if now is None or now.value.blob == record.blob:
                raise
            return self.complete(now.value)  # overwritten meanwhile: describe the new blob
        filled = replace(record, sha1=sha1, sha512=sha512)

        def change(current: PackageRecord | None) -> PackageRecord:
            if current is None or current.blob != record.blob:
                raise _Replaced
            return replace(current, sha1=sha1, sha512=sha512)

        try:
            swapped = self._records.update(key, change, f"{record.id} {record.version} busy")
        except (_Replaced, PackageConflict, StorageError):
            return filled  # deleted or overwritten meanwhile: the hashes still describe the blob
        self._committed(record.id)
        return swapped.value

    def _digests(self, blob: str) -> tuple[str, str]:
        """SHA-1 and SHA-512 of a stored blob, each on its own thread."""
        with self._storage.open_blob(blob) as stream:
            _, (sha1, sha512) = digest_stream(stream, LATE_DIGESTS)
        return sha1, sha512


class _Replaced(Exception):
    """The record no longer names the blob that was hashed."""
