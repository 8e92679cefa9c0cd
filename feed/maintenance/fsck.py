"""`fsck`: find (and with `repair`, remove) what a killed feed or job leaves in storage.

Pushes write the blob, then the record; overwrites and deletes change the record, then
remove the old blob. A process killed between the two steps leaves a blob no record
names (an orphan), never a visible half-version. What this checks, one finding each:

* ``orphan-blob``: a blob under ``packages/`` that no record names;
* ``missing-blob``: a record whose blob is gone (the version cannot be downloaded);
* ``corrupt-blob`` (with `verify`): a blob whose bytes do not hash to the record's SHA-256;
* ``stale-temp``: a storage temp file of a killed writer (disk);
* ``stale-spool``: an upload spool no live process holds;
* ``pending-retention``: a retention job killed before finishing its audit entry;
* ``stale-summary``: a catalog shard whose summaries disagree with their records (a
  writer killed between its record and its summary); repair rebuilds the catalog.

`repair` removes orphans and records without a blob older than `grace` seconds (younger
ones may belong to a push in flight), sweeps temp files and spools, and finishes pending
retention work; it runs under the retention lease, so it never races a retention job.
Corrupt blobs are reported, never removed: an operator decides.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from feed.core.config import FeedConfig
from feed.core.records import PACKAGES_PREFIX, PackageRecord, is_record_key
from feed.core.repository import Repository
from feed.core.spool import abandoned_spools
from feed.retention.audit import PENDING_PREFIX
from feed.retention.store import RetentionStore
from storage import ObjectInfo, ObjectNotFound, Storage

log = logging.getLogger(__name__)
DEFAULT_GRACE_SECONDS = 3600.0
HASH_CHUNK = 1024 * 1024


class FeedParts(Protocol):
    """What fsck uses of a feed (FeedServices has these)."""

    config: FeedConfig
    repository: Repository
    retention: RetentionStore


@dataclass
class Finding:
    """One problem: its kind, the key or file, what is wrong, and whether repair fixed it."""

    kind: str
    key: str
    detail: str
    repaired: bool = False

    def line(self) -> str:
        """One line for the terminal."""
        state = " (repaired)" if self.repaired else ""
        return f"{self.kind} {self.key}: {self.detail}{state}"


@dataclass
class FsckReport:
    """Everything one check found; problems remain unless each was repaired."""

    findings: list[Finding] = field(default_factory=list)
    records: int = 0
    blobs: int = 0

    @property
    def remaining(self) -> int:
        """How many problems are still there."""
        return sum(1 for f in self.findings if not f.repaired)

    def count(self, kind: str, repaired: bool | None = None) -> int:
        """How many findings of one kind (optionally: only the repaired ones)."""
        return sum(
            1
            for f in self.findings
            if f.kind == kind and (repaired is None or f.repaired == repaired)
        )

    def to_json(self) -> dict[str, object]:
        """The `--output-format json` document."""
        return {
            "records": self.records,
            "blobs": self.blobs,
            "found": len(self.findings),
            "repaired": len(self.findings) - self.remaining,
            "remaining": self.remaining,
            "findings": [asdict(f) for f in self.findings],
        }


class Fsck:
    """One check of a feed's storage, spool folder and retention state."""

    def __init__(
        self,
        storage: Storage,
        parts: FeedParts,
        *,
        repair: bool = False,
        verify: bool = False,
        grace: float = DEFAULT_GRACE_SECONDS,
        now: float | None = None,
    ) -> None:
        self.storage = storage
        self.feed = parts
        self.repair = repair
        self.verify = verify
        self.grace = grace
        self.now = time.time() if now is None else now
        self.report = FsckReport()

    def run(self, lease_held: bool = False) -> FsckReport:
        """Check everything; repair under the retention lease unless the caller holds it."""
        with self._lease(lease_held):
            self._check_pending_retention()  # its recovery removes blobs it meant to
            self._check_packages()
            self._check_catalog()
            self._check_temp_files()
            self._check_spools()
        return self.report

    # -- packages ------------------------------------------------------------------------

    def _check_packages(self) -> None:
        """Match every blob under packages/ to the record of its version folder."""
        folders: dict[str, list[ObjectInfo]] = defaultdict(list)
        for info in self.storage.list(PACKAGES_PREFIX):
            folders[info.key.rsplit("/", 1)[0]].append(info)
        for objects in folders.values():
            self._check_folder(objects)

    def _check_folder(self, objects: list[ObjectInfo]) -> None:
        records = [info for info in objects if is_record_key(info.key)]
        blobs = {info.key: info for info in objects if not is_record_key(info.key)}
        self.report.blobs += len(blobs)
        named: set[str] = set()
        for info in records:
            found = self.feed.repository.read_record_with_etag(info.key)
            if found is None:
                continue  # deleted while we looked
            record, etag = found
            self.report.records += 1
            named.add(record.blob)
            if record.blob not in blobs:
                self._missing_blob(info, record, etag)
            elif self.verify:
                self._verify(record)
        for key, info in sorted(blobs.items()):
            if key not in named:
                self._orphan(info)

    def _check_catalog(self) -> None:
        """Compare every catalog shard with the summaries the records call for."""
        catalog = self.feed.repository.catalog
        records = (r for r, _ in self.feed.repository.records_with_etags())
        expected, stored = catalog.expected(records), catalog.stored()
        stale = sorted(
            k for k in expected.keys() | stored.keys() if expected.get(k, {}) != stored.get(k, {})
        )
        findings = [
            self._stale_summary(key, expected.get(key, {}), stored.get(key, {})) for key in stale
        ]
        if stale and self.repair:
            catalog.rebuild()
            for finding in findings:
                finding.repaired = True
        self.report.findings.extend(findings)

    def _stale_summary(self, key: str, expected: dict, stored: dict) -> Finding:
        ids = sorted(i for i in expected.keys() | stored.keys() if expected.get(i) != stored.get(i))
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        return Finding("stale-summary", key, f"summaries of {shown} disagree with their records")

    def _orphan(self, info: ObjectInfo) -> None:
        finding = Finding("orphan-blob", info.key, f"{info.size} bytes that no record names")
        if self._past_grace(info):
            if self.repair:
                self._delete(info.key)
                finding.repaired = True
        else:
            finding.detail += "; younger than the grace period (a push in flight?)"
        self.report.findings.append(finding)

    def _missing_blob(self, info: ObjectInfo, record: PackageRecord, etag: str) -> None:
        finding = Finding(
            "missing-blob",
            info.key,
            f"{record.id} {record.version} names {record.blob}, which is gone",
        )
        if self.repair and self._past_grace(info):
            finding.repaired = self.feed.repository.delete_if_unchanged(record, etag)
        self.report.findings.append(finding)

    def _verify(self, record: PackageRecord) -> None:
        digest = hashlib.sha256()
        try:
            with self.storage.open_blob(record.blob) as stream:
                while chunk := stream.read(HASH_CHUNK):
                    digest.update(chunk)
        except ObjectNotFound:
            return  # removed meanwhile: the next check sees it
        if digest.hexdigest() != record.sha256:
            detail = f"{record.id} {record.version}: SHA-256 {digest.hexdigest()}, record says {record.sha256}"
            self.report.findings.append(Finding("corrupt-blob", record.blob, detail))

    # -- leftovers of killed processes ---------------------------------------------------

    def _check_temp_files(self) -> None:
        stale = getattr(self.storage, "stale_temp_files", None)
        if not callable(stale):
            return  # S3 writes are atomic requests: no temp objects to find
        for relative in stale(self.grace, self.now):
            finding = Finding("stale-temp", relative, "a temp file of a killed writer")
            if self.repair:
                self.storage.sweep_temp_files(self.grace, self.now)  # type: ignore[attr-defined]
                finding.repaired = True
            self.report.findings.append(finding)

    def _check_spools(self) -> None:
        for path in abandoned_spools(self.feed.config.upload_dir, self.now, min(self.grace, 60)):
            finding = Finding("stale-spool", str(path), "an upload spool no live process holds")
            if self.repair:
                path.unlink(missing_ok=True)
                finding.repaired = True
            self.report.findings.append(finding)

    def _check_pending_retention(self) -> None:
        pending = [info.key for info in self.storage.list(PENDING_PREFIX)]
        for key in pending:
            self.report.findings.append(
                Finding("pending-retention", key, "a retention job stopped before finishing")
            )
        if pending and self.repair:
            job = f"fsck-{datetime.fromtimestamp(self.now, UTC):%Y%m%dT%H%M%SZ}"
            self.feed.retention.audit(job, "fsck").recover()
            for finding in self.report.findings:
                finding.repaired = True  # only pending findings exist yet

    # -- helpers -------------------------------------------------------------------------

    def _past_grace(self, info: ObjectInfo) -> bool:
        return info.modified.timestamp() <= self.now - self.grace

    def _delete(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except ObjectNotFound:
            pass

    @contextmanager
    def _lease(self, held: bool) -> Iterator[None]:
        """Hold the retention lease while repairing (LeaseHeld when a job runs now)."""
        if not self.repair or held:
            yield
            return
        lease = self.feed.retention.lease("fsck --repair")
        lease.acquire()
        try:
            yield
        finally:
            lease.release()


def fsck(
    storage: Storage,
    feed: FeedParts,
    *,
    repair: bool = False,
    verify: bool = False,
    grace: float = DEFAULT_GRACE_SECONDS,
    now: float | None = None,
    lease_held: bool = False,
) -> FsckReport:
    """Check (and with `repair`, clean up) one feed's storage; see the module docstring."""
    checker = Fsck(storage, feed, repair=repair, verify=verify, grace=grace, now=now)
    return checker.run(lease_held)


def scheduled_sweep(storage: Storage, feed: FeedParts) -> FsckReport:
    """The feed's own sweep on its retention schedule: repair with the default grace.

    The caller (the scheduler) holds the retention lease already.
    """
    report = fsck(storage, feed, repair=True, lease_held=True)
    for finding in report.findings:
        log.info("housekeeping: %s", finding.line())
    return report
