"""Where a retention run reads each package's versions: the catalog, or the records.

Reading every record one at a time made a cold plan cost one storage round trip per
version (8.7 ms a version on S3). A plan from the catalog (`feed.core.catalog`) costs
its shard documents plus one listing of the deployment states, whatever the feed's
size. (A listing of every record key, to spot stale summaries up front, cost more
than the whole plan on S3: 1,000 keys a page, records and blobs.) Parallel reads alone cannot do as well: they overlap
round trips, but still pay one request per version.

The catalog is a copy, and a copy can be stale (a writer killed between its record and
its shard). So:

* a plan from the catalog only ever says what *would* go (`confirmed` False): before any
  delete, `confirm` reads the package's records and deployment states afresh (in
  parallel) and the job plans it again from them. The whole package is re-read, not
  just the doomed versions, because a kept version's fields (its publication time)
  change the rank of the others. The deletes then compare-and-swap against the etags
  of those fresh reads, as before. A stale summary can make a dry run show what the
  records would not decide, or make a run miss a delete; it never causes one.
  `octopack fsck` reports stale summaries and `--repair` rewrites them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from feed.core.deployments import DeploymentStore
from feed.core.records import PackageRecord
from feed.core.repository import Repository
from feed.retention.policy import check_pattern, is_glob, matches
from packer.model.identity import id_key

Entry = tuple[PackageRecord, str]  # a record and the etag a delete compares


@dataclass(frozen=True)
class PackageVersions:
    """One package as a run plans it: its versions and its deployment states.

    `confirmed` is True when the entries were just read from the records (their etags
    fit their contents); from the catalog it is False and the job must `confirm` first.
    """

    package_id: str
    entries: list[Entry]
    states: list[dict[str, Any]]
    confirmed: bool


def packages(
    repository: Repository,
    deployments: DeploymentStore,
    pattern: str | None,
    from_catalog: bool = True,
) -> Iterator[PackageVersions]:
    """Yield the packages a run plans, in key order, filtered by id or glob.

    An exact id reads that package's records; otherwise the catalog unless `from_catalog`
    is False (read every record, as before the catalog; benchmarks compare the two).
    """
    if pattern is not None:
        check_pattern(pattern)
    if pattern is not None and not is_glob(pattern):
        return _from_records(repository, deployments, pattern)
    if not from_catalog:
        return _from_records(repository, deployments, pattern)
    return _from_catalog(repository, deployments, pattern)


def confirm(
    repository: Repository, deployments: DeploymentStore, package: PackageVersions
) -> PackageVersions:
    """Return the package read afresh from its records and deployment states."""
    if package.confirmed:
        return package
    entries = list(repository.records_with_etags(package.package_id))
    states = deployments.states(package.package_id)
    return PackageVersions(package.package_id, entries, states, True)


def _from_records(
    repository: Repository, deployments: DeploymentStore, pattern: str | None
) -> Iterator[PackageVersions]:
    """Read every record of the feed (or of one id), grouped by package."""
    exact = pattern is not None and not is_glob(pattern)
    listing = repository.records_with_etags(pattern if exact else None)
    for _, group in groupby(listing, key=lambda entry: id_key(entry[0].id)):
        entries = list(group)
        package_id = entries[0][0].id
        if pattern is None or matches(pattern, package_id):
            yield PackageVersions(package_id, entries, deployments.states(package_id), True)


def _from_catalog(
    repository: Repository, deployments: DeploymentStore, pattern: str | None
) -> Iterator[PackageVersions]:
    """Plan from the catalog's summaries: no record is read (the job confirms deletes)."""
    summaries: dict[str, list[PackageRecord]] = {}
    for record in repository.all_records():
        summaries.setdefault(id_key(record.id), []).append(record)
    states = deployments.states_by_package()
    for id_lower in sorted(summaries, key=lambda i: i + "/"):  # the records' key order
        records = summaries[id_lower]
        entries = [(record, "") for record in records]  # no etag: nothing deletes on these
        package = PackageVersions(records[0].id, entries, states.get(id_lower, []), False)
        if pattern is None or matches(pattern, package.package_id):
            yield package
