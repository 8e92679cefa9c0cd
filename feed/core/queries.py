"""Pure questions over package records: ranges, prerelease filters, search, ordering, pages."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from feed.core.records import PackageRecord
from packer.model.identity import id_key
from packer.model.ranges import VersionRange, parse_range
from packer.model.versions import NuGetVersion, parse_version


def newest_first(records: Iterable[PackageRecord]) -> list[PackageRecord]:
    """Sort records by version value, newest first."""
    return sorted(records, key=lambda r: _version_value(r.version), reverse=True)


@functools.lru_cache(maxsize=1 << 18)
def _version_value(text: str) -> NuGetVersion:
    """Parse a stored version once per process: feed-wide queries sort every version."""
    return parse_version(text)


def page(items: list[PackageRecord], skip: int, take: int | None) -> list[PackageRecord]:
    """Return one page of a list."""
    return items[skip:] if take is None else items[skip : skip + take]


def matching_versions(
    records: list[PackageRecord],
    version_range: str | VersionRange | None,
    include_prerelease: bool,
) -> list[PackageRecord]:
    """Return the listed records a range admits (without one: stable unless asked)."""
    wanted = parse_range(version_range) if isinstance(version_range, str) else version_range
    return [
        r
        for r in records
        if r.listed
        and (
            wanted.admits(parse_version(r.version), include_prerelease)
            if wanted is not None
            else include_prerelease or not r.is_prerelease
        )
    ]


def search_records(
    records: Iterable[PackageRecord], text: str | None, latest_only: bool
) -> list[PackageRecord]:
    """Return listed records whose id contains `text`, by id, newest version first."""
    needle = (text or "").strip().lower()
    groups: dict[str, list[PackageRecord]] = {}
    for record in records:
        if record.listed and needle in record.id.lower():
            groups.setdefault(id_key(record.id), []).append(record)
    results: list[PackageRecord] = []
    for key in sorted(groups):
        versions = newest_first(groups[key])
        results.extend(versions[:1] if latest_only else versions)
    return results
