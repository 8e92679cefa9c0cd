"""Applying retention: plan per package, delete by compare-and-swap, audit, one job at a time.

Safety comes from the records, not from timing: a version is deleted only if its record
still has the etag the plan read (so a re-push or overwrite wins), versions published
after the run started are kept, and the record goes before the bytes, so a killed job
leaves at worst an unreferenced blob, never a version that cannot be downloaded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime

from feed.core.records import PackageRecord
from feed.core.repository import Repository
from feed.retention.audit import CHANGED, Audit, Planned
from feed.retention.deployed import deployed_rules
from feed.retention.lease import Lease
from feed.retention.policy import (
    KEPT,
    Candidate,
    Decision,
    Policy,
    Rules,
    plan_package,
)
from feed.retention.source import PackageVersions, confirm, packages
from feed.retention.store import RetentionStore
from packer.model.identity import id_key
from packer.model.progress import Progress
from packer.model.versions import parse_version

Clock = Callable[[], datetime]


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
    progress: Progress | None = None,
    from_catalog: bool = True,
) -> RetentionReport:
    """Plan (and unless `dry_run`, apply) retention; `rules` given replace the stored policy.

    A non-dry run takes the lease (unless one is given already held), so two jobs never
    delete at once; it is renewed between packages and released at the end. The versions
    of one package are deleted `deleters` at a time (S3 and fsync latency, not CPU, bound).
    `progress` hears the packages done so far. The plan comes from the feed's catalog
    and every package is read afresh before anything of it is deleted
    (`feed.retention.source`); `from_catalog=False` reads every record instead.
    """
    clock = repository.clock
    now = clock()
    started = now.replace(microsecond=now.microsecond // 1000 * 1000)  # records keep ms
    report = RetentionReport(job or new_job_id(clock), dry_run=dry_run)
    policy = Policy(rules) if rules is not None else store.policy()
    pins = store.pinned_versions()
    audit = store.audit(report.job, actor)
    own_lease = lease is None and not dry_run
    if own_lease:
        lease = store.lease(f"{actor} job {report.job}")
        lease.acquire()
    pool = ThreadPoolExecutor(max(1, deleters), thread_name_prefix="retention-delete")
    deployments = store.deployments
    try:
        if not dry_run:
            audit.recover()
        source = packages(repository, deployments, package, from_catalog)
        for done, versions in enumerate(source, 1):
            if lease is not None and not dry_run:
                lease.renew_if_due()
            rules_here = policy.rules_for(versions.package_id)
            decisions = _plan(versions, rules_here, pins, started)
            if not dry_run and not versions.confirmed and any(d.deleted for d, _, _ in decisions):
                versions = confirm(repository, deployments, versions)  # never delete on a copy
                decisions = _plan(versions, rules_here, pins, started)
            if not dry_run:
                decisions = _apply(repository, audit, versions.package_id, decisions, pool)
            report.decisions.extend(d for d, _, _ in decisions)
            if progress is not None:
                progress(done, None)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own_lease and lease is not None:
            lease.release()
    return report


def _plan(
    versions: PackageVersions, rules: Rules, pins: dict[str, set[str]], started: datetime
) -> list[Planned]:
    """Plan one package and pair every decision with the record and etag it was made on."""
    keyed = [(parse_version(record.version), record, etag) for record, etag in versions.entries]
    keyed.sort(key=lambda item: item[0], reverse=True)  # the planner's order: newest first
    candidates = [Candidate(r.id, v, _published(r)) for v, r, _ in keyed]
    package_pins = pins.get(id_key(versions.package_id), set())
    deployed = deployed_rules(versions.states, rules.keep_deployed)
    decisions = plan_package(candidates, rules, package_pins, started, deployed)
    return [(d, r, e) for d, (_, r, e) in zip(decisions, keyed, strict=True)]


def _published(record: PackageRecord) -> datetime:
    """Read a record's publication time (ISO-8601 UTC with a Z)."""
    return datetime.fromisoformat(record.published)


def _delete(repository: Repository, item: Planned) -> bool:
    """Delete one planned version if its record is unchanged; True when it went."""
    return repository.delete_if_unchanged(item[1], item[2], summarize=False)


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
    futures = [pool.submit(_delete, repository, item) for item in doomed]
    wait(futures)
    if any(f.exception() is not None or f.result() for f in futures):
        repository.summarize(package_id)  # one catalog write for all (even after a failure)
    gone = iter([f.result() for f in futures])
    outcome = []
    for decision, record, etag in planned:  # `gone` follows the doomed ones in this order
        if decision.deleted and not next(gone):
            decision = replace(decision, decision=KEPT, rule=CHANGED)
        outcome.append((decision, record, etag))
    done = [d for d, _, _ in outcome if d.rule == CHANGED or d.deleted]
    audit.finish(pending, package_id, done)
    return outcome
