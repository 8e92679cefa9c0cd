"""The plain definition of feed search, over full records: the catalog's paged search
(`feed.core.queries.search_entries`) must answer the same."""

from __future__ import annotations

from collections.abc import Iterable

from feed.core.queries import newest_first
from feed.core.records import PackageRecord
from packer.model.identity import id_key


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
