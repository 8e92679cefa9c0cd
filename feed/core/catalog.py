"""The feed-wide catalog: per-package summaries in a few shard documents in storage.

Feed-wide queries (search, list of ids, NuGet search) used to list and read every record:
O(feed) storage calls on the first query after a start or a push. The catalog keeps, per
lower-case id, the summary of its versions (the record fields queries use), in
SHARD_COUNT documents `index/catalog/{nn}.json`; an id's shard is fixed by a hash.

Storage stays the truth and processes stay stateless: a shard is only ever rewritten by
compare-and-swap (`JsonRecords.update`) with entries recomputed from the records *after*
the shard was read, so concurrent writers converge on what the records say. A process
keeps decoded shards in memory, validated by one listing of `index/catalog/` (etags),
so the first query after a start reads SHARD_COUNT small documents and one after a push
re-reads only the shard that changed. `index/catalog/complete.json` marks a catalog
built from every record; without it (a feed older than the catalog) the first query
builds it. A writer killed between its record and its shard leaves a stale summary:
`octopack fsck` finds it and `--repair` rewrites the shard (`rebuild`).
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from typing import Any

from feed.core.jsonrecords import Codec, JsonRecords
from feed.core.records import PACKAGES_PREFIX, PackageRecord, is_record_key
from packer.model.identity import id_key
from storage import Storage

CATALOG_PREFIX = "index/catalog/"
COMPLETE_KEY = CATALOG_PREFIX + "complete.json"
SHARD_COUNT = 32
Shard = dict[str, list[dict[str, Any]]]  # id lower -> record fields of its versions
SHARDS: Codec[Shard] = Codec(
    lambda shard: json.dumps({"ids": shard}, separators=(",", ":"), sort_keys=True).encode(),
    lambda data: json.loads(data)["ids"],
)
# Reads the records of one lower-case id, fresh (the caller may cache by etag).
RecordsOf = Callable[[str], list[PackageRecord]]


def shard_of(id_lower: str) -> str:
    """Return the key of the shard that holds one id's summary."""
    return f"{CATALOG_PREFIX}{zlib.crc32(id_lower.encode('utf-8')) % SHARD_COUNT:02d}.json"


def summary_of(records: Iterable[PackageRecord]) -> list[dict[str, Any]]:
    """Return one id's summary: its records as plain fields, by normalized version."""
    return sorted((asdict(r) for r in records), key=lambda d: d["normalized_version"].lower())


class Catalog:
    """Shard documents kept by compare-and-swap, and this process's decoded copy."""

    def __init__(self, storage: Storage, records_of: RecordsOf) -> None:
        self._shards = JsonRecords(storage, SHARDS)
        self._records_of = records_of
        self._listing = self._shards.listing
        self._lock = threading.Lock()
        self._complete = False
        self._loaded: dict[str, tuple[str, list[PackageRecord]]] = {}

    # -- writing -------------------------------------------------------------------------

    def changed(self, id_lower: str) -> None:
        """Recompute one id's summary from its records, after a record of it changed."""
        self._update(shard_of(id_lower), {id_lower})

    def rebuild(self) -> int:
        """Recompute every shard from the records (fsck --repair, first use); return shards."""
        by_shard: dict[str, set[str]] = {}
        for info in self._listing(PACKAGES_PREFIX):
            if is_record_key(info.key):
                id_lower = info.key[len(PACKAGES_PREFIX) :].split("/", 1)[0]
                by_shard.setdefault(shard_of(id_lower), set()).add(id_lower)
        for info in self._listing(CATALOG_PREFIX):
            if info.key != COMPLETE_KEY:
                by_shard.setdefault(info.key, set())
        for key, ids in sorted(by_shard.items()):
            self._update(key, ids, every_id=True)
        self._shards.create(COMPLETE_KEY, {})
        self._complete = True
        return len(by_shard)

    def _update(self, key: str, ids: set[str], every_id: bool = False) -> None:
        """Swap in fresh summaries of `ids` (and with `every_id`, of all ids in the shard).

        The records are read inside the change, after the shard was read, so a writer
        that loses the race recomputes from records at least as new as the winner's.
        """

        def change(current: Shard | None) -> Shard:
            shard = dict(current or {})
            for id_lower in ids | (set(shard) if every_id else set()):
                summary = summary_of(self._records_of(id_lower))
                if summary:
                    shard[id_lower] = summary
                else:
                    shard.pop(id_lower, None)
            return shard

        self._shards.update(key, change, f"catalog shard {key} kept changing; try again")

    # -- reading -------------------------------------------------------------------------

    def stored(self) -> dict[str, Shard]:
        """Return every shard as stored (fsck compares them with the records)."""
        shards = {}
        for key in self._shard_keys():
            found = self._shards.read(key)
            if found is not None:
                shards[key] = found.value
        return shards

    def expected(self, records: Iterable[PackageRecord]) -> dict[str, Shard]:
        """Return the shards the records call for (empty shards left out)."""
        groups: dict[str, list[PackageRecord]] = {}
        for record in records:
            groups.setdefault(id_key(record.id), []).append(record)
        shards: dict[str, Shard] = {}
        for id_lower, versions in groups.items():
            shards.setdefault(shard_of(id_lower), {})[id_lower] = summary_of(versions)
        return shards

    def records(self) -> Iterator[PackageRecord]:
        """Yield every record of the feed from the catalog, re-reading changed shards only."""
        if not self._complete and self._shards.etag(COMPLETE_KEY) is None:
            self.rebuild()  # a feed older than the catalog: build it once
        self._complete = True
        listing = {
            info.key: info.etag
            for info in self._listing(CATALOG_PREFIX)
            if info.key != COMPLETE_KEY
        }
        with self._lock:
            for key in list(self._loaded):
                if key not in listing:
                    del self._loaded[key]
            for key, etag in listing.items():
                if self._loaded.get(key, ("",))[0] != etag:
                    self._load(key)
            snapshot = [records for _, records in self._loaded.values()]
        return (record for records in snapshot for record in records)

    def _load(self, key: str) -> None:
        found = self._shards.read(key)
        if found is None:
            self._loaded.pop(key, None)
            return
        decoded = [_record(summary) for versions in found.value.values() for summary in versions]
        self._loaded[key] = (found.etag, decoded)

    def _shard_keys(self) -> list[str]:
        return [info.key for info in self._listing(CATALOG_PREFIX) if info.key != COMPLETE_KEY]


def _record(summary: dict[str, Any]) -> PackageRecord:
    """Build a record from its summary; keys a newer octopack added are ignored (slow path)."""
    try:
        return PackageRecord(**summary)
    except TypeError:
        fields = PackageRecord.__dataclass_fields__
        return PackageRecord(**{k: v for k, v in summary.items() if k in fields})
