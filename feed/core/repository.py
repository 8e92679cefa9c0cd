"""The feed's core: add, find, list and delete packages over a Storage.

Every HTTP dialect (Octopus, NuGet v2/v3, the UI) is a thin translation onto this class.
A version exists exactly when its commit record exists; records are created with
create-if-absent and changed or removed with compare-and-swap (`feed.core.jsonrecords`),
so any number of feed processes can share one storage and nothing half written is ever
visible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from feed.core.catalog import Catalog, IdEntry
from feed.core.contents import PackageContents, read_contents
from feed.core.errors import PackageConflict, PackageNotFound
from feed.core.generation import GENERATION_KEY, GenerationMarker
from feed.core.hashfill import HashFiller
from feed.core.intake import describe_upload
from feed.core.jsonrecords import CAS_ATTEMPTS, Codec, JsonRecords, Versioned
from feed.core.nuspecs import read_stored_nuspec
from feed.core.parallel import BATCH, read_all
from feed.core.queries import matching_versions, newest_first, page, search_entries
from feed.core.records import PACKAGES_PREFIX, PackageRecord, is_record_key, iso_utc, record_key
from feed.core.uploads import SpooledUpload, check_size, hash_file, spool_stream
from packer.archive.validator import Limits
from packer.model.conventions import OverwriteMode, PushStatus
from packer.model.identity import id_key, validate_id
from packer.model.ranges import VersionRange
from packer.model.versions import NuGetVersion, parse_version
from storage import ObjectInfo, ObjectNotFound, Storage, StorageError

__all__ = ["GENERATION_KEY", "PushResult", "Repository", "iso_utc"]

log = logging.getLogger(__name__)
RECORDS: Codec[PackageRecord] = Codec(PackageRecord.to_bytes, PackageRecord.from_bytes)
Source = BinaryIO | Path | SpooledUpload


@dataclass(frozen=True)
class PushResult:
    """The record a push ended with and what happened: created, overwritten or kept."""

    record: PackageRecord
    status: PushStatus


class _Exists(Exception):
    """The version a push names exists and the push's mode does not overwrite it."""

    def __init__(self, winner: PackageRecord) -> None:
        super().__init__(winner.id)
        self.winner = winner


class Repository:
    """Packages over a Storage; holds only a cache of parsed records validated by etag."""

    def __init__(
        self,
        storage: Storage,
        limits: Limits,
        clock: Callable[[], datetime],
        upload_dir: str | None = None,
    ) -> None:
        self._storage = storage
        self._records = JsonRecords(storage, RECORDS)
        self._generation = GenerationMarker(storage)
        self.limits = limits
        self.clock = clock
        self.upload_dir = upload_dir
        self._cache: dict[str, tuple[str, PackageRecord]] = {}
        self._hashes = HashFiller(storage, self._records, _record_key_of, self.summarize)
        self.catalog = Catalog(storage, self._records_of, finish=self._hashes.complete)

    # -- pushing -------------------------------------------------------------------------

    def add_package(
        self,
        source: Source,
        filename: str,
        overwrite_mode: OverwriteMode = OverwriteMode.FAIL_IF_EXISTS,
        default_format: str | None = None,
    ) -> PushResult:
        """Validate and store one package: a stream, a local file, or an upload spooled
        and hashed by the HTTP layer."""
        with self._spool(source) as upload:
            published = iso_utc(self.clock())
            candidate = describe_upload(upload, filename, default_format, self.limits, published)
            result = self._commit(candidate, upload, overwrite_mode)
        if result.record is candidate:
            self._hashes.start(candidate)  # a raw push's SHA-1 and SHA-512, off its path
        return result

    def _spool(self, source: Source) -> AbstractContextManager[SpooledUpload]:
        """Take a spooled upload as it is, hash a local file in place, or spool a stream."""
        limit = self.limits.max_package_bytes
        if isinstance(source, SpooledUpload):
            return nullcontext(check_size(source, limit))
        if isinstance(source, Path):
            return hash_file(source, limit)
        return spool_stream(source, limit, self.upload_dir)

    def _put_blob(self, key: str, upload: SpooledUpload) -> None:
        """Store the upload's bytes: a spool of ours is handed over whole (disk renames it)."""
        if upload.movable:
            self._storage.put_blob_file(key, str(upload.path))
            return
        with upload.path.open("rb") as stream:
            self._storage.put_blob(key, stream)

    def _commit(
        self, candidate: PackageRecord, upload: SpooledUpload, mode: OverwriteMode
    ) -> PushResult:
        """Store the blob, then create or compare-and-swap the commit record."""
        uploaded = False

        def change(existing: PackageRecord | None) -> PackageRecord:
            nonlocal uploaded
            if existing is not None and mode is not OverwriteMode.OVERWRITE_EXISTING:
                raise _Exists(existing)
            if not uploaded:
                self._put_blob(candidate.blob, upload)
                uploaded = True
            return candidate

        key = _record_key_of(candidate)
        conflict = (
            f"{candidate.id} {candidate.version} changed {CAS_ATTEMPTS} times during the push; "
            "try again"
        )
        try:
            swapped = self._records.update(key, change, conflict)
        except _Exists as exists:
            if uploaded:
                self._delete_blob(candidate.blob)  # ours alone: no other push can name it
            return _keep_or_refuse(exists.winner, candidate, mode)
        except PackageConflict:
            if uploaded:
                self._delete_blob(candidate.blob)
            raise
        if swapped.previous is not None:
            self._delete_blob(swapped.previous.blob)
        self.summarize(candidate.id)
        return PushResult(
            candidate, PushStatus.CREATED if swapped.previous is None else PushStatus.OVERWRITTEN
        )

    def _delete_blob(self, key: str) -> None:
        """Remove a blob no record points at any more (already gone is fine)."""
        try:
            self._storage.delete(key)
        except ObjectNotFound:
            pass

    # -- reading -------------------------------------------------------------------------

    def get(self, package_id: str, version: str | NuGetVersion) -> PackageRecord:
        """Return one version, matched by value (1.0 finds 1.0.0.0); raise PackageNotFound."""
        found = self._read(_key_of(package_id, version))
        if found is None:
            raise PackageNotFound(f"package {package_id} {version} is not in the feed")
        return self._hashes.complete(found.value)

    def list_versions(self, package_id: str) -> list[PackageRecord]:
        """Return every record of one package (listed or not), newest first."""
        prefix = f"{PACKAGES_PREFIX}{id_key(validate_id(package_id))}/"
        return newest_first(self._hashes.complete(r) for r, _ in self._entries_under(prefix))

    def find_versions(
        self,
        package_id: str,
        version_range: str | VersionRange | None = None,
        include_prerelease: bool = False,
        skip: int = 0,
        take: int | None = None,
    ) -> tuple[int, list[PackageRecord]]:
        """Return (total, page) of listed versions matching a range, newest first."""
        records = self.list_versions(package_id)
        matches = matching_versions(records, version_range, include_prerelease)
        return len(matches), page(matches, skip, take)

    def latest(self, package_id: str, include_prerelease: bool = False) -> PackageRecord | None:
        """Return the newest listed version, or None when there is none."""
        _, found = self.find_versions(package_id, None, include_prerelease, 0, 1)
        return found[0] if found else None

    def list_ids(self) -> list[str]:
        """Return the id (as first pushed) of every package in the feed, sorted."""
        return [entry.id for entry in self.catalog.entries()]

    def id_entries(self) -> list[IdEntry]:
        """Return every id of the feed as the catalog's slim entries, sorted by id.

        Feed-wide queries filter and page these and decode full records (`records()`)
        only for the ids they answer with (`feed.core.catalog`).
        """
        return self.catalog.entries()

    def all_records(self) -> Iterator[PackageRecord]:
        """Yield every record of the feed (any order) from the catalog, decoding every id:
        slow paths only (`id_entries` answers feed-wide queries)."""
        return self.catalog.records()

    def search(
        self, text: str | None = None, latest_only: bool = False, skip: int = 0, take: int = 30
    ) -> tuple[int, list[PackageRecord]]:
        """Return (total, page) of listed packages whose id contains `text`."""
        return search_entries(self.catalog.entries(), text, latest_only, skip, take)

    def open_download(self, record: PackageRecord, start: int = 0, end: int | None = None):
        """Open the package bytes `start`..`end` (inclusive, like HTTP Range; None: to the end)."""
        return self._storage.open_blob(record.blob, start, end)

    def read_nuspec(self, record: PackageRecord) -> bytes:
        """Return the root .nuspec of a stored nupkg as it was pushed (a few ranged reads)."""
        opener = lambda start, end: self.open_download(record, start, end)  # noqa: E731
        return read_stored_nuspec(record, opener, self.limits.max_nuspec_bytes)

    def read_contents(self, record: PackageRecord) -> PackageContents:
        """Return the deploy scripts and octopack.toml a stored version carries (cached)."""
        opener = lambda start, end: self.open_download(record, start, end)  # noqa: E731
        return read_contents(record, opener, self.limits.max_nuspec_bytes)

    def records_with_etags(
        self, package_id: str | None = None
    ) -> Iterator[tuple[PackageRecord, str]]:
        """Yield (record, etag) of one package, or of the feed grouped by id, for retention.

        The etag is what `delete_if_unchanged` compares, so a plan made from this listing
        never deletes a version re-pushed or overwritten after it was read.
        """
        prefix = (
            PACKAGES_PREFIX
            if package_id is None
            else f"{PACKAGES_PREFIX}{id_key(validate_id(package_id))}/"
        )
        return self._entries_under(prefix)

    def read_record_with_etag(self, key: str) -> tuple[PackageRecord, str] | None:
        """Return the record stored at a listed record key with its etag (None: gone)."""
        found = self._read(key)
        return None if found is None else (found.value, found.etag)

    # -- deleting and listing ------------------------------------------------------------

    def delete(self, package_id: str, version: str | NuGetVersion) -> PackageRecord:
        """Remove one version: compare-and-swap delete of the record, then its blob."""
        key = _key_of(package_id, version)
        removed = self._records.remove(key, f"{package_id} {version} kept changing; delete again")
        if removed is None:
            raise PackageNotFound(f"package {package_id} {version} is not in the feed")
        self._cache.pop(key, None)
        self.summarize(removed.id)
        self._delete_blob(removed.blob)
        return removed

    def delete_if_unchanged(
        self, record: PackageRecord, etag: str, *, summarize: bool = True
    ) -> bool:
        """Delete a version only if its record still has `etag`: record first, then blob.

        Return False (and change nothing) when the record was changed or removed meanwhile.
        A caller deleting many versions of one id passes `summarize=False` and calls
        `summarize` once after them: one catalog write instead of one per version.
        """
        key = _record_key_of(record)
        if not self._records.delete(key, etag):
            return False
        self._cache.pop(key, None)
        if summarize:
            self.summarize(record.id)
        self._delete_blob(record.blob)
        return True

    def set_listed(self, package_id: str, version: str, listed: bool) -> PackageRecord:
        """List or unlist a version (NuGet's delete) by compare-and-swap of its record."""

        def change(current: PackageRecord | None) -> PackageRecord:
            if current is None:
                raise PackageNotFound(f"package {package_id} {version} is not in the feed")
            return replace(current, listed=listed)

        conflict = f"{package_id} {version} kept changing; try again"
        swapped = self._records.update(_key_of(package_id, version), change, conflict)
        self.summarize(swapped.value.id)
        return swapped.value

    def summarize(self, package_id: str) -> None:
        """After a record of `package_id` changed: its catalog summary, then the marker.

        The record is the truth and is already committed, so a catalog write that fails
        is logged, not raised: `octopack fsck --repair` rebuilds the stale summary.
        """
        try:
            self.catalog.changed(id_key(package_id))
        except (PackageConflict, StorageError) as exc:
            log.warning(
                "catalog summary of %s not updated (fsck --repair fixes it): %s", package_id, exc
            )
        self._generation.bump()

    def _records_of(self, id_lower: str) -> list[PackageRecord]:
        """Return the records of one lower-case id as stored now (reads changed ones only)."""
        return [record for record, _ in self._entries_under(f"{PACKAGES_PREFIX}{id_lower}/")]

    # -- change marker -------------------------------------------------------------------

    def generation(self) -> str:
        """Return a token that changes after every push, overwrite, delete and (un)listing.

        Feed-wide query caches (NuGet search) key on it: one small read validates them.
        """
        return self._generation.current()

    # -- records with a cache ------------------------------------------------------------

    def _read(self, key: str) -> Versioned[PackageRecord] | None:
        """Read one record with its etag, or None when it does not exist."""
        found = self._records.read(key)
        if found is not None:
            self._cache[key] = (found.etag, found.value)
        return found

    def _entries_under(self, prefix: str) -> Iterator[tuple[PackageRecord, str]]:
        """Yield (record, etag) below a prefix in key order, re-reading only changed records.

        The listing is taken in batches and each batch's changed records are read in
        parallel (`feed.core.parallel`): a cold feed-wide read is bound by round trips.
        """
        batch: list[ObjectInfo] = []
        for info in self._records.listing(prefix):
            if is_record_key(info.key):
                batch.append(info)
            if len(batch) >= BATCH:
                yield from self._resolve(batch)
                batch = []
        yield from self._resolve(batch)

    def _resolve(self, infos: list[ObjectInfo]) -> Iterator[tuple[PackageRecord, str]]:
        """Yield (record, etag) of listed records: cached when the etag matches, else read."""
        hits = {info.key: self._cached(info) for info in infos}
        stale = [key for key, hit in hits.items() if hit is None]
        fresh = dict(zip(stale, read_all(self._read, stale), strict=True))
        for info in infos:
            hit = hits[info.key]
            if hit is not None:
                yield hit[1], hit[0]
                continue
            found = fresh[info.key]
            if found is not None:
                if info.etag and found.etag != info.etag:
                    self._cache.pop(info.key, None)  # changed under us: never trust this pair
                yield found.value, found.etag

    def _cached(self, info: ObjectInfo) -> tuple[str, PackageRecord] | None:
        """Return the cached (etag, record) when it has the etag the listing shows."""
        cached = self._cache.get(info.key)
        return cached if info.etag and cached and cached[0] == info.etag else None


def _keep_or_refuse(
    winner: PackageRecord, candidate: PackageRecord, mode: OverwriteMode
) -> PushResult:
    """Answer a push whose version exists: kept (IgnoreIfExists) or a conflict."""
    if mode is OverwriteMode.IGNORE_IF_EXISTS and winner.format == candidate.format:
        return PushResult(winner, PushStatus.KEPT)
    if winner.format != candidate.format:
        raise PackageConflict(
            f"{winner.id} {winner.version} already exists as {winner.format}; one version "
            f"holds one package, so {candidate.format} is refused (use a new version)"
        )
    raise PackageConflict(
        f"{winner.id} {winner.version} already exists; push a new version or use "
        f"overwriteMode={OverwriteMode.OVERWRITE_EXISTING.value}"
    )


def _key_of(package_id: str, version: str | NuGetVersion) -> str:
    """Return the commit record key of a version named by id and version (by value).

    Every id and version a request names reaches storage through here or `list_versions`,
    so this is the one place they are checked, for every dialect: an id no package can
    have or a text that is no version is bad input (InvalidId, InvalidVersion) naming the
    value, never a storage key problem.
    """
    parsed = version if isinstance(version, NuGetVersion) else parse_version(version)
    return record_key(id_key(validate_id(package_id)), parsed.normalized.lower())


def _record_key_of(record: PackageRecord) -> str:
    """Return the commit record key of a record."""
    return record_key(id_key(record.id), record.normalized_version.lower())
