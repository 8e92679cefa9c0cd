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

Queries ask id-level questions (`entries`): a shard's slim header (flags, search texts,
ids, versions already newest first; `feed.core.catalog_shard`) is all a search, list of
ids, NuGet v3 search or plain v2 `Search()`/`Packages()` reads for 10,000 ids; full
records are decoded only for the ids on the page answered. Slow paths that decode every
id (once per shard change, then kept): a v2 `$filter` on other properties than Id,
IsLatestVersion, IsAbsoluteLatestVersion, IsPrerelease and Listed, a v2 `$orderby` that
does not start with Id, and v3's `packageType` filter.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable, Iterator

from feed.core import catalog_shard
from feed.core.catalog_shard import IdEntry, StoredShard, Summary, from_summaries, summary_of
from feed.core.jsonrecords import Codec, JsonRecords, Versioned
from feed.core.parallel import read_all
from feed.core.records import PACKAGES_PREFIX, PackageRecord, is_record_key
from packer.model.identity import id_key
from storage import Storage

CATALOG_PREFIX = "index/catalog/"
COMPLETE_KEY = CATALOG_PREFIX + "complete.json"
SHARD_COUNT = 32
Shard = dict[str, Summary]  # id lower -> record fields of its versions, newest first
SHARDS: Codec[StoredShard] = Codec(catalog_shard.encode, catalog_shard.decode)
# Reads the records of one lower-case id, fresh (the caller may cache by etag).
RecordsOf = Callable[[str], list[PackageRecord]]
__all__ = ["SHARDS", "Catalog", "IdEntry", "Shard", "shard_bytes", "shard_of", "summary_of"]


def shard_of(id_lower: str) -> str:
    """Return the key of the shard that holds one id's summary."""
    return f"{CATALOG_PREFIX}{zlib.crc32(id_lower.encode('utf-8')) % SHARD_COUNT:02d}.json"


def shard_bytes(shard: Shard) -> bytes:
    """Return the stored bytes of a shard built from full summaries (benches, tests)."""
    return SHARDS.encode(from_summaries(shard))


class Catalog:
    """Shard documents kept by compare-and-swap, and this process's decoded copy."""

    def __init__(
        self,
        storage: Storage,
        records_of: RecordsOf,
        finish: Callable[[PackageRecord], PackageRecord] | None = None,
    ) -> None:
        """`finish` completes a decoded record (a raw push's late hashes) before use."""
        self._shards = JsonRecords(storage, SHARDS)
        self._finish = finish
        self._records_of = records_of
        self._listing = self._shards.listing
        self._lock = threading.Lock()
        self._complete = False
        self._loaded: dict[str, tuple[str, StoredShard]] = {}
        self._view: tuple[tuple[str, ...], list[IdEntry]] = ((), [])

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
        self._shards.create(COMPLETE_KEY, StoredShard({}))
        self._complete = True
        return len(by_shard)

    def _update(self, key: str, ids: set[str], every_id: bool = False) -> None:
        """Swap in fresh summaries of `ids` (and with `every_id`, of all ids in the shard).

        The records are read inside the change, after the shard was read, so a writer
        that loses the race recomputes from records at least as new as the winner's.
        """

        def change(current: StoredShard | None) -> StoredShard:
            shard = current or StoredShard({})
            wanted = ids | (set(shard.entries) if every_id else set())
            return shard.changed({i: summary_of(self._records_of(i)) for i in wanted})

        self._shards.update(key, change, f"catalog shard {key} kept changing; try again")

    # -- reading -------------------------------------------------------------------------

    def stored(self) -> dict[str, Shard]:
        """Return every shard as stored, decoded in full (fsck compares them with the records)."""
        shards = {}
        keys = self._shard_keys()
        for key, found in zip(keys, read_all(self._shards.read, keys), strict=True):
            if found is not None:
                shards[key] = found.value.summaries()
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

    def entries(self) -> list[IdEntry]:
        """Return every id of the feed (slim parts, sorted by lower-case id), re-reading
        changed shards only: one listing, plus a read of each shard that changed."""
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
            stale = [
                key for key, etag in listing.items() if self._loaded.get(key, ("",))[0] != etag
            ]
            for key, found in zip(stale, read_all(self._shards.read, stale), strict=True):
                self._keep(key, found)  # shards read at once: a restart on S3 waits once
            etags = tuple(sorted(f"{k}={etag}" for k, (etag, _) in self._loaded.items()))
            if self._view[0] != etags:
                merged = [e for _, shard in self._loaded.values() for e in shard.entries.values()]
                merged.sort(key=lambda entry: entry.key)
                self._view = (etags, merged)
            return self._view[1]

    def records(self) -> Iterator[PackageRecord]:
        """Yield every record of the feed, decoding every id (slow paths only)."""
        return (record for entry in self.entries() for record in entry.records())

    def _keep(self, key: str, found: Versioned[StoredShard] | None) -> None:
        if found is None:
            self._loaded.pop(key, None)
            return
        if self._finish is not None:
            for entry in found.value.entries.values():
                entry.finish = self._finish
        self._loaded[key] = (found.etag, found.value)

    def _shard_keys(self) -> list[str]:
        return [info.key for info in self._listing(CATALOG_PREFIX) if info.key != COMPLETE_KEY]
