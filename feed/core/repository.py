"""The feed's core: add, find, list and delete packages over a Storage.

Every HTTP dialect (Octopus, NuGet v2/v3, the UI) is a thin translation onto this class.
A version exists exactly when its commit record exists; records are created with
create-if-absent and changed or removed with compare-and-swap, so any number of feed
processes can share one storage and nothing half written is ever visible.
"""

from __future__ import annotations

import enum
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from feed.core.errors import PackageConflict, PackageNotFound, PackageRefused
from feed.core.records import (
    PACKAGES_PREFIX,
    PackageRecord,
    is_record_key,
    iso_utc,
    new_record,
    record_key,
)
from feed.core.uploads import SpooledUpload, hash_file, spool_stream

__all__ = ["OverwriteMode", "PushResult", "Repository", "iso_utc"]
from packer.archive.validator import Limits, inspect_archive
from packer.model.errors import PackerError
from packer.model.identity import (
    FORMAT_BY_EXTENSION,
    id_key,
    parse_package_filename,
    split_extension,
    validate_id,
)
from packer.model.versions import NuGetVersion, VersionRange, parse_range, parse_version
from storage import ObjectExists, ObjectNotFound, PreconditionFailed, Storage

log = logging.getLogger(__name__)

GENERATION_KEY = "index/generation.json"  # rewritten after every change of a record
CAS_ATTEMPTS = 32  # each round lets one contender through, so 32 writers all finish


class OverwriteMode(enum.Enum):
    """What a push does when the version already exists (Octopus's names)."""

    FAIL_IF_EXISTS = "FailIfExists"
    OVERWRITE_EXISTING = "OverwriteExisting"
    IGNORE_IF_EXISTS = "IgnoreIfExists"

    @classmethod
    def parse(cls, text: str) -> OverwriteMode:
        """Read a mode case-insensitively, with or without dashes (fail-if-exists)."""
        wanted = text.replace("-", "").replace("_", "").lower()
        for mode in cls:
            if mode.value.lower() == wanted:
                return mode
        names = ", ".join(m.value for m in cls)
        raise PackageRefused(f"overwrite mode {text!r} is not one of {names}")


@dataclass(frozen=True)
class PushResult:
    """The record a push ended with and what happened: created, overwritten or kept."""

    record: PackageRecord
    status: str


@dataclass(frozen=True)
class _Existing:
    """A record as read from storage with the etag a compare-and-swap needs."""

    record: PackageRecord
    etag: str


class Repository:
    """Packages over a Storage; holds only a cache of parsed records validated by etag."""

    def __init__(
        self,
        storage: Storage,
        limits: Limits,
        clock: Callable[[], datetime],
        upload_dir: str | None = None,
    ) -> None:
        self.storage = storage
        self.limits = limits
        self.clock = clock
        self.upload_dir = upload_dir
        self._cache: dict[str, tuple[str, PackageRecord]] = {}

    # -- pushing -------------------------------------------------------------------------

    def add_package(
        self,
        source: BinaryIO | Path,
        filename: str,
        overwrite_mode: OverwriteMode = OverwriteMode.FAIL_IF_EXISTS,
        default_format: str | None = None,
    ) -> PushResult:
        """Validate and store one uploaded package (a stream, or a local file we may read)."""
        with self._spool(source) as upload:
            candidate = self._describe(upload, filename, default_format)
            return self._commit(candidate, upload, overwrite_mode)

    def _spool(self, source: BinaryIO | Path) -> AbstractContextManager[SpooledUpload]:
        """Hash a local file in place, or copy a stream to a temp file while hashing it."""
        if isinstance(source, Path):
            return hash_file(source, self.limits.max_package_bytes)
        return spool_stream(source, self.limits.max_package_bytes, self.upload_dir)

    def _describe(
        self, upload: SpooledUpload, filename: str, default_format: str | None
    ) -> PackageRecord:
        """Validate the archive and build the record it would get (id, version, metadata)."""
        try:
            fmt = _format_of(filename, default_format)
            info = inspect_archive(upload.path, fmt, self.limits)
            if fmt == "nupkg":
                if info.nuspec is None:
                    raise PackageRefused(f"{filename!r} has no .nuspec at its root")
                meta = info.nuspec
                package_id, version = validate_id(meta.id), parse_version(meta.version)
                extension = "nupkg"  # the file name of a nupkg may be anything
            else:
                meta = None
                parsed = parse_package_filename(filename)
                package_id, version, extension = parsed.id, parsed.version, parsed.extension
        except PackageRefused:
            raise
        except PackerError as error:
            # the archive reader names the file it read: the client's name, not our spool's
            reason = str(error).replace(upload.path.name, filename)
            raise PackageRefused(f"package {filename!r} refused: {reason}") from error
        return new_record(package_id, version, fmt, extension, upload, meta, self._now())

    def _commit(
        self, candidate: PackageRecord, upload: SpooledUpload, mode: OverwriteMode
    ) -> PushResult:
        """Store the blob, then create or compare-and-swap the commit record."""
        key = _record_key_of(candidate)
        existing = self._read(key)
        uploaded = False
        for _ in range(CAS_ATTEMPTS):
            if existing is not None and mode is not OverwriteMode.OVERWRITE_EXISTING:
                return self._keep_or_refuse(existing.record, candidate, mode, uploaded)
            if not uploaded:
                self._put_blob(candidate, upload)
                uploaded = True
            try:
                if existing is None:
                    self.storage.create_record(key, candidate.to_bytes())
                    status = "created"
                else:
                    self.storage.replace_record(key, candidate.to_bytes(), if_match=existing.etag)
                    status = "overwritten"
            except (ObjectExists, PreconditionFailed, ObjectNotFound):
                existing = self._read(key)
                continue
            if existing is not None:
                self._delete_blob(existing.record.blob)
            self._changed()
            return PushResult(candidate, status)
        if uploaded:
            self._delete_blob(candidate.blob)
        raise PackageConflict(
            f"{candidate.id} {candidate.version} changed {CAS_ATTEMPTS} times during the push; "
            "try again"
        )

    def _keep_or_refuse(
        self, winner: PackageRecord, candidate: PackageRecord, mode: OverwriteMode, uploaded: bool
    ) -> PushResult:
        """Answer a push whose version exists: kept (IgnoreIfExists) or a conflict."""
        if uploaded:
            self._delete_blob(candidate.blob)  # ours alone: no other push can name it
        if mode is OverwriteMode.IGNORE_IF_EXISTS and winner.format == candidate.format:
            return PushResult(winner, "kept")
        if winner.format != candidate.format:
            raise PackageConflict(
                f"{winner.id} {winner.version} already exists as {winner.format}; one version "
                f"holds one package, so {candidate.format} is refused (use a new version)"
            )
        raise PackageConflict(
            f"{winner.id} {winner.version} already exists; push a new version or use "
            "overwriteMode=OverwriteExisting"
        )

    def _put_blob(self, record: PackageRecord, upload: SpooledUpload) -> None:
        """Upload this push's bytes under its own blob key (see `blob_key`)."""
        with upload.path.open("rb") as stream:
            self.storage.put_blob(record.blob, stream)

    def _delete_blob(self, key: str) -> None:
        """Remove a blob no record points at any more (already gone is fine)."""
        try:
            self.storage.delete(key)
        except ObjectNotFound:
            pass

    def _now(self) -> str:
        """Return the publication time from the injectable clock."""
        return iso_utc(self.clock())

    # -- reading -------------------------------------------------------------------------

    def get(self, package_id: str, version: str | NuGetVersion) -> PackageRecord:
        """Return one version, matched by value (1.0 finds 1.0.0.0); raise PackageNotFound."""
        parsed = version if isinstance(version, NuGetVersion) else parse_version(version)
        found = self._read(record_key(id_key(package_id), parsed.normalized.lower()))
        if found is None:
            raise PackageNotFound(f"package {package_id} {version} is not in the feed")
        return found.record

    def list_versions(self, package_id: str) -> list[PackageRecord]:
        """Return every record of one package (listed or not), newest first."""
        prefix = f"{PACKAGES_PREFIX}{id_key(package_id)}/"
        return _newest_first(self._records_under(prefix))

    def find_versions(
        self,
        package_id: str,
        version_range: str | VersionRange | None = None,
        include_prerelease: bool = False,
        skip: int = 0,
        take: int | None = None,
    ) -> tuple[int, list[PackageRecord]]:
        """Return (total, page) of listed versions matching a range, newest first."""
        wanted = parse_range(version_range) if isinstance(version_range, str) else version_range
        matches = [
            r
            for r in self.list_versions(package_id)
            if r.listed
            and (
                wanted.admits(parse_version(r.version), include_prerelease)
                if wanted is not None
                else include_prerelease or not r.is_prerelease
            )
        ]
        return len(matches), _page(matches, skip, take)

    def latest(self, package_id: str, include_prerelease: bool = False) -> PackageRecord | None:
        """Return the newest listed version, or None when there is none."""
        _, page = self.find_versions(package_id, None, include_prerelease, 0, 1)
        return page[0] if page else None

    def list_ids(self) -> list[str]:
        """Return the id (as first pushed) of every package in the feed, sorted."""
        by_id: dict[str, str] = {}
        for record in self._records_under(PACKAGES_PREFIX):
            by_id.setdefault(id_key(record.id), record.id)
        return [by_id[k] for k in sorted(by_id)]

    def search(
        self, text: str | None = None, latest_only: bool = False, skip: int = 0, take: int = 30
    ) -> tuple[int, list[PackageRecord]]:
        """Return (total, page) of listed packages whose id contains `text`; costs O(feed)."""
        needle = (text or "").strip().lower()
        groups: dict[str, list[PackageRecord]] = {}
        for record in self._records_under(PACKAGES_PREFIX):
            if record.listed and needle in record.id.lower():
                groups.setdefault(id_key(record.id), []).append(record)
        results: list[PackageRecord] = []
        for key in sorted(groups):
            versions = _newest_first(groups[key])
            results.extend(versions[:1] if latest_only else versions)
        return len(results), _page(results, skip, take)

    def open_download(self, record: PackageRecord, start: int = 0, end: int | None = None):
        """Open the package bytes `start`..`end` (inclusive, like HTTP Range; None: to the end)."""
        return self.storage.open_blob(record.blob, start, end)

    # -- deleting ------------------------------------------------------------------------

    def delete(self, package_id: str, version: str | NuGetVersion) -> PackageRecord:
        """Remove one version: compare-and-swap delete of the record, then its blob."""
        parsed = version if isinstance(version, NuGetVersion) else parse_version(version)
        key = record_key(id_key(package_id), parsed.normalized.lower())
        for _ in range(CAS_ATTEMPTS):
            found = self._read(key)
            if found is None:
                raise PackageNotFound(f"package {package_id} {version} is not in the feed")
            try:
                self.storage.delete_record(key, if_match=found.etag)
            except PreconditionFailed:
                continue
            except ObjectNotFound:
                continue
            self._cache.pop(key, None)
            self._changed()
            self._delete_blob(found.record.blob)
            return found.record
        raise PackageConflict(f"{package_id} {version} kept changing; delete again")

    def records_with_etags(
        self, package_id: str | None = None
    ) -> Iterator[tuple[PackageRecord, str]]:
        """Yield (record, etag) of one package, or of the feed grouped by id, for retention.

        The etag is what `delete_if_unchanged` compares, so a plan made from this listing
        never deletes a version re-pushed or overwritten after it was read.
        """
        prefix = (
            PACKAGES_PREFIX if package_id is None else f"{PACKAGES_PREFIX}{id_key(package_id)}/"
        )
        return self._entries_under(prefix)

    def delete_if_unchanged(self, record: PackageRecord, etag: str) -> bool:
        """Delete a version only if its record still has `etag`: record first, then blob.

        Return False (and change nothing) when the record was changed or removed meanwhile.
        """
        key = _record_key_of(record)
        try:
            self.storage.delete_record(key, if_match=etag)
        except (PreconditionFailed, ObjectNotFound):
            return False
        self._cache.pop(key, None)
        self._changed()
        self._delete_blob(record.blob)
        return True

    def set_listed(self, package_id: str, version: str, listed: bool) -> PackageRecord:
        """List or unlist a version (NuGet's delete) by compare-and-swap of its record."""
        parsed = parse_version(version)
        key = record_key(id_key(package_id), parsed.normalized.lower())
        for _ in range(CAS_ATTEMPTS):
            found = self._read(key)
            if found is None:
                raise PackageNotFound(f"package {package_id} {version} is not in the feed")
            changed = replace(found.record, listed=listed)
            try:
                self.storage.replace_record(key, changed.to_bytes(), if_match=found.etag)
            except (PreconditionFailed, ObjectNotFound):
                continue
            self._changed()
            return changed
        raise PackageConflict(f"{package_id} {version} kept changing; try again")

    # -- change marker -------------------------------------------------------------------

    def generation(self) -> str:
        """Return a token that changes after every push, overwrite, delete and (un)listing.

        Feed-wide query caches (NuGet search) key on it: one small read validates them.
        The marker is created by the first reader, so feeds nobody caches never get one.
        """
        for _ in range(CAS_ATTEMPTS):
            try:
                return self.storage.stat(GENERATION_KEY).etag  # a HEAD: cheaper than a read
            except ObjectNotFound:
                pass
            try:
                return self.storage.create_record(GENERATION_KEY, _token())
            except ObjectExists:
                continue
        raise PackageConflict("the feed's generation marker kept changing; try again")

    def _changed(self) -> None:
        """Rewrite the generation marker, if a reader made one, after a record changed.

        Compare-and-swap without retries: losing the race means another writer rewrote it
        after our change, which invalidates caches just as well.
        """
        try:
            _, etag = self.storage.read_record(GENERATION_KEY)
            self.storage.replace_record(GENERATION_KEY, _token(), if_match=etag)
        except (ObjectNotFound, PreconditionFailed):
            pass

    # -- storage access ------------------------------------------------------------------

    def _read(self, key: str) -> _Existing | None:
        """Read one record with its etag, or None when it does not exist."""
        try:
            data, etag = self.storage.read_record(key)
        except ObjectNotFound:
            return None
        record = PackageRecord.from_bytes(data)
        self._cache[key] = (etag, record)
        return _Existing(record, etag)

    def _records_under(self, prefix: str) -> Iterator[PackageRecord]:
        """Yield the records below a prefix: one listing, re-reading only changed records."""
        for record, _ in self._entries_under(prefix):
            yield record

    def _entries_under(self, prefix: str) -> Iterator[tuple[PackageRecord, str]]:
        """Yield (record, etag) below a prefix in key order, re-reading only changed records."""
        for info in self.storage.list(prefix):
            if not is_record_key(info.key):
                continue
            listed_etag = getattr(info, "etag", None)
            cached = self._cache.get(info.key)
            if listed_etag and cached and cached[0] == listed_etag:
                yield cached[1], cached[0]
                continue
            found = self._read(info.key)
            if found is not None:
                if listed_etag and found.etag != listed_etag:
                    self._cache.pop(info.key, None)  # changed under us: never trust this pair
                yield found.record, found.etag


def _token() -> bytes:
    """Return fresh contents for the generation marker (its etag is what matters)."""
    return secrets.token_hex(8).encode("ascii")


def _format_of(filename: str, default_format: str | None) -> str:
    """Return the archive format the file name says, or the dialect's default."""
    split = split_extension(filename)
    if split is not None:
        return FORMAT_BY_EXTENSION[split[1]]
    if default_format:
        return default_format
    return parse_package_filename(filename).format  # raises BadInput naming the file


def _record_key_of(record: PackageRecord) -> str:
    """Return the commit record key of a record."""
    return record_key(id_key(record.id), record.normalized_version.lower())


def _newest_first(records: Iterable[PackageRecord]) -> list[PackageRecord]:
    """Sort records by version value, newest first."""
    return sorted(records, key=lambda r: parse_version(r.version), reverse=True)


def _page(items: list[PackageRecord], skip: int, take: int | None) -> list[PackageRecord]:
    """Return one page of a list."""
    return items[skip:] if take is None else items[skip : skip + take]
