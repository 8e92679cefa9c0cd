"""Applying retention: plan per package, delete by compare-and-swap, audit, one job at a time.

Safety comes from the records, not from timing: a version is deleted only if its record
still has the etag the plan read (so a re-push or overwrite wins), versions published
after the run started are kept, and the record goes before the bytes, so a killed job
leaves at worst an unreferenced blob, never a version that cannot be downloaded.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import groupby

from feed.core.errors import FeedError
from feed.core.records import PackageRecord, record_key
from feed.core.repository import Repository, iso_utc
from feed.retention.policy import (
    DELETED,
    KEPT,
    Candidate,
    Decision,
    Policy,
    Rules,
    check_pattern,
    is_glob,
    matches,
    plan_package,
)
from feed.retention.store import RETENTION_PREFIX, RetentionStore
from packer.model.identity import id_key
from packer.model.versions import parse_version
from storage import ObjectExists, ObjectNotFound, PreconditionFailed, Storage

log = logging.getLogger(__name__)

LEASE_KEY = "retention/lease.json"
AUDIT_PREFIX = "retention/audit/"
PENDING_PREFIX = "retention/pending/"
DEFAULT_LEASE = timedelta(minutes=10)
CHANGED = "changed after the plan was made"
STOPPED = "the job stopped before deleting it"

Clock = Callable[[], datetime]
Entry = tuple[PackageRecord, str]
Planned = tuple[Decision, PackageRecord, str]


class LeaseHeld(FeedError):
    """Another retention job holds the lease (HTTP 409, exit 1: try again later)."""

    status = 409


class LeaseLost(FeedError):
    """Our lease expired or another job took it; this job stops deleting (HTTP 409)."""

    status = 409


class Lease:
    """A lease record with an expiry: create-if-absent, or compare-and-swap over an expired one."""

    def __init__(
        self,
        storage: Storage,
        owner: str,
        clock: Clock,
        duration: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.storage = storage
        self.owner = owner
        self.clock = clock
        self.duration = duration
        self.etag: str | None = None
        self.expires: datetime | None = None

    def acquire(self) -> None:
        """Take the lease or raise LeaseHeld naming its holder and expiry."""
        expires = self.clock() + self.duration
        data = self._document(expires)
        try:
            self.etag = self.storage.create_record(LEASE_KEY, data)
        except ObjectExists:
            self.etag = self._take_over(data)
        self.expires = expires

    def _take_over(self, data: bytes) -> str:
        """Replace an expired lease by compare-and-swap; a second taker loses the swap."""
        try:
            current, etag = self.storage.read_record(LEASE_KEY)
            holder = json.loads(current)
            until = datetime.fromisoformat(holder["expires"])
            if until > self.clock():
                raise LeaseHeld(
                    f"another retention job ({holder['owner']}) holds the lease until "
                    f"{holder['expires']}; try again later"
                )
            return self.storage.replace_record(LEASE_KEY, data, if_match=etag)
        except (PreconditionFailed, ObjectNotFound):
            raise LeaseHeld("another retention job took the lease first; try again later") from None

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
        try:
            self.etag = self.storage.replace_record(
                LEASE_KEY, self._document(expires), if_match=self.etag
            )
        except (PreconditionFailed, ObjectNotFound):
            raise LeaseLost(f"the retention lease of {self.owner} was taken over") from None
        self.expires = expires

    def release(self) -> None:
        """Give the lease back if it is still ours (quietly do nothing otherwise)."""
        if self.etag is None:
            return
        try:
            self.storage.delete_record(LEASE_KEY, if_match=self.etag)
        except (PreconditionFailed, ObjectNotFound):
            pass
        self.etag = None

    def _document(self, expires: datetime) -> bytes:
        """Return the lease record: who holds it and until when."""
        return json.dumps({"owner": self.owner, "expires": iso_utc(expires)}).encode("utf-8")


@dataclass
class RetentionReport:
    """What one run decided and did; `decisions` follow the retention JSON contract."""

    job: str
    decisions: list[Decision] = field(default_factory=list)
    dry_run: bool = False

    @property
    def deleted(self) -> list[Decision]:
        """Return the decisions that deleted a version."""
        return [d for d in self.decisions if d.deleted]

    def to_json(self) -> dict[str, object]:
        """Return `{"decisions": [...]}` plus the job id and whether it was a dry run."""
        return {
            "decisions": [d.to_json() for d in self.decisions],
            "job": self.job,
            "dry_run": self.dry_run,
        }


class Audit:
    """The audit log, with a pending entry per package so a killed job can be finished.

    Before deleting, `begin` writes `retention/pending/...` naming every planned record,
    etag and blob; `finish` writes the audit entry and removes the pending one. The next
    job `recover`s what a killed one left: it removes the blobs whose records are gone and
    writes the audit entry the killed job could not.
    """

    def __init__(self, storage: Storage, job: str, actor: str, clock: Clock) -> None:
        self.storage = storage
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
        return key, self.storage.create_record(key, json.dumps(document).encode("utf-8"))

    def finish(self, pending: tuple[str, str], package_id: str, done: list[Decision]) -> None:
        """Write the audit entry of one package, then drop its pending entry."""
        self._write(self.job, self.actor, package_id, done, None)
        self.storage.delete_record(pending[0], if_match=pending[1])

    def recover(self) -> int:
        """Finish what killed jobs left pending; return how many entries were recovered."""
        recovered = 0
        for info in list(self.storage.list(PENDING_PREFIX)):
            try:
                data, etag = self.storage.read_record(info.key)
            except ObjectNotFound:
                continue
            pending = json.loads(data)
            done = [self._recover_item(pending["id"], item) for item in pending["items"]]
            self._write(pending["job"], pending["actor"], pending["id"], done, self.job)
            try:
                self.storage.delete_record(info.key, if_match=etag)
            except (ObjectNotFound, PreconditionFailed):
                pass
            recovered += 1
        return recovered

    def _recover_item(self, package_id: str, item: dict[str, str]) -> Decision:
        """Settle one planned deletion of a killed job and say what became of it."""
        try:
            data, etag = self.storage.read_record(item["record"])
        except ObjectNotFound:
            _delete_quietly(self.storage, item["blob"])  # the record went first: bytes may go
            return Decision(package_id, item["version"], DELETED, item["rule"])
        if etag == item["etag"]:
            return Decision(package_id, item["version"], KEPT, STOPPED)
        if json.loads(data).get("blob") != item["blob"]:
            _delete_quietly(self.storage, item["blob"])  # deleted, then pushed anew
        return Decision(package_id, item["version"], KEPT, CHANGED)

    def _write(
        self, job: str, actor: str, package_id: str, done: list[Decision], by: str | None
    ) -> None:
        """Create the audit entry `retention/audit/{job}/{id-lower}.json` (once)."""
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
        key = f"{AUDIT_PREFIX}{job}/{id_key(package_id)}.json"
        try:
            self.storage.create_record(key, json.dumps(entry, indent=1).encode("utf-8"))
        except ObjectExists:
            pass  # a recovery that was itself killed after writing it


def _delete_quietly(storage: Storage, key: str) -> None:
    """Delete a blob; already gone is fine."""
    try:
        storage.delete(key)
    except ObjectNotFound:
        pass


def read_audit(storage: Storage, take: int = 100) -> list[dict[str, object]]:
    """Return the newest audit entries first (jobs by start time, packages by id)."""
    keys = sorted((info.key for info in storage.list(AUDIT_PREFIX)), reverse=True)
    entries = []
    for key in keys[:take]:
        try:
            data, _ = storage.read_record(key)
        except ObjectNotFound:
            continue
        entries.append(json.loads(data))
    return entries


def new_job_id(clock: Clock) -> str:
    """Return a job id that sorts by start time and that no other job picks."""
    return f"{clock():%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def run_retention(
    repository: Repository,
    store: RetentionStore,
    *,
    actor: str,
    rules: Rules | None = None,
    package: str | None = None,
    dry_run: bool = False,
    lease: Lease | None = None,
    job: str | None = None,
    deleters: int = 8,
) -> RetentionReport:
    """Plan (and unless `dry_run`, apply) retention; `rules` given replace the stored policy.

    A non-dry run takes the lease (unless one is given already held), so two jobs never
    delete at once; it is renewed between packages and released at the end. The versions
    of one package are deleted `deleters` at a time (S3 and fsync latency, not CPU, bound).
    """
    clock = repository.clock
    now = clock()
    started = now.replace(microsecond=now.microsecond // 1000 * 1000)  # records keep ms
    report = RetentionReport(job or new_job_id(clock), dry_run=dry_run)
    policy = Policy(rules) if rules is not None else store.policy()
    pins = store.pinned_versions()
    audit = Audit(repository.storage, report.job, actor, clock)
    own_lease = lease is None and not dry_run
    if own_lease:
        lease = Lease(repository.storage, f"{actor} job {report.job}", clock)
        lease.acquire()
    pool = ThreadPoolExecutor(max(1, deleters), thread_name_prefix="retention-delete")
    try:
        if not dry_run:
            audit.recover()
        for package_id, entries in _packages(repository, package):
            if lease is not None and not dry_run:
                lease.renew_if_due()
            decisions = _plan(entries, policy.rules_for(package_id), pins, started)
            if not dry_run:
                decisions = _apply(repository, audit, package_id, decisions, pool)
            report.decisions.extend(d for d, _, _ in decisions)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own_lease and lease is not None:
            lease.release()
    return report


def _packages(repository: Repository, pattern: str | None) -> Iterator[tuple[str, list[Entry]]]:
    """Yield (id, [(record, etag)]) per package from one listing, filtered by id or glob."""
    if pattern is not None:
        check_pattern(pattern)
    exact = pattern is not None and not is_glob(pattern)
    listing = repository.records_with_etags(pattern if exact else None)
    for _, group in groupby(listing, key=lambda entry: id_key(entry[0].id)):
        entries = list(group)
        package_id = entries[0][0].id
        if pattern is None or matches(pattern, package_id):
            yield package_id, entries


def _plan(
    entries: list[Entry], rules: Rules, pins: dict[str, set[str]], started: datetime
) -> list[Planned]:
    """Plan one package and pair every decision with the record and etag it was made on."""
    keyed = [(parse_version(record.version), record, etag) for record, etag in entries]
    keyed.sort(key=lambda item: item[0], reverse=True)  # the planner's order: newest first
    candidates = [Candidate(r.id, v, _published(r)) for v, r, _ in keyed]
    package_pins = pins.get(id_key(entries[0][0].id), set())
    decisions = plan_package(candidates, rules, package_pins, started)
    return [(d, r, e) for d, (_, r, e) in zip(decisions, keyed, strict=True)]


def _published(record: PackageRecord) -> datetime:
    """Read a record's publication time (ISO-8601 UTC with a Z)."""
    return datetime.fromisoformat(record.published)


def _delete(repository: Repository, item: Planned) -> bool:
    """Delete one planned version if its record is unchanged; True when it went."""
    return repository.delete_if_unchanged(item[1], item[2])


def _apply(
    repository: Repository,
    audit: Audit,
    package_id: str,
    planned: list[Planned],
    pool: ThreadPoolExecutor,
) -> list[Planned]:
    """Delete what the plan deletes, by compare-and-swap; keep what changed since the plan."""
    doomed = [item for item in planned if item[0].deleted]
    if not doomed:
        return planned
    pending = audit.begin(package_id, doomed)
    gone = iter(list(pool.map(lambda item: _delete(repository, item), doomed)))
    outcome = []
    for decision, record, etag in planned:  # `gone` follows the doomed ones in this order
        if decision.deleted and not next(gone):
            decision = replace(decision, decision=KEPT, rule=CHANGED)
        outcome.append((decision, record, etag))
    done = [d for d, _, _ in outcome if d.rule == CHANGED or d.deleted]
    audit.finish(pending, package_id, done)
    return outcome


def summary_line(report: RetentionReport, owner: str) -> str:
    """One line for the serve log: which job ran and what it did."""
    deleted = len(report.deleted)
    return (
        f"scheduled retention job {report.job} ({owner}): deleted {deleted}, "
        f"kept {len(report.decisions) - deleted} of {len(report.decisions)} versions"
    )


class RetentionScheduler:
    """Run retention with the stored policy every `interval`, one feed process at a time."""

    def __init__(
        self,
        repository: Repository,
        interval: timedelta,
        owner: str | None = None,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.repository = repository
        self.interval = interval
        self.owner = owner or f"feed-{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None

    def run_once(self) -> RetentionReport | None:
        """Run one scheduled job if no other process holds the lease; None when skipped."""
        store = RetentionStore(self.repository.storage, self.repository.clock)
        try:
            return run_retention(self.repository, store, actor=f"schedule ({self.owner})")
        except LeaseHeld as held:
            log.info("retention skipped: %s", held)
            return None

    def start(self) -> None:
        """Start the background thread (a daemon: it never keeps the process alive)."""
        self._thread = threading.Thread(target=self._loop, name="octopack-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        """Sleep an interval, run, repeat; a failed run is logged and retried next time."""
        while not self._wait(self.interval.total_seconds()):
            try:
                report = self.run_once()
            except Exception:  # noqa: BLE001 - a scheduled job must survive one bad run
                log.exception("scheduled retention failed")
                continue
            if report is not None:
                log.info("%s", summary_line(report, self.owner))


__all__ = [
    "AUDIT_PREFIX",
    "LEASE_KEY",
    "RETENTION_PREFIX",
    "Audit",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "RetentionReport",
    "RetentionScheduler",
    "read_audit",
    "run_retention",
]
