"""Pure questions over package records: ranges, prerelease filters, search, ordering, pages."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from feed.core.records import PackageRecord
from packer.model.ranges import VersionRange, parse_range
from packer.model.versions import NuGetVersion, parse_version

if TYPE_CHECKING:
    from feed.core.catalog_shard import IdEntry


def newest_first(records: Iterable[PackageRecord]) -> list[PackageRecord]:
    """Sort records by version value, newest first."""
    return sorted(records, key=lambda r: version_value(r.version), reverse=True)


@functools.lru_cache(maxsize=1 << 18)
def version_value(text: str) -> NuGetVersion:
    """Parse a stored version once per process: feed-wide slow paths sort every version."""
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


def search_entries(
    entries: Sequence[IdEntry], text: str | None, latest_only: bool, skip: int, take: int | None
) -> tuple[int, list[PackageRecord]]:
    """Return (total, page) of listed records whose id contains `text`, by id, newest
    version first (only the newest with `latest_only`), from the catalog's id entries
    (sorted by id): only the ids on the page are decoded in full."""
    from feed.core.catalog_shard import FLAG_LISTED

    needle = (text or "").strip().lower()
    end = None if take is None else skip + take
    total, found = 0, []
    for entry in entries:
        if needle not in entry.key:
            continue
        listed = entry.positions(FLAG_LISTED)
        shown = listed[:1] if latest_only else listed
        if shown and total + len(shown) > skip and (end is None or total < end):
            records = entry.records()
            first = max(0, skip - total)
            last = len(shown) if end is None else min(len(shown), end - total)
            found.extend(records[p] for p in shown[first:last])
        total += len(shown)
    return total, found


def record_text(record: PackageRecord) -> str:
    """Return the lower-case text search terms look in: id, title, tags, authors, description."""
    parts = [record.id.lower(), record.title or "", " ".join(record.tags)]
    return " ".join([*parts, " ".join(record.authors), record.description or ""]).lower()


def terms_match(key: str, text: str, terms: list[str]) -> bool:
    """Tell whether every term occurs in `text` (`id:x`/`packageid:x` in the lower-case id)."""
    for term in terms:
        field, _, value = term.partition(":")
        if value and field in ("id", "packageid"):
            if value not in key:
                return False
        elif term not in text:
            return False
    return True
