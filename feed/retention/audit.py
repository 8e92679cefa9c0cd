"""The retention audit log, with a pending entry per package so a killed job can be finished.

Before deleting, `begin` writes `retention/pending/...` naming every planned record,
etag and blob; `finish` writes the audit entry and removes the pending one. The next
job `recover`s what a killed one left: it removes the blobs whose records are gone and
writes the audit entry the killed job could not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from feed.core.errors import PackageConflict
from feed.core.jsonrecords import JsonRecords, json_codec
from feed.core.records import PackageRecord, iso_utc, record_key
from feed.retention.policy import DELETED, KEPT, Decision
from packer.model.identity import id_key
from storage import ObjectNotFound, Storage

AUDIT_PREFIX = "retention/audit/"
PENDING_PREFIX = "retention/pending/"
CHANGED = "changed after the plan was made"
STOPPED = "the job stopped before deleting it"

Clock = Callable[[], datetime]
Planned = tuple[Decision, PackageRecord, str]


class Audit:
    """The audit entries and pending entries of one retention job."""

    def __init__(self, storage: Storage, job: str, actor: str, clock: Clock) -> None:
        self._storage = storage
        self._pending = JsonRecords(storage, json_codec())
        self._entries = JsonRecords(storage, json_codec(indent=1))
        self.job = job
        self.actor = actor
        self.clock = clock

    def begin(self, package_id: str, planned: list[Planned]) -> tuple[str, str]:
        """Record the intent to delete; return the pending entry's key and etag."""
        key = f"{PENDING_PREFIX}{self.job}/{id_key(package_id)}.json"
        document = {
            "job": self.job,
            "actor": self.actor,
            "id": package_id,
            "items": [
                {
                    "version": d.version,
                    "rule": d.rule,
                    "record": record_key(id_key(r.id), r.normalized_version.lower()),
                    "etag": etag,
                    "blob": r.blob,
                }
                for d, r, etag in planned
            ],
        }
        etag = self._pending.create(key, document)
        if etag is None:
            raise PackageConflict(f"pending entry {key} exists: job ids must be unique")
        return key, etag

    def finish(self, pending: tuple[str, str], package_id: str, done: list[Decision]) -> None:
        """Write the audit entry of one package, then drop its pending entry."""
        self._write(self.job, self.actor, package_id, done, None)
        self._pending.delete(pending[0], pending[1])

    def recover(self) -> int:
        """Finish what killed jobs left pending; return how many entries were recovered."""
        recovered = 0
        for info in list(self._pending.listing(PENDING_PREFIX)):
            found = self._pending.read(info.key)
            if found is None:
                continue
            pending = found.value
            done = [self._recover_item(pending["id"], item) for item in pending["items"]]
            self._write(pending["job"], pending["actor"], pending["id"], done, self.job)
            self._pending.delete(info.key, found.etag)
            recovered += 1
        return recovered

    def _recover_item(self, package_id: str, item: dict[str, str]) -> Decision:
        """Settle one planned deletion of a killed job and say what became of it."""
        found = self._pending.read(item["record"])
        if found is None:
            self._delete_blob(item["blob"])  # the record went first: bytes may go
            return Decision(package_id, item["version"], DELETED, item["rule"])
        if found.etag == item["etag"]:
            return Decision(package_id, item["version"], KEPT, STOPPED)
        if found.value.get("blob") != item["blob"]:
            self._delete_blob(item["blob"])  # deleted, then pushed anew
        return Decision(package_id, item["version"], KEPT, CHANGED)

    def _write(
        self, job: str, actor: str, package_id: str, done: list[Decision], by: str | None
    ) -> None:
        """Create the audit entry `retention/audit/{job}/{id-lower}.json` (once).

        It may exist already: a recovery that was itself killed after writing it.
        """
        entry: dict[str, object] = {
            "job": job,
            "actor": actor,
            "at": iso_utc(self.clock()),
            "id": package_id,
            "versions": [
                {"version": d.version, "decision": d.decision, "rule": d.rule} for d in done
            ],
        }
        if by is not None:
            entry["recovered_by"] = by
        self._entries.create(f"{AUDIT_PREFIX}{job}/{id_key(package_id)}.json", entry)

    def _delete_blob(self, key: str) -> None:
        """Delete a blob; already gone is fine."""
        try:
            self._storage.delete(key)
        except ObjectNotFound:
            pass


def read_audit(storage: Storage, take: int = 100) -> list[dict[str, Any]]:
    """Return the newest audit entries first (jobs by start time, packages by id)."""
    entries = JsonRecords(storage, json_codec(indent=1))
    keys = sorted((info.key for info in entries.listing(AUDIT_PREFIX)), reverse=True)
    found = (entries.read(key) for key in keys[:take])
    return [item.value for item in found if item is not None]
