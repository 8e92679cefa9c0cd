"""Where a retention run reads each package's versions: the catalog, or the records.

Reading every record one at a time made a cold plan cost one storage round trip per
version (8.7 ms a version on S3). A plan from the catalog (`feed.core.catalog`) costs
its shard documents plus one listing of the record keys and one of the deployment
states, whatever the feed's size. Parallel reads alone cannot do as well: they overlap
round trips, but still pay one request per version.

The catalog is a copy, and a copy can be stale (a writer killed between its record and
its shard). So:

* a package whose listed record keys differ from its summary is read from its records;
* a plan from the catalog only ever says what *would* go (`confirmed` False): before any
  delete, `confirm` reads the package's records and deployment states afresh (in
  parallel) and the job plans it again from them. The whole package is re-read, not
  just the doomed versions, because a kept version's fields (its publication time)
  change the rank of the others. The deletes then compare-and-swap against the etags
  of those fresh reads, as before. A stale summary can make a dry run or a plan miss
  a delete, never cause one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from feed.core.deployments import DeploymentStore
from feed.core.records import PackageRecord, record_key
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
    """Plan from the catalog's summaries, reading from records only what it lacks."""
    listed: dict[str, dict[str, str]] = {}  # id lower -> {record key: etag}
    for key, etag in repository.record_etags().items():
        listed.setdefault(_id_of_key(key), {})[key] = etag
    summaries: dict[str, list[PackageRecord]] = {}
    for record in repository.all_records():
        summaries.setdefault(id_key(record.id), []).append(record)
    states = deployments.states_by_package()
    for id_lower in sorted(listed.keys() | summaries.keys(), key=lambda i: i + "/"):
        keys = listed.get(id_lower, {})
        records = summaries.get(id_lower, [])
        by_key = {record_key(id_lower, r.normalized_version.lower()): r for r in records}
        if by_key.keys() == keys.keys():
            entries = [(by_key[key], etag) for key, etag in sorted(keys.items())]
            package = PackageVersions(records[0].id, entries, states.get(id_lower, []), False)
        else:  # a stale summary: the records say what is there
            entries = list(repository.records_with_etags(id_lower))
            if not entries:
                continue
            package = PackageVersions(entries[0][0].id, entries, states.get(id_lower, []), False)
        if pattern is None or matches(pattern, package.package_id):
            yield package


def _id_of_key(key: str) -> str:
    """Return the lower-case id a record key belongs to (`packages/{id}/{version}/...`)."""
    return key.split("/", 2)[1]
