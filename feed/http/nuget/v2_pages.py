"""NuGet v2 `Packages()`/`Search()` over the catalog: visible versions, and one page of them.

The general way (`listed_entries`, then filter, order and page in `v2`) makes one entry per
visible version: 100,000 objects and Python sorts for a feed of 100,000 versions. Most
queries need far less: without `$filter`, or with one that reads only what the catalog's
slim part knows (Id, IsLatestVersion, IsAbsoluteLatestVersion, IsPrerelease, Listed), and
ordered by Id first (the default), the answer's versions come id after id in the catalog's
order. `catalog_page` then counts each id's kept versions from its flags and builds entries
for the ids on the page only, with the same order, page and count as the general way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from feed.core.catalog import IdEntry
from feed.core.catalog_shard import FLAG_LISTED, FLAG_NUPKG, FLAG_PRERELEASE
from feed.core.queries import terms_match
from feed.http.nuget.common import visible_positions
from feed.http.nuget.v2_entries import DEFAULT_ORDER, Entry, SlimEntry, order_by
from feed.http.nuget.v2_filter import Predicate

LISTED_NUPKG = FLAG_LISTED | FLAG_NUPKG
# The properties a slim entry answers without decoding its record.
SLIM_PROPERTIES = frozenset({"Id", "IsLatestVersion", "IsAbsoluteLatestVersion", "IsPrerelease", "Listed"})  # fmt: skip


@dataclass(frozen=True)
class Visibility:
    """Which versions a client sees: its semVerLevel, prerelease choice and search terms."""

    semver2: bool
    prerelease: bool
    terms: list[str]


@dataclass(frozen=True)
class _Shown:
    """One id's visible positions (newest first) and its latest stable and absolute ones."""

    positions: tuple[int, ...]
    stable: int | None
    latest: int | None


def _shown(entry: IdEntry, seen: Visibility) -> _Shown | None:
    """Return what one id shows this client, or None when it shows nothing."""
    if seen.terms and not _matches(entry, seen.terms):
        return None
    shown = visible_positions(entry, seen.prerelease, seen.semver2)
    if not shown:
        return None
    stable = next(iter(visible_positions(entry, False, seen.semver2)), None)
    latest = shown[0] if seen.prerelease else visible_positions(entry, True, seen.semver2)[0]
    return _Shown(shown, stable, latest)


def _matches(entry: IdEntry, terms: list[str]) -> bool:
    """Tell whether a listed nupkg version of the id matches every term (distinct texts
    first: most ids match none of them)."""
    texts = entry.texts()
    if len(texts) == 1:  # every version has this text
        return terms_match(entry.key, texts[0], terms) and bool(entry.positions(LISTED_NUPKG))
    if not any(terms_match(entry.key, text, terms) for text in texts):
        return False
    return any(terms_match(entry.key, entry.text(p), terms) for p in entry.positions(LISTED_NUPKG))


def _entries(entry: IdEntry, shown: _Shown, positions: Sequence[int]) -> list[Entry]:
    return [SlimEntry(entry, p, p == shown.stable, p == shown.latest) for p in positions]


def listed_entries(ids: Sequence[IdEntry], seen: Visibility) -> list[Entry]:
    """Return entries of every listed version visible to the client, matching the terms.

    Built from the catalog's slim entries: no record is decoded here.
    """
    entries: list[Entry] = []
    for entry in ids:
        shown = _shown(entry, seen)
        if shown is not None:
            entries.extend(_entries(entry, shown, shown.positions))
    return entries


def catalog_page(
    ids: Sequence[IdEntry],
    seen: Visibility,
    test: tuple[Predicate, frozenset[str]],
    orderby: list[tuple[str, bool]],
    page: tuple[int, int | None],
    whole: bool,
) -> tuple[int, list[Entry]] | None:
    """Return (count, the page's entries) as the general way would, or None when the
    filter or order needs records. `page` is (skip, take; None: none wanted); without
    `whole`, counting stops once the count is known to pass the page's end."""
    predicate, reads = test
    keys = orderby or DEFAULT_ORDER
    if keys[0][0] != "Id" or not reads <= SLIM_PROPERTIES:
        return None
    kept = _Kept(predicate, "Id" in reads) if reads else None
    skip, take = page
    end = None if take is None else skip + take
    total, found = 0, []
    for entry in reversed(ids) if keys[0][1] else ids:
        shown = _shown(entry, seen)
        if shown is None:
            continue
        positions = shown.positions if kept is None else kept(entry, shown)
        if end is not None and total + len(positions) > skip and total < end:
            entries = _entries(entry, shown, positions)
            order_by(entries, keys)
            found.extend(entries[max(0, skip - total) : end - total])
        total += len(positions)
        if not whole and end is not None and total > end:
            break
    return total, found


class _Kept:
    """A filter on slim properties, asked once per kind of version rather than per version.

    A visible version's slim properties are its record id, prerelease flag and whether it
    is the latest stable or absolute version: the verdict per combination is kept, and an
    id whose other versions all get the same verdict is decided without a look at each.
    """

    def __init__(self, predicate: Predicate, reads_id: bool) -> None:
        self._predicate, self._reads_id = predicate, reads_id
        self._verdicts: dict[tuple[str, bool, bool, bool], bool] = {}

    def __call__(self, entry: IdEntry, shown: _Shown) -> Sequence[int]:
        names = entry.names() if self._reads_id else [""]
        if len(names) == 1:
            plain = {self._verdict(names[0], pre, False, False) for pre in (False, True)}
            if len(plain) == 1:
                special = {shown.stable, shown.latest}
                passes = plain.pop()
                return [
                    p
                    for p in shown.positions
                    if (self._passes(entry, shown, p) if p in special else passes)
                ]
        return [p for p in shown.positions if self._passes(entry, shown, p)]

    def _passes(self, entry: IdEntry, shown: _Shown, position: int) -> bool:
        return self._verdict(
            entry.name(position) if self._reads_id else "",
            bool(entry.flag(position) & FLAG_PRERELEASE),
            position == shown.stable,
            position == shown.latest,
        )

    def _verdict(self, name: str, prerelease: bool, stable: bool, latest: bool) -> bool:
        kind = (name, prerelease, stable, latest)
        verdict = self._verdicts.get(kind)
        if verdict is None:
            properties = {
                "Id": name,
                "IsPrerelease": prerelease,
                "Listed": True,  # only listed versions are visible
                "IsLatestVersion": stable,
                "IsAbsoluteLatestVersion": latest,
            }
            verdict = self._verdicts[kind] = self._predicate(properties)
        return verdict
