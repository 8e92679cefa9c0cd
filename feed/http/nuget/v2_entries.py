"""NuGet v2 entries: the V2FeedPackage properties of one version, built only when asked.

A feed-wide v2 query (`Packages()`, `Search()`) sees every visible version. An entry made
from the catalog's slim part answers Id, IsLatestVersion, IsAbsoluteLatestVersion,
IsPrerelease and Listed at once; any other property (a `$filter` on Title, an `$orderby`
on Published, the page being rendered) decodes the id's records, once per id.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from feed.core.catalog import IdEntry
from feed.core.catalog_shard import FLAG_LISTED, FLAG_PRERELEASE
from feed.core.queries import version_value
from feed.core.records import PackageRecord
from feed.http.nuget.common import latest_of, published_text
from feed.http.nuget.v2_filter import parse_orderby

DEFAULT_ORDER = [("Id", False), ("Version", False)]


def entry_properties(record: PackageRecord, latest_stable: bool, latest: bool) -> dict[str, Any]:
    """Return the V2FeedPackage properties of one version."""
    return {
        "Id": record.id,
        "Version": record.version,
        "NormalizedVersion": record.normalized_version,
        "Title": record.title or record.id,
        "Authors": ", ".join(record.authors),
        "Owners": ", ".join(record.authors),
        "Copyright": None,
        "Created": record.published,
        "Dependencies": dependencies_text(record.dependency_groups),
        "Description": record.description or "",
        "DownloadCount": 0,
        "IsLatestVersion": latest_stable,
        "IsAbsoluteLatestVersion": latest,
        "IsPrerelease": record.is_prerelease,
        "LastUpdated": record.published,
        "Published": published_text(record),
        "PackageHash": base64.b64encode(bytes.fromhex(record.sha512)).decode("ascii"),
        "PackageHashAlgorithm": "SHA512",
        "PackageSize": record.size,
        "ReleaseNotes": record.release_notes,
        "RequireLicenseAcceptance": False,
        "Summary": record.summary,
        "Tags": " ".join(record.tags),
        "VersionDownloadCount": 0,
        "Listed": record.listed,
        "DevelopmentDependency": False,
    }


def dependencies_text(groups: Iterable[dict[str, Any]]) -> str:
    """Flatten dependency groups to v2's `id:range:framework|...` (`::fw` for an empty group)."""
    parts: list[str] = []
    for group in groups:
        framework = group.get("target_framework") or ""
        dependencies = group.get("dependencies") or []
        if not dependencies:
            parts.append(f"::{framework}")
        parts += [f"{d.get('id', '')}:{d.get('range') or ''}:{framework}" for d in dependencies]
    return "|".join(parts)


class Entry(Mapping[str, Any]):
    """One version's properties; `position` orders it within its id (0 = newest)."""

    __slots__ = ("key", "position", "stable", "latest", "_properties")

    def __init__(self, key: str, position: int, stable: bool, latest: bool) -> None:
        self.key, self.position, self.stable, self.latest = key, position, stable, latest
        self._properties: dict[str, Any] | None = None

    @property
    def record(self) -> PackageRecord:
        raise NotImplementedError

    def properties(self) -> dict[str, Any]:
        """Return every property (decodes the record)."""
        if self._properties is None:
            self._properties = entry_properties(self.record, self.stable, self.latest)
        return self._properties

    def quick(self, name: str) -> tuple[bool, Any]:
        """Return (True, value) for a property known without the record."""
        if name == "IsLatestVersion":
            return True, self.stable
        if name == "IsAbsoluteLatestVersion":
            return True, self.latest
        return False, None

    def __getitem__(self, name: str) -> Any:
        known, value = self.quick(name)
        return value if known else self.properties()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.properties())

    def __len__(self) -> int:
        return len(self.properties())


class SlimEntry(Entry):
    """An entry over a catalog id entry: the record is decoded only when asked."""

    __slots__ = ("_entry",)

    def __init__(self, entry: IdEntry, position: int, stable: bool, latest: bool) -> None:
        super().__init__(entry.key, position, stable, latest)
        self._entry = entry

    @property
    def record(self) -> PackageRecord:
        return self._entry.records()[self.position]

    def quick(self, name: str) -> tuple[bool, Any]:
        if name == "Id":
            return True, self._entry.name(self.position)
        if name == "IsPrerelease":
            return True, bool(self._entry.flag(self.position) & FLAG_PRERELEASE)
        if name == "Listed":
            return True, bool(self._entry.flag(self.position) & FLAG_LISTED)
        return super().quick(name)


class RecordEntry(Entry):
    """An entry over a record already read (one id's versions, GetUpdates)."""

    __slots__ = ("_record",)

    def __init__(self, record: PackageRecord, position: int, stable: bool, latest: bool) -> None:
        super().__init__(record.id.lower(), position, stable, latest)
        self._record = record

    @property
    def record(self) -> PackageRecord:
        return self._record


def entries_of(
    records: list[PackageRecord], semver2: bool, keep: Callable[[PackageRecord], bool]
) -> Iterator[RecordEntry]:
    """Yield entries of the kept records of one id (sorted newest first)."""
    newest = latest_of(records, semver2)
    for position, record in enumerate(records):
        if keep(record):
            yield RecordEntry(record, position, record is newest.stable, record is newest.absolute)


def order(entries: list[Entry], orderby: str | None) -> None:
    """Sort by `$orderby` (stable, last key first), ties by version; Id, Version by default.

    When the first key is Id, versions are compared only within an id, so their position
    (newest first) orders them and no record is decoded; otherwise versions are parsed.
    """
    order_by(entries, parse_orderby(orderby))


def order_by(entries: list[Entry], keys: list[tuple[str, bool]]) -> None:
    """`order` with `$orderby` already parsed (empty: the default order)."""
    keys = keys or DEFAULT_ORDER
    version: Callable[[Entry], Any] = (
        (lambda e: -e.position)
        if keys[0][0] == "Id"
        else (lambda e: version_value(e.record.version))
    )
    sort_keys: dict[str, Callable[[Entry], Any]] = {
        "Id": lambda e: e.key,
        "Version": version,
        "Published": lambda e: e.record.published,
        "DownloadCount": lambda e: 0,
    }
    entries.sort(key=version)  # ties keep ascending versions, as galleries do
    for name, descending in reversed(keys):
        entries.sort(key=sort_keys[name], reverse=descending)
